/* nnquant quantize MODEL -o OUT.onnx --calib SPEC [options] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json_writer.h"
#include "base/progress.h"
#include "base/status.h"
#include "calib/range_method.h"
#include "cli/cli.h"
#include "export/calib_table.h"
#include "export/qdq_export.h"
#include "export/qoperator_export.h"
#include "ir/passes/passes.h"
#include "onnx/onnx_io.h"
#include "quant/plan_model.h"
#include "quant/ptq.h"
#include "run/evaluate.h"
#include "run/simulation.h"

static const char *const usage =
    "usage: nnquant quantize MODEL -o OUT.onnx --calib SPEC [options] [data options]\n"
    "\n"
    "Post-training quantization: folds batch norms, calibrates activation ranges on\n"
    "SPEC's samples, quantizes weights, and writes a QDQ ONNX model (QuantizeLinear /\n"
    "DequantizeLinear around quantized tensors; int8 weights, int32 biases) or a\n"
    "QOperator one (QLinearConv, QLinearMatMul, ... on integer tensors) that ONNX\n"
    "Runtime runs. When the calibration data has labels, or --eval is given, FP32 and\n"
    "fake-quantized accuracy are printed side by side.\n"
    "\n"
    "Data:\n"
    "  --calib SPEC            calibration data (dataset spec, below)\n"
    "  --calib-save FILE       keep the calibration statistics (histograms, ...) in FILE\n"
    "  --calib-reload FILE     reuse statistics saved by --calib-save instead of running\n"
    "                          the data again (as N2D2's -calib-reload): range methods and\n"
    "                          bit widths may change, the model and selection may not\n"
    "  --calib-count N         samples used, -1 for all (default 1000)\n"
    "  --eval SPEC             labelled data for the accuracy comparison\n"
    "  --eval-count N          samples of it (default all)\n"
    "  --batch B               samples per run (default 64)\n"
    "Bit widths and grids:\n"
    "  --wbits N, --abits N    weight / activation bits, 2..8 (default 8)\n"
    "  --per-channel           weights per output channel (default)\n"
    "  --per-tensor            one weight grid per tensor (N2D2's and ONNX Runtime's default)\n"
    "  --weight-type T         int8 (symmetric, default) or uint8 (asymmetric)\n"
    "  --weight-full-range     signed weights on [-2^(b-1), 2^(b-1)-1] instead of the\n"
    "                          narrow symmetric [-(2^(b-1)-1), 2^(b-1)-1] (N2D2)\n"
    "  --activation-type T     auto (default: int8, uint8 for tensors proven non-negative),\n"
    "                          uint8 or int8\n"
    "  --no-unsigned           no sign optimization (as N2D2's -no-unsigned)\n"
    "  --symmetric-activations zero point 0 for activations\n"
    "  --power-of-two          power-of-two scales\n"
    "  --joins MODE            Add/Concat inputs: requantize (default, ONNX Runtime) or\n"
    "                          shared (one grid, max arbitration as Aidge)\n"
    "Ranges:\n"
    "  --act-clip M            activation range method: minmax, ema, quantile, mse, kl,\n"
    "                          meanstd, xent, mse+xent (default: mse+xent: mse, and\n"
    "                          cross-entropy for the model's outputs), bn (data-free\n"
    "                          from batch norms, eq. 18-19; elsewhere mse on --calib data,\n"
    "                          or without data moments propagated through the graph)\n"
    "  --bn-alpha A            alpha of bn's beta +- alpha gamma (default 6)\n"
    "  --input-range LO,HI     the model input's value range, for data-free runs (default:\n"
    "                          what the image options produce, [0, 1] unless changed)\n"
    "  --logits-clip M         method for the model's outputs (default xent, or the\n"
    "                          --act-clip method when one other than mse+xent is given)\n"
    "  --weight-clip M         weight range method: minmax (none), mse (default), kl\n"
    "  --quantile Q            kept fraction for quantile (default 0.9999)\n"
    "  --meanstd-k K           k of mean +- k std (default 3)\n"
    "Equalization (white paper §3.2):\n"
    "  --cle                   cross-layer equalization of consecutive layers (within\n"
    "                          residual blocks; FP32 outputs unchanged)\n"
    "  --cle-replace-relu6     equalize through ReLU6 by making it a Relu first (changes\n"
    "                          FP32 outputs; default: such pairs are skipped)\n"
    "  --bias-absorption M     move high biases into the next layer: data-free (from the\n"
    "                          folded batch norms) or empirical (minima on --calib data)\n"
    "Weights (white paper §3.3-3.4):\n"
    "  --bias-correction M     empirical (on --calib data, eq. 27) or analytic (from batch\n"
    "                          norms, data-free)\n"
    "  --adaround              learn each weight's rounding (AdaRound; needs --calib data;\n"
    "                          takes minutes). Its knobs, defaults in brackets (the\n"
    "                          paper's, scaled to two cores):\n"
    "    --adaround-iterations N   Adam steps per layer [1000]\n"
    "    --adaround-samples N      calibration images cached per layer [256]\n"
    "    --adaround-batch N        (image, position) columns per step [512]\n"
    "    --adaround-lambda L       weight of the rounding regularizer, eq. 35 [0.01]\n"
    "    --adaround-beta B0,B1     beta annealed from B0 to B1 [20,2]\n"
    "    --adaround-warmup F       fraction of steps without the regularizer [0.2]\n"
    "Presets (white paper §3.5):\n"
    "  --preset standard       --cle, MSE weight ranges, AdaRound (with data) or analytic\n"
    "                          bias correction (without), MSE activations + cross-entropy\n"
    "                          for the logits\n"
    "  --preset data-free      --cle, data-free bias absorption, analytic bias correction\n"
    "                          and BN-based activation ranges (moments propagated from\n"
    "                          the batch norms and --input-range where no BN is)\n"
    "Selection (ONNX Runtime's names):\n"
    "  --op-types A,B          quantize only these operator types\n"
    "  --nodes-to-quantize A,B quantize only these nodes\n"
    "  --nodes-to-exclude A,B  never quantize these nodes\n"
    "Outputs:\n"
    "  -o, --output OUT.onnx   the quantized model (written atomically)\n"
    "  --format F              qdq (default) or qoperator: QuantizeLinear at the input,\n"
    "                          QLinearConv / QLinearMatMul on integer tensors,\n"
    "                          DequantizeLinear at the outputs and around float nodes\n"
    "  --ms-ops                qoperator: also ONNX Runtime's com.microsoft QGemm,\n"
    "                          QLinearAdd, QLinearConcat, QLinearAveragePool and\n"
    "                          QLinearGlobalAveragePool (else those nodes run in float)\n"
    "  --plan-out PLAN.json    the quantization plan (eval --plan reads it)\n"
    "  --calib-table PREFIX    the calibration table as PREFIX.json and PREFIX.txt\n"
    "  --json                  print a JSON summary\n"
    "\n";

typedef struct quantize_args {
    const char *model_path, *output_path, *calib_spec, *eval_spec, *plan_out, *calib_table;
    int64_t calib_count, eval_count, batch_size;
    bool as_json;
    bool logits_given;
    bool qoperator;         /* --format qoperator */
    qoperator_options qoperator_options;
    const char *preset;     /* "standard" or "data-free": applied over the defaults, before the other options */
    quant_config config;
    calibration_options calibration;
    dataset_options data;
    char *list_storage[3]; /* copies of the selection lists, which config borrows */
} quantize_args;

