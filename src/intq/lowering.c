#include "intq/lowering.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/name_map.h"
#include "base/status.h"
#include "intq/layer_rescale.h"
#include "ir/activation_fusion.h"
#include "ir/graph_consumers.h"
#include "ir/model_copy.h"
#include "ir/passes/passes.h"
#include "quant/quantize_tensor.h"
#include "run/node_eval.h"

/* Activations are stored as int8; an unsigned 8-bit grid moves down by this. */
enum { UNSIGNED_TO_SIGNED_OFFSET = 128, STORED_BITS = 8 };

typedef struct lowering {
    nnq_model model;             /* a copy with batch 1 and inferred shapes */
    const nnq_plan *plan;
    const intq_lowering_options *options;
    intq_program *program;
    activation_fusions fusions;
    graph_consumers consumers;
    name_map int_of;             /* graph tensor -> program int8 tensor */
    name_map float_of;           /* graph tensor -> program float tensor (-1: none) */
    bool *done;                  /* nodes lowered together with an earlier one (fused activations) */
    char reason[200];            /* why the current node is not lowered to integers */
} lowering;

/* Records why a node stays in float; returns NNQ_OK with *lowered false. */
static nnq_status not_lowered(lowering *L, bool *lowered, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static nnq_status not_lowered(lowering *L, bool *lowered, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(L->reason, sizeof L->reason, fmt, args);
    va_end(args);
    *lowered = false;
    return NNQ_OK;
}

/* ---- shapes, grids, constants ---- */

static bool known_shape(const nnq_value_info *v, int *rank, int64_t *dims) {
    for (int i = 0; i < v->rank; i++)
        if (v->dims[i] < 0) return false;
    *rank = v->rank;
    memcpy(dims, v->dims, sizeof v->dims);
    return true;
}

/* A tensor's per-sample shape (batch 1). */
static nnq_status shape_of(const lowering *L, const char *name, int *rank, int64_t *dims) {
    const nnq_graph *g = &L->model.graph;
    const nnq_value_info *v = graph_find_value_info(g, name);
    if (v && known_shape(v, rank, dims)) return NNQ_OK;
    for (int i = 0; i < g->n_outputs; i++)
        if (strcmp(g->outputs[i].name, name) == 0 && known_shape(&g->outputs[i], rank, dims)) return NNQ_OK;
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0 && known_shape(&g->inputs[i], rank, dims)) return NNQ_OK;
    const nnq_tensor *t = graph_find_initializer(g, name);
    if (t) {
        *rank = t->rank;
        memcpy(dims, t->dims, sizeof t->dims);
        return NNQ_OK;
    }
    return nnq_fail(NNQ_ERR_UNSUPPORTED, "tensor '%s': its shape is not known statically; integer lowering needs "
                    "static shapes (batch aside)", name);
}

static const nnq_tensor *float_constant(const lowering *L, const char *name) {
    const nnq_tensor *t = graph_find_fixed_initializer(&L->model.graph, name);
    return t && t->dtype == NNQ_FLOAT ? t : NULL;
}

/* The plan's grid for an 8-bit per-tensor activation, in stored (int8) form; false if there is none. */
static bool stored_grid(const lowering *L, const char *name, float *scale, int32_t *zero_point, int32_t *q_min,
                        int32_t *q_max) {
    const nnq_quantizer *q = plan_find(L->plan, name);
    if (!q || q->role != NNQ_ROLE_ACTIVATION || q->n_channels != 1 || q->scheme.bits > STORED_BITS) return false;
    quantizer_grid(q, q_min, q_max);
    *scale = q->scales[0];
    *zero_point = q->zero_points[0];
    if (!q->scheme.is_signed) {
        *zero_point -= UNSIGNED_TO_SIGNED_OFFSET;
        *q_min -= UNSIGNED_TO_SIGNED_OFFSET;
        *q_max -= UNSIGNED_TO_SIGNED_OFFSET;
    }
    return true;
}

static bool has_grid(const lowering *L, const char *name) {
    float s;
    int32_t z, lo, hi;
    return stored_grid(L, name, &s, &z, &lo, &hi);
}

static const intq_tensor *tensor_at(const lowering *L, int index) { return &L->program->tensors[index]; }

static bool same_grid(const intq_tensor *a, const intq_tensor *b) {
    return a->scale == b->scale && a->zero_point == b->zero_point && a->q_min == b->q_min && a->q_max == b->q_max;
}

/* ---- program tensors for graph tensors ---- */

static nnq_status add_tensor(lowering *L, const char *name, intq_type type, int *index) {
    int rank;
    int64_t dims[NNQ_MAX_RANK];
    NNQ_TRY(shape_of(L, name, &rank, dims));
    return intq_program_add_tensor(L->program, name, type, rank, dims, index);
}

/* An int8 tensor on the plan's grid for graph tensor `name` (registered as its integer form). */
static nnq_status add_int_tensor_on_grid(lowering *L, const char *name, int *index) {
    NNQ_TRY(add_tensor(L, name, INTQ_INT8, index));
    intq_tensor *t = &L->program->tensors[*index];
    if (!stored_grid(L, name, &t->scale, &t->zero_point, &t->q_min, &t->q_max))
        return nnq_fail(NNQ_ERR_INVALID, "tensor '%s' has no 8-bit per-tensor grid in the plan", name);
    return name_map_put(&L->int_of, name, *index);
}

static void copy_grid(intq_tensor *to, const intq_tensor *from) {
    to->scale = from->scale;
    to->zero_point = from->zero_point;
    to->q_min = from->q_min;
    to->q_max = from->q_max;
}

/* Quantizes float tensor `source` (program index) onto the plan's grid of `name`. */
static nnq_status emit_quantize(lowering *L, const char *name, int source, int *index) {
    NNQ_TRY(add_int_tensor_on_grid(L, name, index));
    intq_op *op;
    NNQ_TRY(intq_program_add_op(L->program, INTQ_OP_QUANTIZE, name, &op));
    op->n_inputs = 1;
    op->inputs[0] = source;
    op->output = *index;
    /* From now on the tensor's float form is the dequantized one (the simulation quantizes in place). */
    return name_map_put(&L->float_of, name, -1);
}

/* A constant the plan quantizes as an activation-like operand (Add/Concat constants). */
static nnq_status add_int_constant(lowering *L, const char *name, const nnq_tensor *value, int *index) {
    NNQ_TRY(add_int_tensor_on_grid(L, name, index));
    intq_tensor *t = &L->program->tensors[*index];
    int8_t *data = malloc((size_t)t->count + 1);
    if (!data) return nnq_fail(NNQ_ERR_NOMEM, "out of memory lowering constant '%s'", name);
    for (int32_t i = 0; i < t->count; i++)
        data[i] = (int8_t)quantize_value(((const float *)value->data)[i], t->scale, t->zero_point, t->q_min, t->q_max);
    t->constant = data;
    return NNQ_OK;
}

