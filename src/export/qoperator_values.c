#include "export/qoperator_values.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "export/quantized_graph.h"
#include "quant/qscheme.h"
#include "quant/quantize_tensor.h"

/* uint8 q and int8 q - 128 are the same point of a grid with the zero point moved along. */
enum { TYPE_OFFSET = 128 };

static const char *type_suffix(nnq_dtype type) { return type == NNQ_UINT8 ? "_uint8" : "_int8"; }

static void container_range(nnq_dtype type, int32_t *lo, int32_t *hi) {
    *lo = type == NNQ_UINT8 ? 0 : -128;
    *hi = type == NNQ_UINT8 ? 255 : 127;
}

nnq_status qop_graph_init(qop_graph *q, nnq_graph *g, const nnq_graph *source, const nnq_plan *plan) {
    memset(q, 0, sizeof *q);
    q->g = g;
    q->source = source;
    q->plan = plan;
    return name_map_init(&q->by_tensor, (size_t)source->n_nodes * 2 + 16);
}

static void value_free(qop_value *v) {
    free(v->tensor);
    free(v->name);
    free(v->scale);
    free(v->zero_point);
    free(v->float_name);
}

void qop_graph_free(qop_graph *q) {
    for (int i = 0; i < q->n_values; i++) value_free(&q->values[i]);
    free(q->values);
    name_map_free(&q->by_tensor);
    memset(q, 0, sizeof *q);
}

/* Appends v (taking its strings; freed on failure) and returns its index. */
static nnq_status append_value(qop_graph *q, qop_value *v, int *index) {
    bool complete = v->tensor && v->name && v->scale && v->zero_point;
    if (complete && q->n_values == q->capacity) {
        int capacity = q->capacity ? q->capacity * 2 : 32;
        qop_value *grown = realloc(q->values, sizeof *grown * (size_t)capacity);
        if (grown) {
            q->values = grown;
            q->capacity = capacity;
        } else {
            complete = false;
        }
    }
    if (!complete) {
        value_free(v);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    }
    *index = q->n_values++;
    q->values[*index] = *v;
    return NNQ_OK;
}

const nnq_quantizer *qop_activation_grid(const qop_graph *q, const char *tensor) {
    const nnq_quantizer *grid = plan_find(q->plan, tensor);
    if (!grid || grid->role != NNQ_ROLE_ACTIVATION || grid->n_channels != 1 || grid->scheme.bits > 8) return NULL;
    return grid;
}

/* A value on quantizer `grid`'s scale, zero point and range, named <tensor><suffix>. */
static nnq_status value_on_plan_grid(qop_graph *q, const nnq_quantizer *grid, const char *tensor, bool produced,
                                     int *index) {
    NNQ_TRY(export_add_scale_and_zero_point(q->g, grid, tensor));
    qop_value v = {0};
    v.tensor = strdup(tensor);
    v.name = export_name(tensor, "_quantized");
    v.scale = export_name(tensor, "_scale");
    v.zero_point = export_name(tensor, "_zero_point");
    v.type = quantizer_storage_type(grid);
    v.scale_value = grid->scales[0];
    v.zero_point_value = grid->zero_points[0];
    quantizer_grid(grid, &v.q_min, &v.q_max);
    v.produced = produced;
    v.counterpart = -1;
    return append_value(q, &v, index);
}

nnq_status qop_planned(qop_graph *q, const char *tensor, int *index) {
    const nnq_quantizer *grid = qop_activation_grid(q, tensor);
    if (!grid) return nnq_fail(NNQ_ERR_INVALID, "tensor '%s' has no 8-bit per-tensor grid in the plan", tensor);
    return value_on_plan_grid(q, grid, tensor, false, index);
}

nnq_status qop_on_grid_of(qop_graph *q, const char *tensor, int source, const char *name, int *index) {
    const qop_value *s = qop_at(q, source);
    qop_value v = *s;
    v.tensor = strdup(tensor);
    v.name = strdup(name);
    v.scale = strdup(s->scale);
    v.zero_point = strdup(s->zero_point);
    v.produced = false;
    v.float_name = NULL;
    v.counterpart = -1;
    return append_value(q, &v, index);
}

