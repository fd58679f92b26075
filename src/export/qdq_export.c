#include "export/qdq_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/model_copy.h"
#include "ir/passes/graph_edit.h"
#include "ir/passes/passes.h"
#include "quant/quantize_tensor.h"

/* Per-axis DequantizeLinear (opset 13) is what per-channel weights need. */
#define QDQ_MIN_OPSET 13

/* "<base><suffix>" in a fresh heap string. */
static char *derived_name(const char *base, const char *suffix) {
    size_t n = strlen(base) + strlen(suffix) + 1;
    char *name = malloc(n);
    if (name) snprintf(name, n, "%s%s", base, suffix);
    return name;
}

static nnq_status add_initializer(nnq_graph *g, nnq_tensor *t, const char *base, const char *suffix) {
    free(t->name);
    if (!(t->name = derived_name(base, suffix))) {
        tensor_free(t);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    }
    return graph_add_initializer(g, t);
}

/* Scale (float) and zero point (the storage type) initializers: scalars per
 * tensor, vectors per channel. */
static nnq_status add_scale_and_zero_point(nnq_graph *g, const nnq_quantizer *q, const char *base) {
    nnq_tensor scale = {0}, zero_point = {0};
    int64_t dims[1] = {q->n_channels};
    int rank = q->axis < 0 ? 0 : 1;
    NNQ_TRY(tensor_create(&scale, NNQ_FLOAT, rank, dims));
    nnq_status st = tensor_create(&zero_point, quantizer_storage_type(q), rank, dims);
    if (st != NNQ_OK) {
        tensor_free(&scale);
        return st;
    }
    for (int c = 0; c < q->n_channels; c++) {
        ((float *)scale.data)[c] = q->scales[c];
        tensor_set_double(&zero_point, c, q->zero_points[c]);
    }
    st = add_initializer(g, &scale, base, "_scale");
    if (st == NNQ_OK) st = add_initializer(g, &zero_point, base, "_zero_point");
    else tensor_free(&zero_point);
    return st;
}

/* Adds a node; names are copied. */
static nnq_status add_node(nnq_graph *g, const char *op_type, const char *name, const char **inputs, int n_inputs,
                           const char *output, int axis) {
    nnq_attr axis_attr = {0};
    axis_attr.name = (char *)"axis";
    axis_attr.type = NNQ_ATTR_INT;
    axis_attr.i = axis;
    nnq_node node = {0};
    node.name = (char *)name;
    node.op_type = (char *)op_type;
    node.domain = (char *)"";
    node.n_inputs = n_inputs;
    node.inputs = (char **)inputs;
    node.n_outputs = 1;
    node.outputs = (char **)&output;
    node.n_attrs = axis >= 0 ? 1 : 0;
    node.attrs = axis >= 0 ? &axis_attr : NULL;
    return graph_add_node(g, &node);
}

/* Old models (IR < 4) also list initializers as graph inputs; a constant that
 * becomes a DequantizeLinear output must leave that list. */
static void drop_graph_input(nnq_graph *g, const char *name) {
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) {
            value_info_free(&g->inputs[i]);
            memmove(&g->inputs[i], &g->inputs[i + 1], sizeof *g->inputs * (size_t)(g->n_inputs - i - 1));
            g->n_inputs--;
            return;
        }
}

/* A constant (weight, bias, constant operand): stored as integers, dequantized in the graph. */
static nnq_status quantize_constant(nnq_graph *g, const nnq_quantizer *q) {
    int index = graph_find_initializer_index(g, q->tensor);
    nnq_tensor ints;
    NNQ_TRY(quantizer_quantize(q, &g->initializers[index], &ints));
    char *base = strdup(q->tensor);
    char *quantized = derived_name(q->tensor, "_quantized"), *scale = derived_name(q->tensor, "_scale"),
         *zero_point = derived_name(q->tensor, "_zero_point"), *node_name = derived_name(q->tensor, "_DequantizeLinear");
    nnq_status st = base && quantized && scale && zero_point && node_name ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st == NNQ_OK) {
        graph_remove_initializer(g, index);
        drop_graph_input(g, base);
        st = add_initializer(g, &ints, base, "_quantized");
    } else {
        tensor_free(&ints);
    }
    if (st == NNQ_OK) st = add_scale_and_zero_point(g, q, base);
    const char *inputs[3] = {quantized, scale, zero_point};
    if (st == NNQ_OK) st = add_node(g, "DequantizeLinear", node_name, inputs, 3, base, q->axis);
    free(base);
    free(quantized);
    free(scale);
    free(zero_point);
    free(node_name);
    return st;
}

/* The producer's output slot named `from` is renamed `to`. */
static nnq_status rename_producer_output(nnq_graph *g, const char *from, const char *to) {
    int slot;
    int producer = graph_find_producer(g, NULL, from, &slot);
    if (producer < 0)
        return nnq_fail(NNQ_ERR_INVALID, "plan quantizes '%s', which no node produces and no input provides", from);
    return node_set_output(&g->nodes[producer], slot, to);
}