typedef struct accuracy {
    bool measured;
    eval_result fp32, quantized;
} accuracy;

static long long parse_integer(const char *text, long long min, long long max, bool *ok) {
    char *end;
    long long n = strtoll(text, &end, 10);
    *ok = end != text && *end == '\0' && n >= min && n <= max;
    return n;
}

static bool valid_method(const char *name, bool for_weights) {
    nnq_range_method method;
    if (range_method_from_name(name, &method) != NNQ_OK) return false;
    return !for_weights || method == NNQ_RANGE_MINMAX || method == NNQ_RANGE_MSE || method == NNQ_RANGE_KL;
}

static nnq_status open_dataset(const char *spec, int64_t limit, dataset_options options, const nnq_model *model,
                               nnq_dataset **out) {
    const nnq_value_info *input = graph_single_runtime_input(&model->graph);
    if (!input) return nnq_fail(NNQ_ERR_UNSUPPORTED, "quantize needs a model with exactly one input");
    dataset_options_fit_input(&options, input->dtype, input->rank, input->dims);
    options.limit = limit > 0 ? limit : 0;
    return dataset_open(spec, &options, out);
}

/* FP32 on the original model, fake-quantized through the simulation, on the same samples. */
static nnq_status measure_accuracy(const quantize_args *args, const nnq_model *model, const ptq_result *ptq,
                                   nnq_dataset *data, accuracy *acc) {
    progress_bar bar;
    eval_options options = {.batch_size = args->batch_size, .on_progress = progress_callback, .progress_user = &bar};
    progress_begin(&bar, "fp32 eval");
    dataset_rewind(data);
    nnq_status st = evaluate_accuracy(model, data, &options, &acc->fp32);
    progress_end(&bar);
    nnq_simulation *sim = NULL;
    if (st == NNQ_OK) st = simulation_create(&ptq->prepared, &ptq->plan, true, &sim);
    if (st == NNQ_OK) {
        progress_begin(&bar, "quantized eval");
        dataset_rewind(data);
        st = evaluate_accuracy_with(simulation_executor(sim), simulation_model(sim), data, &options, &acc->quantized);
        progress_end(&bar);
    }
    simulation_free(sim);
    acc->measured = st == NNQ_OK;
    return st;
}

