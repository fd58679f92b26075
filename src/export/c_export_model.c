/* The model files of the C export: NAME.h (API, sizes, grids), NAME.c (the
 * parameters as const data and NAME_run, one kernel call per step in program
 * order) and NAME_io.c (the float helpers). One row per op kind says which
 * kernel file a step calls and how its data and its call are written. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "export/c_export_internal.h"

/* ---- C text ---- */

void c_export_comment_text(FILE *out, const char *text) {
    for (const char *c = text; *c; c++) {
        if ((unsigned char)*c < ' ') continue;
        fputc(*c, out);
        if (c[0] == '*' && c[1] == '/') fputc(' ', out);
    }
}

/* An int32 as a C literal of that value (INT32_MIN has no literal of type int). */
static void write_int32(FILE *out, int32_t v) {
    if (v == INT32_MIN) fputs("(-2147483647 - 1)", out);
    else fprintf(out, "%" PRId32, v);
}

/* A float exactly, as a hexadecimal literal (C99). */
static void write_float(FILE *out, float v) { fprintf(out, "%af", (double)v); }

enum { INT8_PER_LINE = 20, INT32_PER_LINE = 8 };

static void write_int8_array(FILE *out, const char *name, const int8_t *values, size_t n) {
    fprintf(out, "static const int8_t %s[%zu] = {", name, n);
    for (size_t i = 0; i < n; i++) fprintf(out, "%s%d,", i % INT8_PER_LINE ? " " : "\n    ", values[i]);
    fputs("\n};\n", out);
}

static void write_int32_array(FILE *out, const char *name, const int32_t *values, size_t n) {
    fprintf(out, "static const int32_t %s[%zu] = {", name, n);
    for (size_t i = 0; i < n; i++) {
        fputs(i % INT32_PER_LINE ? " " : "\n    ", out);
        write_int32(out, values[i]);
        fputc(',', out);
    }
    fputs("\n};\n", out);
}

/* ---- parameters ---- */

static void write_rescale(FILE *out, const intq_rescale *r) {
    fprintf(out, "{.multiplier = %" PRId32 ", .shift = %" PRId32, r->multiplier, r->shift);
    if (r->is_float) { /* the float mode's multiplier; the integer modes leave the float fields zero */
        fputs(", .real = ", out);
        write_float(out, r->real);
        fputs(", .is_float = 1", out);
    }
    fprintf(out, "}, /* %.9g */", intq_rescale_value(r));
}

static void write_rescales(c_export_context *ctx, FILE *out, const char *name, const intq_rescale *rescales, int n) {
    fprintf(out, "static const intq_rescale %s[%d] = {\n", name, n);
    for (int i = 0; i < n; i++) {
        fputs("    ", out);
        write_rescale(out, &rescales[i]);
        fputc('\n', out);
    }
    fputs("};\n", out);
    ctx->report->parameter_bytes += sizeof(intq_rescale) * (size_t)n;
}

/* A requantization: its rescales as NAME_rescales and the struct as NAME. */
static void write_requant(c_export_context *ctx, FILE *out, const char *name, const intq_output_stage *stage) {
    char rescales[96];
    snprintf(rescales, sizeof rescales, "%s_rescales", name);
    write_rescales(ctx, out, rescales, stage->rescales, stage->n_rescales);
    const intq_requant *q = &stage->requant;
    fprintf(out, "static const intq_requant %s = {.n_channels = %" PRId32 ", .rescales = %s, .output_zero_point = %" PRId32
            ", .output_min = %" PRId32 ", .output_max = %" PRId32 "};\n",
            name, q->n_channels, rescales, q->output_zero_point, q->output_min, q->output_max);
    ctx->report->parameter_bytes += sizeof(intq_requant);
}

