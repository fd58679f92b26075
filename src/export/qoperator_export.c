#include "export/qoperator_export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "export/qoperator_values.h"
#include "export/quantized_graph.h"
#include "ir/activation_fusion.h"
#include "ir/model_copy.h"
#include "ir/passes/graph_edit.h"
#include "ir/passes/passes.h"
#include "quant/qscheme.h"
#include "quant/quantize_tensor.h"

/* Per-axis DequantizeLinear for the weights of float nodes (13); MaxPool and Clip on 8-bit tensors (12). */
#define QOPERATOR_MIN_OPSET 13
/* ONNX Runtime's contrib operators (docs/ContribOperators.md): version 1 of domain com.microsoft. */
static const char MS_DOMAIN[] = "com.microsoft";
enum { MS_DOMAIN_VERSION = 1 };

typedef struct qop_export {
    nnq_model source;        /* the prepared graph (upgraded when old): read only */
    nnq_model *out;
    qop_graph values;
    bool ms_ops;
    bool used_ms_domain;
    activation_fusions fusions;
    bool *consumed;          /* source nodes written together with an earlier one (fused activations) */
} qop_export;

static nnq_graph *out_graph(qop_export *ex) { return &ex->out->graph; }

static const nnq_tensor *float_constant(const qop_export *ex, const char *name) {
    const nnq_tensor *t = *name ? graph_find_fixed_initializer(&ex->source.graph, name) : NULL;
    return t && t->dtype == NNQ_FLOAT ? t : NULL;
}

/* "<node name><suffix>" (or after its output when unnamed) for the nodes written in a node's place
 * (ONNX Runtime: "<name>_quant"). */
static char *node_label(const nnq_node *node, const char *suffix) {
    return export_name(node->name && *node->name ? node->name : node->outputs[0], suffix);
}

/* The names of a constant's integer form: <T>_quantized, <T>_scale, <T>_zero_point. */
typedef struct constant_names {
    char *quantized, *scale, *zero_point;
} constant_names;

static void constant_names_free(constant_names *n) {
    free(n->quantized);
    free(n->scale);
    free(n->zero_point);
}

static nnq_status constant_names_of(const char *tensor, const char *layout_suffix, constant_names *n) {
    char *quantized = export_name(tensor, "_quantized");
    n->quantized = quantized ? export_name(quantized, layout_suffix) : NULL;
    free(quantized);
    n->scale = export_name(tensor, "_scale");
    n->zero_point = export_name(tensor, "_zero_point");
    if (n->quantized && n->scale && n->zero_point) return NNQ_OK;
    constant_names_free(n);
    return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
}

/* ---- layers with weights: Conv, MatMul, Gemm ---- */

typedef struct weighted_layer {
    const nnq_node *node;
    const nnq_tensor *w;
    const nnq_quantizer *wq;
    const nnq_tensor *bias;        /* NULL when absent */
    int channels;                  /* output channels */
    const activation_fusion *fused; /* the Relu/Clip written with the layer, or NULL */
    const char *output;            /* the tensor the plan quantizes: the node's output or its fused activation's */
    float clamp_min, clamp_max;
} weighted_layer;

/* ONNX Runtime's QLinearConv takes one weight zero point for all channels
 * ("zero point of per-channel filter must be same"). */
static bool uniform_zero_point(const nnq_quantizer *q) {
    for (int c = 1; c < q->n_channels; c++)
        if (q->zero_points[c] != q->zero_points[0]) return false;
    return true;
}

/* Fills layer; *ok when node's weight (input 1, `channels` output channels),
 * bias and activations have the grids an integer kernel needs. */
static nnq_status weighted_layer_of(qop_export *ex, const nnq_node *node, int channels, weighted_layer *layer,
                                    bool *ok) {
    memset(layer, 0, sizeof *layer);
    *ok = false;
    layer->node = node;
    layer->w = float_constant(ex, node->inputs[1]);
    layer->wq = plan_find(ex->values.plan, node->inputs[1]);
    const nnq_quantizer *wq = layer->wq;
    if (!wq || wq->role != NNQ_ROLE_WEIGHT || !uniform_zero_point(wq) || (wq->axis >= 0 && wq->n_channels != channels))
        return NNQ_OK;
    if (node->n_inputs > 2 && *node->inputs[2]) {
        layer->bias = float_constant(ex, node->inputs[2]);
        if (!layer->bias || layer->bias->rank != 1 || tensor_numel(layer->bias) != channels) return NNQ_OK;
    }
    layer->channels = channels;
    layer->output = node->outputs[0];
    layer->clamp_min = -INFINITY;
    layer->clamp_max = INFINITY;
    if (activation_fusion_skips_quantization(&ex->fusions, layer->output)) {
        layer->fused = &ex->fusions.items[name_map_get(&ex->fusions.by_linear_output, layer->output)];
        layer->output = layer->fused->activation_output;
        layer->clamp_min = layer->fused->clamp_min;
        layer->clamp_max = layer->fused->clamp_max;
    }
    if (!qop_activation_grid(&ex->values, layer->output)) return NNQ_OK;
    int x;
    NNQ_TRY(qop_require(&ex->values, node->inputs[0], &x));
    *ok = x >= 0;
    return NNQ_OK;
}