/* True when `name` can be had as int8: already, or as a float/constant the plan quantizes. */
static bool int_available(const lowering *L, const char *name) {
    if (name_map_get(&L->int_of, name) >= 0) return true;
    if (!has_grid(L, name)) return false;
    return name_map_get(&L->float_of, name) >= 0 || float_constant(L, name);
}

static nnq_status require_int(lowering *L, const char *name, int *index) {
    if ((*index = name_map_get(&L->int_of, name)) >= 0) return NNQ_OK;
    const nnq_tensor *value = float_constant(L, name);
    if (value) return add_int_constant(L, name, value, index);
    int source = name_map_get(&L->float_of, name);
    if (source < 0) return nnq_fail(NNQ_ERR_INVALID, "tensor '%s' is not available as an integer", name);
    return emit_quantize(L, name, source, index);
}

static nnq_status require_float(lowering *L, const char *name, int *index) {
    if ((*index = name_map_get(&L->float_of, name)) >= 0) return NNQ_OK;
    int source = name_map_get(&L->int_of, name);
    if (source < 0) return nnq_fail(NNQ_ERR_INVALID, "tensor '%s' is computed by no earlier step", name);
    char label[256];
    snprintf(label, sizeof label, "%s#float", name);
    NNQ_TRY(add_tensor(L, name, INTQ_FLOAT32, index));
    intq_op *op;
    NNQ_TRY(intq_program_add_op(L->program, INTQ_OP_DEQUANTIZE, label, &op));
    op->n_inputs = 1;
    op->inputs[0] = source;
    op->output = *index;
    return name_map_put(&L->float_of, name, *index);
}

/* Gives graph tensor `name` the value of int8 tensor `source`: on the plan's
 * grid for name (a rescale step when the grids differ), or on source's grid
 * when the plan has none for it. */
static nnq_status bind_int_output(lowering *L, const char *node_name, const char *name, int source) {
    if (!has_grid(L, name)) return name_map_put(&L->int_of, name, source);
    int index;
    NNQ_TRY(add_int_tensor_on_grid(L, name, &index));
    const intq_tensor *from = tensor_at(L, source), *to = tensor_at(L, index);
    if (same_grid(from, to) && from->count == to->count) {
        L->program->n_tensors--; /* not needed: alias the source */
        free(L->program->tensors[index].name);
        return name_map_put(&L->int_of, name, source);
    }
    intq_op *op;
    NNQ_TRY(intq_program_add_op(L->program, INTQ_OP_RESCALE, node_name, &op));
    op->n_inputs = 1;
    op->inputs[0] = source;
    op->output = index;
    double m = (double)from->scale / (double)to->scale; /* x_hat = s_in (x - z_in) = s_out (y - z_out) */
    op->stage.mode = intq_rescale_mode_for(L->options->mode, &m, 1);
    NNQ_TRY(intq_output_stage_init(&op->stage, 1));
    op->stage.rescales[0] = intq_rescale_derive(op->stage.mode, m);
    op->stage.requant.output_zero_point = to->zero_point;
    op->stage.requant.output_min = to->q_min;
    op->stage.requant.output_max = to->q_max;
    return NNQ_OK;
}

/* ---- the output of a requantizing op, with its fused activation ---- */

typedef struct op_output {
    const char *name;   /* the tensor carrying the quantizer: the node's output or its fused activation's */
    float clamp_min, clamp_max;
} op_output;

static op_output node_output(lowering *L, const nnq_node *node) {
    op_output out = {node->outputs[0], -INFINITY, INFINITY};
    if (!activation_fusion_skips_quantization(&L->fusions, out.name)) return out;
    const activation_fusion *f = &L->fusions.items[name_map_get(&L->fusions.by_linear_output, out.name)];
    out.name = f->activation_output;
    out.clamp_min = f->clamp_min;
    out.clamp_max = f->clamp_max;
    return out;
}

static void mark_fused_done(lowering *L, const nnq_node *node) {
    if (!activation_fusion_skips_quantization(&L->fusions, node->outputs[0])) return;
    const activation_fusion *f = &L->fusions.items[name_map_get(&L->fusions.by_linear_output, node->outputs[0])];
    L->done[f->activation_node] = true;
}

/* The clamp bounds on the stored grid: the grid, narrowed by [lo, hi] (round half to even, as the simulation). */
static void clamp_bounds(const intq_tensor *t, float lo, float hi, int32_t *low, int32_t *high) {
    *low = isfinite(lo) ? quantize_value(lo, t->scale, t->zero_point, t->q_min, t->q_max) : t->q_min;
    *high = isfinite(hi) ? quantize_value(hi, t->scale, t->zero_point, t->q_min, t->q_max) : t->q_max;
}

static void set_output_stage(intq_output_stage *stage, const intq_tensor *out, float lo, float hi) {
    stage->requant.output_zero_point = out->zero_point;
    clamp_bounds(out, lo, hi, &stage->requant.output_min, &stage->requant.output_max);
}

/* ---- Conv, Gemm, MatMul ---- */

/* The plan's weight grid when the integer kernels take it: int8, zero point 0. */
static const nnq_quantizer *int8_weight_grid(lowering *L, const char *name, bool *lowered) {
    const nnq_quantizer *q = plan_find(L->plan, name);
    if (!q || q->role != NNQ_ROLE_WEIGHT) {
        not_lowered(L, lowered, "weight '%s' is not quantized by the plan", name);
        return NULL;
    }
    if (!q->scheme.is_signed || q->scheme.bits > STORED_BITS) {
        not_lowered(L, lowered, "weight '%s' is not on a signed grid of at most 8 bits", name);
        return NULL;
    }
    for (int c = 0; c < q->n_channels; c++)
        if (q->zero_points[c] != 0) {
            not_lowered(L, lowered, "weight '%s' has a zero point (asymmetric weights are not lowered)", name);
            return NULL;
        }
    return q;
}

/* A layer being lowered: int8 weights [channels][per_channel], int32 bias, multipliers. */
typedef struct weighted_layer {
    intq_layer layer;
    double *multipliers;
} weighted_layer;

static void weighted_layer_free(weighted_layer *l) {
    free(l->layer.weights);
    free(l->layer.bias);
    free(l->multipliers);
}

/* Quantizes weight w (layout [channels][per_channel], or [per_channel][channels] when transposed), its bias
 * (may be NULL) on s_x s_w[c] (the plan's bias grid), and sets m_c = s_x s_w[c] / s_y. */