static nnq_status write_outputs(const quantize_args *args, const ptq_result *ptq) {
    nnq_model quantized;
    NNQ_TRY(args->qoperator ? export_qoperator(&ptq->prepared, &ptq->plan, &args->qoperator_options, &quantized)
                            : export_qdq(&ptq->prepared, &ptq->plan, &quantized));
    nnq_status st = onnx_save_model(&quantized, args->output_path, NULL);
    model_free(&quantized);
    if (st == NNQ_OK && args->plan_out) st = plan_write_with_model(&ptq->plan, &ptq->prepared, args->plan_out);
    if (st == NNQ_OK && args->calib_table) {
        size_t n = strlen(args->calib_table) + 6;
        char *path = malloc(n);
        if (!path) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        snprintf(path, n, "%s.json", args->calib_table);
        st = calib_table_write_json(&ptq->plan, path);
        snprintf(path, n, "%s.txt", args->calib_table);
        if (st == NNQ_OK) st = calib_table_write_text(&ptq->plan, path);
        free(path);
    }
    return st;
}

static void count_roles(const nnq_plan *plan, int counts[3]) {
    counts[0] = counts[1] = counts[2] = 0;
    for (int i = 0; i < plan->n_quantizers; i++) counts[plan->quantizers[i].role]++;
}