nnq_status qop_require(qop_graph *q, const char *tensor, int *index) {
    if ((*index = name_map_get(&q->by_tensor, tensor)) >= 0) return NNQ_OK;
    const nnq_tensor *constant = graph_find_fixed_initializer(q->source, tensor);
    const nnq_quantizer *grid = qop_activation_grid(q, tensor);
    if (!constant || constant->dtype != NNQ_FLOAT || !grid) return NNQ_OK;
    /* A constant operand (Add, Concat): stored as integers once. */
    NNQ_TRY(export_add_quantized_constant(q->g, grid));
    NNQ_TRY(value_on_plan_grid(q, grid, tensor, true, index));
    return name_map_put(&q->by_tensor, qop_at(q, *index)->tensor, *index);
}

static nnq_status add_quantize_pair_node(qop_graph *q, const char *op_type, const char *input, int value,
                                         const char *output) {
    const qop_value *v = qop_at(q, value);
    const char *inputs[3] = {input, v->scale, v->zero_point};
    char *node_name = export_name(output, op_type[0] == 'Q' ? "_QuantizeLinear" : "_DequantizeLinear");
    if (!node_name) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    nnq_status st = export_add_axis_node(q->g, op_type, node_name, inputs, 3, output, -1);
    free(node_name);
    return st;
}

/* DequantizeLinear of value `from` -> <to's name>_float -> QuantizeLinear onto value `to`. */
static nnq_status add_requantization(qop_graph *q, int from, int to) {
    char *between = export_name(qop_at(q, to)->name, "_float");
    if (!between) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    nnq_status st = add_quantize_pair_node(q, "DequantizeLinear", qop_at(q, from)->name, from, between);
    if (st == NNQ_OK) st = add_quantize_pair_node(q, "QuantizeLinear", between, to, qop_at(q, to)->name);
    free(between);
    return st;
}

/* The same grid in the other 8-bit type: created (with its zero-point initializer), not produced. */
static nnq_status counterpart_of(qop_graph *q, int index, nnq_dtype type, int *out) {
    if ((*out = qop_at(q, index)->counterpart) >= 0) return NNQ_OK;
    const qop_value *v = qop_at(q, index);
    int32_t offset = type == NNQ_UINT8 ? TYPE_OFFSET : -TYPE_OFFSET;
    qop_value c = *v;
    c.tensor = strdup(v->tensor);
    c.name = export_name(v->name, type_suffix(type));
    c.scale = strdup(v->scale);
    char *zero_point_base = export_name(v->name, type_suffix(type));
    c.zero_point = zero_point_base ? export_name(zero_point_base, "_zero_point") : NULL;
    c.float_name = v->float_name ? strdup(v->float_name) : NULL;
    c.type = type;
    c.zero_point_value += offset;
    c.q_min += offset;
    c.q_max += offset;
    c.produced = false;
    c.counterpart = index;
    nnq_tensor zero_point = {0};
    nnq_status st = zero_point_base ? tensor_create(&zero_point, type, 0, NULL) : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st == NNQ_OK) {
        tensor_set_double(&zero_point, 0, c.zero_point_value);
        st = export_add_initializer(q->g, &zero_point, zero_point_base, "_zero_point");
    }
    free(zero_point_base);
    if (st != NNQ_OK) {
        value_free(&c);
        return st;
    }
    NNQ_TRY(append_value(q, &c, out));
    qop_at(q, index)->counterpart = *out;
    return NNQ_OK;
}

/* The form of value `index` some node computes: itself, or its counterpart (an op computed it in the
 * other type and nothing has needed this one yet); -1 when neither is computed. */
static int computed_form(const qop_graph *q, int index) {
    if (qop_at(q, index)->produced) return index;
    int other = qop_at(q, index)->counterpart;
    return other >= 0 && qop_at(q, other)->produced ? other : -1;
}

static nnq_status not_computed(const qop_graph *q, int index) {
    return nnq_fail(NNQ_ERR_INVALID, "tensor '%s' is computed by no earlier node", qop_at(q, index)->tensor);
}

