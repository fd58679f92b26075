/* nnquant export MODEL --plan PLAN.json --target c -o DIR [--rescale MODE]
 *                [--rescale-per-output|--rescale-per-layer] [--test-samples N]
 *                [--calib SPEC | --eval SPEC] [--name NAME] [data options] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "cli/cli.h"
#include "export/c_export.h"
#include "intq/lowering.h"
#include "ir/passes/passes.h"
#include "onnx/onnx_io.h"
#include "quant/plan_model.h"

enum { DEFAULT_TEST_SAMPLES = 100 };

static const char *const usage =
    "usage: nnquant export MODEL --plan PLAN.json --target c -o DIR [--rescale MODE]\n"
    "                      [--rescale-per-output | --rescale-per-layer] [--test-samples N]\n"
    "                      [--calib SPEC | --eval SPEC] [--name NAME] [data options]\n"
    "\n"
    "Lowers the model and its plan (written by quantize --plan-out) to the integer\n"
    "program `eval --int` runs, and writes it as a self-contained C99 module into\n"
    "DIR (created if missing):\n"
    "  NAME.h, NAME.c    weights, biases, requantization parameters as const arrays;\n"
    "                    int NAME_run(const int8_t *input, int8_t *output, void *scratch)\n"
    "                    runs one sample; sizes, input/output grids as macros\n"
    "  NAME_io.c         host helpers (float): NAME_quantize_input, NAME_dequantize_output\n"
    "  *_s8.c, intq_*.h  the integer kernels: the very files the integer engine is built from\n"
    "  main.c, Makefile  an example; `make` builds it (-std=c99 -Wall -Wextra -Werror -O2),\n"
    "                    `make test` checks its outputs on the test samples against the\n"
    "                    integer engine's, byte for byte; `make size` prints code sizes\n"
    "  test_*.bin        the test samples: quantized inputs, the engine's int8 outputs, labels\n"
    "Except with --rescale float, the inference path (NAME.c and its kernels) has no\n"
    "floating-point operation. Memory is planned statically: one scratch arena laid out by\n"
    "tensor liveness with buffer reuse. Prints flash and RAM bytes against their lower\n"
    "bounds. Only integer-only programs are exported (the error names the float nodes).\n"
    "\n"
    "  --plan PLAN.json       the quantization plan\n"
    "  --target c             what to write (C is the one target)\n"
    "  -o, --output DIR       the output folder (its parent must exist)\n"
    "  --rescale MODE         float, fixed16, fixed32 (default), single-shift, double-shift\n"
    "                         (as eval --rescale)\n"
    "  --rescale-per-output   one rescale per output channel (default)\n"
    "  --rescale-per-layer    one rescale per layer (as eval --rescale-per-layer)\n"
    "  --test-samples N       how many test samples to write (default 100; 0: none)\n"
    "  --calib SPEC, --eval SPEC\n"
    "                         the data the test samples are taken from (its first N)\n"
    "  --name NAME            C identifier for the files and symbols (default model:\n"
    "                         model.h, model_run, MODEL_INPUT_SIZE, ...)\n"
    "\n";

typedef struct export_args {
    const char *model_path, *plan_path, *target, *dir, *spec, *name;
    dataset_options data;
    int64_t test_samples;
    intq_lowering_options lowering;
} export_args;

/* A whole number from 0 to max, or -1. */
static long long parse_count(const char *text, long long max) {
    char *end;
    long long n = strtoll(text, &end, 10);
    return end != text && *end == '\0' && n >= 0 && n <= max ? n : -1;
}

static void print_report(const export_args *a, const c_export_report *r, const c_export_samples *samples) {
    printf("exported %s as C into %s/ (%s.h, %s.c, %s_io.c, main.c, Makefile, %d kernel files)\n", a->model_path,
           a->dir, a->name, a->name, a->name, r->n_kernel_files);
    printf("program:  %d steps, %s, rescale %s %s\n", r->n_steps,
           r->integer_only ? "integer-only (no float on the inference path)" : "float requantization",
           intq_rescale_mode_info_of(a->lowering.mode)->name,
           a->lowering.rescale_per_output ? "per output channel" : "per layer");
    if (samples->count)
        printf("test:     %lld samples from %s with the integer engine's outputs (make -C %s test)\n",
               (long long)samples->count, a->spec, a->dir);
    else printf("test:     no test samples\n");
    printf("flash:    %zu bytes of const data = weights %zu + biases %zu + constants %zu + lookup tables %zu + "
           "requantization and geometry %zu\n", r->flash_bytes, r->weight_bytes, r->bias_bytes, r->constant_bytes,
           r->table_bytes, r->parameter_bytes);
    printf("          lower bound %zu bytes (the parameters: weights, biases, constants, tables), ratio %.3f; "
           "code: make -C %s size\n",
           r->flash_bound, r->flash_bound ? (double)r->flash_bytes / (double)r->flash_bound : 1.0, a->dir);
    printf("RAM:      %zu bytes: the scratch arena (activations and conv accumulators; %zu without reuse)\n",
           r->ram_bytes, r->ram_unshared);
    printf("          lower bound %zu bytes (the largest set of simultaneously live tensors, at step %d '%s'), "
           "ratio %.3f\n", r->ram_bound, r->ram_peak_step, r->ram_peak_node,
           r->ram_bound ? (double)r->ram_bytes / (double)r->ram_bound : 1.0);
}