/* The input in the type the kernel computes in, and the output stage. ONNX
 * Runtime's QLinearConv / QLinearMatMul / QGemm take uint8 x with uint8 or
 * int8 weights, or int8 x with int8 weights, and write y in x's type: the
 * type the input was computed in, unless uint8 weights need uint8. */
static nnq_status begin_weighted(qop_export *ex, const weighted_layer *layer, int *x, qop_output *out) {
    int input;
    NNQ_TRY(qop_require(&ex->values, layer->node->inputs[0], &input));
    nnq_dtype type = quantizer_storage_type(layer->wq) == NNQ_UINT8 ? NNQ_UINT8 : qop_computed_type(&ex->values, input);
    NNQ_TRY(qop_convert(&ex->values, input, type, x));
    int y;
    NNQ_TRY(qop_planned(&ex->values, layer->output, &y));
    return qop_output_begin(&ex->values, y, type, layer->clamp_min, layer->clamp_max, out);
}

static nnq_status finish_weighted(qop_export *ex, const weighted_layer *layer, qop_output *out) {
    NNQ_TRY(qop_output_finish(&ex->values, out));
    if (layer->fused) ex->consumed[layer->fused->activation_node] = true;
    return qop_bind(&ex->values, layer->output, out->y);
}

/* The int32 bias on the accumulator's grid s_x s_w[c] (ONNX QLinearConv: "quantized with zero point 0 and
 * scale x_scale * w_scale"), rounded as the integer lowering rounds it. */
static nnq_status add_int32_bias(qop_export *ex, const weighted_layer *layer, int x, char **name) {
    if (!(*name = export_name(layer->bias->name, "_quantized"))) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (graph_find_initializer(out_graph(ex), *name)) return NNQ_OK;
    const nnq_quantizer *bq = plan_find(ex->values.plan, layer->bias->name);
    if (bq && (bq->role != NNQ_ROLE_BIAS || bq->n_channels != layer->channels)) bq = NULL;
    nnq_tensor ints = {0};
    int64_t dims[1] = {layer->channels};
    NNQ_TRY(tensor_create(&ints, NNQ_INT32, 1, dims));
    float x_scale = qop_at(&ex->values, x)->scale_value;
    for (int c = 0; c < layer->channels; c++) {
        float s_w = layer->wq->scales[layer->wq->n_channels == 1 ? 0 : c];
        float s_b = bq ? bq->scales[c] : (float)((double)x_scale * (double)s_w);
        ((int32_t *)ints.data)[c] = quantize_value(((const float *)layer->bias->data)[c], s_b, 0, INT32_MIN, INT32_MAX);
    }
    return export_add_initializer(out_graph(ex), &ints, layer->bias->name, "_quantized");
}

/* The weight as integers in another layout: transposed (2-D) and/or reshaped to rank/dims, named
 * <W>_quantized<suffix>; its scale and zero point as for the plain layout. */
static nnq_status add_weight_layout(qop_export *ex, const weighted_layer *layer, bool transpose, int rank,
                                    const int64_t *dims, const char *suffix) {
    nnq_tensor ints, laid = {0};
    NNQ_TRY(quantizer_quantize(layer->wq, layer->w, &ints));
    nnq_status st = tensor_create(&laid, ints.dtype, rank, dims);
    if (st == NNQ_OK) {
        int64_t rows = layer->w->dims[0], cols = layer->w->dims[1];
        const uint8_t *from = ints.data; /* int8 or uint8: one byte each */
        uint8_t *to = laid.data;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++) to[transpose ? c * rows + r : r * cols + c] = from[r * cols + c];
        char *base = export_name(layer->w->name, "_quantized");
        st = base ? export_add_initializer(out_graph(ex), &laid, base, suffix) : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        free(base);
    }
    tensor_free(&ints);
    if (st != NNQ_OK) tensor_free(&laid);
    if (st == NNQ_OK) st = export_add_scale_and_zero_point(out_graph(ex), layer->wq, layer->w->name);
    return st;
}

