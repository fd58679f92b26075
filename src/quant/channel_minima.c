#include "quant/channel_minima.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "quant/calibration_pass.h"
#include "run/executor.h"

static bool is_layer(const nnq_node *node) {
    const char *op = node->op_type;
    return !*node->domain && (!strcmp(op, "Conv") || !strcmp(op, "ConvTranspose") || !strcmp(op, "Gemm") ||
                              !strcmp(op, "MatMul"));
}

static nnq_status tap_minima(void *user, const nnq_node *node, const char *name, nnq_tensor *value) {
    channel_minima *m = user;
    if (!node || !is_layer(node) || value->dtype != NNQ_FLOAT || value->rank < 2) return NNQ_OK;
    int k = name_map_get(&m->by_tensor, name);
    if (k < 0) return NNQ_OK;
    int64_t channels = value->dims[1], outer = value->dims[0];
    int64_t inner = dims_numel(value->dims + 2, value->rank - 2);
    if (!m->minimum[k]) {
        m->channels[k] = channels;
        m->minimum[k] = malloc(sizeof(float) * (size_t)channels);
        if (!m->minimum[k]) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        for (int64_t c = 0; c < channels; c++) m->minimum[k][c] = INFINITY;
    }
    if (m->channels[k] != channels) return nnq_fail(NNQ_ERR_INVALID, "tensor '%s' changed its channel count", name);
    const float *x = value->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < channels; c++) {
            const float *block = x + (o * channels + c) * inner;
            float lowest = m->minimum[k][c];
            for (int64_t i = 0; i < inner; i++) lowest = fminf(lowest, block[i]);
            m->minimum[k][c] = lowest;
        }
    return NNQ_OK;
}

static nnq_status list_layers(const nnq_model *model, channel_minima *m) {
    const nnq_graph *g = &model->graph;
    m->tensors = calloc((size_t)g->n_nodes + 1, sizeof *m->tensors);
    m->channels = calloc((size_t)g->n_nodes + 1, sizeof *m->channels);
    m->minimum = calloc((size_t)g->n_nodes + 1, sizeof *m->minimum);
    if (!m->tensors || !m->channels || !m->minimum) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    NNQ_TRY(name_map_init(&m->by_tensor, (size_t)g->n_nodes));
    for (int n = 0; n < g->n_nodes; n++) {
        if (!is_layer(&g->nodes[n]) || g->nodes[n].n_outputs < 1) continue;
        if (!(m->tensors[m->count] = strdup(g->nodes[n].outputs[0]))) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        NNQ_TRY(name_map_put(&m->by_tensor, m->tensors[m->count], m->count));
        m->count++;
    }
    return NNQ_OK;
}

static nnq_status run(const nnq_model *model, nnq_dataset *dataset, int64_t batch_size, channel_minima *m) {
    nnq_executor *ex = NULL;
    NNQ_TRY(executor_create(model, &ex));
    nnq_status st = executor_add_tap(ex, (nnq_tap){tap_minima, m});
    if (st == NNQ_OK) st = calibration_pass_run(&ex, 1, model, dataset, &(calibration_pass_options){.batch_size = batch_size}, NULL);
    executor_free(ex);
    return st;
}

nnq_status channel_minima_measure(const nnq_model *model, nnq_dataset *dataset, int64_t batch_size,
                                  channel_minima *out) {
    memset(out, 0, sizeof *out);
    nnq_status st = list_layers(model, out);
    if (st == NNQ_OK) st = run(model, dataset, batch_size, out);
    if (st != NNQ_OK) channel_minima_free(out);
    return st;
}

void channel_minima_free(channel_minima *m) {
    for (int k = 0; k < m->count; k++) {
        free(m->tensors[k]);
        free(m->minimum[k]);
    }
    free(m->tensors);
    free(m->channels);
    free(m->minimum);
    name_map_free(&m->by_tensor);
    memset(m, 0, sizeof *m);
}

bool channel_minima_get(const channel_minima *m, const char *tensor, int64_t channels, float *out) {
    int k = name_map_get(&m->by_tensor, tensor);
    if (k < 0 || !m->minimum[k] || m->channels[k] != channels) return false;
    memcpy(out, m->minimum[k], sizeof(float) * (size_t)channels);
    return true;
}