nnq_dtype qop_computed_type(const qop_graph *q, int index) {
    int form = computed_form(q, index);
    return qop_at(q, form >= 0 ? form : index)->type;
}

/* Value `index` under its own name: converted from its counterpart the first time it is needed. */
static nnq_status produce(qop_graph *q, int index) {
    int form = computed_form(q, index);
    if (form < 0) return not_computed(q, index);
    if (form == index) return NNQ_OK;
    NNQ_TRY(add_requantization(q, form, index));
    qop_at(q, index)->produced = true;
    return NNQ_OK;
}

nnq_status qop_convert(qop_graph *q, int index, nnq_dtype type, int *converted) {
    *converted = index;
    if (qop_at(q, index)->type != type) NNQ_TRY(counterpart_of(q, index, type, converted));
    return produce(q, *converted);
}

/* The dequantized form of a registered value, emitted once (from whichever form was computed). */
static nnq_status float_form(qop_graph *q, int index, const char **name) {
    qop_value *v = qop_at(q, index);
    if (!v->float_name) {
        int form = computed_form(q, index);
        if (form < 0) return not_computed(q, index);
        /* Graph inputs keep their name for the float data fed in. */
        char *float_name = graph_is_input(q->source, v->tensor) ? export_name(v->tensor, "_dequantized")
                                                                 : strdup(v->tensor);
        if (!float_name) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        nnq_status st = add_quantize_pair_node(q, "DequantizeLinear", qop_at(q, form)->name, form, float_name);
        if (st != NNQ_OK) {
            free(float_name);
            return st;
        }
        v = qop_at(q, index);
        v->float_name = float_name;
        if (v->counterpart >= 0 && !qop_at(q, v->counterpart)->float_name) {
            qop_at(q, v->counterpart)->float_name = strdup(float_name);
            if (!qop_at(q, v->counterpart)->float_name) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        }
    }
    *name = v->float_name;
    return NNQ_OK;
}

nnq_status qop_float_input(qop_graph *q, const char *tensor, const char **name) {
    *name = tensor;
    const nnq_tensor *constant = graph_find_fixed_initializer(q->source, tensor);
    if (constant) {
        /* Weights, biases and operands the plan quantizes are read fake-quantized, as in the simulation. */
        const nnq_quantizer *grid = plan_find(q->plan, tensor);
        if (grid && constant->dtype == NNQ_FLOAT && graph_find_initializer(q->g, tensor))
            return export_dequantize_constant(q->g, grid);
        return NNQ_OK;
    }
    int index = name_map_get(&q->by_tensor, tensor);
    return index >= 0 ? float_form(q, index, name) : NNQ_OK;
}

bool qop_keeps_grid(const qop_graph *q, const char *tensor, int index) {
    const nnq_quantizer *grid = qop_activation_grid(q, tensor);
    if (!grid) return true;
    const qop_value *v = qop_at(q, index);
    int32_t q_min, q_max;
    quantizer_grid(grid, &q_min, &q_max);
    return v->type == quantizer_storage_type(grid) && v->scale_value == grid->scales[0] &&
           v->zero_point_value == grid->zero_points[0] && v->q_min == q_min && v->q_max == q_max;
}

nnq_status qop_output_begin(qop_graph *q, int y, nnq_dtype type, float lo, float hi, qop_output *out) {
    memset(out, 0, sizeof *out);
    out->y = y;
    out->written = y;
    if (qop_at(q, y)->type != type) NNQ_TRY(counterpart_of(q, y, type, &out->written));
    const qop_value *w = qop_at(q, out->written);
    /* The lowering's clamp bounds (lowering.c clamp_bounds): the grid, narrowed by a fused activation. */
    out->low = isfinite(lo) ? quantize_value(lo, w->scale_value, w->zero_point_value, w->q_min, w->q_max) : w->q_min;
    out->high = isfinite(hi) ? quantize_value(hi, w->scale_value, w->zero_point_value, w->q_min, w->q_max) : w->q_max;
    int32_t type_min, type_max;
    container_range(type, &type_min, &type_max);
    /* ONNX Runtime saturates to the type only (ONNX QLinearConv: saturate to uint8/int8). */
    if (out->low > type_min || out->high < type_max) {
        if (!(out->unclamped = export_name(w->name, "_unclamped"))) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        out->op_output = out->unclamped;
    } else {
        out->op_output = w->name;
    }
    return NNQ_OK;
}

