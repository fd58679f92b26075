/* nnquant eval MODEL --dataset SPEC [--plan PLAN.json [--no-rounding]] [--limit N] [--batch B] [--json] [data options] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_writer.h"
#include "base/progress.h"
#include "base/status.h"
#include "cli/cli.h"
#include "ir/model_copy.h"
#include "ir/passes/passes.h"
#include "onnx/onnx_io.h"
#include "quant/plan.h"
#include "run/evaluate.h"
#include "run/simulation.h"

static const char *const usage =
    "usage: nnquant eval MODEL --dataset SPEC [--plan PLAN.json [--no-rounding]]\n"
    "                    [--limit N] [--batch B] [--json] [data options]\n"
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
    "  --limit N        only the first N samples\n"
    "  --batch B        samples per run (default 64; a model with a fixed batch\n"
    "                   dimension runs with that size)\n"
    "  --json           print one JSON object: top1, top5 (null with 5 classes or\n"
    "                   fewer), correct, correct_top5, total, classes, batch,\n"
    "                   seconds, images_per_second, model, dataset; with --plan\n"
    "                   also quantized_top1, quantized_correct\n"
    "\n";

/* A whole number from 1 to max, or -1. */
static long long parse_count(const char *text, long long max) {
    char *end;
    long long n = strtoll(text, &end, 10);
    return end != text && *end == '\0' && n >= 1 && n <= max ? n : -1;
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

static void print_json(const char *model_path, const char *spec, const eval_result *r, const eval_result *q) {
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
} eval_args;

/* The plan names tensors of the prepared graph (BN folded, ...), which the
 * same preparation rebuilds from the model deterministically. */
static nnq_status evaluate_plan(const eval_args *args, const nnq_model *model, nnq_dataset *dataset,
                                const eval_options *options, eval_result *out) {
    nnq_plan plan;
    NNQ_TRY(plan_read_json(args->plan_path, &plan));
    nnq_model prepared = {0};
    nnq_simulation *sim = NULL;
    nnq_status st = model_copy(&prepared, model);
    if (st == NNQ_OK) st = model_prepare_for_quantization(&prepared, NULL);
    if (st == NNQ_OK) st = simulation_create(&prepared, &plan, args->rounding, &sim);
    if (st == NNQ_OK) {
        dataset_rewind(dataset);
        st = evaluate_accuracy_with(simulation_executor(sim), simulation_model(sim), dataset, options, out);
    }
    if (st != NNQ_OK) nnq_fail_context(st, "plan '%s'", args->plan_path);
    simulation_free(sim);
    model_free(&prepared);
    plan_free(&plan);
    return st;
}

static int evaluate_model(eval_args *args) {
    nnq_model model;
    if (onnx_load_model(args->model_path, &model) != NNQ_OK) return cli_report_error();
    nnq_dataset *dataset = NULL;
    eval_result result, quantized;
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
        if (st == NNQ_OK && args->plan_path) {
            progress_begin(&bar, "quantized eval");
            st = evaluate_plan(args, &model, dataset, &options, &quantized);
            progress_end(&bar);
        }
    }
    const eval_result *q = args->plan_path ? &quantized : NULL;
    if (st == NNQ_OK && args->as_json) print_json(args->model_path, args->spec, &result, q);
    else if (st == NNQ_OK) print_text(args->model_path, args->spec, &result, q);
    int code = st == NNQ_OK ? 0 : cli_report_error();
    dataset_close(dataset);
    model_free(&model);
    return code;
}

int cmd_eval(int argc, char **argv) {
    eval_args args = {.data = dataset_options_defaults(), .rounding = true};
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
    return evaluate_model(&args);
}
