#include "run/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "base/wall_clock.h"
#include "run/executor.h"

int64_t logits_rank_of(const float *logits, int64_t count, int64_t label) {
    float target = logits[label];
    if (isnan(target)) return count;
    int64_t rank = 0;
    for (int64_t c = 0; c < count; c++)
        if (logits[c] > target || (logits[c] == target && c < label)) rank++;
    return rank;
}

/* Everything one evaluation holds while it runs. */
typedef struct eval_run {
    const nnq_model *model;
    const nnq_value_info *input;
    nnq_dataset *dataset;
    eval_run_fn run;        /* runs one batch; user is its first argument */
    void *user;
    nnq_executor *own_executor; /* created for the plain FP32 evaluation */
    int64_t batch_size;
    bool batch_fixed;       /* the model's batch dimension is a fixed number */
    int64_t *labels;        /* batch_size labels */
    nnq_tensor *outputs;    /* graph.n_outputs */
    eval_result *result;
} eval_run;

/* A model with a fixed batch size gets a short last batch padded with zero samples. */
static nnq_status pad_batch(nnq_tensor *inputs, int64_t batch_size) {
    nnq_tensor padded = {0};
    int64_t dims[NNQ_MAX_RANK];
    memcpy(dims, inputs->dims, sizeof dims);
    dims[0] = batch_size;
    NNQ_TRY(tensor_create(&padded, inputs->dtype, inputs->rank, dims));
    memcpy(padded.data, inputs->data, (size_t)tensor_numel(inputs) * dtype_size(inputs->dtype));
    padded.name = inputs->name;
    inputs->name = NULL;
    tensor_free(inputs);
    *inputs = padded;
    return NNQ_OK;
}

/* Checks the logits of a batch of `rows` run samples and gives classes per sample. */
static nnq_status logits_classes(const eval_run *run, const nnq_tensor *logits, int64_t rows, int64_t *classes) {
    const char *name = run->model->graph.outputs[0].name;
    int64_t numel = tensor_numel(logits);
    if (logits->dtype != NNQ_FLOAT)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "output '%s' is %s; accuracy needs float logits", name,
                        dtype_name(logits->dtype));
    if (logits->rank < 1 || logits->dims[0] != rows || numel <= 0 || numel % rows != 0) {
        char shape[160];
        return nnq_fail(NNQ_ERR_INVALID, "output '%s' has shape %s; accuracy needs logits [%lld, classes]", name,
                        dims_format(logits->dims, logits->rank, shape, sizeof shape), (long long)rows);
    }
    *classes = numel / rows;
    if (run->result->class_count && *classes != run->result->class_count)
        return nnq_fail(NNQ_ERR_INVALID, "output '%s' changed from %lld to %lld classes between batches", name,
                        (long long)run->result->class_count, (long long)*classes);
    return NNQ_OK;
}

/* Scores the first n rows of the logits against the batch's labels. */
static nnq_status score_batch(eval_run *run, const nnq_tensor *logits, int64_t rows, int64_t n) {
    int64_t classes = 0;
    NNQ_TRY(logits_classes(run, logits, rows, &classes));
    eval_result *r = run->result;
    r->class_count = classes;
    for (int64_t i = 0; i < n; i++) {
        int64_t label = run->labels[i];
        if (label < 0 || label >= classes)
            return nnq_fail(NNQ_ERR_INVALID, "dataset '%s': sample %lld has label %lld but the model gives %lld "
                            "classes", dataset_spec(run->dataset), (long long)(r->total + i), (long long)label,
                            (long long)classes);
        int64_t rank = logits_rank_of((const float *)logits->data + i * classes, classes, label);
        r->correct_top1 += rank < 1;
        r->correct_top5 += rank < EVAL_TOP_K;
    }
    r->total += n;
    return NNQ_OK;
}

static nnq_status run_batch(eval_run *run, nnq_tensor *inputs, int64_t n) {
    if (run->batch_fixed && n < run->batch_size) NNQ_TRY(pad_batch(inputs, run->batch_size));
    int n_outputs = run->model->graph.n_outputs;
    NNQ_TRY(run->run(run->user, inputs, 1, run->outputs));
    nnq_status st = score_batch(run, &run->outputs[0], inputs->dims[0], n);
    for (int i = 0; i < n_outputs; i++) tensor_free(&run->outputs[i]);
    return st;
}