static void write_window(c_export_context *ctx, FILE *out, const char *name, const intq_window *w) {
    fprintf(out,
            "static const intq_window %s = {\n"
            "    .in_channels = %" PRId32 ", .in_height = %" PRId32 ", .in_width = %" PRId32 ",\n"
            "    .out_channels = %" PRId32 ", .out_height = %" PRId32 ", .out_width = %" PRId32 ",\n"
            "    .kernel_height = %" PRId32 ", .kernel_width = %" PRId32 ", .stride_height = %" PRId32
            ", .stride_width = %" PRId32 ",\n"
            "    .pad_top = %" PRId32 ", .pad_left = %" PRId32 ", .dilation_height = %" PRId32
            ", .dilation_width = %" PRId32 ", .groups = %" PRId32 "};\n",
            name, w->in_channels, w->in_height, w->in_width, w->out_channels, w->out_height, w->out_width,
            w->kernel_height, w->kernel_width, w->stride_height, w->stride_width, w->pad_top, w->pad_left,
            w->dilation_height, w->dilation_width, w->groups);
    ctx->report->parameter_bytes += sizeof(intq_window);
}

/* ---- tensors in NAME_run ---- */

static const intq_tensor *tensor(const c_export_context *ctx, int index) { return &ctx->program->tensors[index]; }

/* The C expression of tensor `index`'s data in NAME_run: the caller's input,
 * a constant's array, or the local pointer into the arena of its storage. */
static const char *tensor_ref(const c_export_context *ctx, int index, char *buf, size_t size) {
    const intq_tensor *t = tensor(ctx, index);
    if (t->constant) snprintf(buf, size, "tensor%d_values", index);
    else if (t->storage == tensor(ctx, ctx->io.input)->storage) snprintf(buf, size, "input");
    else snprintf(buf, size, "t%d", t->storage);
    return buf;
}

/* tensor_ref into a fresh buffer: a compound literal, alive until the end of
 * the enclosing block, so one statement can hold several. */
#define REF(ctx, index) tensor_ref(ctx, index, (char[48]){0}, 48)

static void write_shape(FILE *out, const intq_tensor *t) {
    for (int d = 0; d < t->rank; d++) fprintf(out, "%s%" PRId64, d ? "x" : "", t->dims[d]);
}

/* ---- one row per op kind ---- */

typedef struct step {
    c_export_context *ctx;
    FILE *out;
    int index;                /* in the program */
    const intq_op *op;
    char name[32];            /* "step7": the prefix of the step's data */
} step;

typedef struct op_rule {
    const char *kernel;                 /* the kernel file its call needs; NULL: none */
    void (*write_data)(step *s);        /* its const data; NULL: none */
    void (*write_call)(step *s);        /* its statements in NAME_run */
} op_rule;

static const intq_tensor *input_of(const step *s, int k) { return tensor(s->ctx, s->op->inputs[k]); }
static const intq_tensor *output_of(const step *s) { return tensor(s->ctx, s->op->output); }

static void data_name(const step *s, const char *what, char *buf, size_t size) {
    snprintf(buf, size, "%s_%s", s->name, what);
}

/* Weights and bias of a conv or fully connected step. */
static void write_weights(step *s, const int8_t *weights, size_t n_weights, const int32_t *bias, size_t n_bias) {
    char name[64];
    data_name(s, "weights", name, sizeof name);
    write_int8_array(s->out, name, weights, n_weights);
    data_name(s, "bias", name, sizeof name);
    write_int32_array(s->out, name, bias, n_bias);
    s->ctx->report->weight_bytes += n_weights;
    s->ctx->report->bias_bytes += n_bias * sizeof(int32_t);
}

static void write_stage_requant(step *s) {
    char name[64];
    data_name(s, "requant", name, sizeof name);
    write_requant(s->ctx, s->out, name, &s->op->stage);
}

static void write_step_window(step *s, const intq_window *w) {
    char name[64];
    data_name(s, "window", name, sizeof name);
    write_window(s->ctx, s->out, name, w);
}

/* quantize: the caller's input is the quantized input (NAME_quantize_input). */
static void call_quantize(step *s) {
    fprintf(s->out, "    /* the input, quantized by the caller (%s_quantize_input) */\n", s->ctx->options->name);
}