static void print_text(const quantize_args *args, const ptq_result *ptq, const accuracy *acc) {
    int roles[3];
    count_roles(&ptq->plan, roles);
    printf("model:      %s -> %s\n", args->model_path, args->output_path);
    printf("prepared:   %d batch norms folded, %d identities removed, %d constants folded\n",
           ptq->prep.batchnorms_folded, ptq->prep.identities_removed, ptq->prep.constants_folded);
    if (args->config.cross_layer_equalization)
        printf("equalized:  %d layer pairs, worst channel range spread %.2f -> %.2f%s\n", ptq->cle_pairs,
               ptq->cle_spread_before, ptq->cle_spread_after,
               ptq->cle_clips_replaced ? " (ReLU6 replaced by Relu: FP32 changed)" : "");
    if (args->config.bias_absorption != BIAS_ABSORPTION_NONE)
        printf("absorbed:   high biases of %d layers\n", ptq->bias_layers_absorbed);
    if (ptq->propagated_ranges)
        printf("data-free:  %d ranges from moments propagated through the graph%s\n", ptq->propagated_ranges,
               ptq->propagated_layers_without_bn > 1 ? " - across layers without batch norm, where they are loose "
                                                       "bounds (calibrate with --calib for such models)" : "");
    if (args->config.adaround) printf("adarounded: %d layers\n", ptq->adaround_layers);
    else if (args->config.bias_correction != BIAS_CORRECTION_NONE)
        printf("corrected:  biases of %d layers\n", ptq->bias_layers_corrected);
    printf("quantized:  %d activations, %d weights, %d biases (W%dA%d, weights %s)\n", roles[0], roles[1], roles[2],
           args->config.weight_bits, args->config.activation_bits, args->config.per_channel ? "per channel" : "per tensor");
    if (!acc->measured) return;
    printf("accuracy on %s (%lld samples):\n", args->eval_spec ? args->eval_spec : args->calib_spec ? args->calib_spec : "",
           (long long)acc->fp32.total);
    printf("  fp32       top-1 %.2f%%\n", 100.0 * acc->fp32.top1);
    printf("  quantized  top-1 %.2f%%  (%+.2f points)\n", 100.0 * acc->quantized.top1,
           100.0 * (acc->quantized.top1 - acc->fp32.top1));
}

static void print_json(const quantize_args *args, const ptq_result *ptq, const accuracy *acc) {
    int roles[3];
    count_roles(&ptq->plan, roles);
    json_writer w;
    json_init(&w, stdout);
    json_begin_object(&w);
    json_key(&w, "model");
    json_string(&w, args->model_path);
    json_key(&w, "output");
    json_string(&w, args->output_path);
    json_key(&w, "activations");
    json_int(&w, roles[0]);
    json_key(&w, "weights");
    json_int(&w, roles[1]);
    json_key(&w, "biases");
    json_int(&w, roles[2]);
    json_key(&w, "batchnorms_folded");
    json_int(&w, ptq->prep.batchnorms_folded);
    json_key(&w, "cle_pairs");
    json_int(&w, ptq->cle_pairs);
    json_key(&w, "bias_layers_absorbed");
    json_int(&w, ptq->bias_layers_absorbed);
    json_key(&w, "bias_layers_corrected");
    json_int(&w, ptq->bias_layers_corrected);
    json_key(&w, "adaround_layers");
    json_int(&w, ptq->adaround_layers);
    json_key(&w, "fp32_top1");
    if (acc->measured) json_double(&w, acc->fp32.top1);
    else json_null(&w);
    json_key(&w, "quantized_top1");
    if (acc->measured) json_double(&w, acc->quantized.top1);
    else json_null(&w);
    json_key(&w, "total");
    json_int(&w, acc->measured ? acc->fp32.total : 0);
    json_end_object(&w);
    json_finish(&w);
}

static int quantize(quantize_args *args) {
    nnq_model model;
    if (onnx_load_model(args->model_path, &model) != NNQ_OK) return cli_report_error();
    nnq_dataset *calib = NULL, *eval = NULL;
    ptq_result ptq = {0};
    accuracy acc = {0};
    nnq_status st = model_simplify(&model);
    if (st == NNQ_OK && args->calib_spec) st = open_dataset(args->calib_spec, args->calib_count, args->data, &model, &calib);
    if (st == NNQ_OK && args->eval_spec) st = open_dataset(args->eval_spec, args->eval_count, args->data, &model, &eval);
    if (st == NNQ_OK) {
        progress_bar bar;
        progress_begin(&bar, "calibration");
        args->calibration.on_progress = progress_callback;
        args->calibration.progress_user = &bar;
        args->calibration.batch_size = args->batch_size;
        if (!args->calibration.has_input_range) { /* the data options describe the input without data */
            image_preprocess_value_range(&args->data.image, &args->calibration.input_lo, &args->calibration.input_hi);
            args->calibration.has_input_range = true;
        }
        st = ptq_run(&model, &args->config, calib, &args->calibration, &ptq);
        progress_end(&bar);
    }
    if (st == NNQ_OK) st = write_outputs(args, &ptq);
    nnq_dataset *labelled = eval ? eval : calib;
    if (st == NNQ_OK && labelled && dataset_has_labels(labelled)) st = measure_accuracy(args, &model, &ptq, labelled, &acc);
    if (st == NNQ_OK && args->as_json) print_json(args, &ptq, &acc);
    else if (st == NNQ_OK) print_text(args, &ptq, &acc);
    int code = st == NNQ_OK ? 0 : cli_report_error();
    ptq_result_free(&ptq);
    dataset_close(calib);
    dataset_close(eval);
    model_free(&model);
    return code;
}

