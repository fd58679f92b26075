/* The C export's test samples: inputs quantized as NAME_quantize_input does,
 * and the integer engine's int8 outputs for them (see c_export.h). */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "export/c_export.h"
#include "intq/engine.h"
#include "intq/int8_interface.h"

enum { SAMPLES_PER_BATCH = 64 };

static nnq_status allocate(c_export_samples *s, int64_t n, bool labels) {
    s->inputs = malloc((size_t)(n * s->input_size) + 1);
    s->outputs = malloc((size_t)(n * s->output_size) + 1);
    s->labels = labels ? malloc(sizeof *s->labels * ((size_t)n + 1)) : NULL;
    if (!s->inputs || !s->outputs || (labels && !s->labels))
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory for %lld test samples", (long long)n);
    return NNQ_OK;
}

/* Quantizes and runs the samples of one batch (float [count, input...]) from sample index `first` on. */
static nnq_status run_batch(const intq_program *p, const intq_int8_interface *io, nnq_int_engine *engine,
                            const nnq_tensor *batch, int64_t count, int64_t first, c_export_samples *s) {
    const intq_tensor *q = &p->tensors[io->input];
    if (batch->dtype != NNQ_FLOAT || tensor_numel(batch) != count * q->count)
        return nnq_fail(NNQ_ERR_INVALID, "the data's samples are not float tensors of %d values (the model input's)",
                        q->count);
    int8_t *outputs[INTQ_MAX_OP_INPUTS];
    for (int64_t k = 0; k < count; k++) {
        int8_t *input = s->inputs + (first + k) * s->input_size;
        quantize_f32_s8((const float *)batch->data + k * q->count, q->count, q->scale, q->zero_point, q->q_min,
                        q->q_max, input);
        int8_t *output = s->outputs + (first + k) * s->output_size;
        for (int o = 0; o < io->n_outputs; o++) {
            outputs[o] = output;
            output += p->tensors[io->outputs[o]].count;
        }
        NNQ_TRY(int_engine_run_int8(engine, io, input, outputs));
    }
    return NNQ_OK;
}

static nnq_status make_samples(const intq_program *p, const intq_int8_interface *io, nnq_dataset *data, int64_t n,
                               c_export_samples *s) {
    nnq_int_engine *engine = NULL;
    NNQ_TRY(int_engine_create(p, &engine));
    int64_t labels[SAMPLES_PER_BATCH];
    nnq_status st = NNQ_OK;
    dataset_rewind(data);
    while (st == NNQ_OK && s->count < n) {
        nnq_tensor batch = {0};
        int64_t count = 0, want = n - s->count < SAMPLES_PER_BATCH ? n - s->count : SAMPLES_PER_BATCH;
        st = dataset_next_batch(data, want, &batch, s->labels ? labels : NULL, &count);
        if (st == NNQ_OK && count == 0) break;
        if (st == NNQ_OK) st = run_batch(p, io, engine, &batch, count, s->count, s);
        for (int64_t k = 0; st == NNQ_OK && s->labels && k < count; k++) s->labels[s->count + k] = (int32_t)labels[k];
        if (st == NNQ_OK) s->count += count;
        tensor_free(&batch);
    }
    int_engine_free(engine);
    return st;
}

nnq_status c_export_samples_make(const intq_program *p, nnq_dataset *data, int64_t max_samples,
                                 c_export_samples *out) {
    memset(out, 0, sizeof *out);
    intq_int8_interface io;
    NNQ_TRY(intq_int8_interface_find(p, &io));
    if (io.n_outputs > INTQ_MAX_OP_INPUTS) {
        intq_int8_interface_free(&io);
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "test samples: at most %d outputs", INTQ_MAX_OP_INPUTS);
    }
    out->input_size = p->tensors[io.input].count;
    for (int o = 0; o < io.n_outputs; o++) out->output_size += p->tensors[io.outputs[o]].count;
    int64_t available = dataset_count(data);
    int64_t n = available < max_samples ? available : max_samples;
    nnq_status st = allocate(out, n, dataset_has_labels(data));
    if (st == NNQ_OK) st = make_samples(p, &io, data, n, out);
    if (st != NNQ_OK) {
        nnq_fail_context(st, "test samples from '%s'", dataset_spec(data));
        c_export_samples_free(out);
    }
    intq_int8_interface_free(&io);
    return st;
}

void c_export_samples_free(c_export_samples *s) {
    free(s->inputs);
    free(s->outputs);
    free(s->labels);
    memset(s, 0, sizeof *s);
}
