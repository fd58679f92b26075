/* nnquant eval MODEL --dataset SPEC [--plan PLAN.json [--no-rounding] [--int|--table] [--rescale MODE]
 *              [--rescale-per-output|--rescale-per-layer] [--print-program]] [--limit N] [--batch B] [--json] [data options] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_writer.h"
#include "base/progress.h"
#include "base/status.h"
#include "cli/cli.h"
#include "intq/engine.h"
#include "intq/lowering.h"
#include "ir/passes/passes.h"
#include "onnx/onnx_io.h"
#include "quant/plan_model.h"
#include "run/evaluate.h"
#include "run/simulation.h"

static const char *const usage =
    "usage: nnquant eval MODEL --dataset SPEC [--plan PLAN.json [--no-rounding]\n"
    "                    [--int | --table] [--rescale MODE]\n"
    "                    [--rescale-per-output | --rescale-per-layer]\n"
    "                    [--print-program]] [--limit N] [--batch B] [--json] [data options]\n"
    "\n"
    "Measures a classifier's accuracy with nnquant's FP32 runtime: the model's\n"
    "single input takes the dataset's samples, its first output gives the\n"
    "logits [N, classes]. Prints top-1 and (with more than 5 classes) top-5\n"
    "accuracy, correct/total and images per second. A progress bar is shown on\n"
    "stderr when it is a terminal.\n"
    "\n"
    "  --dataset SPEC   the labelled data (see below)\n"
    "  --plan PLAN.json also run the model fake-quantized as the plan says (written\n"
    "                   by quantize --plan-out) and print both accuracies\n"
    "  --no-rounding    with --plan: clamp to each grid's range but do not round\n"
    "                   (PTQ without rounding, to tell clipping from rounding error)\n"
    "  --int            with --plan: lower the model to an integer program (int8\n"
    "                   tensors, int32 accumulators, requantization) and print its\n"
    "                   accuracy with the integer engine instead of the simulation's.\n"
    "                   Nodes the plan keeps in float (e.g. Sigmoid) run in float\n"
    "                   between dequantize and quantize steps; they are listed\n"
    "  --table          with --plan: FP32, fake-quantized and integer top-1 side by\n"
    "                   side (N2D2's three columns), one model, one run\n"
    "  --rescale MODE   how requantization scales are applied (N2D2's\n"
    "                   -act-rescaling-mode): float, fixed16, fixed32 (default),\n"
    "                   single-shift, double-shift. Shift modes only express\n"
    "                   scales <= 1 (larger ones fall back to fixed16) and fold\n"
    "                   their error into the layer's weights (Aidge). A comma-\n"
    "                   separated list (or 'all') evaluates each mode in turn\n"
    "  --rescale-per-output  one rescale per output channel (N2D2's\n"
    "                   -act-rescale-per-output 1; the default)\n"
    "  --rescale-per-layer   one rescale per layer (N2D2's default): per-channel\n"
    "                   weight scales are folded into re-quantized weights\n"
    "  --print-program  print the integer program (one line per step) on stderr\n"
    "  --limit N        only the first N samples\n"
    "  --batch B        samples per run (default 64; a model with a fixed batch\n"
    "                   dimension runs with that size)\n"
    "  --json           print one JSON object: top1, top5 (null with 5 classes or\n"
    "                   fewer), correct, correct_top5, total, classes, batch,\n"
    "                   seconds, images_per_second, model, dataset; with --plan\n"
    "                   also quantized_top1, quantized_correct (fake-quantized);\n"
    "                   with --int or --table also integer_top1, integer_correct,\n"
    "                   rescale, rescale_per_output, integer_only, float_steps\n"
    "                   (of the first mode) and \"integer\": one such object per mode\n"
    "\n";

/* A whole number from 1 to max, or -1. */
static long long parse_count(const char *text, long long max) {
    char *end;
    long long n = strtoll(text, &end, 10);
    return end != text && *end == '\0' && n >= 1 && n <= max ? n : -1;
}

/* The integer evaluation's result and what the program is. */
typedef struct integer_report {
    eval_result result;
    const char *rescale;
    bool per_output;
    int float_steps;
    char float_list[1024];
} integer_report;

static void print_table(const char *model_path, const char *spec, const eval_result *r, const eval_result *q,
                        const integer_report *i, int n) {
    printf("top-1 on %s (%lld samples)\n", spec, (long long)r->total);
    printf("%-28s %10s %16s %10s  %s\n", "model", "FP32", "fake-quantized", "integer", "rescale");
    for (int k = 0; k < n; k++)
        printf("%-28s %9.2f%% %15.2f%% %9.2f%%  %s%s%s\n", model_path, 100.0 * r->top1, 100.0 * q->top1,
               100.0 * i[k].result.top1, i[k].rescale, i[k].per_output ? " per-output" : " per-layer",
               i[k].float_steps ? " (not integer-only)" : "");
}