static nnq_status build_weighted_layer(lowering *L, const nnq_tensor *w, const nnq_quantizer *wq, bool transposed,
                                     int channels, const nnq_tensor *bias, const intq_tensor *x,
                                     const intq_tensor *y, weighted_layer *out) {
    intq_layer *layer = &out->layer;
    int64_t per_channel = tensor_numel(w) / channels;
    layer->channels = channels;
    layer->per_channel = (int32_t)per_channel;
    layer->weights = malloc((size_t)(channels * per_channel));
    layer->bias = calloc((size_t)channels, sizeof *layer->bias);
    out->multipliers = malloc((size_t)channels * sizeof *out->multipliers);
    layer->multipliers = out->multipliers;
    if (!layer->weights || !layer->bias || !out->multipliers)
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory lowering weight '%s'", w->name);
    quantizer_grid(wq, &layer->weight_min, &layer->weight_max);
    const nnq_quantizer *bq = bias ? plan_find(L->plan, bias->name) : NULL;
    const float *wv = w->data;
    for (int c = 0; c < channels; c++) {
        float s_w = wq->scales[wq->n_channels == 1 ? 0 : c];
        for (int64_t k = 0; k < per_channel; k++) {
            float v = transposed ? wv[k * channels + c] : wv[c * per_channel + k];
            layer->weights[c * per_channel + k] = (int8_t)quantize_value(v, s_w, 0, layer->weight_min, layer->weight_max);
        }
        /* The accumulator's scale s_x s_w (white paper eq. 3); the plan's bias grid is the same product. */
        double s_acc = (double)x->scale * (double)s_w;
        if (bias) {
            float s_b = bq && bq->n_channels == channels ? bq->scales[c] : (float)s_acc;
            layer->bias[c] = quantize_value(((const float *)bias->data)[c], s_b, 0, INT32_MIN, INT32_MAX);
        }
        out->multipliers[c] = s_acc / (double)y->scale;
    }
    return NNQ_OK;
}

/* eq. 13 with z_w = 0: sum_k w (x - z_x) = sum_k w x - z_x sum_k w; the second term goes into the bias. */
static void fold_input_zero_point(intq_layer *layer, int32_t input_zero_point) {
    for (int c = 0; c < layer->channels; c++) {
        int64_t sum = 0;
        for (int32_t k = 0; k < layer->per_channel; k++) sum += layer->weights[(int64_t)c * layer->per_channel + k];
        int64_t b = (int64_t)layer->bias[c] - (int64_t)input_zero_point * sum;
        layer->bias[c] = b > INT32_MAX ? INT32_MAX : b < INT32_MIN ? INT32_MIN : (int32_t)b;
    }
}

/* Everything common to Conv and the fully connected layers once the weight layout is known. */
static nnq_status emit_linear(lowering *L, const nnq_node *node, intq_op_kind kind, const char *input,
                              const nnq_tensor *w, const nnq_quantizer *wq, bool transposed, int channels,
                              const nnq_tensor *bias, intq_op **out_op) {
    op_output out = node_output(L, node);
    int x, y;
    NNQ_TRY(require_int(L, input, &x));
    NNQ_TRY(add_int_tensor_on_grid(L, out.name, &y));
    weighted_layer built = {0};
    nnq_status st = build_weighted_layer(L, w, wq, transposed, channels, bias, tensor_at(L, x), tensor_at(L, y), &built);
    intq_op *op = NULL;
    if (st == NNQ_OK) st = intq_program_add_op(L->program, kind, node_display_name(node), &op);
    if (st == NNQ_OK) st = intq_layer_rescale(&built.layer, L->options->mode, L->options->rescale_per_output, &op->stage);
    if (st != NNQ_OK) {
        weighted_layer_free(&built);
        return st;
    }
    fold_input_zero_point(&built.layer, tensor_at(L, x)->zero_point);
    set_output_stage(&op->stage, tensor_at(L, y), out.clamp_min, out.clamp_max);
    op->n_inputs = 1;
    op->inputs[0] = x;
    op->output = y;
    if (kind == INTQ_OP_CONV) {
        op->u.conv.weights = built.layer.weights;
        op->u.conv.bias = built.layer.bias;
    } else {
        op->u.fully_connected.weights = built.layer.weights;
        op->u.fully_connected.bias = built.layer.bias;
    }
    free(built.multipliers);
    mark_fused_done(L, node);
    *out_op = op;
    return NNQ_OK;
}

/* Checks shared by the weighted ops: activation input, output grid. */
static bool linear_inputs_ready(lowering *L, const nnq_node *node, bool *lowered) {
    if (!int_available(L, node->inputs[0])) {
        not_lowered(L, lowered, "input '%s' has no integer form (no 8-bit grid in the plan)", node->inputs[0]);
        return false;
    }
    op_output out = node_output(L, node);
    if (!has_grid(L, out.name)) {
        not_lowered(L, lowered, "output '%s' has no 8-bit grid in the plan", out.name);
        return false;
    }
    return true;
}

/* The optional bias input: *bias NULL when absent; false when present but not a constant vector of channels. */
static bool read_bias(lowering *L, const nnq_node *node, int index, int channels, const nnq_tensor **bias) {
    *bias = NULL;
    if (node->n_inputs <= index || !*node->inputs[index]) return true;
    const nnq_tensor *b = float_constant(L, node->inputs[index]);
    if (!b || b->rank != 1 || tensor_numel(b) != channels) return false;
    *bias = b;
    return true;
}

static nnq_status lower_conv(lowering *L, const nnq_node *node, bool *lowered) {
    const nnq_tensor *w = node->n_inputs >= 2 ? float_constant(L, node->inputs[1]) : NULL;
    if (!w || w->rank != 4) return not_lowered(L, lowered, "only 2-D convolutions with constant weights are lowered");
    const char *auto_pad = node_attr_string(node, "auto_pad", "NOTSET");
    if (strcmp(auto_pad, "NOTSET") != 0) return not_lowered(L, lowered, "auto_pad %s is not lowered", auto_pad);
    const nnq_quantizer *wq = int8_weight_grid(L, w->name, lowered);
    if (!wq || !linear_inputs_ready(L, node, lowered)) return NNQ_OK;
    int channels = (int)w->dims[0];
    const nnq_tensor *bias;
    if (!read_bias(L, node, 2, channels, &bias)) return not_lowered(L, lowered, "the bias is not a constant vector");
    int in_rank, out_rank;
    int64_t in_dims[NNQ_MAX_RANK], out_dims[NNQ_MAX_RANK];
    NNQ_TRY(shape_of(L, node->inputs[0], &in_rank, in_dims));
    NNQ_TRY(shape_of(L, node->outputs[0], &out_rank, out_dims));
    int64_t n = 0;
    const int64_t *strides = node_attr_ints(node, "strides", &n);
    const int64_t *pads = node_attr_ints(node, "pads", &n);
    const int64_t *dilations = node_attr_ints(node, "dilations", &n);
    intq_window window = {
        (int32_t)in_dims[1], (int32_t)in_dims[2], (int32_t)in_dims[3],
        (int32_t)out_dims[1], (int32_t)out_dims[2], (int32_t)out_dims[3],
        (int32_t)w->dims[2], (int32_t)w->dims[3],
        strides ? (int32_t)strides[0] : 1, strides ? (int32_t)strides[1] : 1,
        pads ? (int32_t)pads[0] : 0, pads ? (int32_t)pads[1] : 0,
        dilations ? (int32_t)dilations[0] : 1, dilations ? (int32_t)dilations[1] : 1,
        (int32_t)node_attr_int(node, "group", 1),
    };
    intq_op *op;
    NNQ_TRY(emit_linear(L, node, INTQ_OP_CONV, node->inputs[0], w, wq, false, channels, bias, &op));
    op->u.conv.window = window;
    size_t scratch = (size_t)window.out_height * (size_t)window.out_width * sizeof(int32_t);
    if (scratch > L->program->scratch_size) L->program->scratch_size = scratch;
    *lowered = true;
    return NNQ_OK;
}