/* dequantize of a program output: its int8 values go to the caller's output buffer. */
static void call_dequantize(step *s) {
    bool output = false;
    for (int o = 0; o < s->ctx->io.n_outputs; o++) {
        if (s->ctx->io.output_ops[o] != s->index) continue;
        fprintf(s->out, "    copy_s8(%s, %" PRId32 ", output + %zu); /* output %d: '", REF(s->ctx, s->op->inputs[0]),
                input_of(s, 0)->count, s->ctx->output_offsets[o], o);
        c_export_comment_text(s->out, tensor(s->ctx, s->ctx->program->outputs[o])->name);
        fputs("' */\n", s->out);
        output = true;
    }
    if (!output) fputs("    /* not a program output: nothing to do */\n", s->out);
}

static void data_conv(step *s) {
    const intq_window *w = &s->op->u.conv.window;
    size_t n_weights = (size_t)w->out_channels * (size_t)(w->in_channels / w->groups) * (size_t)w->kernel_height *
                       (size_t)w->kernel_width;
    write_step_window(s, w);
    write_weights(s, s->op->u.conv.weights, n_weights, s->op->u.conv.bias, (size_t)w->out_channels);
    write_stage_requant(s);
}

static void call_conv(step *s) {
    fprintf(s->out, "    conv_s8(&%s_window, %s, %" PRId32 ", %s_weights, %s_bias, &%s_requant,\n", s->name,
            REF(s->ctx, s->op->inputs[0]), input_of(s, 0)->zero_point, s->name, s->name, s->name);
    fprintf(s->out, "            (int32_t *)(void *)(arena + %zu), %s);\n", s->ctx->memory.accumulator_offsets[s->index],
            REF(s->ctx, s->op->output));
}

static void data_fully_connected(step *s) {
    const intq_op *op = s->op;
    write_weights(s, op->u.fully_connected.weights,
                  (size_t)op->u.fully_connected.out_features * (size_t)op->u.fully_connected.in_features,
                  op->u.fully_connected.bias, (size_t)op->u.fully_connected.out_features);
    write_stage_requant(s);
}

static void call_fully_connected(step *s) {
    const intq_op *op = s->op;
    fprintf(s->out, "    fully_connected_s8(%" PRId32 ", %" PRId32 ", %" PRId32 ", %s, %s_weights, %s_bias, &%s_requant, %s);\n",
            op->u.fully_connected.rows, op->u.fully_connected.in_features, op->u.fully_connected.out_features,
            REF(s->ctx, op->inputs[0]), s->name, s->name, s->name, REF(s->ctx, op->output));
}

static void data_add(step *s) {
    char name[64];
    int32_t zero_points[INTQ_MAX_OP_INPUTS];
    for (int k = 0; k < s->op->n_inputs; k++) zero_points[k] = input_of(s, k)->zero_point;
    data_name(s, "zero_points", name, sizeof name);
    write_int32_array(s->out, name, zero_points, (size_t)s->op->n_inputs);
    s->ctx->report->parameter_bytes += sizeof(int32_t) * (size_t)s->op->n_inputs;
    data_name(s, "input_rescales", name, sizeof name);
    write_rescales(s->ctx, s->out, name, s->op->u.add.input_rescales, s->op->n_inputs);
    write_stage_requant(s);
}

static void call_add(step *s) {
    fprintf(s->out, "    {\n        const int8_t *const %s_inputs[%d] = {", s->name, s->op->n_inputs);
    for (int k = 0; k < s->op->n_inputs; k++) fprintf(s->out, "%s%s", k ? ", " : "", REF(s->ctx, s->op->inputs[k]));
    fprintf(s->out, "};\n        add_s8(%d, %s_inputs, %s_zero_points, %s_input_rescales, %" PRId32 ", %" PRId32
            ", &%s_requant, %s);\n    }\n",
            s->op->n_inputs, s->name, s->name, s->name, s->op->u.add.left_shift, output_of(s)->count, s->name,
            REF(s->ctx, s->op->output));
}

static void data_concat(step *s) {
    for (int k = 0; k < s->op->n_inputs; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s_part%d_requant", s->name, k);
        write_requant(s->ctx, s->out, name, &s->op->u.concat.parts[k]);
    }
}

