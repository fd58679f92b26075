#include "ir/passes/linear_layer.h"

#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/passes/graph_edit.h"

static bool is_default_domain(const nnq_node *node) {
    return !*node->domain || strcmp(node->domain, "ai.onnx") == 0;
}

/* A fixed float initializer with data, or -1. */
static int fixed_float_initializer(const nnq_graph *g, const char *name) {
    if (!*name || !graph_find_fixed_initializer(g, name)) return -1;
    int index = graph_find_initializer_index(g, name);
    const nnq_tensor *t = &g->initializers[index];
    return t->dtype == NNQ_FLOAT && t->data ? index : -1;
}

static bool read_convolution(const nnq_graph *g, const nnq_node *node, linear_layer *layer) {
    const nnq_tensor *w = &g->initializers[layer->weight_initializer];
    layer->group = node_attr_int(node, "group", 1);
    /* Axis 0 (Conv's outputs, ConvTranspose's inputs) splits into the groups. */
    if (w->rank < 3 || layer->group < 1 || w->dims[0] % layer->group != 0) return false;
    if (layer->kind == LAYER_CONV) {
        layer->out_channels = w->dims[0];
        layer->in_channels = w->dims[1] * layer->group;
    } else {
        layer->in_channels = w->dims[0];
        layer->out_channels = w->dims[1] * layer->group;
    }
    return true;
}

static bool read_dense(const nnq_node *node, const nnq_tensor *w, linear_layer *layer) {
    if (w->rank != 2) return false;
    if (layer->kind == LAYER_GEMM) {
        if (node_attr_int(node, "transA", 0) != 0) return false;
        layer->weight_transposed = node_attr_int(node, "transB", 0) != 0;
        layer->gemm_alpha = node_attr_float(node, "alpha", 1.0f);
        layer->gemm_beta = node_attr_float(node, "beta", 1.0f);
    }
    layer->out_channels = w->dims[layer->weight_transposed ? 0 : 1];
    layer->in_channels = w->dims[layer->weight_transposed ? 1 : 0];
    return true;
}

/* One bias value per output channel: [C] (Conv), [N] or [1, N] (Gemm's C). */
static bool read_bias(const nnq_graph *g, const nnq_node *node, linear_layer *layer) {
    layer->bias_initializer = -1;
    if (node->n_inputs < 3 || !*node->inputs[2]) return true;
    if (layer->kind == LAYER_MATMUL) return false;
    layer->bias_initializer = fixed_float_initializer(g, node->inputs[2]);
    if (layer->bias_initializer < 0) return false;
    const nnq_tensor *b = &g->initializers[layer->bias_initializer];
    if (tensor_numel(b) != layer->out_channels || b->rank < 1 || b->rank > 2) return false;
    return b->dims[b->rank - 1] == layer->out_channels;
}

bool linear_layer_read(const nnq_graph *g, int n, linear_layer *layer) {
    const nnq_node *node = &g->nodes[n];
    memset(layer, 0, sizeof *layer);
    layer->node = n;
    layer->group = 1;
    layer->gemm_alpha = layer->gemm_beta = 1.0;
    if (!is_default_domain(node) || node->n_inputs < 2 || node->n_outputs < 1 || !*node->outputs[0]) return false;
    if (strcmp(node->op_type, "Conv") == 0) layer->kind = LAYER_CONV;
    else if (strcmp(node->op_type, "ConvTranspose") == 0) layer->kind = LAYER_CONV_TRANSPOSE;
    else if (strcmp(node->op_type, "Gemm") == 0) layer->kind = LAYER_GEMM;
    else if (strcmp(node->op_type, "MatMul") == 0) layer->kind = LAYER_MATMUL;
    else return false;
    /* The data input must be a runtime tensor: a constant one makes the "weight" the activation. */
    if (graph_find_initializer(g, node->inputs[0])) return false;
    layer->weight_initializer = fixed_float_initializer(g, node->inputs[1]);
    if (layer->weight_initializer < 0) return false;
    const nnq_tensor *w = &g->initializers[layer->weight_initializer];
    bool shape_ok = linear_layer_is_convolution(layer) ? read_convolution(g, node, layer) : read_dense(node, w, layer);
    return shape_ok && layer->out_channels > 0 && layer->in_channels > 0 && read_bias(g, node, layer);
}