/* Gemm(A, B, C) with constant B: y = A B' + C, alpha = beta = 1, A not transposed. */
static nnq_status lower_gemm(lowering *L, const nnq_node *node, bool *lowered) {
    const nnq_tensor *w = node->n_inputs >= 2 ? float_constant(L, node->inputs[1]) : NULL;
    if (!w || w->rank != 2) return not_lowered(L, lowered, "the weight is not a constant matrix");
    if (node_attr_int(node, "transA", 0) || node_attr_float(node, "alpha", 1.0f) != 1.0f ||
        node_attr_float(node, "beta", 1.0f) != 1.0f)
        return not_lowered(L, lowered, "transA, alpha or beta other than the defaults");
    const nnq_quantizer *wq = int8_weight_grid(L, w->name, lowered);
    if (!wq || !linear_inputs_ready(L, node, lowered)) return NNQ_OK;
    bool transposed = node_attr_int(node, "transB", 0) == 0; /* B [K, N]: channels along the columns */
    int channels = (int)(transposed ? w->dims[1] : w->dims[0]);
    const nnq_tensor *bias;
    if (!read_bias(L, node, 2, channels, &bias)) return not_lowered(L, lowered, "the bias C is not a constant vector");
    int rank;
    int64_t dims[NNQ_MAX_RANK];
    NNQ_TRY(shape_of(L, node->inputs[0], &rank, dims));
    intq_op *op;
    NNQ_TRY(emit_linear(L, node, INTQ_OP_FULLY_CONNECTED, node->inputs[0], w, wq, transposed, channels, bias, &op));
    op->u.fully_connected.rows = (int32_t)dims[0];
    op->u.fully_connected.in_features = (int32_t)(tensor_numel(w) / channels);
    op->u.fully_connected.out_features = channels;
    *lowered = true;
    return NNQ_OK;
}

/* MatMul(A, B) with constant 2-D B [K, N]: rows of A times B. */
static nnq_status lower_matmul(lowering *L, const nnq_node *node, bool *lowered) {
    const nnq_tensor *w = node->n_inputs >= 2 ? float_constant(L, node->inputs[1]) : NULL;
    if (!w || w->rank != 2) return not_lowered(L, lowered, "only MatMul by a constant matrix is lowered");
    const nnq_quantizer *wq = int8_weight_grid(L, w->name, lowered);
    if (!wq || !linear_inputs_ready(L, node, lowered)) return NNQ_OK;
    int rank;
    int64_t dims[NNQ_MAX_RANK];
    NNQ_TRY(shape_of(L, node->inputs[0], &rank, dims));
    int64_t k = w->dims[0], count = dims_numel(dims, rank);
    intq_op *op;
    NNQ_TRY(emit_linear(L, node, INTQ_OP_FULLY_CONNECTED, node->inputs[0], w, wq, true, (int)w->dims[1], NULL, &op));
    op->u.fully_connected.rows = (int32_t)(count / k);
    op->u.fully_connected.in_features = (int32_t)k;
    op->u.fully_connected.out_features = (int32_t)w->dims[1];
    *lowered = true;
    return NNQ_OK;
}

/* ---- joining nodes ---- */

static int ceil_log2(int n) {
    int bits = 0;
    while ((1 << bits) < n) bits++;
    return bits;
}

/* Add: the inputs move onto a common grid s_c = max_i s_i / 2^left_shift
 * (rescale m_i = s_i / max s <= 1, so the widest input moves exactly), their
 * sum is rescaled by s_c / s_y. left_shift = 30 - 8 - ceil(log2 n) keeps
 * |(x - z) 2^left_shift| and the sum of n such terms below 2^30. */
static nnq_status lower_add(lowering *L, const nnq_node *node, bool *lowered) {
    if (node->n_inputs < 2 || node->n_inputs > INTQ_MAX_OP_INPUTS) return not_lowered(L, lowered, "unsupported arity");
    int rank;
    int64_t out_dims[NNQ_MAX_RANK], dims[NNQ_MAX_RANK];
    NNQ_TRY(shape_of(L, node->outputs[0], &rank, out_dims));
    for (int i = 0; i < node->n_inputs; i++) {
        int r;
        if (!int_available(L, node->inputs[i]))
            return not_lowered(L, lowered, "input '%s' has no integer form", node->inputs[i]);
        NNQ_TRY(shape_of(L, node->inputs[i], &r, dims));
        if (dims_numel(dims, r) != dims_numel(out_dims, rank))
            return not_lowered(L, lowered, "broadcasting Add is not lowered");
    }
    if (!has_grid(L, node->outputs[0])) return not_lowered(L, lowered, "the output has no 8-bit grid in the plan");
    int inputs[INTQ_MAX_OP_INPUTS], y;
    float max_scale = 0;
    for (int i = 0; i < node->n_inputs; i++) {
        NNQ_TRY(require_int(L, node->inputs[i], &inputs[i]));
        max_scale = fmaxf(max_scale, tensor_at(L, inputs[i])->scale);
    }
    NNQ_TRY(add_int_tensor_on_grid(L, node->outputs[0], &y));
    intq_op *op;
    NNQ_TRY(intq_program_add_op(L->program, INTQ_OP_ADD, node_display_name(node), &op));
    op->n_inputs = node->n_inputs;
    memcpy(op->inputs, inputs, sizeof inputs);
    op->output = y;
    int32_t left_shift = 30 - STORED_BITS - ceil_log2(node->n_inputs);
    op->u.add.left_shift = left_shift;
    double m[INTQ_MAX_OP_INPUTS];
    for (int i = 0; i < node->n_inputs; i++) m[i] = (double)tensor_at(L, inputs[i])->scale / max_scale;
    op->u.add.mode = intq_rescale_mode_for(L->options->mode, m, node->n_inputs);
    for (int i = 0; i < node->n_inputs; i++) op->u.add.input_rescales[i] = intq_rescale_derive(op->u.add.mode, m[i]);
    double m_out = ldexp((double)max_scale, -left_shift) / tensor_at(L, y)->scale;
    op->stage.mode = intq_rescale_mode_for(L->options->mode, &m_out, 1);
    NNQ_TRY(intq_output_stage_init(&op->stage, 1));
    op->stage.rescales[0] = intq_rescale_derive(op->stage.mode, m_out);
    set_output_stage(&op->stage, tensor_at(L, y), -INFINITY, INFINITY);
    *lowered = true;
    return NNQ_OK;
}