/* The QLinearConv of tensor `input` (on value x's grid) with weight w and bias (or NULL), writing `output`
 * on the output stage's grid. */
static nnq_status add_qlinear_conv(qop_export *ex, const nnq_node *node, const char *input, int x,
                                   const constant_names *w, const char *bias, const qop_output *out,
                                   const char *output, const nnq_attr *attrs, int n_attrs) {
    const qop_value *xv = qop_at(&ex->values, x), *yv = qop_at(&ex->values, out->written);
    const char *inputs[9] = {input, xv->scale, xv->zero_point, w->quantized, w->scale, w->zero_point,
                             yv->scale, yv->zero_point, bias};
    char *label = node_label(node, "_quant");
    nnq_status st = label ? export_add_node(out_graph(ex), "QLinearConv", NULL, label, inputs, bias ? 9 : 8, output,
                                            attrs, n_attrs)
                          : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    free(label);
    return st;
}

/* QLinearMatMul (ONNX) or QGemm (com.microsoft): A, its grid, B, its grid, then C (QGemm), then y's grid. */
static nnq_status add_matrix_product(qop_export *ex, const nnq_node *node, const char *op_type, int x,
                                     const constant_names *w, const char *bias, const qop_output *out,
                                     const nnq_attr *attrs, int n_attrs) {
    const qop_value *xv = qop_at(&ex->values, x), *yv = qop_at(&ex->values, out->written);
    bool qgemm = strcmp(op_type, "QGemm") == 0;
    const char *inputs[9] = {xv->name, xv->scale, xv->zero_point, w->quantized, w->scale, w->zero_point};
    int n = 6;
    if (qgemm) inputs[n++] = bias ? bias : "";
    inputs[n++] = yv->scale;
    inputs[n++] = yv->zero_point;
    char *label = node_label(node, "_quant");
    nnq_status st = label ? export_add_node(out_graph(ex), op_type, qgemm ? MS_DOMAIN : NULL, label, inputs, n,
                                            out->op_output, attrs, n_attrs)
                          : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    free(label);
    if (qgemm) ex->used_ms_domain = true;
    return st;
}

/* A weight in its stored layout: Conv's [M, C/g, k...] as QLinearConv (with the int32 bias), MatMul's
 * [K, N] as QLinearMatMul (per-column grids: ONNX QLinearMatMul's b_scale). */
static nnq_status write_stored_layout_weighted(qop_export *ex, const nnq_node *node, int channels, bool conv,
                                               bool *written) {
    weighted_layer layer;
    NNQ_TRY(weighted_layer_of(ex, node, channels, &layer, written));
    if (!*written) return NNQ_OK;
    NNQ_TRY(export_add_quantized_constant(out_graph(ex), layer.wq));
    int x;
    qop_output out;
    NNQ_TRY(begin_weighted(ex, &layer, &x, &out));
    constant_names names = {0};
    char *bias = NULL;
    nnq_status st = constant_names_of(layer.w->name, "", &names);
    if (st == NNQ_OK && layer.bias) st = add_int32_bias(ex, &layer, x, &bias);
    if (st == NNQ_OK)
        st = conv ? add_qlinear_conv(ex, node, qop_at(&ex->values, x)->name, x, &names, bias, &out, out.op_output,
                                     node->attrs, node->n_attrs)
                  : add_matrix_product(ex, node, "QLinearMatMul", x, &names, NULL, &out, NULL, 0);
    if (st == NNQ_OK) st = finish_weighted(ex, &layer, &out);
    free(out.unclamped);
    free(bias);
    constant_names_free(&names);
    return st;
}

static nnq_status write_conv(qop_export *ex, const nnq_node *node, bool *written) {
    const nnq_tensor *w = node->n_inputs >= 2 ? float_constant(ex, node->inputs[1]) : NULL;
    if (!w || w->rank < 3) return NNQ_OK;
    return write_stored_layout_weighted(ex, node, (int)w->dims[0], true, written);
}

/* MatMul(A, B) with constant 2-D B [K, N] (no bias input). */
static nnq_status write_matmul(qop_export *ex, const nnq_node *node, bool *written) {
    const nnq_tensor *w = node->n_inputs == 2 ? float_constant(ex, node->inputs[1]) : NULL;
    if (!w || w->rank != 2) return NNQ_OK;
    return write_stored_layout_weighted(ex, node, (int)w->dims[1], false, written);
}