/* Options that take a value; returns 0 when taken, 2 on a usage error, 1 when argv[*i] is not one. */
/* --adaround-*: 0 taken, 2 usage error, 1 not one of them. */
static int parse_adaround_option(quant_config *c, int argc, char **argv, int *i) {
    bool missing = false, ok = true;
    const char *v;
    char *end = NULL;
    adaround_tuning *t = &c->adaround_tuning;
    if ((v = cli_option_value(argc, argv, i, "--adaround-iterations", &missing))) {
        t->iterations = strtoll(v, &end, 10);
        ok = !*end && t->iterations >= 1;
    } else if ((v = cli_option_value(argc, argv, i, "--adaround-samples", &missing))) {
        t->samples = strtoll(v, &end, 10);
        ok = !*end && t->samples >= 1;
    } else if ((v = cli_option_value(argc, argv, i, "--adaround-batch", &missing))) {
        t->batch_size = strtoll(v, &end, 10);
        ok = !*end && t->batch_size >= 1;
    } else if ((v = cli_option_value(argc, argv, i, "--adaround-lambda", &missing))) {
        t->regularization = strtof(v, &end);
        ok = !*end && t->regularization > 0.0f;
    } else if ((v = cli_option_value(argc, argv, i, "--adaround-beta", &missing))) {
        t->beta_start = strtof(v, &end);
        if (*end == ',') t->beta_end = strtof(end + 1, &end);
        ok = !*end && t->beta_start > 0.0f && t->beta_end > 0.0f;
    } else if ((v = cli_option_value(argc, argv, i, "--adaround-warmup", &missing))) {
        t->warmup = strtof(v, &end);
        ok = !*end && t->warmup > 0.0f && t->warmup < 1.0f;
    } else if (missing) {
        return cli_usage_error("quantize", "option '%s' needs a value", argv[*i]);
    } else {
        return 1;
    }
    if (!ok) return cli_usage_error("quantize", "bad value '%s' for %s", v, argv[*i - 1]);
    c->adaround = true;
    return 0;
}