/* Concat: every input block is rescaled onto the output grid (m_i = s_i / s_y). */
static nnq_status lower_concat(lowering *L, const nnq_node *node, bool *lowered) {
    if (node->n_inputs < 1 || node->n_inputs > INTQ_MAX_OP_INPUTS) return not_lowered(L, lowered, "unsupported arity");
    if (!has_grid(L, node->outputs[0])) return not_lowered(L, lowered, "the output has no 8-bit grid in the plan");
    int rank;
    int64_t dims[NNQ_MAX_RANK];
    NNQ_TRY(shape_of(L, node->outputs[0], &rank, dims));
    int64_t axis = node_attr_int(node, "axis", 0);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return nnq_fail(NNQ_ERR_INVALID, "Concat axis out of range");
    for (int i = 0; i < node->n_inputs; i++)
        if (!int_available(L, node->inputs[i]))
            return not_lowered(L, lowered, "input '%s' has no integer form", node->inputs[i]);
    int inputs[INTQ_MAX_OP_INPUTS], y;
    for (int i = 0; i < node->n_inputs; i++) NNQ_TRY(require_int(L, node->inputs[i], &inputs[i]));
    NNQ_TRY(add_int_tensor_on_grid(L, node->outputs[0], &y));
    intq_op *op;
    NNQ_TRY(intq_program_add_op(L->program, INTQ_OP_CONCAT, node_display_name(node), &op));
    op->n_inputs = node->n_inputs;
    memcpy(op->inputs, inputs, sizeof inputs);
    op->output = y;
    op->u.concat.outer = (int32_t)dims_numel(dims, (int)axis);
    op->u.concat.parts = calloc((size_t)node->n_inputs, sizeof *op->u.concat.parts);
    if (!op->u.concat.parts) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    for (int i = 0; i < node->n_inputs; i++) {
        const intq_tensor *x = tensor_at(L, inputs[i]);
        op->u.concat.inner[i] = x->count / op->u.concat.outer;
        intq_output_stage *part = &op->u.concat.parts[i];
        double m = (double)x->scale / tensor_at(L, y)->scale;
        part->mode = intq_rescale_mode_for(L->options->mode, &m, 1);
        NNQ_TRY(intq_output_stage_init(part, 1));
        part->rescales[0] = intq_rescale_derive(part->mode, m);
        set_output_stage(part, tensor_at(L, y), -INFINITY, INFINITY);
    }
    *lowered = true;
    return NNQ_OK;
}

/* ---- pools ---- */

static bool is_global_pool(const nnq_node *node) { return strncmp(node->op_type, "Global", 6) == 0; }

/* The window of a 2-D pool (Global*: the whole plane). */
static nnq_status pool_window(lowering *L, const nnq_node *node, intq_window *w, bool *ok) {
    int in_rank, out_rank;
    int64_t in_dims[NNQ_MAX_RANK], out_dims[NNQ_MAX_RANK];
    NNQ_TRY(shape_of(L, node->inputs[0], &in_rank, in_dims));
    NNQ_TRY(shape_of(L, node->outputs[0], &out_rank, out_dims));
    *ok = in_rank == 4 && out_rank == 4 && strcmp(node_attr_string(node, "auto_pad", "NOTSET"), "NOTSET") == 0;
    if (!*ok) return NNQ_OK;
    int64_t n = 0;
    const int64_t *kernel = node_attr_ints(node, "kernel_shape", &n);
    const int64_t *strides = node_attr_ints(node, "strides", &n);
    const int64_t *pads = node_attr_ints(node, "pads", &n);
    const int64_t *dilations = node_attr_ints(node, "dilations", &n);
    bool global = is_global_pool(node);
    *w = (intq_window){
        (int32_t)in_dims[1], (int32_t)in_dims[2], (int32_t)in_dims[3],
        (int32_t)out_dims[1], (int32_t)out_dims[2], (int32_t)out_dims[3],
        global ? (int32_t)in_dims[2] : kernel ? (int32_t)kernel[0] : 1,
        global ? (int32_t)in_dims[3] : kernel ? (int32_t)kernel[1] : 1,
        strides && !global ? (int32_t)strides[0] : 1, strides && !global ? (int32_t)strides[1] : 1,
        pads && !global ? (int32_t)pads[0] : 0, pads && !global ? (int32_t)pads[1] : 0,
        dilations && !global ? (int32_t)dilations[0] : 1, dilations && !global ? (int32_t)dilations[1] : 1,
        1,
    };
    return NNQ_OK;
}

static nnq_status lower_maxpool(lowering *L, const nnq_node *node, bool *lowered) {
    if (node->n_outputs > 1 && *node->outputs[1]) return not_lowered(L, lowered, "MaxPool indices are not lowered");
    if (!int_available(L, node->inputs[0])) return not_lowered(L, lowered, "the input has no integer form");
    bool ok;
    intq_window window;
    NNQ_TRY(pool_window(L, node, &window, &ok));
    if (!ok) return not_lowered(L, lowered, "only 2-D pools with explicit pads are lowered");
    int x, pooled;
    NNQ_TRY(require_int(L, node->inputs[0], &x));
    char label[256];
    snprintf(label, sizeof label, "%s#input_grid", node->outputs[0]);
    int rank;
    int64_t dims[NNQ_MAX_RANK];
    NNQ_TRY(shape_of(L, node->outputs[0], &rank, dims));
    NNQ_TRY(intq_program_add_tensor(L->program, label, INTQ_INT8, rank, dims, &pooled));
    copy_grid(&L->program->tensors[pooled], tensor_at(L, x)); /* max commutes with the monotonic grid map */
    intq_op *op;
    NNQ_TRY(intq_program_add_op(L->program, INTQ_OP_MAXPOOL, node_display_name(node), &op));
    op->n_inputs = 1;
    op->inputs[0] = x;
    op->output = pooled;
    op->u.pool.window = window;
    NNQ_TRY(bind_int_output(L, node_display_name(node), node->outputs[0], pooled));
    *lowered = true;
    return NNQ_OK;
}

/* The averaging pools' fine grid: the mean of 8-bit values times 2^22 stays below 2^30. */
enum { AVERAGE_FRACTION_BITS = 30 - STORED_BITS };

