/* One pass of calibration samples through one or more executors of models
 * with the same single input (e.g. the FP32 model and its fake-quantized
 * simulation), batch by batch: every executor runs the batch before the
 * next batch is read, so taps on different executors see the same samples
 * in the same order. Outputs are discarded; taps do the work. */
#ifndef NNQ_QUANT_CALIBRATION_PASS_H
#define NNQ_QUANT_CALIBRATION_PASS_H

#include "data/dataset.h"
#include "ir/graph.h"
#include "run/executor.h"

typedef struct calibration_pass_options {
    int64_t max_samples;  /* the first samples of the dataset; all when <= 0 */
    int64_t batch_size;   /* <= 0: 64; a model's fixed batch always wins */
    void (*on_progress)(void *user, int64_t done, int64_t total); /* may be NULL */
    void *progress_user;
} calibration_pass_options;

/* Runs the dataset, from its start, through executors[0..n) whose model is
 * `model` (for the input name and the output count; the others must match
 * it). *samples_done (may be NULL) receives the samples run. */
nnq_status calibration_pass_run(nnq_executor *const *executors, int n_executors, const nnq_model *model,
                                nnq_dataset *dataset, const calibration_pass_options *options, int64_t *samples_done);

#endif