static int parse_valued_option(quantize_args *a, int argc, char **argv, int *i) {
    bool missing = false, ok = true;
    const char *v;
    quant_config *c = &a->config;
    if ((v = cli_option_value(argc, argv, i, "-o", &missing)) || (v = cli_option_value(argc, argv, i, "--output", &missing)))
        a->output_path = v;
    else if ((v = cli_option_value(argc, argv, i, "--calib", &missing))) a->calib_spec = v;
    else if ((v = cli_option_value(argc, argv, i, "--calib-save", &missing))) a->calibration.save_path = v;
    else if ((v = cli_option_value(argc, argv, i, "--calib-reload", &missing))) a->calibration.reload_path = v;
    else if ((v = cli_option_value(argc, argv, i, "--eval", &missing))) a->eval_spec = v;
    else if ((v = cli_option_value(argc, argv, i, "--plan-out", &missing))) a->plan_out = v;
    else if ((v = cli_option_value(argc, argv, i, "--calib-table", &missing))) a->calib_table = v;
    else if ((v = cli_option_value(argc, argv, i, "--format", &missing))) {
        if (strcmp(v, "qdq") && strcmp(v, "qoperator")) return cli_usage_error("quantize", "--format is qdq or qoperator");
        a->qoperator = strcmp(v, "qoperator") == 0;
    } else if ((v = cli_option_value(argc, argv, i, "--calib-count", &missing))) {
        a->calib_count = parse_integer(v, -1, INT64_MAX, &ok);
        if (!ok || a->calib_count == 0) return cli_usage_error("quantize", "--calib-count needs a positive count or -1");
    } else if ((v = cli_option_value(argc, argv, i, "--eval-count", &missing))) {
        a->eval_count = parse_integer(v, 1, INT64_MAX, &ok);
        if (!ok) return cli_usage_error("quantize", "--eval-count needs a positive count");
    } else if ((v = cli_option_value(argc, argv, i, "--batch", &missing))) {
        a->batch_size = parse_integer(v, 1, 1 << 20, &ok);
        if (!ok) return cli_usage_error("quantize", "--batch needs a count from 1 to %d", 1 << 20);
    } else if ((v = cli_option_value(argc, argv, i, "--wbits", &missing))) {
        c->weight_bits = (int)parse_integer(v, NNQ_MIN_BITS, 8, &ok);
        if (!ok) return cli_usage_error("quantize", "--wbits needs %d to 8", NNQ_MIN_BITS);
    } else if ((v = cli_option_value(argc, argv, i, "--abits", &missing))) {
        c->activation_bits = (int)parse_integer(v, NNQ_MIN_BITS, 8, &ok);
        if (!ok) return cli_usage_error("quantize", "--abits needs %d to 8", NNQ_MIN_BITS);
    } else if ((v = cli_option_value(argc, argv, i, "--weight-type", &missing))) {
        if (strcmp(v, "int8") && strcmp(v, "uint8")) return cli_usage_error("quantize", "--weight-type is int8 or uint8");
        c->weight_signed = strcmp(v, "int8") == 0;
    } else if ((v = cli_option_value(argc, argv, i, "--activation-type", &missing))) {
        if (!strcmp(v, "auto")) c->activations = ACTIVATION_TYPE_AUTO;
        else if (!strcmp(v, "uint8")) c->activations = ACTIVATION_TYPE_UINT8;
        else if (!strcmp(v, "int8")) c->activations = ACTIVATION_TYPE_INT8;
        else return cli_usage_error("quantize", "--activation-type is auto, uint8 or int8");
    } else if ((v = cli_option_value(argc, argv, i, "--bias-absorption", &missing))) {
        if (!strcmp(v, "data-free")) c->bias_absorption = BIAS_ABSORPTION_DATA_FREE;
        else if (!strcmp(v, "empirical")) c->bias_absorption = BIAS_ABSORPTION_EMPIRICAL;
        else return cli_usage_error("quantize", "--bias-absorption is data-free or empirical");
    } else if ((v = cli_option_value(argc, argv, i, "--bias-correction", &missing))) {
        if (!strcmp(v, "empirical")) c->bias_correction = BIAS_CORRECTION_EMPIRICAL;
        else if (!strcmp(v, "analytic")) c->bias_correction = BIAS_CORRECTION_ANALYTIC;
        else return cli_usage_error("quantize", "--bias-correction is empirical or analytic");
    } else if ((v = cli_option_value(argc, argv, i, "--preset", &missing))) {
        if (strcmp(v, "standard") && strcmp(v, "data-free"))
            return cli_usage_error("quantize", "--preset is standard or data-free");
        a->preset = v;
    } else if ((v = cli_option_value(argc, argv, i, "--joins", &missing))) {
        if (!strcmp(v, "requantize")) c->joins = JOIN_REQUANTIZE;
        else if (!strcmp(v, "shared")) c->joins = JOIN_SHARED;
        else return cli_usage_error("quantize", "--joins is requantize or shared");
    } else if ((v = cli_option_value(argc, argv, i, "--act-clip", &missing))) {
        if (!valid_method(v, false)) return cli_usage_error("quantize", "--act-clip: unknown method '%s'", v);
        bool combined = strcmp(v, "mse+xent") == 0;
        c->activation_method = combined ? "mse" : v;
        /* bn describes BN outputs; the logits come from a Gemm, not a BN. */
        if (!a->logits_given) c->logits_method = combined ? "xent" : !strcmp(v, "bn") ? "mse" : v;
    } else if ((v = cli_option_value(argc, argv, i, "--logits-clip", &missing))) {
        if (!valid_method(v, false) || !strcmp(v, "bn") || !strcmp(v, "mse+xent"))
            return cli_usage_error("quantize", "--logits-clip: unknown method '%s'", v);
        c->logits_method = v;
        a->logits_given = true;
    } else if ((v = cli_option_value(argc, argv, i, "--weight-clip", &missing))) {
        if (!valid_method(v, true)) return cli_usage_error("quantize", "--weight-clip is minmax (none), mse or kl");
        c->weight_method = v;
    } else if ((v = cli_option_value(argc, argv, i, "--quantile", &missing))) {
        a->calibration.calib.quantile = strtod(v, NULL);
        if (!(a->calibration.calib.quantile > 0 && a->calibration.calib.quantile <= 1))
            return cli_usage_error("quantize", "--quantile needs a fraction in (0, 1]");
    } else if ((v = cli_option_value(argc, argv, i, "--bn-alpha", &missing))) {
        a->calibration.calib.bn_alpha = strtod(v, NULL);
        if (!(a->calibration.calib.bn_alpha > 0)) return cli_usage_error("quantize", "--bn-alpha needs a positive number");
    } else if ((v = cli_option_value(argc, argv, i, "--input-range", &missing))) {
        char *end = NULL;
        a->calibration.input_lo = strtof(v, &end);
        if (*end == ',') a->calibration.input_hi = strtof(end + 1, &end);
        if (*end || !(a->calibration.input_lo < a->calibration.input_hi))
            return cli_usage_error("quantize", "--input-range needs LO,HI with LO < HI, not '%s'", v);
        a->calibration.has_input_range = true;
    } else if ((v = cli_option_value(argc, argv, i, "--meanstd-k", &missing))) {
        a->calibration.calib.meanstd_k = strtod(v, NULL);
        if (!(a->calibration.calib.meanstd_k > 0)) return cli_usage_error("quantize", "--meanstd-k needs a positive number");
    } else if ((v = cli_option_value(argc, argv, i, "--op-types", &missing)) ||
               (v = cli_option_value(argc, argv, i, "--nodes-to-quantize", &missing)) ||
               (v = cli_option_value(argc, argv, i, "--nodes-to-exclude", &missing))) {
        const char *name = argv[*i - 1][0] == '-' && strchr(argv[*i - 1], '=') == NULL ? argv[*i - 1] : argv[*i];
        int which = strstr(name, "op-types") ? 0 : strstr(name, "nodes-to-quantize") ? 1 : 2;
        name_list *list = which == 0 ? &c->op_types : which == 1 ? &c->nodes_to_quantize : &c->nodes_to_exclude;
        free(a->list_storage[which]);
        a->list_storage[which] = strdup(v);
        list->count = 0;
        if (!a->list_storage[which] || !name_list_add_csv(list, a->list_storage[which]))
            return cli_usage_error("quantize", "too many names in %s (at most %d)", name, QUANT_MAX_NAMES);
    } else if (missing) {
        return cli_usage_error("quantize", "option '%s' needs a value", argv[*i]);
    } else {
        return parse_adaround_option(c, argc, argv, i);
    }
    return 0;
}