static nnq_status lower_avgpool(lowering *L, const nnq_node *node, bool *lowered) {
    if (!int_available(L, node->inputs[0])) return not_lowered(L, lowered, "the input has no integer form");
    if (!has_grid(L, node->outputs[0])) return not_lowered(L, lowered, "the output has no 8-bit grid in the plan");
    bool ok;
    intq_window window;
    NNQ_TRY(pool_window(L, node, &window, &ok));
    if (!ok || window.dilation_height != 1 || window.dilation_width != 1)
        return not_lowered(L, lowered, "only 2-D pools with explicit pads and no dilation are lowered");
    int x, y;
    NNQ_TRY(require_int(L, node->inputs[0], &x));
    NNQ_TRY(add_int_tensor_on_grid(L, node->outputs[0], &y));
    intq_op *op;
    NNQ_TRY(intq_program_add_op(L->program, INTQ_OP_AVGPOOL, node_display_name(node), &op));
    op->n_inputs = 1;
    op->inputs[0] = x;
    op->output = y;
    op->u.pool.window = window;
    op->u.pool.count_include_pad = (int32_t)node_attr_int(node, "count_include_pad", 0);
    op->u.pool.fraction_bits = AVERAGE_FRACTION_BITS;
    double m = ldexp((double)tensor_at(L, x)->scale, -AVERAGE_FRACTION_BITS) / tensor_at(L, y)->scale;
    op->stage.mode = intq_rescale_mode_for(L->options->mode, &m, 1);
    NNQ_TRY(intq_output_stage_init(&op->stage, 1));
    op->stage.rescales[0] = intq_rescale_derive(op->stage.mode, m);
    set_output_stage(&op->stage, tensor_at(L, y), -INFINITY, INFINITY);
    *lowered = true;
    return NNQ_OK;
}

/* ---- Relu / Clip, views ---- */

/* The real bounds of a standalone Relu or Clip; false when they are not constants. */
static bool activation_bounds(const lowering *L, const nnq_node *node, float *lo, float *hi) {
    *lo = -INFINITY;
    *hi = INFINITY;
    if (strcmp(node->op_type, "Relu") == 0) {
        *lo = 0.0f;
        return true;
    }
    if (node->n_inputs == 1) { /* Clip before opset 11: attributes */
        *lo = node_attr_float(node, "min", -INFINITY);
        *hi = node_attr_float(node, "max", INFINITY);
        return true;
    }
    for (int i = 1; i < node->n_inputs && i < 3; i++) {
        if (!*node->inputs[i]) continue;
        const nnq_tensor *t = float_constant(L, node->inputs[i]);
        if (!t || tensor_numel(t) != 1) return false;
        *(i == 1 ? lo : hi) = ((const float *)t->data)[0];
    }
    return true;
}

/* The op that produced int8 tensor `index` when it is the last one and has an output stage to narrow. */
static intq_output_stage *foldable_stage(lowering *L, int index, const char *tensor) {
    if (L->program->n_ops == 0 || graph_is_output(&L->model.graph, tensor)) return NULL;
    const int *readers;
    if (graph_consumers_of(&L->consumers, tensor, &readers) != 1) return NULL;
    intq_op *last = &L->program->ops[L->program->n_ops - 1];
    if (last->output != index || last->stage.n_rescales == 0) return NULL;
    return &last->stage;
}

static nnq_status lower_clamp(lowering *L, const nnq_node *node, bool *lowered) {
    float lo, hi;
    if (!activation_bounds(L, node, &lo, &hi)) return not_lowered(L, lowered, "Clip bounds computed at run time");
    if (!int_available(L, node->inputs[0])) return not_lowered(L, lowered, "the input has no integer form");
    int x;
    NNQ_TRY(require_int(L, node->inputs[0], &x));
    const intq_tensor *in = tensor_at(L, x);
    int32_t low, high;
    clamp_bounds(in, lo, hi, &low, &high);
    intq_output_stage *stage = foldable_stage(L, x, node->inputs[0]);
    if (stage) { /* the clamp folds into the requantization that produced the input */
        if (low > stage->requant.output_min) stage->requant.output_min = low;
        if (high < stage->requant.output_max) stage->requant.output_max = high;
        NNQ_TRY(bind_int_output(L, node_display_name(node), node->outputs[0], x));
        *lowered = true;
        return NNQ_OK;
    }
    char label[256];
    snprintf(label, sizeof label, "%s#input_grid", node->outputs[0]);
    int clamped;
    NNQ_TRY(intq_program_add_tensor(L->program, label, INTQ_INT8, in->rank, in->dims, &clamped));
    copy_grid(&L->program->tensors[clamped], tensor_at(L, x));
    intq_op *op;
    NNQ_TRY(intq_program_add_op(L->program, INTQ_OP_CLAMP, node_display_name(node), &op));
    op->n_inputs = 1;
    op->inputs[0] = x;
    op->output = clamped;
    op->u.clamp.low = low;
    op->u.clamp.high = high;
    NNQ_TRY(bind_int_output(L, node_display_name(node), node->outputs[0], clamped));
    *lowered = true;
    return NNQ_OK;
}

/* Reshape, Flatten, Squeeze, Unsqueeze, Identity: the same values in another
 * shape, no op - on the integer form of the input, or on its float form. */
static nnq_status lower_view(lowering *L, const nnq_node *node, bool *lowered) {
    int x = name_map_get(&L->int_of, node->inputs[0]);
    bool integer = x >= 0;
    if (!integer) x = name_map_get(&L->float_of, node->inputs[0]);
    if (x < 0 || tensor_at(L, x)->constant) return not_lowered(L, lowered, "the input is not computed");
    char label[256];
    snprintf(label, sizeof label, "%s#view", node->outputs[0]);
    int rank, view;
    int64_t dims[NNQ_MAX_RANK];
    NNQ_TRY(shape_of(L, node->outputs[0], &rank, dims));
    NNQ_TRY(intq_program_add_tensor(L->program, integer ? label : node->outputs[0], tensor_at(L, x)->type, rank, dims,
                                    &view));
    intq_tensor *t = &L->program->tensors[view];
    copy_grid(t, tensor_at(L, x));
    t->storage = tensor_at(L, x)->storage;
    *lowered = true;
    if (integer) return bind_int_output(L, node_display_name(node), node->outputs[0], view);
    NNQ_TRY(name_map_put(&L->float_of, node->outputs[0], view));
    int ignored; /* a float tensor the plan quantizes is quantized where it is produced */
    return has_grid(L, node->outputs[0]) ? emit_quantize(L, node->outputs[0], view, &ignored) : NNQ_OK;
}

/* ---- unary elementwise ops as tables ---- */

/* The stored int8 values 0..255 after the shift by UNSIGNED_TO_SIGNED_OFFSET, one table entry each. */
enum { TABLE_SIZE = 1 << STORED_BITS };
_Static_assert(sizeof ((intq_op *)0)->u.lookup.table == TABLE_SIZE, "a lookup op holds one entry per int8 value");

/* table[q + 128] = f(s_x (q - z_x)) on the output's grid for every stored q, f the node's own FP32 operator
 * with its attributes, evaluated once on all 256 inputs, and the result quantized by the plan's quantizer as
 * the simulation does it (in float, not quantize_value's double: ties round alike only this way) - so the
 * table is bit-exact with the simulation's dequantize, f, quantize. */