/* As the engine: output block o holds, input after input, each input's inner values of outer index o. */
static void call_concat(step *s) {
    const intq_op *op = s->op;
    int32_t block = 0;
    for (int k = 0; k < op->n_inputs; k++) block += op->u.concat.inner[k];
    bool loop = op->u.concat.outer > 1;
    if (loop) fprintf(s->out, "    for (int32_t o = 0; o < %" PRId32 "; o++) {\n", op->u.concat.outer);
    int32_t at = 0;
    for (int k = 0; k < op->n_inputs; k++) {
        int32_t inner = op->u.concat.inner[k];
        if (loop)
            fprintf(s->out, "        rescale_s8(%s + o * %" PRId32 ", %" PRId32 ", %" PRId32 ", &%s_part%d_requant, %s + o * %"
                    PRId32 " + %" PRId32 ");\n", REF(s->ctx, op->inputs[k]), inner, inner, input_of(s, k)->zero_point,
                    s->name, k, REF(s->ctx, op->output), block, at);
        else
            fprintf(s->out, "    rescale_s8(%s, %" PRId32 ", %" PRId32 ", &%s_part%d_requant, %s + %" PRId32 ");\n",
                    REF(s->ctx, op->inputs[k]), inner, input_of(s, k)->zero_point, s->name, k,
                    REF(s->ctx, op->output), at);
        at += inner;
    }
    if (loop) fputs("    }\n", s->out);
}

static void data_pool(step *s) { write_step_window(s, &s->op->u.pool.window); }

static void call_maxpool(step *s) {
    fprintf(s->out, "    maxpool_s8(&%s_window, %s, %s);\n", s->name, REF(s->ctx, s->op->inputs[0]),
            REF(s->ctx, s->op->output));
}

static void data_avgpool(step *s) {
    write_step_window(s, &s->op->u.pool.window);
    write_stage_requant(s);
}

static void call_avgpool(step *s) {
    fprintf(s->out, "    avgpool_s8(&%s_window, %s, %" PRId32 ", %" PRId32 ", %" PRId32 ", &%s_requant, %s);\n", s->name,
            REF(s->ctx, s->op->inputs[0]), input_of(s, 0)->zero_point, s->op->u.pool.count_include_pad,
            s->op->u.pool.fraction_bits, s->name, REF(s->ctx, s->op->output));
}

static void call_rescale(step *s) {
    fprintf(s->out, "    rescale_s8(%s, %" PRId32 ", %" PRId32 ", &%s_requant, %s);\n", REF(s->ctx, s->op->inputs[0]),
            input_of(s, 0)->count, input_of(s, 0)->zero_point, s->name, REF(s->ctx, s->op->output));
}

static void call_clamp(step *s) {
    fprintf(s->out, "    clamp_s8(%s, %" PRId32 ", %" PRId32 ", %" PRId32 ", %s);\n", REF(s->ctx, s->op->inputs[0]),
            input_of(s, 0)->count, s->op->u.clamp.low, s->op->u.clamp.high, REF(s->ctx, s->op->output));
}

static void data_lookup(step *s) {
    char name[64];
    data_name(s, "table", name, sizeof name);
    fputs("/* out = table[in + 128] */\n", s->out);
    write_int8_array(s->out, name, s->op->u.lookup.table, sizeof s->op->u.lookup.table);
    s->ctx->report->table_bytes += sizeof s->op->u.lookup.table;
}

static void call_lookup(step *s) {
    fprintf(s->out, "    lookup_s8(%s, %" PRId32 ", %s_table, %s);\n", REF(s->ctx, s->op->inputs[0]), input_of(s, 0)->count,
            s->name, REF(s->ctx, s->op->output));
}

/* Float steps have no row: an IntProgram with one is not exported. */
static const op_rule op_rules[INTQ_OP_KIND_COUNT] = {
    [INTQ_OP_QUANTIZE] = {NULL, NULL, call_quantize},
    [INTQ_OP_DEQUANTIZE] = {NULL, NULL, call_dequantize},
    [INTQ_OP_CONV] = {"conv_s8.c", data_conv, call_conv},
    [INTQ_OP_FULLY_CONNECTED] = {"fully_connected_s8.c", data_fully_connected, call_fully_connected},
    [INTQ_OP_ADD] = {"add_s8.c", data_add, call_add},
    [INTQ_OP_CONCAT] = {"rescale_s8.c", data_concat, call_concat},
    [INTQ_OP_MAXPOOL] = {"maxpool_s8.c", data_pool, call_maxpool},
    [INTQ_OP_AVGPOOL] = {"avgpool_s8.c", data_avgpool, call_avgpool},
    [INTQ_OP_RESCALE] = {"rescale_s8.c", write_stage_requant, call_rescale},
    [INTQ_OP_CLAMP] = {"clamp_s8.c", NULL, call_clamp},
    [INTQ_OP_LOOKUP] = {"lookup_s8.c", data_lookup, call_lookup},
};

