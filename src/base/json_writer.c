#include "base/json_writer.h"

#include <math.h>

void json_init(json_writer *w, FILE *out) {
    w->out = out;
    w->depth = 0;
    w->need_comma[0] = false;
    w->after_key = false;
}

/* Separates a value from the previous one unless it follows its key. */
static void before_value(json_writer *w) {
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->need_comma[w->depth]) fputc(',', w->out);
    w->need_comma[w->depth] = true;
}

static void open_scope(json_writer *w, char bracket) {
    before_value(w);
    fputc(bracket, w->out);
    if (w->depth + 1 < JSON_MAX_DEPTH) w->depth++;
    w->need_comma[w->depth] = false;
}

static void close_scope(json_writer *w, char bracket) {
    if (w->depth > 0) w->depth--;
    fputc(bracket, w->out);
}

void json_begin_object(json_writer *w) { open_scope(w, '{'); }
void json_end_object(json_writer *w) { close_scope(w, '}'); }
void json_begin_array(json_writer *w) { open_scope(w, '['); }
void json_end_array(json_writer *w) { close_scope(w, ']'); }

static void write_escaped(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20) fprintf(out, "\\u%04x", *p);
            else fputc(*p, out);
        }
    }
    fputc('"', out);
}

void json_key(json_writer *w, const char *key) {
    before_value(w);
    write_escaped(w->out, key);
    fputc(':', w->out);
    w->after_key = true;
}

void json_string(json_writer *w, const char *value) {
    before_value(w);
    write_escaped(w->out, value);
}

void json_int(json_writer *w, int64_t value) {
    before_value(w);
    fprintf(w->out, "%lld", (long long)value);
}

void json_double(json_writer *w, double value) {
    before_value(w);
    if (isfinite(value)) fprintf(w->out, "%.9g", value);
    else fputs("null", w->out);
}

void json_bool(json_writer *w, bool value) {
    before_value(w);
    fputs(value ? "true" : "false", w->out);
}

void json_null(json_writer *w) {
    before_value(w);
    fputs("null", w->out);
}

void json_finish(json_writer *w) { fputc('\n', w->out); }
