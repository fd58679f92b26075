/* The C export: checks the program, plans its memory, writes the folder (see c_export.h). */
#include "export/c_export.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/atomic_file.h"
#include "base/status.h"
#include "export/c_export_internal.h"
#include "export/c_export_kernels.h"

/* ---- checks ---- */

static bool is_identifier(const char *s) {
    if (!*s || !(isalpha((unsigned char)*s) || *s == '_')) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_') return false;
    return true;
}

static bool stage_uses_float(const intq_output_stage *stage) {
    for (int i = 0; i < stage->n_rescales; i++)
        if (stage->rescales[i].is_float) return true;
    return false;
}

/* True when some requantization of the program multiplies in float. */
static bool uses_float_rescale(const intq_program *p) {
    for (int i = 0; i < p->n_ops; i++) {
        const intq_op *op = &p->ops[i];
        if (stage_uses_float(&op->stage)) return true;
        if (op->kind == INTQ_OP_ADD)
            for (int k = 0; k < op->n_inputs; k++)
                if (op->u.add.input_rescales[k].is_float) return true;
        if (op->kind == INTQ_OP_CONCAT)
            for (int k = 0; k < op->n_inputs; k++)
                if (stage_uses_float(&op->u.concat.parts[k])) return true;
    }
    return false;
}

nnq_status c_export_check(const intq_program *p) {
    intq_int8_interface io;
    NNQ_TRY(intq_int8_interface_find(p, &io));
    intq_int8_interface_free(&io);
    for (int i = 0; i < p->n_ops; i++)
        if (!c_export_op_known(p->ops[i].kind))
            return nnq_fail(NNQ_ERR_UNSUPPORTED, "step %d (%s, node '%s'): the C export has no code for this op kind",
                            i, intq_op_kind_name(p->ops[i].kind), p->ops[i].node_name);
    for (int t = 0; t < p->n_tensors; t++) {
        const intq_tensor *x = &p->tensors[t];
        if (x->type == INTQ_INT8 || (x->type == INTQ_FLOAT32 && !x->constant)) continue;
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "tensor '%s': the C export handles int8 tensors only", x->name);
    }
    return NNQ_OK;
}

/* True when NAME.c, NAME.h or NAME_io.c would overwrite main.c or a kernel file. */
static bool name_collides(const char *name) {
    if (strcmp(name, "main") == 0) return true;
    size_t len = strlen(name);
    for (int i = 0; i < c_export_kernel_source_count; i++) {
        const char *file = c_export_kernel_sources[i].name;
        if (strncmp(file, name, len) == 0 &&
            (strcmp(file + len, ".c") == 0 || strcmp(file + len, ".h") == 0 || strcmp(file + len, "_io.c") == 0))
            return true;
    }
    return false;
}

/* ---- files ---- */

static nnq_status make_folder(const char *dir) {
    struct stat info;
    if (stat(dir, &info) == 0) {
        if (!S_ISDIR(info.st_mode)) return nnq_fail(NNQ_ERR_IO, "'%s' exists and is not a folder", dir);
        return NNQ_OK;
    }
    if (mkdir(dir, 0777) != 0) return nnq_fail(NNQ_ERR_IO, "cannot create the folder '%s': %s", dir, strerror(errno));
    return NNQ_OK;
}

static nnq_status folder_path(const c_export_context *ctx, const char *file, char *buf, size_t size) {
    int n = snprintf(buf, size, "%s/%s", ctx->options->dir, file);
    if (n < 0 || (size_t)n >= size) return nnq_fail(NNQ_ERR_IO, "path '%s/%s' is too long", ctx->options->dir, file);
    return NNQ_OK;
}

typedef void (*text_writer)(c_export_context *ctx, FILE *out);

/* Writes DIR/<name><suffix> atomically with writer. */
static nnq_status write_text(c_export_context *ctx, const char *name, const char *suffix, text_writer writer) {
    char file[256], path[4096];
    snprintf(file, sizeof file, "%s%s", name, suffix);
    NNQ_TRY(folder_path(ctx, file, path, sizeof path));
    nnq_atomic_file f;
    NNQ_TRY(atomic_file_open(&f, path));
    writer(ctx, f.stream);
    return atomic_file_commit(&f);
}

static nnq_status write_bytes(c_export_context *ctx, const char *file, const void *data, size_t size) {
    char path[4096];
    NNQ_TRY(folder_path(ctx, file, path, sizeof path));
    return atomic_file_write_all(path, data, size);
}

static nnq_status write_kernel(c_export_context *ctx, const char *file) {
    const c_export_source_file *source = c_export_kernel_source(file);
    if (!source)
        return nnq_fail(NNQ_ERR_INVALID, "kernel source '%s' is not embedded in this nnquant build", file);
    return write_bytes(ctx, file, source->text, source->size);
}

/* The kernel sources: the two headers, the kernels NAME.c calls, the host's quantize/dequantize. */
static nnq_status write_kernels(c_export_context *ctx) {
    const char *always[] = {"intq_kernels.h", "intq_requantize.h", C_EXPORT_QUANTIZE_KERNEL, C_EXPORT_DEQUANTIZE_KERNEL};
    for (size_t i = 0; i < sizeof always / sizeof always[0]; i++) NNQ_TRY(write_kernel(ctx, always[i]));
    for (int k = 0; k < ctx->n_kernels; k++) NNQ_TRY(write_kernel(ctx, ctx->kernels[k]));
    ctx->report->n_kernel_files = (int)(sizeof always / sizeof always[0]) + ctx->n_kernels;
    return NNQ_OK;
}