bool c_export_op_known(intq_op_kind kind) {
    return kind >= 0 && kind < INTQ_OP_KIND_COUNT && op_rules[kind].write_call != NULL;
}

const char *c_export_op_kernel(intq_op_kind kind) { return c_export_op_known(kind) ? op_rules[kind].kernel : NULL; }

/* ---- NAME.h ---- */

/* "NAME<suffix> - generated ..." and the provenance line. */
static void write_banner(c_export_context *ctx, FILE *out, const char *suffix) {
    fprintf(out, "/* %s%s", ctx->options->name, suffix);
    fputs(" - generated by nnquant export: do not edit.\n * ", out);
    c_export_comment_text(out, ctx->options->provenance ? ctx->options->provenance : "");
    fputs(" */\n", out);
}

void c_export_write_header(c_export_context *ctx, FILE *out) {
    const intq_program *p = ctx->program;
    const char *n = ctx->options->name, *M = ctx->macro;
    const intq_tensor *in = tensor(ctx, ctx->io.input);
    const c_export_report *r = ctx->report;
    write_banner(ctx, out, ".h");
    fprintf(out,
            "/* The model as integer code: %s_run computes one sample from its quantized\n"
            " * input to its quantized outputs with the integer kernels (intq_kernels.h),\n"
            " * bit for bit as nnquant's integer engine does. Values are int8; a grid of\n"
            " * unsigned 8-bit values [0, 255] is stored shifted by -128, with its zero\n"
            " * point shifted alike, so real = scale * (q - zero_point) holds for the stored q.\n"
            " *\n",
            n);
    if (r->integer_only)
        fprintf(out, " * Integer-only: with every file compiled with -DINTQ_INTEGER_ONLY (the\n"
                     " * Makefile does so), the inference path - %s.c and the kernels it calls -\n"
                     " * has no floating-point operation. %s_io.c has the float helpers for the host.\n",
                n, n);
    else
        fprintf(out, " * Float rescaling (--rescale float): the requantizations multiply in float.\n"
                     " * %s_io.c has the float helpers for the host.\n", n);
    fprintf(out,
            " *\n"
            " * Flash: %zu bytes of const data (weights %zu, biases %zu, constants %zu,\n"
            " * lookup tables %zu, requantization and geometry %zu; with the exporting\n"
            " * host's type sizes). RAM: the scratch arena, %s_SCRATCH_SIZE bytes, laid\n"
            " * out by tensor liveness with buffer reuse. */\n",
            r->flash_bytes, r->weight_bytes, r->bias_bytes, r->constant_bytes, r->table_bytes, r->parameter_bytes, M);
    fprintf(out, "#ifndef %s_H\n#define %s_H\n\n#include <stdint.h>\n\n", M, M);
    fprintf(out, "#define %s_INTEGER_ONLY %d\n\n", M, r->integer_only ? 1 : 0);
    fputs("/* The input '", out);
    c_export_comment_text(out, in->name);
    fputs("' [", out);
    write_shape(out, in);
    fputs("]: int8 values on the grid below. */\n", out);
    fprintf(out, "#define %s_INPUT_SIZE %" PRId32 "\n", M, in->count);
    fprintf(out, "#define %s_INPUT_SCALE ", M);
    write_float(out, in->scale);
    fprintf(out, " /* %.9g */\n", (double)in->scale);
    fprintf(out, "#define %s_INPUT_ZERO_POINT (%" PRId32 ")\n", M, in->zero_point);
    fprintf(out, "#define %s_INPUT_MIN (%" PRId32 ")\n#define %s_INPUT_MAX (%" PRId32 ")\n\n", M, in->q_min, M,
            in->q_max);
    fprintf(out, "/* The outputs, one after the other in %s_run's output buffer. */\n", n);
    fprintf(out, "#define %s_OUTPUT_COUNT %d\n#define %s_OUTPUT_SIZE %zu\n", M, p->n_outputs, M, ctx->output_size);
    for (int o = 0; o < p->n_outputs; o++) {
        const intq_tensor *y = tensor(ctx, ctx->io.outputs[o]);
        fprintf(out, "/* output %d: '", o);
        c_export_comment_text(out, tensor(ctx, p->outputs[o])->name);
        fputs("' [", out);
        write_shape(out, y);
        fputs("] */\n", out);
        fprintf(out, "#define %s_OUTPUT%d_OFFSET %zu\n#define %s_OUTPUT%d_SIZE %" PRId32 "\n", M, o,
                ctx->output_offsets[o], M, o, y->count);
        fprintf(out, "#define %s_OUTPUT%d_SCALE ", M, o);
        write_float(out, y->scale);
        fprintf(out, " /* %.9g */\n", (double)y->scale);
        fprintf(out, "#define %s_OUTPUT%d_ZERO_POINT (%" PRId32 ")\n", M, o, y->zero_point);
    }
    if (p->n_outputs == 1)
        fprintf(out, "#define %s_OUTPUT_SCALE %s_OUTPUT0_SCALE\n#define %s_OUTPUT_ZERO_POINT %s_OUTPUT0_ZERO_POINT\n", M,
                M, M, M);
    fprintf(out,
            "\n/* The scratch arena: activations and conv accumulators (int32), laid out\n"
            " * by tensor liveness; aligned for int32_t, e.g.\n"
            " *   static int32_t scratch[%s_SCRATCH_WORDS]; */\n"
            "#define %s_SCRATCH_SIZE %zu\n"
            "#define %s_SCRATCH_WORDS %zu\n\n",
            M, M, ctx->memory.arena_size, M, (ctx->memory.arena_size + 3) / 4 + 1);
    fprintf(out,
            "/* Runs the model on one sample: input holds %s_INPUT_SIZE values, output\n"
            " * receives %s_OUTPUT_SIZE values; scratch is %s_SCRATCH_SIZE bytes aligned for\n"
            " * int32_t (its contents need not be kept between calls). Returns 0, or -1 when\n"
            " * a pointer is NULL. Reentrant: all state is in scratch. */\n"
            "int %s_run(const int8_t *input, int8_t *output, void *scratch);\n\n",
            M, M, M, n);
    fprintf(out,
            "/* Host helpers (%s_io.c, float): the input quantized as the integer engine\n"
            " * does (round half to even, clamped to the grid), and the outputs dequantized. */\n"
            "void %s_quantize_input(const float *real, int8_t *input);\n"
            "void %s_dequantize_output(const int8_t *output, float *real);\n\n#endif\n",
            n, n, n);
}