nnq_status qop_output_finish(qop_graph *q, qop_output *out) {
    nnq_status st = NNQ_OK;
    if (out->unclamped) st = qop_add_integer_clip(q, out->unclamped, out->written, out->low, out->high);
    free(out->unclamped);
    out->unclamped = NULL;
    NNQ_TRY(st);
    /* y itself, when written is its counterpart, is converted only once a reader needs it in y's type. */
    qop_at(q, out->written)->produced = true;
    return NNQ_OK;
}

nnq_status qop_add_integer_clip(qop_graph *q, const char *input, int into, int32_t low, int32_t high) {
    const qop_value *v = qop_at(q, into);
    nnq_tensor lo = {0}, hi = {0};
    char *lo_name = export_name(v->name, "_clip_min"), *hi_name = export_name(v->name, "_clip_max"),
         *node_name = export_name(v->name, "_Clip");
    nnq_status st = lo_name && hi_name && node_name ? tensor_create(&lo, v->type, 0, NULL)
                                                    : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st == NNQ_OK) st = tensor_create(&hi, v->type, 0, NULL);
    if (st == NNQ_OK) {
        tensor_set_double(&lo, 0, low);
        tensor_set_double(&hi, 0, high);
        st = export_add_initializer(q->g, &lo, lo_name, "");
        if (st == NNQ_OK) st = export_add_initializer(q->g, &hi, hi_name, "");
        else tensor_free(&hi);
    } else {
        tensor_free(&lo);
    }
    /* Clip takes int8 / uint8 tensors since opset 12. */
    const char *inputs[3] = {input, lo_name, hi_name};
    if (st == NNQ_OK) st = export_add_node(q->g, "Clip", NULL, node_name, inputs, 3, qop_at(q, into)->name, NULL, 0);
    free(lo_name);
    free(hi_name);
    free(node_name);
    return st;
}

nnq_status qop_bind(qop_graph *q, const char *tensor, int index) {
    if (qop_keeps_grid(q, tensor, index)) return name_map_put(&q->by_tensor, qop_at(q, index)->tensor, index);
    int y;
    NNQ_TRY(qop_planned(q, tensor, &y));
    int form = computed_form(q, index);
    if (form < 0) return not_computed(q, index);
    qop_output out;
    NNQ_TRY(qop_output_begin(q, y, qop_at(q, y)->type, -INFINITY, INFINITY, &out));
    char *between = export_name(qop_at(q, form)->name, "_float");
    nnq_status st = between ? add_quantize_pair_node(q, "DequantizeLinear", qop_at(q, form)->name, form, between)
                            : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st == NNQ_OK) st = add_quantize_pair_node(q, "QuantizeLinear", between, out.written, out.op_output);
    free(between);
    if (st == NNQ_OK) st = qop_output_finish(q, &out);
    free(out.unclamped);
    NNQ_TRY(st);
    return name_map_put(&q->by_tensor, qop_at(q, y)->tensor, y);
}

nnq_status qop_quantize_float(qop_graph *q, const char *tensor, const char *float_name) {
    int y;
    NNQ_TRY(qop_planned(q, tensor, &y));
    qop_output out;
    NNQ_TRY(qop_output_begin(q, y, qop_at(q, y)->type, -INFINITY, INFINITY, &out));
    nnq_status st = add_quantize_pair_node(q, "QuantizeLinear", float_name, out.written, out.op_output);
    if (st == NNQ_OK) st = qop_output_finish(q, &out);
    free(out.unclamped);
    NNQ_TRY(st);
    return name_map_put(&q->by_tensor, qop_at(q, y)->tensor, y);
}
