/* What the parts of the C export share (c_export.c runs them): the program
 * with its int8 interface and memory plan, and one writer per generated file. */
#ifndef NNQ_EXPORT_C_EXPORT_INTERNAL_H
#define NNQ_EXPORT_C_EXPORT_INTERNAL_H

#include <stdio.h>

#include "export/c_export.h"
#include "intq/int8_interface.h"
#include "intq/memory_plan.h"

/* The kernel files every module uses on the host side (NAME_io.c). */
#define C_EXPORT_QUANTIZE_KERNEL "quantize_f32_s8.c"
#define C_EXPORT_DEQUANTIZE_KERNEL "dequantize_s8_f32.c"

typedef struct c_export_context {
    const intq_program *program;
    const c_export_options *options;
    intq_int8_interface io;
    intq_memory_plan memory;     /* export scope: integer tensors, caller's input outside, conv accumulators inside */
    char macro[128];             /* options->name in upper case, the macros' prefix */
    int n_kernels;
    const char *kernels[INTQ_OP_KIND_COUNT]; /* kernel files NAME.c calls, in first-use order */
    size_t *output_offsets;      /* per output: where it starts in NAME_run's output buffer */
    size_t output_size;          /* int8 values of all outputs */
    c_export_report *report;     /* integer_only decides the float guard; flash counts filled by the NAME.c writer */
} c_export_context;

/* ---- the op kinds the exporter knows (c_export_model.c) ---- */

/* False for a kind the C export cannot write (float steps, kinds added to
 * the IntProgram but not to the exporter). */
bool c_export_op_known(intq_op_kind kind);
/* The kernel file a step of that kind calls in NAME.c, or NULL (the float boundary). */
const char *c_export_op_kernel(intq_op_kind kind);

/* ---- the writers: each writes one file's text ---- */

void c_export_write_header(c_export_context *ctx, FILE *out);  /* NAME.h */
void c_export_write_source(c_export_context *ctx, FILE *out);  /* NAME.c; fills the flash counts of ctx->report */
void c_export_write_io(c_export_context *ctx, FILE *out);      /* NAME_io.c */
void c_export_write_main(c_export_context *ctx, FILE *out);    /* main.c */
void c_export_write_makefile(c_export_context *ctx, FILE *out); /* Makefile */

/* Text inside a C comment: control characters dropped, "*" "/" kept apart. */
void c_export_comment_text(FILE *out, const char *text);

#endif