static void print_integer(const integer_report *i, const eval_result *r) {
    printf("integer top-1:   %.2f%% (%lld/%lld, %+.2f points; rescale %s%s)\n", 100.0 * i->result.top1,
           (long long)i->result.correct_top1, (long long)i->result.total, 100.0 * (i->result.top1 - r->top1),
           i->rescale, i->per_output ? " per output" : " per layer");
    if (i->float_steps) printf("integer-only:    no, %d float steps: %s\n", i->float_steps, i->float_list);
    else printf("integer-only:    yes\n");
}

static void print_text(const char *model_path, const char *spec, const eval_result *r, const eval_result *q) {
    printf("model:    %s\n", model_path);
    printf("dataset:  %s (%lld samples, %lld classes)\n", spec, (long long)r->total, (long long)r->class_count);
    printf("top-1:    %.2f%% (%lld/%lld)\n", 100.0 * r->top1, (long long)r->correct_top1, (long long)r->total);
    if (r->has_top5)
        printf("top-5:    %.2f%% (%lld/%lld)\n", 100.0 * r->top5, (long long)r->correct_top5, (long long)r->total);
    printf("speed:    %.1f images/s (batch %lld, %.2f s)\n", r->images_per_second, (long long)r->batch_size,
           r->seconds);
    if (q)
        printf("quantized top-1: %.2f%% (%lld/%lld, %+.2f points)\n", 100.0 * q->top1, (long long)q->correct_top1,
               (long long)q->total, 100.0 * (q->top1 - r->top1));
}

static void json_integer_fields(json_writer *w, const integer_report *integer) {
    json_key(w, "integer_top1");
    json_double(w, integer->result.top1);
    json_key(w, "integer_correct");
    json_int(w, integer->result.correct_top1);
    json_key(w, "rescale");
    json_string(w, integer->rescale);
    json_key(w, "rescale_per_output");
    json_bool(w, integer->per_output);
    json_key(w, "integer_only");
    json_bool(w, integer->float_steps == 0);
    json_key(w, "float_steps");
    json_string(w, integer->float_list);
}

static void print_json(const char *model_path, const char *spec, const eval_result *r, const eval_result *q,
                       const integer_report *integer, int n_integer) {
    json_writer w;
    json_init(&w, stdout);
    json_begin_object(&w);
    json_key(&w, "model");
    json_string(&w, model_path);
    json_key(&w, "dataset");
    json_string(&w, spec);
    json_key(&w, "top1");
    json_double(&w, r->top1);
    json_key(&w, "top5");
    if (r->has_top5) json_double(&w, r->top5);
    else json_null(&w);
    json_key(&w, "correct");
    json_int(&w, r->correct_top1);
    json_key(&w, "correct_top5");
    if (r->has_top5) json_int(&w, r->correct_top5);
    else json_null(&w);
    json_key(&w, "total");
    json_int(&w, r->total);
    json_key(&w, "classes");
    json_int(&w, r->class_count);
    json_key(&w, "batch");
    json_int(&w, r->batch_size);
    json_key(&w, "seconds");
    json_double(&w, r->seconds);
    json_key(&w, "images_per_second");
    json_double(&w, r->images_per_second);
    if (q) {
        json_key(&w, "quantized_top1");
        json_double(&w, q->top1);
        json_key(&w, "quantized_correct");
        json_int(&w, q->correct_top1);
    }
    if (n_integer > 0) {
        json_integer_fields(&w, &integer[0]);
        json_key(&w, "integer");
        json_begin_array(&w);
        for (int k = 0; k < n_integer; k++) {
            json_begin_object(&w);
            json_integer_fields(&w, &integer[k]);
            json_end_object(&w);
        }
        json_end_array(&w);
    }
    json_end_object(&w);
    json_finish(&w);
}

typedef struct eval_args {
    const char *model_path;
    const char *spec;
    dataset_options data;
    int64_t batch_size;
    bool as_json;
    const char *plan_path;
    bool rounding;
    bool integer;            /* --int */
    bool table;              /* --table */
    intq_lowering_options lowering;
    int n_modes;             /* --rescale list */
    intq_rescale_mode modes[INTQ_RESCALE_MODE_COUNT];
    bool print_program;
} eval_args;

