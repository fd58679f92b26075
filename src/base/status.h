/* Status codes and the one place error messages are recorded.
 *
 * Library functions that can fail return nnq_status and describe the failure
 * with nnq_fail(), naming the file, node or tensor involved. The message is
 * kept per thread and read back with nnq_last_error(); the CLI prints it. */
#ifndef NNQ_BASE_STATUS_H
#define NNQ_BASE_STATUS_H

#include "nnquant.h"

/* Records a printf-style message as the thread's last error and returns code,
 * so callers can write `return nnq_fail(NNQ_ERR_IO, "cannot open '%s'", path);`. */
nnq_status nnq_fail(nnq_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends context to the current message ("while loading 'x.onnx': ..."),
 * keeping the original code. Returns code. */
nnq_status nnq_fail_context(nnq_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Propagate a failing status unchanged. */
#define NNQ_TRY(expr)                                                          \
    do {                                                                       \
        nnq_status nnq_try_status_ = (expr);                                   \
        if (nnq_try_status_ != NNQ_OK) return nnq_try_status_;                 \
    } while (0)

#endif