static nnq_status fill_table(const lowering *L, const nnq_node *node, const intq_tensor *x, int8_t *table) {
    const nnq_op_def *def;
    int opset;
    NNQ_TRY(node_find_op(&L->model, node, &def, &opset));
    const nnq_quantizer *q = plan_find(L->plan, node->outputs[0]);
    int64_t dims[1] = {TABLE_SIZE};
    nnq_tensor input, output, stored;
    memset(&input, 0, sizeof input);
    memset(&output, 0, sizeof output);
    memset(&stored, 0, sizeof stored);
    NNQ_TRY(tensor_create(&input, NNQ_FLOAT, 1, dims));
    for (int32_t i = 0; i < TABLE_SIZE; i++)
        ((float *)input.data)[i] = x->scale * (float)(i - UNSIGNED_TO_SIGNED_OFFSET - x->zero_point);
    const nnq_tensor *inputs[1] = {&input};
    nnq_status st = node_evaluate(def, opset, node, inputs, &output);
    if (st == NNQ_OK && (output.dtype != NNQ_FLOAT || tensor_numel(&output) != TABLE_SIZE))
        st = nnq_fail(NNQ_ERR_INVALID, "node '%s' (%s): %d float inputs did not give %d float outputs",
                      node_display_name(node), node->op_type, TABLE_SIZE, TABLE_SIZE);
    if (st == NNQ_OK) st = quantizer_quantize(q, &output, &stored);
    int32_t shift = q->scheme.is_signed ? 0 : UNSIGNED_TO_SIGNED_OFFSET; /* the stored form of the grid */
    for (int32_t i = 0; st == NNQ_OK && i < TABLE_SIZE; i++)
        table[i] = (int8_t)(tensor_get_int64(&stored, i) - shift);
    tensor_free(&input);
    tensor_free(&output);
    tensor_free(&stored);
    return st;
}

/* A single-input elementwise op (see the rules' table) whose input has an int8 form and whose output the
 * plan puts on an 8-bit grid: a lookup table. */
static nnq_status lower_lookup(lowering *L, const nnq_node *node, bool *lowered) {
    if (node->n_inputs != 1 || node->n_outputs != 1)
        return not_lowered(L, lowered, "only one input and one output make a lookup table");
    if (!int_available(L, node->inputs[0])) return not_lowered(L, lowered, "the input has no integer form");
    if (!has_grid(L, node->outputs[0])) return not_lowered(L, lowered, "the output has no 8-bit grid in the plan");
    int x, y;
    NNQ_TRY(require_int(L, node->inputs[0], &x));
    NNQ_TRY(add_int_tensor_on_grid(L, node->outputs[0], &y));
    int8_t table[TABLE_SIZE];
    NNQ_TRY(fill_table(L, node, tensor_at(L, x), table));
    intq_op *op;
    NNQ_TRY(intq_program_add_op(L->program, INTQ_OP_LOOKUP, node_display_name(node), &op));
    op->n_inputs = 1;
    op->inputs[0] = x;
    op->output = y;
    memcpy(op->u.lookup.table, table, sizeof op->u.lookup.table);
    *lowered = true;
    return NNQ_OK;
}

/* ---- float steps ---- */

static nnq_status lower_float_node(lowering *L, const nnq_node *node) {
    const nnq_op_def *def;
    int opset;
    NNQ_TRY(node_find_op(&L->model, node, &def, &opset));
    int inputs[INTQ_MAX_OP_INPUTS];
    if (node->n_inputs > INTQ_MAX_OP_INPUTS)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "node '%s' has more than %d inputs", node_display_name(node),
                        INTQ_MAX_OP_INPUTS);
    nnq_tensor *constants = calloc((size_t)node->n_inputs + 1, sizeof *constants);
    if (!constants) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    nnq_status st = NNQ_OK;
    for (int i = 0; st == NNQ_OK && i < node->n_inputs; i++) {
        inputs[i] = -1;
        const char *name = node->inputs[i];
        if (!*name) continue;
        const nnq_tensor *value = graph_find_fixed_initializer(&L->model.graph, name);
        if (!value) {
            st = require_float(L, name, &inputs[i]);
            continue;
        }
        st = tensor_copy(&constants[i], value);
        const nnq_quantizer *q = st == NNQ_OK ? plan_find(L->plan, name) : NULL;
        if (q && value->dtype == NNQ_FLOAT) { /* weights the simulation fake-quantizes */
            st = quantizer_check_tensor(q, &constants[i]);
            if (st == NNQ_OK) quantizer_fake_quantize(q, &constants[i], true);
        }
    }
    intq_op *op = NULL;
    if (st == NNQ_OK) st = intq_program_add_op(L->program, INTQ_OP_FLOAT_NODE, node_display_name(node), &op);
    if (st != NNQ_OK) {
        for (int i = 0; i < node->n_inputs; i++) tensor_free(&constants[i]);
        free(constants);
        return st;
    }
    op->u.float_node.constants = constants;
    op->u.float_node.def = def;
    op->u.float_node.opset = opset;
    op->u.float_node.reason = nnq_strdup(L->reason);
    NNQ_TRY(node_copy(&op->u.float_node.node, node));
    op->n_inputs = node->n_inputs;
    memcpy(op->inputs, inputs, sizeof(int) * (size_t)node->n_inputs);
    L->program->n_float_nodes++;
    /* Outputs: float tensors (-1 for an omitted one); the op's output field is the first. */
    int op_index = L->program->n_ops - 1;
    if (node->n_outputs > INTQ_MAX_OP_INPUTS)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "node '%s' has too many outputs", node_display_name(node));
    for (int o = 0; o < node->n_outputs; o++) {
        int index = -1;
        if (*node->outputs[o]) NNQ_TRY(add_tensor(L, node->outputs[o], INTQ_FLOAT32, &index));
        L->program->ops[op_index].u.float_node.outputs[o] = index;
        if (index >= 0) NNQ_TRY(name_map_put(&L->float_of, node->outputs[o], index));
    }
    L->program->ops[op_index].output = L->program->ops[op_index].u.float_node.outputs[0];
    for (int o = 0; o < node->n_outputs; o++) {
        int ignored;
        if (*node->outputs[o] && has_grid(L, node->outputs[o]))
            NNQ_TRY(emit_quantize(L, node->outputs[o], name_map_get(&L->float_of, node->outputs[o]), &ignored));
    }
    return NNQ_OK;
}

/* ---- the table and the walk ---- */

typedef nnq_status (*lower_fn)(lowering *L, const nnq_node *node, bool *lowered);

