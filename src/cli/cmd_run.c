/* nnquant run MODEL --input NAME=FILE [...] --output-dir DIR [--plan PLAN.json [--int [--rescale MODE]
 *              [--rescale-per-output|--rescale-per-layer]]] [--repeat N] [--json] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/json_writer.h"
#include "base/status.h"
#include "base/wall_clock.h"
#include "cli/cli.h"
#include "data/npy.h"
#include "data/tensor_convert.h"
#include "intq/engine.h"
#include "intq/lowering.h"
#include "ir/passes/passes.h"
#include "onnx/onnx_io.h"
#include "quant/plan_model.h"
#include "run/evaluate.h"
#include "run/executor.h"
#include "run/simulation.h"

static const char *const help =
    "usage: nnquant run MODEL --input NAME=FILE [--input NAME=FILE ...] --output-dir DIR\n"
    "                   [--plan PLAN.json [--int [--rescale MODE]\n"
    "                   [--rescale-per-output | --rescale-per-layer]]]\n"
    "                   [--repeat N] [--json]\n"
    "\n"
    "Runs the model with nnquant's FP32 runtime and writes each graph output as\n"
    "DIR/<output name>.npy (characters other than letters, digits, '.', '-' and\n"
    "'_' in the name become '_'), with the element type and shape ONNX defines.\n"
    "\n"
    "  --input NAME=FILE   a graph input from a NumPy .npy file or an ONNX\n"
    "                      TensorProto .pb file; NAME= may be left out when the\n"
    "                      model has a single input. float64 data is converted\n"
    "                      to float32 for float inputs.\n"
    "  --output-dir DIR    where the outputs go (created if missing)\n"
    "  --plan PLAN.json    run the model fake-quantized as the plan says (written by\n"
    "                      quantize --plan-out), as eval --plan does\n"
    "  --int               with --plan: run the integer program the plan lowers to\n"
    "                      with the integer engine (as eval --int); outputs are\n"
    "                      dequantized to float\n"
    "  --rescale MODE      with --int: float, fixed16, fixed32 (default),\n"
    "                      single-shift or double-shift requantization\n"
    "  --rescale-per-output  with --int: one rescale per output channel (default)\n"
    "  --rescale-per-layer   with --int: one rescale per layer (as eval)\n"
    "  --repeat N          run N times and report the median latency (benchmarks)\n"
    "  --json              print the outputs written (name, file, type, shape) as JSON;\n"
    "                      with --int also integer_only, float_step_count and\n"
    "                      float_steps (the nodes that ran in float, as eval --int\n"
    "                      lists them)\n";

#define MAX_INPUTS 64

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* What computes the outputs: the FP32 executor, the fake-quantized
 * simulation's executor (--plan), or the integer engine (--plan --int). */
typedef struct model_runner {
    eval_run_fn run;
    void *user;
    nnq_executor *executor;
    nnq_plan plan;
    bool has_plan;
    nnq_model prepared;          /* the graph the plan annotates */
    nnq_simulation *simulation;
    intq_program program;
    bool has_program;
    nnq_int_engine *engine;
} model_runner;

typedef struct run_options {
    const char *plan_path;
    bool integer;                /* --int */
    bool rescale_given;
    intq_lowering_options lowering;
    int repeat;
    bool as_json;
} run_options;

/* The plan annotates a prepared graph (BN folded, ...; plan_model.h). */
static nnq_status runner_create(const nnq_model *model, const run_options *options, model_runner *r) {
    memset(r, 0, sizeof *r);
    if (!options->plan_path) {
        r->run = eval_run_executor;
        NNQ_TRY(executor_create(model, &r->executor));
        r->user = r->executor;
        return NNQ_OK;
    }
    NNQ_TRY(plan_load_with_model(options->plan_path, model, &r->plan, &r->prepared));
    r->has_plan = true;
    if (!options->integer) {
        NNQ_TRY(simulation_create(&r->prepared, &r->plan, true, &r->simulation));
        r->run = eval_run_executor;
        r->user = simulation_executor(r->simulation);
        return NNQ_OK;
    }
    NNQ_TRY(intq_lower(&r->prepared, &r->plan, &options->lowering, &r->program));
    r->has_program = true;
    NNQ_TRY(int_engine_create(&r->program, &r->engine));
    r->run = int_engine_run_callback;
    r->user = r->engine;
    return NNQ_OK;
}

static void runner_free(model_runner *r) {
    executor_free(r->executor);
    simulation_free(r->simulation);
    int_engine_free(r->engine);
    if (r->has_program) intq_program_free(&r->program);
    if (r->has_plan) plan_free(&r->plan);
    model_free(&r->prepared);
}

