/* nnquant public C API.
 *
 * nnquant loads FP32 ONNX models, runs them, and (in later modules) calibrates
 * and quantizes them. Every function that can fail returns nnq_status; on
 * failure nnq_last_error() describes what went wrong, naming the file, node or
 * tensor involved. */
#ifndef NNQUANT_H
#define NNQUANT_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nnq_status {
    NNQ_OK = 0,
    NNQ_ERR_IO,          /* a file could not be read or written */
    NNQ_ERR_PARSE,       /* a file is not what it claims to be (corrupt, truncated) */
    NNQ_ERR_INVALID,     /* well-formed input that breaks a rule (bad attribute, shape mismatch) */
    NNQ_ERR_UNSUPPORTED, /* an operator, domain, data type or feature nnquant does not handle */
    NNQ_ERR_NOMEM,       /* allocation failed or a size would overflow */
    NNQ_ERR_USAGE        /* a command line or API call was malformed */
} nnq_status;

/* The message recorded by the last failing call on this thread ("" if none). */
const char *nnq_last_error(void);

/* Short name of a status code ("io error", "unsupported", ...). */
const char *nnq_status_name(nnq_status status);

#ifdef __cplusplus
}
#endif
#endif