/* Reshape of tensor `input` by a new int64 shape initializer <output>_shape. */
static nnq_status add_reshape(qop_export *ex, const char *input, const char *output, const int64_t *shape, int rank) {
    nnq_tensor t = {0};
    int64_t dims[1] = {rank};
    NNQ_TRY(tensor_create(&t, NNQ_INT64, 1, dims));
    memcpy(t.data, shape, sizeof *shape * (size_t)rank);
    NNQ_TRY(export_add_initializer(out_graph(ex), &t, output, "_shape"));
    char *shape_name = export_name(output, "_shape"), *label = export_name(output, "_Reshape");
    const char *inputs[2] = {input, shape_name};
    nnq_status st = shape_name && label ? export_add_node(out_graph(ex), "Reshape", NULL, label, inputs, 2, output, NULL, 0)
                                        : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    free(shape_name);
    free(label);
    return st;
}

/* Standard ONNX has no quantized Gemm with a bias: A [M, K] -> Reshape [M, K, 1, 1] -> 1x1 QLinearConv with
 * the weight as [N, K, 1, 1] and the int32 bias -> Reshape [M, N]. */
static nnq_status write_gemm_as_conv(qop_export *ex, const weighted_layer *layer, bool transposed_b, int x,
                                     const char *bias, const qop_output *out) {
    const nnq_tensor *w = layer->w;
    int64_t kernel_dims[4] = {layer->channels, tensor_numel(w) / layer->channels, 1, 1};
    NNQ_TRY(add_weight_layout(ex, layer, !transposed_b, 4, kernel_dims, "_1x1"));
    static const int64_t image_shape[4] = {0, -1, 1, 1}, rows_shape[2] = {0, -1};
    constant_names names = {0};
    NNQ_TRY(constant_names_of(w->name, "_1x1", &names));
    char *image = export_name(out->op_output, "_input_1x1"), *conv_output = export_name(out->op_output, "_1x1");
    nnq_status st = image && conv_output ? add_reshape(ex, qop_at(&ex->values, x)->name, image, image_shape, 4)
                                         : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    /* The reshaped input: x's grid under another name. */
    if (st == NNQ_OK) st = add_qlinear_conv(ex, layer->node, image, x, &names, bias, out, conv_output, NULL, 0);
    if (st == NNQ_OK) st = add_reshape(ex, conv_output, out->op_output, rows_shape, 2);
    free(image);
    free(conv_output);
    constant_names_free(&names);
    return st;
}

/* Gemm(A, B, C) with constant B, transA 0, alpha = beta = 1: y = A B' + C (what the integer lowering takes). */
static nnq_status write_gemm(qop_export *ex, const nnq_node *node, bool *written) {
    const nnq_tensor *w = node->n_inputs >= 2 ? float_constant(ex, node->inputs[1]) : NULL;
    if (!w || w->rank != 2 || node_attr_int(node, "transA", 0) != 0 || node_attr_float(node, "alpha", 1.0f) != 1.0f ||
        node_attr_float(node, "beta", 1.0f) != 1.0f)
        return NNQ_OK;
    bool transposed_b = node_attr_int(node, "transB", 0) != 0;
    weighted_layer layer;
    NNQ_TRY(weighted_layer_of(ex, node, (int)w->dims[transposed_b ? 0 : 1], &layer, written));
    if (!*written) return NNQ_OK;
    int x;
    qop_output out;
    NNQ_TRY(begin_weighted(ex, &layer, &x, &out));
    char *bias = NULL;
    constant_names names = {0};
    nnq_status st = layer.bias ? add_int32_bias(ex, &layer, x, &bias) : NNQ_OK;
    if (st == NNQ_OK && ex->ms_ops) {
        /* ONNX Runtime's quantizer writes Gemm as QGemm (B as stored, transB kept; no beta attribute). */
        nnq_attr trans_b = {.name = (char *)"transB", .type = NNQ_ATTR_INT, .i = 1};
        st = export_add_quantized_constant(out_graph(ex), layer.wq);
        if (st == NNQ_OK) st = constant_names_of(w->name, "", &names);
        if (st == NNQ_OK) st = add_matrix_product(ex, node, "QGemm", x, &names, bias, &out, &trans_b, transposed_b ? 1 : 0);
    } else if (st == NNQ_OK && !layer.bias) {
        /* QLinearMatMul wants B as [K, N]. */
        int64_t dims[2] = {transposed_b ? w->dims[1] : w->dims[0], layer.channels};
        st = transposed_b ? add_weight_layout(ex, &layer, true, 2, dims, "_transposed")
                          : export_add_quantized_constant(out_graph(ex), layer.wq);
        if (st == NNQ_OK) st = constant_names_of(w->name, transposed_b ? "_transposed" : "", &names);
        if (st == NNQ_OK) st = add_matrix_product(ex, node, "QLinearMatMul", x, &names, NULL, &out, NULL, 0);
    } else if (st == NNQ_OK) {
        st = write_gemm_as_conv(ex, &layer, transposed_b, x, bias, &out);
    }
    if (st == NNQ_OK) st = finish_weighted(ex, &layer, &out);
    free(out.unclamped);
    free(bias);
    constant_names_free(&names);
    return st;
}