/* Runs `repeat` times (outputs of the last run kept); *median_ms is the median latency. */
static nnq_status run_timed(const model_runner *runner, const nnq_tensor *inputs, int n_inputs, nnq_tensor *outputs,
                            int n_outputs, int repeat, double *median_ms) {
    double *times = calloc((size_t)repeat, sizeof *times);
    if (!times) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    nnq_status st = NNQ_OK;
    for (int r = 0; st == NNQ_OK && r < repeat; r++) {
        if (r > 0)
            for (int i = 0; i < n_outputs; i++) tensor_free(&outputs[i]);
        double start = 1e3 * wall_clock_seconds();
        st = runner->run(runner->user, inputs, n_inputs, outputs);
        times[r] = 1e3 * wall_clock_seconds() - start;
    }
    qsort(times, (size_t)repeat, sizeof *times, compare_doubles);
    *median_ms = times[repeat / 2];
    free(times);
    return st;
}

static bool has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Loads "NAME=FILE" (or "FILE" for a single-input model) into t. */
static nnq_status load_input(const nnq_model *model, const char *spec, nnq_tensor *t) {
    const char *eq = strchr(spec, '=');
    const char *path = eq ? eq + 1 : spec;
    char *name = NULL;
    if (eq) name = strndup(spec, (size_t)(eq - spec));
    else {
        const nnq_value_info *single = graph_single_runtime_input(&model->graph);
        if (!single) return nnq_fail(NNQ_ERR_USAGE, "--input '%s': the model has several inputs, write NAME=FILE", spec);
        name = strdup(single->name);
    }
    if (!name) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    nnq_status st = has_suffix(path, ".pb") ? onnx_load_tensor(path, t) : npy_read(path, t);
    if (st == NNQ_OK) {
        const nnq_value_info *declared = graph_find_value_info(&model->graph, name);
        if (declared && declared->dtype == NNQ_FLOAT && t->dtype == NNQ_DOUBLE) st = tensor_convert_to_float(t);
    }
    if (st != NNQ_OK) {
        free(name);
        return st;
    }
    free(t->name);
    t->name = name;
    return NNQ_OK;
}

static nnq_status make_directory(const char *dir) {
    char *path = strdup(dir);
    if (!path) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            nnq_status st = nnq_fail(NNQ_ERR_IO, "cannot create directory '%s': %s", path, strerror(errno));
            free(path);
            return st;
        }
        *p = saved;
        if (!saved) break;
    }
    free(path);
    struct stat info;
    if (stat(dir, &info) != 0 || !S_ISDIR(info.st_mode))
        return nnq_fail(NNQ_ERR_IO, "'%s' is not a directory", dir);
    return NNQ_OK;
}

/* Output names like "/fc/Gemm_output_0" become safe file names. */
static void output_file_name(const char *dir, const char *name, char *buf, size_t size) {
    size_t used = (size_t)snprintf(buf, size, "%s/", dir);
    for (const char *p = name; *p && used + 5 < size; p++) {
        char c = *p;
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_';
        buf[used++] = safe ? c : '_';
    }
    snprintf(buf + used, size - used, ".npy");
}

static void print_written_json(const nnq_tensor *outputs, char files[][4096], int n, int repeat, double median_ms,
                               const model_runner *runner) {
    json_writer w;
    json_init(&w, stdout);
    json_begin_object(&w);
    json_key(&w, "outputs");
    json_begin_array(&w);
    for (int i = 0; i < n; i++) {
        json_begin_object(&w);
        json_key(&w, "name");
        json_string(&w, outputs[i].name);
        json_key(&w, "file");
        json_string(&w, files[i]);
        json_key(&w, "type");
        json_string(&w, dtype_name(outputs[i].dtype));
        json_key(&w, "shape");
        json_begin_array(&w);
        for (int d = 0; d < outputs[i].rank; d++) json_int(&w, outputs[i].dims[d]);
        json_end_array(&w);
        json_end_object(&w);
    }
    json_end_array(&w);
    if (runner->has_program) { /* --int: whether every step ran in integers, and the float ones */
        char steps[2048];
        int n_float = intq_program_float_steps(&runner->program, steps, sizeof steps);
        json_key(&w, "integer_only");
        json_bool(&w, n_float == 0);
        json_key(&w, "float_step_count");
        json_int(&w, n_float);
        json_key(&w, "float_steps");
        json_string(&w, steps);
    }
    if (repeat > 1) {
        json_key(&w, "runs");
        json_int(&w, repeat);
        json_key(&w, "median_ms");
        json_double(&w, median_ms);
    }
    json_end_object(&w);
    json_finish(&w);
}