/* A computed activation (or graph input): Q -> DQ inserted where it is produced. */
static nnq_status quantize_activation(nnq_graph *g, const nnq_quantizer *q) {
    bool graph_input = graph_is_input(g, q->tensor);
    /* Graph inputs keep their name for the user; computed tensors keep theirs for their readers and graph outputs. */
    char *source = graph_input ? strdup(q->tensor) : derived_name(q->tensor, "_float");
    char *target = graph_input ? derived_name(q->tensor, "_dequantized") : strdup(q->tensor);
    char *clipped = derived_name(q->tensor, "_clipped"), *quantized = derived_name(q->tensor, "_quantized"),
         *scale = derived_name(q->tensor, "_scale"), *zero_point = derived_name(q->tensor, "_zero_point"),
         *clip_min = derived_name(q->tensor, "_clip_min"), *clip_max = derived_name(q->tensor, "_clip_max"),
         *q_name = derived_name(q->tensor, "_QuantizeLinear"), *dq_name = derived_name(q->tensor, "_DequantizeLinear"),
         *clip_name = derived_name(q->tensor, "_Clip");
    nnq_status st = source && target && clipped && quantized && scale && zero_point && clip_min && clip_max && q_name &&
                            dq_name && clip_name
                        ? NNQ_OK
                        : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st == NNQ_OK) st = graph_input ? graph_rename_inputs(g, NULL, source, target)
                                       : rename_producer_output(g, target, source);
    if (st == NNQ_OK) st = add_scale_and_zero_point(g, q, q->tensor);
    /* A grid narrower than its container: clamp to the grid's real range first. */
    int32_t q_min, q_max;
    quantizer_grid(q, &q_min, &q_max);
    bool narrower = q->scheme.bits != 8 && q->scheme.bits != 16;
    const char *q_input = source;
    if (st == NNQ_OK && narrower) {
        nnq_tensor lo = {0}, hi = {0};
        st = tensor_create(&lo, NNQ_FLOAT, 0, NULL);
        if (st == NNQ_OK) st = tensor_create(&hi, NNQ_FLOAT, 0, NULL);
        if (st == NNQ_OK) {
            ((float *)lo.data)[0] = q->scales[0] * (float)(q_min - q->zero_points[0]);
            ((float *)hi.data)[0] = q->scales[0] * (float)(q_max - q->zero_points[0]);
            st = add_initializer(g, &lo, q->tensor, "_clip_min");
            if (st == NNQ_OK) st = add_initializer(g, &hi, q->tensor, "_clip_max");
            else tensor_free(&hi);
        } else {
            tensor_free(&lo);
        }
        const char *clip_inputs[3] = {source, clip_min, clip_max};
        if (st == NNQ_OK) st = add_node(g, "Clip", clip_name, clip_inputs, 3, clipped, -1);
        q_input = clipped;
    }
    const char *q_inputs[3] = {q_input, scale, zero_point};
    const char *dq_inputs[3] = {quantized, scale, zero_point};
    if (st == NNQ_OK) st = add_node(g, "QuantizeLinear", q_name, q_inputs, 3, quantized, -1);
    if (st == NNQ_OK) st = add_node(g, "DequantizeLinear", dq_name, dq_inputs, 3, target, -1);
    free(source);
    free(target);
    free(clipped);
    free(quantized);
    free(scale);
    free(zero_point);
    free(clip_min);
    free(clip_max);
    free(q_name);
    free(dq_name);
    free(clip_name);
    return st;
}

static nnq_status check_exportable(const nnq_plan *plan) {
    for (int i = 0; i < plan->n_quantizers; i++) {
        const nnq_quantizer *q = &plan->quantizers[i];
        if (q->role != NNQ_ROLE_BIAS && q->scheme.bits > 8)
            return nnq_fail(NNQ_ERR_UNSUPPORTED, "tensor '%s': QDQ export of %d-bit grids is not supported yet (8 bits or fewer)",
                            q->tensor, q->scheme.bits);
        if (q->role == NNQ_ROLE_ACTIVATION && q->n_channels != 1)
            return nnq_fail(NNQ_ERR_UNSUPPORTED, "tensor '%s': per-channel activation grids cannot be exported as QDQ", q->tensor);
    }
    return NNQ_OK;
}

nnq_status export_qdq(const nnq_model *model, const nnq_plan *plan, nnq_model *out) {
    memset(out, 0, sizeof *out);
    NNQ_TRY(check_exportable(plan));
    NNQ_TRY(model_copy(out, model));
    nnq_graph *g = &out->graph;
    nnq_status st = NNQ_OK;
    /* Older models are rewritten at opset 13, converting the ops whose definition changed
     * (ONNX Runtime's quantizer refuses models below opset 10 instead). */
    int converted = 0;
    if (model_opset(out, "") < QDQ_MIN_OPSET) st = pass_upgrade_opset(out, QDQ_MIN_OPSET, &converted);
    for (int i = 0; st == NNQ_OK && i < plan->n_quantizers; i++) {
        const nnq_quantizer *q = &plan->quantizers[i];
        bool constant = graph_find_initializer(g, q->tensor) && !graph_is_runtime_input(g, q->tensor);
        st = constant ? quantize_constant(g, q) : quantize_activation(g, q);
        if (st != NNQ_OK) st = nnq_fail_context(st, "QDQ export of '%s'", q->tensor);
    }
    if (st == NNQ_OK) st = pass_sort_topologically(out);
    if (st != NNQ_OK) model_free(out);
    return st;
}
