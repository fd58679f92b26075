#include "quant/quantized_layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/activation_fusion.h"
#include "quant/op_rules.h"
#include "quant/quantize_tensor.h"

static int quantizer_index(const nnq_plan *plan, const char *tensor) {
    const nnq_quantizer *q = plan_find(plan, tensor);
    return q ? (int)(q - plan->quantizers) : -1;
}

/* The weight grid must run along W's output channels (or be per tensor). */
static bool weight_quantizer_fits(const nnq_graph *g, const nnq_node *node, const nnq_quantizer *q,
                                  const quantized_layer *layer) {
    if (q->role != NNQ_ROLE_WEIGHT) return false;
    if (q->axis < 0) return q->n_channels == 1;
    int rank = g->initializers[layer->linear.weight_initializer].rank;
    return q->axis == op_weight_channel_axis(node, rank) && q->n_channels == layer->linear.out_channels;
}

static bool read_layer(const nnq_model *model, const nnq_plan *plan, const activation_fusions *fusions, int n,
                       quantized_layer *layer) {
    const nnq_graph *g = &model->graph;
    memset(layer, 0, sizeof *layer);
    if (!linear_layer_read(g, n, &layer->linear) || !linear_layer_owns_parameters(g, &layer->linear)) return false;
    const linear_layer *linear = &layer->linear;
    if (linear->kind == LAYER_CONV_TRANSPOSE) return false;
    if (linear->kind == LAYER_GEMM && (linear->gemm_alpha != 1.0 || linear->gemm_beta != 1.0)) return false;
    const nnq_node *node = &g->nodes[n];
    layer->weight_quantizer = quantizer_index(plan, node->inputs[1]);
    if (layer->weight_quantizer < 0 ||
        !weight_quantizer_fits(g, node, &plan->quantizers[layer->weight_quantizer], layer))
        return false;
    layer->node = node;
    layer->input_quantizer = quantizer_index(plan, node->inputs[0]);
    layer->bias_quantizer = linear->bias_initializer < 0 ? -1 : quantizer_index(plan, node->inputs[2]);
    layer->depth = linear_layer_weight_count(g, linear) / linear->out_channels;
    layer->clamp_min = -INFINITY;
    layer->clamp_max = INFINITY;
    int f = name_map_get(&fusions->by_linear_output, node->outputs[0]);
    if (f >= 0) {
        layer->clamp_min = fusions->items[f].clamp_min;
        layer->clamp_max = fusions->items[f].clamp_max;
    }
    return true;
}

nnq_status quantized_layers_find(const nnq_model *prepared, const nnq_plan *plan, quantized_layers *out) {
    memset(out, 0, sizeof *out);
    const nnq_graph *g = &prepared->graph;
    out->items = calloc((size_t)g->n_nodes + 1, sizeof *out->items);
    if (!out->items) return nnq_fail(NNQ_ERR_NOMEM, "out of memory listing the quantized layers");
    activation_fusions fusions;
    nnq_status st = graph_find_activation_fusions(prepared, &fusions);
    if (st != NNQ_OK) {
        quantized_layers_free(out);
        return st;
    }
    for (int n = 0; n < g->n_nodes; n++)
        if (read_layer(prepared, plan, &fusions, n, &out->items[out->count])) out->count++;
    activation_fusions_free(&fusions);
    return NNQ_OK;
}

void quantized_layers_free(quantized_layers *layers) {
    free(layers->items);
    memset(layers, 0, sizeof *layers);
}

/* Conv weights [M, C/group, k...] and Gemm's transB weights [N, K] are rows
 * already; Gemm without transB and MatMul store [K, N]. */
static bool stored_as_rows(const quantized_layer *layer) {
    return layer->linear.kind == LAYER_CONV || layer->linear.weight_transposed;
}

/* Weight data as stored -> rows [M x K]. */
static void weight_to_rows(const quantized_layer *layer, const float *w, float *rows) {
    int64_t m_count = layer->linear.out_channels, k_count = layer->depth;
    if (stored_as_rows(layer)) {
        memcpy(rows, w, sizeof(float) * (size_t)(m_count * k_count));
        return;
    }
    for (int64_t k = 0; k < k_count; k++)
        for (int64_t m = 0; m < m_count; m++) rows[m * k_count + k] = w[k * m_count + m];
}