/* ---- NAME.c ---- */

static void write_constants(c_export_context *ctx, FILE *out) {
    for (int i = 0; i < ctx->program->n_tensors; i++) {
        const intq_tensor *t = tensor(ctx, i);
        if (!t->constant) continue;
        char name[48];
        snprintf(name, sizeof name, "tensor%d_values", i);
        fputs("\n/* constant '", out);
        c_export_comment_text(out, t->name);
        fputs("' */\n", out);
        write_int8_array(out, name, t->constant, (size_t)t->count);
        ctx->report->constant_bytes += (size_t)t->count;
    }
}

static void step_init(step *s, c_export_context *ctx, FILE *out, int index) {
    s->ctx = ctx;
    s->out = out;
    s->index = index;
    s->op = &ctx->program->ops[index];
    snprintf(s->name, sizeof s->name, "step%d", index);
}

static void write_step_title(const step *s, const char *indent) {
    fprintf(s->out, "%s/* step %d: %s '", indent, s->index, intq_op_kind_name(s->op->kind));
    c_export_comment_text(s->out, s->op->node_name);
    fputs("' */\n", s->out);
}

/* The local pointers into the arena, one per storage a step reads or writes. */
static void write_arena_pointers(c_export_context *ctx, FILE *out) {
    const intq_program *p = ctx->program;
    for (int t = 0; t < p->n_tensors; t++) {
        const intq_tensor *x = tensor(ctx, t);
        if (x->storage != t || ctx->memory.tensor_offsets[t] == INTQ_NOT_IN_ARENA) continue;
        fprintf(out, "    int8_t *const t%d = (int8_t *)(arena + %zu); /* '", t, ctx->memory.tensor_offsets[t]);
        c_export_comment_text(out, x->name);
        fputs("' [", out);
        write_shape(out, x);
        fprintf(out, "], %" PRId32 " bytes */\n", x->count);
    }
}