/* ---- com.microsoft joining and pooling nodes ---- */

/* The operands as integers in one 8-bit type (ONNX Runtime's QLinearAdd, QLinearConcat and the average
 * pools take one type for all operands and the output): the one the first operand was computed in. The
 * output stage; *ok false when an operand has no integer form. */
static nnq_status begin_joined(qop_export *ex, const nnq_node *node, int *operands, qop_output *out, bool *ok) {
    *ok = false;
    const char *output = node->outputs[0];
    if (node->n_inputs < 1 || node->n_outputs != 1 || !qop_activation_grid(&ex->values, output)) return NNQ_OK;
    for (int i = 0; i < node->n_inputs; i++) {
        NNQ_TRY(qop_require(&ex->values, node->inputs[i], &operands[i]));
        if (operands[i] < 0) return NNQ_OK;
    }
    int y;
    NNQ_TRY(qop_planned(&ex->values, output, &y));
    nnq_dtype type = qop_computed_type(&ex->values, operands[0]);
    for (int i = 0; i < node->n_inputs; i++) NNQ_TRY(qop_convert(&ex->values, operands[i], type, &operands[i]));
    NNQ_TRY(qop_output_begin(&ex->values, y, type, -INFINITY, INFINITY, out));
    *ok = true;
    return NNQ_OK;
}

/* Adds the com.microsoft node (inputs: value triples and names) and finishes the output. */
static nnq_status finish_joined(qop_export *ex, const nnq_node *node, const char *op_type, const char **inputs,
                                int n_inputs, const nnq_attr *attrs, int n_attrs, qop_output *out) {
    char *label = node_label(node, "_quant");
    nnq_status st = label ? export_add_node(out_graph(ex), op_type, MS_DOMAIN, label, inputs, n_inputs, out->op_output,
                                            attrs, n_attrs)
                          : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    free(label);
    if (st == NNQ_OK) st = qop_output_finish(&ex->values, out);
    free(out->unclamped);
    out->unclamped = NULL;
    ex->used_ms_domain = true;
    NNQ_TRY(st);
    return qop_bind(&ex->values, node->outputs[0], out->y);
}

static void push_value(const qop_value *v, const char **inputs, int *n) {
    inputs[(*n)++] = v->name;
    inputs[(*n)++] = v->scale;
    inputs[(*n)++] = v->zero_point;
}

/* QLinearAdd: C = (A_scale (A - A_zero_point) + B_scale (B - B_zero_point)) / C_scale + C_zero_point. */
static nnq_status write_qlinear_add(qop_export *ex, const nnq_node *node, bool *written) {
    if (node->n_inputs != 2) return NNQ_OK;
    int operands[2];
    qop_output out;
    NNQ_TRY(begin_joined(ex, node, operands, &out, written));
    if (!*written) return NNQ_OK;
    const char *inputs[8];
    int n = 0;
    push_value(qop_at(&ex->values, operands[0]), inputs, &n);
    push_value(qop_at(&ex->values, operands[1]), inputs, &n);
    inputs[n++] = qop_at(&ex->values, out.written)->scale;
    inputs[n++] = qop_at(&ex->values, out.written)->zero_point;
    return finish_joined(ex, node, "QLinearAdd", inputs, n, NULL, 0, &out);
}

/* QLinearConcat: Y_scale, Y_zero_point, then (tensor, scale, zero point) per input; attribute axis. */
static nnq_status write_qlinear_concat(qop_export *ex, const nnq_node *node, bool *written) {
    enum { MAX_CONCAT_INPUTS = 64 };
    if (node->n_inputs > MAX_CONCAT_INPUTS || !node_find_attr(node, "axis")) return NNQ_OK;
    int operands[MAX_CONCAT_INPUTS];
    qop_output out;
    NNQ_TRY(begin_joined(ex, node, operands, &out, written));
    if (!*written) return NNQ_OK;
    const char *inputs[2 + 3 * MAX_CONCAT_INPUTS];
    int n = 0;
    inputs[n++] = qop_at(&ex->values, out.written)->scale;
    inputs[n++] = qop_at(&ex->values, out.written)->zero_point;
    for (int i = 0; i < node->n_inputs; i++) push_value(qop_at(&ex->values, operands[i]), inputs, &n);
    return finish_joined(ex, node, "QLinearConcat", inputs, n, node_find_attr(node, "axis"), 1, &out);
}