/* The plan names tensors of the prepared graph (BN folded, ...), which the
 * same preparation rebuilds from the model deterministically. */
static nnq_status evaluate_simulation(const eval_args *args, const nnq_model *prepared, const nnq_plan *plan,
                                      nnq_dataset *dataset, const eval_options *options, eval_result *out) {
    nnq_simulation *sim = NULL;
    nnq_status st = simulation_create(prepared, plan, args->rounding, &sim);
    if (st == NNQ_OK) {
        dataset_rewind(dataset);
        st = evaluate_accuracy_with(simulation_executor(sim), simulation_model(sim), dataset, options, out);
    }
    simulation_free(sim);
    return st;
}

/* Lowers graph + plan to an integer program and scores the integer engine on the data. */
static nnq_status evaluate_integer(const eval_args *args, intq_rescale_mode mode, const nnq_model *prepared,
                                   const nnq_plan *plan, nnq_dataset *dataset, const eval_options *options,
                                   integer_report *out) {
    intq_program program;
    intq_lowering_options lowering = args->lowering;
    lowering.mode = mode;
    NNQ_TRY(intq_lower(prepared, plan, &lowering, &program));
    out->rescale = intq_rescale_mode_info_of(mode)->name;
    out->per_output = lowering.rescale_per_output;
    out->float_steps = intq_program_float_steps(&program, out->float_list, sizeof out->float_list);
    if (args->print_program) intq_program_describe(&program, stderr);
    nnq_int_engine *engine = NULL;
    nnq_status st = int_engine_create(&program, &engine);
    if (st == NNQ_OK) {
        dataset_rewind(dataset);
        st = evaluate_accuracy_run(int_engine_run_callback, engine, prepared, dataset, options, &out->result);
    }
    int_engine_free(engine);
    intq_program_free(&program);
    return st;
}

/* The plan annotates a prepared graph (BN folded, ...; plan_model.h). */
static nnq_status evaluate_plan(const eval_args *args, const nnq_model *model, nnq_dataset *dataset,
                                eval_options *options, eval_result *simulated, integer_report *integer) {
    /* integer: NULL, or args->n_modes reports */
    nnq_plan plan;
    nnq_model prepared;
    NNQ_TRY(plan_load_with_model(args->plan_path, model, &plan, &prepared));
    nnq_status st = NNQ_OK;
    progress_bar *bar = options->progress_user;
    if (st == NNQ_OK && simulated) {
        progress_begin(bar, "quantized eval");
        st = evaluate_simulation(args, &prepared, &plan, dataset, options, simulated);
        progress_end(bar);
    }
    for (int k = 0; integer && st == NNQ_OK && k < args->n_modes; k++) {
        progress_begin(bar, "integer eval");
        st = evaluate_integer(args, args->modes[k], &prepared, &plan, dataset, options, &integer[k]);
        progress_end(bar);
    }
    if (st != NNQ_OK) nnq_fail_context(st, "plan '%s'", args->plan_path);
    model_free(&prepared);
    plan_free(&plan);
    return st;
}

static int evaluate_model(eval_args *args) {
    nnq_model model;
    if (onnx_load_model(args->model_path, &model) != NNQ_OK) return cli_report_error();
    nnq_dataset *dataset = NULL;
    eval_result result, quantized;
    integer_report integer[INTQ_RESCALE_MODE_COUNT];
    memset(integer, 0, sizeof integer);
    bool simulate = args->plan_path && (!args->integer || args->table);
    bool run_integer = args->plan_path && (args->integer || args->table);
    nnq_status st = model_simplify(&model);
    const nnq_value_info *input = st == NNQ_OK ? graph_single_runtime_input(&model.graph) : NULL;
    if (st == NNQ_OK && !input)
        st = nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': eval needs a model with exactly one input", args->model_path);
    if (st == NNQ_OK) {
        dataset_options_fit_input(&args->data, input->dtype, input->rank, input->dims);
        st = dataset_open(args->spec, &args->data, &dataset);
    }
    if (st == NNQ_OK) {
        progress_bar bar;
        progress_begin(&bar, "eval");
        eval_options options = {.batch_size = args->batch_size, .on_progress = progress_callback, .progress_user = &bar};
        st = evaluate_accuracy(&model, dataset, &options, &result);
        progress_end(&bar);
        if (st != NNQ_OK) nnq_fail_context(st, "evaluating '%s' on '%s'", args->model_path, args->spec);
        if (st == NNQ_OK && args->plan_path)
            st = evaluate_plan(args, &model, dataset, &options, simulate ? &quantized : NULL,
                               run_integer ? integer : NULL);
    }
    const eval_result *q = simulate ? &quantized : NULL;
    int n_integer = run_integer ? args->n_modes : 0;
    if (st == NNQ_OK && args->as_json) print_json(args->model_path, args->spec, &result, q, integer, n_integer);
    else if (st == NNQ_OK && args->table) print_table(args->model_path, args->spec, &result, q, integer, n_integer);
    else if (st == NNQ_OK) {
        print_text(args->model_path, args->spec, &result, q);
        for (int k = 0; k < n_integer; k++) print_integer(&integer[k], &result);
    }
    int code = st == NNQ_OK ? 0 : cli_report_error();
    dataset_close(dataset);
    model_free(&model);
    return code;
}

