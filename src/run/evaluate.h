/* Classification accuracy of a model over a labelled dataset: top-1 and
 * top-5, counted batch by batch with the FP32 executor. */
#ifndef NNQ_RUN_EVALUATE_H
#define NNQ_RUN_EVALUATE_H

#include <stdbool.h>
#include <stdint.h>

#include "data/dataset.h"
#include "ir/graph.h"
#include "run/executor.h"

enum { EVAL_DEFAULT_BATCH = 64, EVAL_TOP_K = 5 };

typedef struct eval_options {
    /* Samples per run; 0 means EVAL_DEFAULT_BATCH. A model whose batch
     * dimension is fixed runs with that size whatever this says. */
    int64_t batch_size;
    /* Called after each batch with the samples done so far (may be NULL). */
    void (*on_progress)(void *user, int64_t done, int64_t total);
    void *progress_user;
} eval_options;

typedef struct eval_result {
    int64_t total;           /* samples evaluated */
    int64_t class_count;     /* logits per sample */
    int64_t correct_top1;
    int64_t correct_top5;    /* meaningful when has_top5 */
    bool has_top5;           /* more than EVAL_TOP_K classes */
    double top1, top5;       /* fractions of total */
    int64_t batch_size;      /* as run */
    double seconds;          /* wall time, data loading included */
    double images_per_second;
} eval_result;

/* Runs model (one runtime input; its first output gives the logits, C per
 * sample) on every sample of dataset, which must have labels in [0, C).
 * A prediction is correct at top-k when fewer than k classes rank before the
 * label, ranking by logit and, among equal logits, by class index (so top-1 is
 * the first arg-max, as numpy.argmax). Run model_simplify first to save work. */
nnq_status evaluate_accuracy(const nnq_model *model, nnq_dataset *dataset, const eval_options *options,
                             eval_result *out);

/* The same with a prepared executor for model - e.g. a fake-quantized
 * simulation's, whose taps quantize activations as the model runs. */
nnq_status evaluate_accuracy_with(nnq_executor *executor, const nnq_model *model, nnq_dataset *dataset,
                                  const eval_options *options, eval_result *out);

/* Runs a batch: inputs matched to the model's runtime inputs, outputs[0 ..
 * graph.n_outputs) filled with new tensors the caller frees (executor_run's contract). */
typedef nnq_status (*eval_run_fn)(void *user, const nnq_tensor *inputs, int n_inputs, nnq_tensor *outputs);

/* The eval_run_fn of an executor (user is the nnq_executor): executor_run. */
nnq_status eval_run_executor(void *executor, const nnq_tensor *inputs, int n_inputs, nnq_tensor *outputs);

/* The same with any runner of model's inputs and outputs - e.g. the integer
 * engine (intq/engine.h), which executes a lowered program, not the graph. */
nnq_status evaluate_accuracy_run(eval_run_fn run, void *user, const nnq_model *model, nnq_dataset *dataset,
                                 const eval_options *options, eval_result *out);

/* The rank (0 = best) of class `label` among count logits, ordered as
 * evaluate_accuracy describes; a NaN logit for the label ranks last. */
int64_t logits_rank_of(const float *logits, int64_t count, int64_t label);

#endif
