#include "export/qdq_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "export/quantized_graph.h"
#include "ir/model_copy.h"
#include "ir/passes/graph_edit.h"
#include "ir/passes/passes.h"
#include "quant/quantize_tensor.h"

/* Per-axis DequantizeLinear (opset 13) is what per-channel weights need. */
#define QDQ_MIN_OPSET 13

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
    char *source = graph_input ? strdup(q->tensor) : export_name(q->tensor, "_float");
    char *target = graph_input ? export_name(q->tensor, "_dequantized") : strdup(q->tensor);
    char *clipped = export_name(q->tensor, "_clipped"), *quantized = export_name(q->tensor, "_quantized"),
         *scale = export_name(q->tensor, "_scale"), *zero_point = export_name(q->tensor, "_zero_point"),
         *clip_min = export_name(q->tensor, "_clip_min"), *clip_max = export_name(q->tensor, "_clip_max"),
         *q_name = export_name(q->tensor, "_QuantizeLinear"), *dq_name = export_name(q->tensor, "_DequantizeLinear"),
         *clip_name = export_name(q->tensor, "_Clip");
    nnq_status st = source && target && clipped && quantized && scale && zero_point && clip_min && clip_max && q_name &&
                            dq_name && clip_name
                        ? NNQ_OK
                        : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st == NNQ_OK) st = graph_input ? graph_rename_inputs(g, NULL, source, target)
                                       : rename_producer_output(g, target, source);
    if (st == NNQ_OK) st = export_add_scale_and_zero_point(g, q, q->tensor);
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
            st = export_add_initializer(g, &lo, q->tensor, "_clip_min");
            if (st == NNQ_OK) st = export_add_initializer(g, &hi, q->tensor, "_clip_max");
            else tensor_free(&hi);
        } else {
            tensor_free(&lo);
        }
        const char *clip_inputs[3] = {source, clip_min, clip_max};
        if (st == NNQ_OK) st = export_add_node(g, "Clip", NULL, clip_name, clip_inputs, 3, clipped, NULL, 0);
        q_input = clipped;
    }
    const char *q_inputs[3] = {q_input, scale, zero_point};
    const char *dq_inputs[3] = {quantized, scale, zero_point};
    if (st == NNQ_OK) st = export_add_axis_node(g, "QuantizeLinear", q_name, q_inputs, 3, quantized, -1);
    if (st == NNQ_OK) st = export_add_axis_node(g, "DequantizeLinear", dq_name, dq_inputs, 3, target, -1);
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

nnq_status export_qdq(const nnq_model *model, const nnq_plan *plan, nnq_model *out) {
    memset(out, 0, sizeof *out);
    NNQ_TRY(export_check_plan(plan, "QDQ"));
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
        st = constant ? export_dequantize_constant(g, q) : quantize_activation(g, q);
        if (st != NNQ_OK) st = nnq_fail_context(st, "QDQ export of '%s'", q->tensor);
    }
    if (st == NNQ_OK) st = pass_sort_topologically(out);
    if (st != NNQ_OK) model_free(out);
    return st;
}