void c_export_write_source(c_export_context *ctx, FILE *out) {
    const intq_program *p = ctx->program;
    const char *n = ctx->options->name;
    write_banner(ctx, out, ".c");
    fprintf(out, "#include \"%s.h\"\n\n#include \"intq_kernels.h\"\n\n", n);
    if (ctx->report->integer_only)
        fprintf(out, "#ifndef INTQ_INTEGER_ONLY\n#error \"%s is integer-only: compile every file with "
                "-DINTQ_INTEGER_ONLY (see the Makefile), so that the kernels have no float code\"\n#endif\n", n);
    else
        fprintf(out, "#ifdef INTQ_INTEGER_ONLY\n#error \"%s rescales in float (--rescale float): compile it without "
                "INTQ_INTEGER_ONLY\"\n#endif\n", n);
    write_constants(ctx, out);
    for (int i = 0; i < p->n_ops; i++) {
        const op_rule *rule = &op_rules[p->ops[i].kind];
        if (!rule->write_data) continue;
        step s;
        step_init(&s, ctx, out, i);
        fputc('\n', out);
        write_step_title(&s, "");
        rule->write_data(&s);
    }
    fprintf(out, "\nstatic void copy_s8(const int8_t *from, int32_t count, int8_t *to) {\n"
                 "    for (int32_t i = 0; i < count; i++) to[i] = from[i];\n}\n\n");
    fprintf(out, "int %s_run(const int8_t *input, int8_t *output, void *scratch) {\n", n);
    fputs("    if (!input || !output || !scratch) return -1;\n", out);
    fputs("    unsigned char *const arena = (unsigned char *)scratch;\n", out);
    write_arena_pointers(ctx, out);
    if (ctx->memory.arena_size == 0) fputs("    (void)arena; /* nothing lives in the arena */\n", out);
    for (int i = 0; i < p->n_ops; i++) {
        step s;
        step_init(&s, ctx, out, i);
        write_step_title(&s, "    ");
        op_rules[s.op->kind].write_call(&s);
    }
    fputs("    return 0;\n}\n", out);
}

/* ---- NAME_io.c ---- */

void c_export_write_io(c_export_context *ctx, FILE *out) {
    const char *n = ctx->options->name, *M = ctx->macro;
    write_banner(ctx, out, "_io.c: host helpers (float)");
    fprintf(out, "#include \"%s.h\"\n\n#include \"intq_kernels.h\"\n\n", n);
    fprintf(out, "void %s_quantize_input(const float *real, int8_t *input) {\n"
                 "    quantize_f32_s8(real, %s_INPUT_SIZE, %s_INPUT_SCALE, %s_INPUT_ZERO_POINT, %s_INPUT_MIN, %s_INPUT_MAX, "
                 "input);\n}\n\n", n, M, M, M, M, M);
    fprintf(out, "void %s_dequantize_output(const int8_t *output, float *real) {\n", n);
    for (int o = 0; o < ctx->program->n_outputs; o++)
        fprintf(out, "    dequantize_s8_f32(output + %s_OUTPUT%d_OFFSET, %s_OUTPUT%d_SIZE, %s_OUTPUT%d_SCALE, "
                     "%s_OUTPUT%d_ZERO_POINT,\n                      real + %s_OUTPUT%d_OFFSET);\n",
                M, o, M, o, M, o, M, o, M, o);
    fputs("}\n", out);
}