static bool only_reader_is_node(const nnq_graph *g, const char *name) {
    return graph_count_readers(g, NULL, name) == 1 && !graph_is_input(g, name) && !graph_is_output(g, name);
}

bool linear_layer_owns_parameters(const nnq_graph *g, const linear_layer *layer) {
    if (!only_reader_is_node(g, g->initializers[layer->weight_initializer].name)) return false;
    return layer->bias_initializer < 0 || only_reader_is_node(g, g->initializers[layer->bias_initializer].name);
}

bool linear_layer_is_convolution(const linear_layer *layer) {
    return layer->kind == LAYER_CONV || layer->kind == LAYER_CONV_TRANSPOSE;
}

/* Elements per slice of a convolution weight's first two axes (the kernel). */
static int64_t kernel_size(const nnq_tensor *w) {
    return tensor_numel(w) / (w->dims[0] * w->dims[1]);
}

int64_t linear_layer_output_channel(const nnq_graph *g, const linear_layer *layer, int64_t index) {
    const nnq_tensor *w = &g->initializers[layer->weight_initializer];
    switch (layer->kind) {
    case LAYER_CONV:
        return index / (w->dims[1] * kernel_size(w));
    case LAYER_CONV_TRANSPOSE: {
        int64_t in = index / (w->dims[1] * kernel_size(w)), column = (index / kernel_size(w)) % w->dims[1];
        return (in / (w->dims[0] / layer->group)) * w->dims[1] + column;
    }
    case LAYER_GEMM:
    case LAYER_MATMUL:
        return layer->weight_transposed ? index / w->dims[1] : index % w->dims[1];
    }
    return 0;
}

int64_t linear_layer_input_channel(const nnq_graph *g, const linear_layer *layer, int64_t index) {
    const nnq_tensor *w = &g->initializers[layer->weight_initializer];
    switch (layer->kind) {
    case LAYER_CONV: {
        int64_t out = index / (w->dims[1] * kernel_size(w)), row = (index / kernel_size(w)) % w->dims[1];
        return (out / (w->dims[0] / layer->group)) * w->dims[1] + row;
    }
    case LAYER_CONV_TRANSPOSE:
        return index / (w->dims[1] * kernel_size(w));
    case LAYER_GEMM:
    case LAYER_MATMUL:
        return layer->weight_transposed ? index % w->dims[1] : index / w->dims[1];
    }
    return 0;
}

float *linear_layer_weights(nnq_graph *g, const linear_layer *layer) {
    return g->initializers[layer->weight_initializer].data;
}

int64_t linear_layer_weight_count(const nnq_graph *g, const linear_layer *layer) {
    return tensor_numel(&g->initializers[layer->weight_initializer]);
}

float *linear_layer_bias(nnq_graph *g, const linear_layer *layer) {
    return layer->bias_initializer < 0 ? NULL : g->initializers[layer->bias_initializer].data;
}

nnq_status linear_layer_add_zero_bias(nnq_graph *g, linear_layer *layer) {
    nnq_node *node = &g->nodes[layer->node];
    if (layer->bias_initializer >= 0) return NNQ_OK;
    if (layer->kind != LAYER_CONV && layer->kind != LAYER_GEMM)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "layer '%s' (%s) cannot take a bias", node_display_name(node),
                        node->op_type);
    const char *weight_name = g->initializers[layer->weight_initializer].name;
    size_t base_size = strlen(weight_name) + sizeof "_bias";
    char *base = malloc(base_size);
    if (!base) return nnq_fail(NNQ_ERR_NOMEM, "out of memory adding a bias to '%s'", node_display_name(node));
    strcpy(base, weight_name);
    strcat(base, "_bias");
    nnq_tensor bias = {0};
    nnq_status st = tensor_create(&bias, NNQ_FLOAT, 1, &layer->out_channels);
    if (st == NNQ_OK) st = graph_unique_name(g, base, &bias.name);
    if (st == NNQ_OK) st = node_set_input(node, 2, bias.name);
    if (st == NNQ_OK) st = graph_add_initializer(g, &bias);
    tensor_free(&bias); /* zeroed by graph_add_initializer on success */
    free(base);
    if (st != NNQ_OK) return nnq_fail_context(st, "adding a bias to '%s'", node_display_name(node));
    layer->bias_initializer = g->n_initializers - 1;
    return NNQ_OK;
}