static const struct lowering_rule {
    const char *op_type;
    lower_fn lower;
} lowering_rules[] = {
    {"Conv", lower_conv},           {"Gemm", lower_gemm},
    {"MatMul", lower_matmul},       {"Add", lower_add},
    {"Concat", lower_concat},       {"MaxPool", lower_maxpool},
    {"GlobalMaxPool", lower_maxpool}, {"AveragePool", lower_avgpool},
    {"GlobalAveragePool", lower_avgpool}, {"Relu", lower_clamp},
    {"Clip", lower_clamp},          {"Reshape", lower_view},
    {"Flatten", lower_view},        {"Squeeze", lower_view},
    {"Unsqueeze", lower_view},      {"Identity", lower_view},
    /* Single-input elementwise maps (ops/activation.c, ops/elementwise.c): one output per input value.
     * Not Relu/Clip (a clamp, above) nor Softmax & co. (each output reads the whole axis). */
    {"Sigmoid", lower_lookup},      {"Tanh", lower_lookup},
    {"HardSigmoid", lower_lookup},  {"HardSwish", lower_lookup},
    {"LeakyRelu", lower_lookup},    {"Elu", lower_lookup},
    {"Selu", lower_lookup},         {"Celu", lower_lookup},
    {"Softplus", lower_lookup},     {"Softsign", lower_lookup},
    {"ThresholdedRelu", lower_lookup}, {"Shrink", lower_lookup},
    {"Exp", lower_lookup},          {"Log", lower_lookup},
    {"Erf", lower_lookup},          {"Sqrt", lower_lookup},
    {"Reciprocal", lower_lookup},   {"Neg", lower_lookup},
    {"Abs", lower_lookup},          {"Sign", lower_lookup},
    {"Floor", lower_lookup},        {"Ceil", lower_lookup},
    {"Round", lower_lookup},        {"Sin", lower_lookup},
    {"Cos", lower_lookup},          {"Tan", lower_lookup},
    {"Asin", lower_lookup},         {"Acos", lower_lookup},
    {"Atan", lower_lookup},         {"Sinh", lower_lookup},
    {"Cosh", lower_lookup},         {"Asinh", lower_lookup},
    {"Acosh", lower_lookup},        {"Atanh", lower_lookup},
};

static lower_fn rule_for(const nnq_node *node) {
    if (node->domain && *node->domain && strcmp(node->domain, "ai.onnx") != 0) return NULL;
    for (size_t i = 0; i < sizeof lowering_rules / sizeof lowering_rules[0]; i++)
        if (strcmp(lowering_rules[i].op_type, node->op_type) == 0) return lowering_rules[i].lower;
    return NULL;
}

static nnq_status lower_node(lowering *L, const nnq_node *node) {
    lower_fn lower = rule_for(node);
    bool lowered = false;
    snprintf(L->reason, sizeof L->reason, "%s has no integer kernel", node->op_type);
    if (lower) NNQ_TRY(lower(L, node, &lowered));
    return lowered ? NNQ_OK : lower_float_node(L, node);
}

static nnq_status bind_input(lowering *L) {
    const nnq_value_info *input = graph_single_runtime_input(&L->model.graph);
    if (!input) return nnq_fail(NNQ_ERR_UNSUPPORTED, "integer lowering needs a model with exactly one input");
    NNQ_TRY(add_tensor(L, input->name, INTQ_FLOAT32, &L->program->input));
    NNQ_TRY(name_map_put(&L->float_of, input->name, L->program->input));
    int ignored;
    if (has_grid(L, input->name)) NNQ_TRY(emit_quantize(L, input->name, L->program->input, &ignored));
    return NNQ_OK;
}

static nnq_status bind_outputs(lowering *L) {
    const nnq_graph *g = &L->model.graph;
    L->program->outputs = calloc((size_t)g->n_outputs + 1, sizeof *L->program->outputs);
    if (!L->program->outputs) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    L->program->n_outputs = g->n_outputs;
    for (int i = 0; i < g->n_outputs; i++) NNQ_TRY(require_float(L, g->outputs[i].name, &L->program->outputs[i]));
    return NNQ_OK;
}

/* The copy the lowering reads: batch 1 everywhere, shapes inferred. */
static nnq_status prepare_model(lowering *L, const nnq_model *model) {
    NNQ_TRY(model_copy(&L->model, model));
    nnq_graph *g = &L->model.graph;
    for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i].rank >= 1 && !graph_find_initializer(g, g->inputs[i].name)) {
            g->inputs[i].dims[0] = 1;
            free(g->inputs[i].dim_params[0]);
            g->inputs[i].dim_params[0] = NULL;
        }
    for (int i = 0; i < g->n_value_infos; i++) value_info_free(&g->value_infos[i]);
    g->n_value_infos = 0;
    for (int i = 0; i < g->n_outputs; i++) /* symbolic output dims would block inference */
        for (int d = 0; d < g->outputs[i].rank; d++) {
            free(g->outputs[i].dim_params[d]);
            g->outputs[i].dim_params[d] = NULL;
            g->outputs[i].dims[d] = NNQ_UNKNOWN_DIM;
        }
    return pass_infer_shapes(&L->model);
}

static nnq_status lower_all(lowering *L, const nnq_model *model) {
    NNQ_TRY(prepare_model(L, model));
    const nnq_graph *g = &L->model.graph;
    NNQ_TRY(graph_find_activation_fusions(&L->model, &L->fusions));
    NNQ_TRY(graph_map_consumers(g, &L->consumers));
    NNQ_TRY(name_map_init(&L->int_of, (size_t)g->n_nodes * 2 + 8));
    NNQ_TRY(name_map_init(&L->float_of, (size_t)g->n_nodes * 2 + 8));
    L->done = calloc((size_t)g->n_nodes + 1, sizeof *L->done);
    if (!L->done) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    NNQ_TRY(bind_input(L));
    for (int n = 0; n < g->n_nodes; n++) {
        if (L->done[n]) continue;
        nnq_status st = lower_node(L, &g->nodes[n]);
        if (st != NNQ_OK)
            return nnq_fail_context(st, "lowering node '%s' (%s)", node_display_name(&g->nodes[n]),
                                    g->nodes[n].op_type);
    }
    NNQ_TRY(bind_outputs(L));
    intq_program_plan_memory(L->program);
    return NNQ_OK;
}

intq_lowering_options intq_lowering_defaults(void) {
    return (intq_lowering_options){.mode = INTQ_RESCALE_FIXED32, .rescale_per_output = true};
}

nnq_status intq_lower(const nnq_model *model, const nnq_plan *plan, const intq_lowering_options *options,
                      intq_program *out) {
    memset(out, 0, sizeof *out);
    out->mode = options->mode;
    out->rescale_per_output = options->rescale_per_output;
    lowering L = {.plan = plan, .options = options, .program = out};
    nnq_status st = lower_all(&L, model);
    model_free(&L.model);
    activation_fusions_free(&L.fusions);
    graph_consumers_free(&L.consumers);
    name_map_free(&L.int_of);
    name_map_free(&L.float_of);
    free(L.done);
    if (st != NNQ_OK) intq_program_free(out);
    return st;
}

int intq_program_float_steps(const intq_program *p, char *buf, size_t size) {
    int count = 0;
    size_t used = 0;
    if (size) buf[0] = '\0';
    for (int i = 0; i < p->n_ops; i++) {
        const intq_op *op = &p->ops[i];
        if (op->kind != INTQ_OP_FLOAT_NODE) continue;
        if (used < size)
            used += (size_t)snprintf(buf + used, size - used, "%s%s '%s' (%s)", count ? ", " : "",
                                     op->u.float_node.node.op_type, op->node_name, op->u.float_node.reason);
        count++;
    }
    return count;
}