/* --rescale MODE[,MODE...] or all. */
static bool parse_modes(const char *text, eval_args *args) {
    args->n_modes = 0;
    if (strcmp(text, "all") == 0) {
        for (int k = 0; k < INTQ_RESCALE_MODE_COUNT; k++) args->modes[args->n_modes++] = (intq_rescale_mode)k;
        return true;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (args->n_modes == INTQ_RESCALE_MODE_COUNT || intq_rescale_mode_parse(item, &args->modes[args->n_modes]) != NNQ_OK)
            return false;
        args->n_modes++;
    }
    return args->n_modes > 0;
}

int cmd_eval(int argc, char **argv) {
    eval_args args = {.data = dataset_options_defaults(), .rounding = true,
                      .lowering = intq_lowering_defaults(),
                      .n_modes = 1, .modes = {INTQ_RESCALE_FIXED32}};
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *value;
        cli_option_result shared;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            fputs(cli_dataset_help, stdout);
            return 0;
        } else if ((shared = cli_parse_dataset_option("eval", argc, argv, &i, &args.data)) != CLI_OPTION_OTHER) {
            if (shared == CLI_OPTION_ERROR) return 2;
        } else if ((value = cli_option_value(argc, argv, &i, "--dataset", &missing))) {
            args.spec = value;
        } else if ((value = cli_option_value(argc, argv, &i, "--plan", &missing))) {
            args.plan_path = value;
        } else if ((value = cli_option_value(argc, argv, &i, "--rescale", &missing))) {
            if (!parse_modes(value, &args))
                return cli_usage_error("eval", "--rescale needs 'all' or a list of %s, not '%s'",
                                       intq_rescale_mode_list(), value);
        } else if ((value = cli_option_value(argc, argv, &i, "--limit", &missing))) {
            long long n = parse_count(value, INT64_MAX);
            if (n < 0) return cli_usage_error("eval", "--limit needs a positive count, not '%s'", value);
            args.data.limit = n;
        } else if ((value = cli_option_value(argc, argv, &i, "--batch", &missing))) {
            long long n = parse_count(value, 1 << 20);
            if (n < 0) return cli_usage_error("eval", "--batch needs a count from 1 to %d, not '%s'", 1 << 20, value);
            args.batch_size = n;
        } else if (missing) {
            return cli_usage_error("eval", "option '%s' needs a value", argv[i]);
        } else if (strcmp(argv[i], "--json") == 0) {
            args.as_json = true;
        } else if (strcmp(argv[i], "--no-rounding") == 0) {
            args.rounding = false;
        } else if (strcmp(argv[i], "--int") == 0) {
            args.integer = true;
        } else if (strcmp(argv[i], "--table") == 0) {
            args.table = true;
        } else if (cli_parse_rescale_granularity(argv[i], &args.lowering)) {
        } else if (strcmp(argv[i], "--print-program") == 0) {
            args.print_program = true;
        } else if (argv[i][0] == '-') {
            return cli_usage_error("eval", "unknown option '%s'", argv[i]);
        } else if (args.model_path) {
            return cli_usage_error("eval", "more than one model given ('%s' and '%s')", args.model_path, argv[i]);
        } else {
            args.model_path = argv[i];
        }
    }
    if (!args.model_path) return cli_usage_error("eval", "no model given");
    if (!args.spec) return cli_usage_error("eval", "--dataset SPEC is required");
    if (!args.rounding && !args.plan_path) return cli_usage_error("eval", "--no-rounding needs --plan");
    if ((args.integer || args.table) && !args.plan_path)
        return cli_usage_error("eval", "%s needs --plan", args.table ? "--table" : "--int");
    if (args.table && args.as_json) return cli_usage_error("eval", "--table and --json are exclusive");
    return evaluate_model(&args);
}