/* QLinearAveragePool / QLinearGlobalAveragePool: X, x_scale, x_zero_point, y_scale, y_zero_point. */
static nnq_status write_qlinear_average_pool(qop_export *ex, const nnq_node *node, bool *written) {
    /* QLinearAveragePool's attributes; it has no dilations. */
    static const char *const kept[] = {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"};
    enum { N_KEPT = sizeof kept / sizeof kept[0] };
    bool global = strcmp(node->op_type, "GlobalAveragePool") == 0;
    int64_t n_dilations = 0;
    const int64_t *dilations = node_attr_ints(node, "dilations", &n_dilations);
    for (int64_t i = 0; dilations && i < n_dilations; i++)
        if (dilations[i] != 1) return NNQ_OK;
    if (node->n_inputs != 1) return NNQ_OK;
    int operand;
    qop_output out;
    NNQ_TRY(begin_joined(ex, node, &operand, &out, written));
    if (!*written) return NNQ_OK;
    nnq_attr attrs[N_KEPT];
    int n_attrs = 0;
    for (int k = 0; !global && k < N_KEPT; k++) {
        const nnq_attr *a = node_find_attr(node, kept[k]);
        if (a) attrs[n_attrs++] = *a;
    }
    const char *inputs[5];
    int n = 0;
    push_value(qop_at(&ex->values, operand), inputs, &n);
    inputs[n++] = qop_at(&ex->values, out.written)->scale;
    inputs[n++] = qop_at(&ex->values, out.written)->zero_point;
    return finish_joined(ex, node, global ? "QLinearGlobalAveragePool" : "QLinearAveragePool", inputs, n, attrs,
                         n_attrs, &out);
}

/* ---- integer clamps and pass-through ops ---- */

/* The real bounds of a Relu or Clip; false when they are not constants. */
static bool activation_bounds(const qop_export *ex, const nnq_node *node, float *lo, float *hi) {
    *lo = -INFINITY;
    *hi = INFINITY;
    if (strcmp(node->op_type, "Relu") == 0) {
        *lo = 0.0f;
        return true;
    }
    for (int i = 1; i < node->n_inputs && i < 3; i++) {
        if (!*node->inputs[i]) continue;
        const nnq_tensor *t = float_constant(ex, node->inputs[i]);
        if (!t || tensor_numel(t) != 1) return false;
        *(i == 1 ? lo : hi) = ((const float *)t->data)[0];
    }
    return true;
}

/* A standalone Relu/Clip on an integer tensor: an integer Clip on its grid,
 * or nothing when the grid already stops at the bounds (ONNX Runtime drops
 * such activations from QOperator models). */
static nnq_status write_integer_clamp(qop_export *ex, const nnq_node *node, bool *written) {
    float lo, hi;
    int x;
    if (node->n_outputs != 1 || !activation_bounds(ex, node, &lo, &hi)) return NNQ_OK;
    NNQ_TRY(qop_require(&ex->values, node->inputs[0], &x));
    if (x < 0) return NNQ_OK;
    NNQ_TRY(qop_convert(&ex->values, x, qop_at(&ex->values, x)->type, &x));
    const qop_value *v = qop_at(&ex->values, x);
    int32_t low = isfinite(lo) ? quantize_value(lo, v->scale_value, v->zero_point_value, v->q_min, v->q_max) : v->q_min;
    int32_t high = isfinite(hi) ? quantize_value(hi, v->scale_value, v->zero_point_value, v->q_min, v->q_max) : v->q_max;
    bool needed = low > v->q_min || high < v->q_max;
    const char *output = node->outputs[0];
    char *clamped = needed ? export_name(output, "_clamped") : strdup(v->name);
    int y = -1;
    nnq_status st = clamped ? qop_on_grid_of(&ex->values, output, x, clamped, &y) : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st == NNQ_OK && needed) st = qop_add_integer_clip(&ex->values, qop_at(&ex->values, x)->name, y, low, high);
    free(clamped);
    NNQ_TRY(st);
    qop_at(&ex->values, y)->produced = true;
    *written = true;
    return qop_bind(&ex->values, output, y);
}

/* MaxPool (opset 12+), Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Identity on the integer tensor:
 * the same grid, since they only move or select values. */