static nnq_status run_all(eval_run *run, const eval_options *options) {
    int64_t total = dataset_count(run->dataset);
    for (;;) {
        nnq_tensor inputs = {0};
        int64_t n = 0;
        NNQ_TRY(dataset_next_batch(run->dataset, run->batch_size, &inputs, run->labels, &n));
        if (n == 0) return NNQ_OK;
        inputs.name = strdup(run->input->name);
        nnq_status st = inputs.name ? run_batch(run, &inputs, n) : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        tensor_free(&inputs);
        NNQ_TRY(st);
        if (options->on_progress) options->on_progress(options->progress_user, run->result->total, total);
    }
}

nnq_status eval_run_executor(void *executor, const nnq_tensor *inputs, int n_inputs, nnq_tensor *outputs) {
    return executor_run(executor, inputs, n_inputs, outputs);
}

static nnq_status prepare(eval_run *run, const eval_options *options) {
    const nnq_graph *g = &run->model->graph;
    run->input = graph_single_runtime_input(g);
    if (!run->input) return nnq_fail(NNQ_ERR_UNSUPPORTED, "accuracy needs a model with exactly one input");
    if (g->n_outputs < 1) return nnq_fail(NNQ_ERR_INVALID, "the model has no outputs");
    if (!dataset_has_labels(run->dataset))
        return nnq_fail(NNQ_ERR_USAGE, "dataset '%s' has no labels; accuracy needs them", dataset_spec(run->dataset));
    run->batch_fixed = run->input->rank >= 1 && run->input->dims[0] > 0;
    run->batch_size = run->batch_fixed ? run->input->dims[0]
                      : options->batch_size > 0 ? options->batch_size : EVAL_DEFAULT_BATCH;
    run->labels = malloc((size_t)run->batch_size * sizeof *run->labels);
    run->outputs = calloc((size_t)g->n_outputs, sizeof *run->outputs);
    if (!run->labels || !run->outputs) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (run->run) return NNQ_OK;
    NNQ_TRY(executor_create(run->model, &run->own_executor));
    run->run = eval_run_executor;
    run->user = run->own_executor;
    return NNQ_OK;
}

/* run: the batch runner (with user), or NULL to run model with a new FP32 executor. */
static nnq_status evaluate(eval_run_fn runner, void *user, const nnq_model *model, nnq_dataset *dataset,
                           const eval_options *options, eval_result *out) {
    memset(out, 0, sizeof *out);
    eval_options defaults = {0};
    if (!options) options = &defaults;
    eval_run run = {.model = model, .dataset = dataset, .result = out, .run = runner, .user = user};
    double start = wall_clock_seconds();
    nnq_status st = prepare(&run, options);
    if (st == NNQ_OK) st = run_all(&run, options);
    out->seconds = wall_clock_seconds() - start;
    executor_free(run.own_executor);
    free(run.labels);
    free(run.outputs);
    if (st != NNQ_OK) return st;
    out->batch_size = run.batch_size;
    out->has_top5 = out->class_count > EVAL_TOP_K;
    out->top1 = out->total ? (double)out->correct_top1 / (double)out->total : 0.0;
    out->top5 = out->total ? (double)out->correct_top5 / (double)out->total : 0.0;
    out->images_per_second = out->seconds > 0 ? (double)out->total / out->seconds : 0.0;
    return NNQ_OK;
}

nnq_status evaluate_accuracy(const nnq_model *model, nnq_dataset *dataset, const eval_options *options,
                             eval_result *out) {
    return evaluate(NULL, NULL, model, dataset, options, out);
}

nnq_status evaluate_accuracy_with(nnq_executor *executor, const nnq_model *model, nnq_dataset *dataset,
                                  const eval_options *options, eval_result *out) {
    return evaluate(eval_run_executor, executor, model, dataset, options, out);
}

nnq_status evaluate_accuracy_run(eval_run_fn run, void *user, const nnq_model *model, nnq_dataset *dataset,
                                 const eval_options *options, eval_result *out) {
    if (!run) return nnq_fail(NNQ_ERR_USAGE, "evaluate_accuracy_run needs a batch runner");
    return evaluate(run, user, model, dataset, options, out);
}