void quantized_layer_weight_rows(const nnq_model *model, const quantized_layer *layer, float *rows) {
    weight_to_rows(layer, model->graph.initializers[layer->linear.weight_initializer].data, rows);
}

void quantized_layer_store_weight_rows(nnq_model *model, const quantized_layer *layer, const float *rows) {
    float *w = model->graph.initializers[layer->linear.weight_initializer].data;
    int64_t m_count = layer->linear.out_channels, k_count = layer->depth;
    if (stored_as_rows(layer)) {
        memcpy(w, rows, sizeof(float) * (size_t)(m_count * k_count));
        return;
    }
    for (int64_t k = 0; k < k_count; k++)
        for (int64_t m = 0; m < m_count; m++) w[k * m_count + m] = rows[m * k_count + k];
}

nnq_status quantized_layer_weight_error(const nnq_model *model, const nnq_plan *plan, const quantized_layer *layer,
                                        float *delta_rows) {
    const nnq_tensor *w = &model->graph.initializers[layer->linear.weight_initializer];
    const nnq_quantizer *q = &plan->quantizers[layer->weight_quantizer];
    NNQ_TRY(quantizer_check_tensor(q, w));
    nnq_tensor quantized = {0};
    NNQ_TRY(tensor_copy(&quantized, w));
    quantizer_fake_quantize(q, &quantized, true);
    int64_t count = layer->linear.out_channels * layer->depth;
    float *fp32 = malloc(sizeof *fp32 * (size_t)count);
    if (fp32) {
        weight_to_rows(layer, quantized.data, delta_rows);
        weight_to_rows(layer, w->data, fp32);
        for (int64_t i = 0; i < count; i++) delta_rows[i] -= fp32[i];
    }
    free(fp32);
    tensor_free(&quantized);
    return fp32 ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory quantizing the weight of '%s'", node_display_name(layer->node));
}

static void read_ints(const nnq_node *node, const char *name, int rank, int64_t fallback, int64_t *out) {
    int64_t count;
    const int64_t *values = node_attr_ints(node, name, &count);
    for (int d = 0; d < rank; d++) out[d] = values && count == rank ? values[d] : fallback;
}

nnq_status quantized_layer_conv_geometry(const nnq_model *model, const quantized_layer *layer,
                                         const int64_t *in_spatial, im2col_geometry *g) {
    const nnq_node *node = &model->graph.nodes[layer->linear.node];
    const nnq_tensor *w = &model->graph.initializers[layer->linear.weight_initializer];
    memset(g, 0, sizeof *g);
    int rank = g->spatial_rank = w->rank - 2;
    memcpy(g->image, in_spatial, sizeof(int64_t) * (size_t)rank);
    memcpy(g->kernel, w->dims + 2, sizeof(int64_t) * (size_t)rank);
    read_ints(node, "strides", rank, 1, g->strides);
    read_ints(node, "dilations", rank, 1, g->dilations);
    int64_t pads_count;
    const int64_t *pads = node_attr_ints(node, "pads", &pads_count);
    const char *auto_pad = node_attr_string(node, "auto_pad", "NOTSET");
    bool same = strncmp(auto_pad, "SAME", 4) == 0;
    for (int d = 0; d < rank; d++) {
        int64_t extent = g->dilations[d] * (g->kernel[d] - 1) + 1;
        if (same) {
            g->cols[d] = (in_spatial[d] + g->strides[d] - 1) / g->strides[d];
            int64_t total = (g->cols[d] - 1) * g->strides[d] + extent - in_spatial[d];
            if (total < 0) total = 0;
            bool upper = strcmp(auto_pad, "SAME_UPPER") == 0;
            g->pads[d] = upper ? total / 2 : total - total / 2;
            g->pads[rank + d] = total - g->pads[d];
            continue;
        }
        if (strcmp(auto_pad, "VALID") != 0 && pads && pads_count == 2 * rank) {
            g->pads[d] = pads[d];
            g->pads[rank + d] = pads[rank + d];
        }
        int64_t span = in_spatial[d] + g->pads[d] + g->pads[rank + d] - extent;
        if (g->strides[d] < 1 || span < 0)
            return nnq_fail(NNQ_ERR_INVALID, "layer '%s': its window does not fit input '%s'", node_display_name(layer->node),
                            layer->node->inputs[0]);
        g->cols[d] = span / g->strides[d] + 1;
    }
    return NNQ_OK;
}