static int run_model(const char *model_path, const char **input_specs, int n_inputs, const char *output_dir,
                     const run_options *options) {
    nnq_model model;
    if (onnx_load_model(model_path, &model) != NNQ_OK) return cli_report_error();
    nnq_tensor inputs[MAX_INPUTS] = {0};
    int loaded = 0;
    model_runner runner = {0};
    int n_outputs = model.graph.n_outputs;
    nnq_tensor *outputs = calloc((size_t)n_outputs + 1, sizeof *outputs);
    char(*files)[4096] = calloc((size_t)n_outputs + 1, sizeof *files);
    nnq_status st = outputs && files ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    for (; st == NNQ_OK && loaded < n_inputs; loaded++) st = load_input(&model, input_specs[loaded], &inputs[loaded]);
    /* Folding and dead-node removal keep outputs equal (the conformance suite checks it) and save work per run. */
    if (st == NNQ_OK) st = model_simplify(&model);
    if (st == NNQ_OK) {
        st = runner_create(&model, options, &runner);
        if (st != NNQ_OK && options->plan_path) nnq_fail_context(st, "plan '%s'", options->plan_path);
    }
    int repeat = options->repeat;
    double median_ms = 0;
    if (st == NNQ_OK) st = run_timed(&runner, inputs, n_inputs, outputs, n_outputs, repeat, &median_ms);
    if (st == NNQ_OK) st = make_directory(output_dir);
    for (int i = 0; st == NNQ_OK && i < n_outputs; i++) {
        output_file_name(output_dir, outputs[i].name, files[i], sizeof files[i]);
        st = npy_write(files[i], &outputs[i]);
    }
    if (st == NNQ_OK && options->as_json) print_written_json(outputs, files, n_outputs, repeat, median_ms, &runner);
    else if (st == NNQ_OK) {
        for (int i = 0; i < n_outputs; i++) {
            char shape[160];
            printf("%s: %s %s -> %s\n", outputs[i].name, dtype_name(outputs[i].dtype),
                   dims_format(outputs[i].dims, outputs[i].rank, shape, sizeof shape), files[i]);
        }
        if (repeat > 1) printf("latency: median %.3f ms over %d runs\n", median_ms, repeat);
    }
    int code = st == NNQ_OK ? 0 : cli_report_error();
    for (int i = 0; i < n_outputs && outputs; i++) tensor_free(&outputs[i]);
    for (int i = 0; i < loaded; i++) tensor_free(&inputs[i]);
    free(outputs);
    free(files);
    runner_free(&runner);
    model_free(&model);
    return code;
}

int cmd_run(int argc, char **argv) {
    const char *model_path = NULL, *output_dir = NULL;
    const char *input_specs[MAX_INPUTS];
    int n_inputs = 0;
    run_options options = {.repeat = 1, .lowering = intq_lowering_defaults()};
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *value;
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return 0;
        } else if ((value = cli_option_value(argc, argv, &i, "--input", &missing))) {
            if (n_inputs == MAX_INPUTS) return cli_usage_error("run", "more than %d inputs", MAX_INPUTS);
            input_specs[n_inputs++] = value;
        } else if ((value = cli_option_value(argc, argv, &i, "--output-dir", &missing))) {
            output_dir = value;
        } else if ((value = cli_option_value(argc, argv, &i, "--repeat", &missing))) {
            char *end;
            long n = strtol(value, &end, 10);
            if (*end || n < 1 || n > 1000000) return cli_usage_error("run", "--repeat needs a count from 1 to 1000000");
            options.repeat = (int)n;
        } else if ((value = cli_option_value(argc, argv, &i, "--plan", &missing))) {
            options.plan_path = value;
        } else if ((value = cli_option_value(argc, argv, &i, "--rescale", &missing))) {
            if (intq_rescale_mode_parse(value, &options.lowering.mode) != NNQ_OK)
                return cli_usage_error("run", "--rescale needs one of %s, not '%s'", intq_rescale_mode_list(), value);
            options.rescale_given = true;
        } else if (missing) {
            return cli_usage_error("run", "option '%s' needs a value", argv[i]);
        } else if (strcmp(argv[i], "--json") == 0) {
            options.as_json = true;
        } else if (strcmp(argv[i], "--int") == 0) {
            options.integer = true;
        } else if (cli_parse_rescale_granularity(argv[i], &options.lowering)) {
            options.rescale_given = true;
        } else if (argv[i][0] == '-') {
            return cli_usage_error("run", "unknown option '%s'", argv[i]);
        } else if (model_path) {
            return cli_usage_error("run", "more than one model given ('%s' and '%s')", model_path, argv[i]);
        } else {
            model_path = argv[i];
        }
    }
    if (!model_path) return cli_usage_error("run", "no model given");
    if (!output_dir) return cli_usage_error("run", "--output-dir is required");
    if (options.integer && !options.plan_path) return cli_usage_error("run", "--int needs --plan");
    if (options.rescale_given && !options.integer)
        return cli_usage_error("run", "--rescale, --rescale-per-output and --rescale-per-layer need --int");
    return run_model(model_path, input_specs, n_inputs, output_dir, &options);
}