static int parse_flag(quantize_args *a, const char *arg) {
    quant_config *c = &a->config;
    if (!strcmp(arg, "--per-channel")) c->per_channel = true;
    else if (!strcmp(arg, "--per-tensor")) c->per_channel = false;
    else if (!strcmp(arg, "--weight-full-range")) c->weight_full_range = true;
    else if (!strcmp(arg, "--no-unsigned")) c->sign_optimization = false;
    else if (!strcmp(arg, "--symmetric-activations")) c->activation_symmetric = true;
    else if (!strcmp(arg, "--power-of-two")) c->power_of_two = true;
    else if (!strcmp(arg, "--json")) a->as_json = true;
    else if (!strcmp(arg, "--ms-ops")) a->qoperator_options.ms_ops = true;
    else if (!strcmp(arg, "--cle")) c->cross_layer_equalization = true;
    else if (!strcmp(arg, "--adaround")) c->adaround = true;
    else if (!strcmp(arg, "--cle-replace-relu6")) c->cross_layer_equalization = c->replace_relu6 = true;
    else return 1;
    return 0;
}

/* The white paper's pipelines (§3.5, Figure 8) as settings. Options given
 * explicitly still win where they conflict (they were parsed already), so a
 * preset only fills in what it adds. */
static void apply_preset(quantize_args *a) {
    quant_config *c = &a->config;
    c->cross_layer_equalization = true;
    if (!strcmp(a->preset, "standard")) {
        bool data = a->calib_spec != NULL;
        if (data && c->bias_correction == BIAS_CORRECTION_NONE) c->adaround = true;
        else if (!data && !c->adaround && c->bias_correction == BIAS_CORRECTION_NONE)
            c->bias_correction = BIAS_CORRECTION_ANALYTIC;
        return;
    }
    /* data-free */
    if (c->bias_absorption == BIAS_ABSORPTION_NONE) c->bias_absorption = BIAS_ABSORPTION_DATA_FREE;
    if (c->bias_correction == BIAS_CORRECTION_NONE && !c->adaround) c->bias_correction = BIAS_CORRECTION_ANALYTIC;
    c->activation_method = "bn";
    if (!a->logits_given) c->logits_method = "mse";
}