static nnq_status write_pass_through(qop_export *ex, const nnq_node *node, bool *written) {
    for (int o = 1; o < node->n_outputs; o++)
        if (*node->outputs[o]) return NNQ_OK; /* MaxPool's indices */
    int x;
    NNQ_TRY(qop_require(&ex->values, node->inputs[0], &x));
    if (x < 0) return NNQ_OK;
    NNQ_TRY(qop_convert(&ex->values, x, qop_at(&ex->values, x)->type, &x));
    const char *output = node->outputs[0];
    char *name = export_name(output, qop_keeps_grid(&ex->values, output, x) ? "_quantized" : "_on_input_grid");
    if (!name) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    nnq_node copy;
    nnq_status st = node_copy(&copy, node);
    if (st != NNQ_OK) {
        free(name);
        return st;
    }
    st = node_set_input(&copy, 0, qop_at(&ex->values, x)->name);
    for (int i = 1; st == NNQ_OK && i < node->n_inputs; i++) {
        const char *input;
        if (!*node->inputs[i]) continue;
        st = qop_float_input(&ex->values, node->inputs[i], &input);
        if (st == NNQ_OK) st = node_set_input(&copy, i, input);
    }
    if (st == NNQ_OK) st = node_set_output(&copy, 0, name);
    if (st == NNQ_OK) st = graph_add_node(out_graph(ex), &copy);
    node_free(&copy);
    int y = -1;
    if (st == NNQ_OK) st = qop_on_grid_of(&ex->values, output, x, name, &y);
    free(name);
    NNQ_TRY(st);
    qop_at(&ex->values, y)->produced = true;
    *written = true;
    return qop_bind(&ex->values, output, y);
}

/* ---- float nodes ---- */

/* The node as it is, on float inputs (dequantized where they are integers); outputs the plan quantizes are
 * quantized where they are produced, as the simulation does. */
static nnq_status write_float_node(qop_export *ex, const nnq_node *node) {
    nnq_node copy;
    NNQ_TRY(node_copy(&copy, node));
    nnq_status st = NNQ_OK;
    for (int i = 0; st == NNQ_OK && i < node->n_inputs; i++) {
        const char *input;
        if (!*node->inputs[i]) continue;
        st = qop_float_input(&ex->values, node->inputs[i], &input);
        if (st == NNQ_OK) st = node_set_input(&copy, i, input);
    }
    for (int o = 0; st == NNQ_OK && o < node->n_outputs; o++) {
        if (!*node->outputs[o] || !qop_activation_grid(&ex->values, node->outputs[o])) continue;
        char *raw = export_name(node->outputs[o], "_float");
        st = raw ? node_set_output(&copy, o, raw) : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        free(raw);
    }
    if (st == NNQ_OK) st = graph_add_node(out_graph(ex), &copy);
    node_free(&copy);
    for (int o = 0; st == NNQ_OK && o < node->n_outputs; o++) {
        if (!*node->outputs[o] || !qop_activation_grid(&ex->values, node->outputs[o])) continue;
        char *raw = export_name(node->outputs[o], "_float");
        st = raw ? qop_quantize_float(&ex->values, node->outputs[o], raw) : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        free(raw);
    }
    return st;
}

/* ---- the table and the walk ---- */

typedef nnq_status (*qop_rule)(qop_export *ex, const nnq_node *node, bool *written);

static const struct qop_rule_row {
    const char *op_type;
    qop_rule write;
    bool contrib;            /* needs --ms-ops */
} qop_rules[] = {
    {"Conv", write_conv, false},
    {"MatMul", write_matmul, false},
    {"Gemm", write_gemm, false},
    {"Add", write_qlinear_add, true},
    {"Concat", write_qlinear_concat, true},
    {"AveragePool", write_qlinear_average_pool, true},
    {"GlobalAveragePool", write_qlinear_average_pool, true},
    {"Relu", write_integer_clamp, false},
    {"Clip", write_integer_clamp, false},
    {"MaxPool", write_pass_through, false},
    {"Reshape", write_pass_through, false},
    {"Flatten", write_pass_through, false},
    {"Transpose", write_pass_through, false},
    {"Squeeze", write_pass_through, false},
    {"Unsqueeze", write_pass_through, false},
    {"Identity", write_pass_through, false},
};

static qop_rule rule_for(const qop_export *ex, const nnq_node *node) {
    if (node->domain && *node->domain && strcmp(node->domain, "ai.onnx") != 0) return NULL;
    for (size_t i = 0; i < sizeof qop_rules / sizeof qop_rules[0]; i++)
        if (strcmp(qop_rules[i].op_type, node->op_type) == 0 && (ex->ms_ops || !qop_rules[i].contrib))
            return qop_rules[i].write;
    return NULL;
}

static nnq_status write_node(qop_export *ex, const nnq_node *node) {
    qop_rule write = rule_for(ex, node);
    bool written = false;
    if (write) NNQ_TRY(write(ex, node, &written));
    return written ? NNQ_OK : write_float_node(ex, node);
}