/* Lowers, takes the test samples, writes the folder. */
static nnq_status export_program(const export_args *a, const nnq_model *prepared, const nnq_plan *plan,
                                 nnq_dataset *data) {
    intq_program program;
    NNQ_TRY(intq_lower(prepared, plan, &a->lowering, &program));
    c_export_samples samples = {0};
    c_export_report report;
    nnq_status st = c_export_check(&program);
    if (st != NNQ_OK) nnq_fail_context(st, "cannot export '%s' as C", a->model_path);
    if (st == NNQ_OK && data && a->test_samples > 0) st = c_export_samples_make(&program, data, a->test_samples, &samples);
    char provenance[1024];
    snprintf(provenance, sizeof provenance, "From %s with plan %s; rescale %s %s.", a->model_path, a->plan_path,
             intq_rescale_mode_info_of(a->lowering.mode)->name,
             a->lowering.rescale_per_output ? "per output channel" : "per layer");
    c_export_options options = {.dir = a->dir, .name = a->name, .provenance = provenance,
                                .samples = samples.count ? &samples : NULL};
    if (st == NNQ_OK) st = c_export_write(&program, &options, &report);
    if (st == NNQ_OK) print_report(a, &report, &samples);
    c_export_samples_free(&samples);
    intq_program_free(&program);
    return st;
}

static int export_model(export_args *a) {
    nnq_model model;
    if (onnx_load_model(a->model_path, &model) != NNQ_OK) return cli_report_error();
    nnq_dataset *data = NULL;
    nnq_plan plan = {0};
    bool have_plan = false;
    nnq_model prepared = {0};
    nnq_status st = model_simplify(&model);
    const nnq_value_info *input = st == NNQ_OK ? graph_single_runtime_input(&model.graph) : NULL;
    if (st == NNQ_OK && !input)
        st = nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': export needs a model with exactly one input", a->model_path);
    if (st == NNQ_OK && a->spec && a->test_samples > 0) {
        dataset_options_fit_input(&a->data, input->dtype, input->rank, input->dims);
        a->data.limit = a->test_samples;
        st = dataset_open(a->spec, &a->data, &data);
    }
    /* As eval --plan: the plan annotates a prepared graph (plan_model.h). */
    if (st == NNQ_OK) {
        st = plan_load_with_model(a->plan_path, &model, &plan, &prepared);
        have_plan = st == NNQ_OK;
    }
    if (st == NNQ_OK) st = export_program(a, &prepared, &plan, data);
    int code = st == NNQ_OK ? 0 : cli_report_error();
    model_free(&prepared);
    if (have_plan) plan_free(&plan);
    dataset_close(data);
    model_free(&model);
    return code;
}

int cmd_export(int argc, char **argv) {
    export_args a = {.data = dataset_options_defaults(), .name = "model", .test_samples = -1,
                     .lowering = intq_lowering_defaults()};
    const char *calib = NULL, *eval = NULL;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *value;
        cli_option_result shared;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            fputs(cli_dataset_help, stdout);
            return 0;
        } else if ((shared = cli_parse_dataset_option("export", argc, argv, &i, &a.data)) != CLI_OPTION_OTHER) {
            if (shared == CLI_OPTION_ERROR) return 2;
        } else if ((value = cli_option_value(argc, argv, &i, "--plan", &missing))) {
            a.plan_path = value;
        } else if ((value = cli_option_value(argc, argv, &i, "--target", &missing))) {
            a.target = value;
        } else if ((value = cli_option_value(argc, argv, &i, "--output", &missing)) ||
                   (!missing && (value = cli_option_value(argc, argv, &i, "-o", &missing)))) {
            a.dir = value;
        } else if ((value = cli_option_value(argc, argv, &i, "--rescale", &missing))) {
            if (intq_rescale_mode_parse(value, &a.lowering.mode) != NNQ_OK)
                return cli_usage_error("export", "--rescale needs one of %s, not '%s'", intq_rescale_mode_list(), value);
        } else if ((value = cli_option_value(argc, argv, &i, "--test-samples", &missing))) {
            long long n = parse_count(value, 1LL << 40);
            if (n < 0) return cli_usage_error("export", "--test-samples needs a count >= 0, not '%s'", value);
            a.test_samples = n;
        } else if ((value = cli_option_value(argc, argv, &i, "--calib", &missing))) {
            calib = value;
        } else if ((value = cli_option_value(argc, argv, &i, "--eval", &missing))) {
            eval = value;
        } else if ((value = cli_option_value(argc, argv, &i, "--name", &missing))) {
            a.name = value;
        } else if (missing) {
            return cli_usage_error("export", "option '%s' needs a value", argv[i]);
        } else if (cli_parse_rescale_granularity(argv[i], &a.lowering)) {
        } else if (argv[i][0] == '-') {
            return cli_usage_error("export", "unknown option '%s'", argv[i]);
        } else if (a.model_path) {
            return cli_usage_error("export", "more than one model given ('%s' and '%s')", a.model_path, argv[i]);
        } else {
            a.model_path = argv[i];
        }
    }
    if (!a.model_path) return cli_usage_error("export", "no model given");
    if (!a.plan_path) return cli_usage_error("export", "--plan PLAN.json is required");
    if (!a.target) return cli_usage_error("export", "--target is required (c)");
    if (strcmp(a.target, "c") != 0) return cli_usage_error("export", "unknown --target '%s' (the one target is c)", a.target);
    if (!a.dir) return cli_usage_error("export", "-o DIR is required");
    if (calib && eval) return cli_usage_error("export", "--calib and --eval are exclusive (one dataset for the test samples)");
    a.spec = calib ? calib : eval;
    if (a.test_samples < 0) {
        if (!a.spec)
            return cli_usage_error("export", "the test samples need --calib SPEC or --eval SPEC (or --test-samples 0)");
        a.test_samples = DEFAULT_TEST_SAMPLES;
    }
    if (a.test_samples > 0 && !a.spec) return cli_usage_error("export", "--test-samples needs --calib SPEC or --eval SPEC");
    return export_model(&a);
}
