#include "base/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { MESSAGE_CAPACITY = 2048 };

static _Thread_local char last_message[MESSAGE_CAPACITY];

const char *nnq_last_error(void) { return last_message; }

const char *nnq_status_name(nnq_status status) {
    switch (status) {
    case NNQ_OK: return "ok";
    case NNQ_ERR_IO: return "i/o error";
    case NNQ_ERR_PARSE: return "parse error";
    case NNQ_ERR_INVALID: return "invalid input";
    case NNQ_ERR_UNSUPPORTED: return "unsupported";
    case NNQ_ERR_NOMEM: return "out of memory";
    case NNQ_ERR_USAGE: return "usage error";
    }
    return "unknown status";
}

nnq_status nnq_fail(nnq_status code, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, args);
    va_end(args);
    return code;
}

nnq_status nnq_fail_context(nnq_status code, const char *fmt, ...) {
    char previous[MESSAGE_CAPACITY];
    memcpy(previous, last_message, sizeof previous);
    va_list args;
    va_start(args, fmt);
    int used = vsnprintf(last_message, sizeof last_message, fmt, args);
    va_end(args);
    /* Append ": <previous message>", truncated to the buffer. */
    size_t at = used < 0 ? 0 : (size_t)used;
    const char *parts[2] = {": ", previous};
    for (int p = 0; p < 2; p++)
        for (const char *c = parts[p]; *c && at + 1 < sizeof last_message; c++) last_message[at++] = *c;
    if (at < sizeof last_message) last_message[at] = '\0';
    return code;
}