/* Initializers no node reads any more (float weights now stored as integers) leave the graph, and the
 * graph inputs that listed them (IR < 4). */
static void remove_unread_initializers(nnq_graph *g) {
    for (int i = g->n_initializers - 1; i >= 0; i--) {
        const char *name = g->initializers[i].name;
        if (graph_count_readers(g, NULL, name) > 0 || graph_is_output(g, name)) continue;
        export_drop_graph_input(g, name);
        graph_remove_initializer(g, i);
    }
}

static nnq_status import_ms_domain(nnq_model *model) {
    if (model_opset(model, MS_DOMAIN) > 0) return NNQ_OK;
    nnq_opset_import *grown =
        realloc(model->opset_imports, sizeof *grown * (size_t)(model->n_opset_imports + 1));
    if (!grown) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    model->opset_imports = grown;
    nnq_opset_import *entry = &grown[model->n_opset_imports];
    if (!(entry->domain = strdup(MS_DOMAIN))) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    entry->version = MS_DOMAIN_VERSION;
    model->n_opset_imports++;
    return NNQ_OK;
}

static nnq_status write_graph(qop_export *ex) {
    const nnq_graph *source = &ex->source.graph;
    for (int i = 0; i < source->n_inputs; i++) {
        const char *name = source->inputs[i].name;
        if (graph_is_runtime_input(source, name) && qop_activation_grid(&ex->values, name))
            NNQ_TRY(qop_quantize_float(&ex->values, name, name));
    }
    for (int n = 0; n < source->n_nodes; n++) {
        if (ex->consumed[n]) continue;
        nnq_status st = write_node(ex, &source->nodes[n]);
        if (st != NNQ_OK)
            return nnq_fail_context(st, "QOperator export of node '%s' (%s)", node_display_name(&source->nodes[n]),
                                    source->nodes[n].op_type);
    }
    for (int i = 0; i < source->n_outputs; i++) {
        const char *name;
        NNQ_TRY(qop_float_input(&ex->values, source->outputs[i].name, &name));
        if (strcmp(name, source->outputs[i].name) != 0)
            return nnq_fail(NNQ_ERR_UNSUPPORTED, "graph output '%s' is also a graph input; QOperator export needs "
                            "outputs computed by the graph", source->outputs[i].name);
    }
    /* Nodes whose outputs nothing reads any more (the bounds of a Clip written into a QLinearConv). */
    int removed;
    NNQ_TRY(pass_remove_dead_nodes(ex->out, &removed));
    remove_unread_initializers(out_graph(ex));
    return ex->used_ms_domain ? import_ms_domain(ex->out) : NNQ_OK;
}

/* The written model starts as the source without nodes (and without value_info: names change meaning). */
static nnq_status start_output(qop_export *ex) {
    NNQ_TRY(model_copy(ex->out, &ex->source));
    nnq_graph *g = out_graph(ex);
    for (int n = 0; n < g->n_nodes; n++) node_free(&g->nodes[n]);
    g->n_nodes = 0;
    for (int i = 0; i < g->n_value_infos; i++) value_info_free(&g->value_infos[i]);
    g->n_value_infos = 0;
    return NNQ_OK;
}

nnq_status export_qoperator(const nnq_model *model, const nnq_plan *plan, const qoperator_options *options,
                            nnq_model *out) {
    memset(out, 0, sizeof *out);
    NNQ_TRY(export_check_plan(plan, "QOperator"));
    qop_export ex = {.out = out, .ms_ops = options->ms_ops};
    nnq_status st = model_copy(&ex.source, model);
    /* Older models are rewritten at opset 13 first, as the QDQ export does. */
    int converted = 0;
    if (st == NNQ_OK && model_opset(&ex.source, "") < QOPERATOR_MIN_OPSET)
        st = pass_upgrade_opset(&ex.source, QOPERATOR_MIN_OPSET, &converted);
    if (st == NNQ_OK) st = start_output(&ex);
    if (st == NNQ_OK) st = graph_find_activation_fusions(&ex.source, &ex.fusions);
    if (st == NNQ_OK && !(ex.consumed = calloc((size_t)ex.source.graph.n_nodes + 1, sizeof *ex.consumed)))
        st = nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st == NNQ_OK) st = qop_graph_init(&ex.values, &out->graph, &ex.source.graph, plan);
    if (st == NNQ_OK) st = write_graph(&ex);
    qop_graph_free(&ex.values);
    free(ex.consumed);
    activation_fusions_free(&ex.fusions);
    model_free(&ex.source);
    if (st != NNQ_OK) model_free(out);
    return st;
}