int cmd_quantize(int argc, char **argv) {
    quantize_args args = {.calib_count = 1000, .data = dataset_options_defaults()};
    quant_config_defaults(&args.config);
    calib_options_default(&args.calibration.calib);
    int code = -1;
    for (int i = 1; i < argc && code < 0; i++) {
        cli_option_result shared;
        int taken;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            fputs(cli_dataset_help, stdout);
            code = 0;
        } else if ((shared = cli_parse_dataset_option("quantize", argc, argv, &i, &args.data)) != CLI_OPTION_OTHER) {
            if (shared == CLI_OPTION_ERROR) code = 2;
        } else if ((taken = parse_valued_option(&args, argc, argv, &i)) != 1) {
            if (taken) code = taken;
        } else if (parse_flag(&args, argv[i]) == 0) {
            continue;
        } else if (argv[i][0] == '-') {
            code = cli_usage_error("quantize", "unknown option '%s'", argv[i]);
        } else if (args.model_path) {
            code = cli_usage_error("quantize", "more than one model given ('%s' and '%s')", args.model_path, argv[i]);
        } else {
            args.model_path = argv[i];
        }
    }
    if (code < 0 && args.preset) apply_preset(&args);
    if (code < 0 && !args.model_path) code = cli_usage_error("quantize", "no model given");
    if (code < 0 && !args.output_path) code = cli_usage_error("quantize", "no output given (-o OUT.onnx)");
    if (code < 0 && args.qoperator_options.ms_ops && !args.qoperator)
        code = cli_usage_error("quantize", "--ms-ops applies to --format qoperator");
    /* The bn method needs no data at all (moments from the batch norms and the input range). */
    bool data_free = !strcmp(args.config.activation_method, "bn");
    if (code < 0 && !args.calib_spec && !args.calibration.reload_path && !data_free)
        code = cli_usage_error("quantize", "no calibration data given (--calib SPEC or --calib-reload FILE)");
    if (code < 0) code = quantize(&args);
    for (int k = 0; k < 3; k++) free(args.list_storage[k]);
    return code;
}