/* Always written (empty without samples), so that files of an earlier export never pass for this one's. */
static nnq_status write_samples(c_export_context *ctx) {
    const c_export_samples *s = ctx->options->samples;
    int64_t n = s ? s->count : 0;
    if (s && n && (s->input_size != ctx->program->tensors[ctx->io.input].count || (size_t)s->output_size != ctx->output_size))
        return nnq_fail(NNQ_ERR_INVALID, "the test samples do not have the program's input and output sizes");
    NNQ_TRY(write_bytes(ctx, "test_inputs.bin", s ? s->inputs : NULL, s ? (size_t)(n * s->input_size) : 0));
    NNQ_TRY(write_bytes(ctx, "test_outputs.bin", s ? s->outputs : NULL, s ? (size_t)(n * s->output_size) : 0));
    if (s && s->labels) NNQ_TRY(write_bytes(ctx, "test_labels.bin", s->labels, (size_t)n * sizeof(int32_t)));
    return NNQ_OK;
}

/* ---- the export ---- */

static void add_kernel(c_export_context *ctx, const char *file) {
    if (!file) return;
    for (int k = 0; k < ctx->n_kernels; k++)
        if (strcmp(ctx->kernels[k], file) == 0) return;
    ctx->kernels[ctx->n_kernels++] = file;
}

static nnq_status prepare(c_export_context *ctx) {
    const intq_program *p = ctx->program;
    NNQ_TRY(intq_int8_interface_find(p, &ctx->io));
    ctx->output_offsets = calloc((size_t)p->n_outputs + 1, sizeof *ctx->output_offsets);
    if (!ctx->output_offsets) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    for (int o = 0; o < p->n_outputs; o++) {
        ctx->output_offsets[o] = ctx->output_size;
        ctx->output_size += (size_t)p->tensors[ctx->io.outputs[o]].count;
    }
    for (int i = 0; i < p->n_ops; i++) add_kernel(ctx, c_export_op_kernel(p->ops[i].kind));
    /* The arena holds the integer tensors NAME_run computes and the conv accumulators; the quantized input
     * stays in the caller's buffer. */
    intq_memory_scope scope = {.float_tensors = false,
                               .external_storage = p->tensors[ctx->io.input].storage,
                               .conv_accumulators = true};
    NNQ_TRY(intq_memory_plan_build(p, &scope, &ctx->memory));
    size_t i = 0;
    for (; ctx->options->name[i] && i + 1 < sizeof ctx->macro; i++)
        ctx->macro[i] = (char)toupper((unsigned char)ctx->options->name[i]);
    ctx->macro[i] = '\0';
    return NNQ_OK;
}

static void fill_report(c_export_context *ctx) {
    c_export_report *r = ctx->report;
    r->flash_bound = r->weight_bytes + r->bias_bytes + r->constant_bytes + r->table_bytes;
    r->flash_bytes = r->flash_bound + r->parameter_bytes;
    r->ram_bytes = ctx->memory.arena_size;
    r->ram_bound = ctx->memory.peak_bytes;
    r->ram_unshared = ctx->memory.unshared_bytes;
    r->ram_peak_step = ctx->memory.peak_step;
    int step = ctx->memory.peak_step;
    r->ram_peak_node = step >= 0 && step < ctx->program->n_ops ? ctx->program->ops[step].node_name : "";
    r->n_steps = ctx->program->n_ops;
}

static nnq_status write_all(c_export_context *ctx) {
    const char *n = ctx->options->name;
    NNQ_TRY(make_folder(ctx->options->dir));
    NNQ_TRY(write_kernels(ctx));
    NNQ_TRY(write_text(ctx, n, ".c", c_export_write_source)); /* counts the const data for the header's note */
    fill_report(ctx);
    NNQ_TRY(write_text(ctx, n, ".h", c_export_write_header));
    NNQ_TRY(write_text(ctx, n, "_io.c", c_export_write_io));
    NNQ_TRY(write_text(ctx, "main", ".c", c_export_write_main));
    NNQ_TRY(write_text(ctx, "Makefile", "", c_export_write_makefile));
    return write_samples(ctx);
}

nnq_status c_export_write(const intq_program *program, const c_export_options *options, c_export_report *report) {
    memset(report, 0, sizeof *report);
    if (!options->dir || !*options->dir) return nnq_fail(NNQ_ERR_USAGE, "no output folder given");
    if (!options->name || !is_identifier(options->name) || strlen(options->name) > 64)
        return nnq_fail(NNQ_ERR_USAGE, "the module name '%s' is not a C identifier (letters, digits, _; at most 64)",
                        options->name ? options->name : "");
    if (name_collides(options->name))
        return nnq_fail(NNQ_ERR_USAGE, "the module name '%s' would give a file the same name as the example's "
                        "main.c or a kernel file", options->name);
    NNQ_TRY(c_export_check(program));
    c_export_context ctx = {.program = program, .options = options, .report = report};
    report->integer_only = !uses_float_rescale(program);
    nnq_status st = prepare(&ctx);
    if (st == NNQ_OK) st = write_all(&ctx);
    if (st != NNQ_OK) nnq_fail_context(st, "C export into '%s'", options->dir);
    intq_int8_interface_free(&ctx.io);
    intq_memory_plan_free(&ctx.memory);
    free(ctx.output_offsets);
    return st;
}
