#include "quant/calibration_pass.h"

#include <stdlib.h>
#include <string.h>

#include "base/status.h"

static nnq_status run_batch(nnq_executor *const *executors, int n_executors, const nnq_model *model,
                            const nnq_tensor *x, nnq_tensor *outputs) {
    for (int e = 0; e < n_executors; e++) {
        NNQ_TRY(executor_run(executors[e], x, 1, outputs));
        for (int o = 0; o < model->graph.n_outputs; o++) tensor_free(&outputs[o]);
    }
    return NNQ_OK;
}

nnq_status calibration_pass_run(nnq_executor *const *executors, int n_executors, const nnq_model *model,
                                nnq_dataset *dataset, const calibration_pass_options *options, int64_t *samples_done) {
    int64_t max_samples = options->max_samples, batch_size = options->batch_size;
    int64_t total = dataset_count(dataset);
    if (max_samples > 0 && max_samples < total) total = max_samples;
    const nnq_value_info *input = graph_single_runtime_input(&model->graph);
    if (!input) return nnq_fail(NNQ_ERR_UNSUPPORTED, "a calibration pass needs a model with exactly one input");
    bool fixed_batch = input->rank > 0 && input->dims[0] > 0;
    int64_t batch = fixed_batch ? input->dims[0] : batch_size > 0 ? batch_size : 64;
    nnq_tensor *outputs = calloc((size_t)model->graph.n_outputs + 1, sizeof *outputs);
    if (!outputs) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    nnq_status st = NNQ_OK;
    int64_t done = 0;
    dataset_rewind(dataset);
    while (st == NNQ_OK && (max_samples <= 0 || done < max_samples)) {
        int64_t want = batch;
        if (!fixed_batch && max_samples > 0 && max_samples - done < want) want = max_samples - done;
        nnq_tensor x = {0};
        int64_t count = 0;
        st = dataset_next_batch(dataset, want, &x, NULL, &count);
        if (st != NNQ_OK || count == 0) break;
        if (!(x.name = strdup(input->name))) st = nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        if (st == NNQ_OK) st = run_batch(executors, n_executors, model, &x, outputs);
        tensor_free(&x);
        done += count;
        if (st == NNQ_OK && options->on_progress) options->on_progress(options->progress_user, done, total);
    }
    free(outputs);
    if (samples_done) *samples_done = done;
    return st;
}
