/* A small streaming JSON writer: commas and string escaping handled once
 * here so commands and exporters print valid JSON without ad-hoc printf. */
#ifndef NNQ_BASE_JSON_WRITER_H
#define NNQ_BASE_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

typedef struct json_writer {
    FILE *out;
    int depth;
    bool need_comma[JSON_MAX_DEPTH];
    bool after_key;
} json_writer;

void json_init(json_writer *w, FILE *out);
void json_begin_object(json_writer *w);
void json_end_object(json_writer *w);
void json_begin_array(json_writer *w);
void json_end_array(json_writer *w);
/* Writes "key": ; the next value call completes the member. */
void json_key(json_writer *w, const char *key);
void json_string(json_writer *w, const char *value);
void json_int(json_writer *w, int64_t value);
/* Non-finite values are written as null (JSON has no NaN/Inf). */
void json_double(json_writer *w, double value);
void json_bool(json_writer *w, bool value);
void json_null(json_writer *w);
/* Ends the document with a newline. */
void json_finish(json_writer *w);

#endif
