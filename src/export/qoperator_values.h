/* The integer tensors of a QOperator graph being written (qoperator_export.c's
 * bookkeeping): which graph tensor has an integer form, on which grid, in
 * which 8-bit type, and the few nodes that move values between forms.
 *
 * A value is an int8 or uint8 tensor with its scale and zero-point
 * initializers: real = scale (q - zero_point), q in [q_min, q_max] (the plan's
 * grid; narrower than the type for grids below 8 bits). Forms of a value:
 *   - its float form, DequantizeLinear'd once when a float reader needs it,
 *     named as the graph tensor (graph inputs: "<T>_dequantized");
 *   - its counterpart in the other 8-bit type (same scale, zero point and grid
 *     moved by 128), for ONNX Runtime's kernels, which want one type across
 *     x and y (QLinearConv, QLinearMatMul, QGemm) or across all operands
 *     (QLinearAdd, QLinearConcat, the average pools). The conversion is a
 *     DequantizeLinear -> QuantizeLinear pair: exact, since the real values
 *     are integer multiples of the same scale.
 * Output stages (qop_output_begin / _finish) let a quantized op write its
 * result and then apply what ONNX Runtime's saturation to the type does not:
 * the clamp of a fused Relu/Clip or of a grid narrower than 8 bits (an integer
 * Clip), and the conversion to the plan's type. */
#ifndef NNQ_EXPORT_QOPERATOR_VALUES_H
#define NNQ_EXPORT_QOPERATOR_VALUES_H

#include <stdbool.h>
#include <stdint.h>

#include "base/name_map.h"
#include "ir/graph.h"
#include "quant/plan.h"

typedef struct qop_value {
    char *tensor;            /* the graph tensor it holds */
    char *name;              /* the integer tensor in the written graph */
    char *scale, *zero_point; /* initializer names */
    nnq_dtype type;          /* NNQ_INT8 or NNQ_UINT8 */
    float scale_value;
    int32_t zero_point_value, q_min, q_max;
    bool produced;           /* some node (or initializer) provides name; else its counterpart is computed */
    char *float_name;        /* the float form, once emitted */
    int counterpart;         /* the same values in the other type, or -1 */
} qop_value;

typedef struct qop_graph {
    nnq_graph *g;            /* the graph being written */
    const nnq_graph *source; /* the FP32 graph the plan annotates */
    const nnq_plan *plan;
    name_map by_tensor;      /* graph tensor -> index of its integer value */
    int n_values, capacity;
    qop_value *values;
} qop_graph;

nnq_status qop_graph_init(qop_graph *q, nnq_graph *g, const nnq_graph *source, const nnq_plan *plan);
void qop_graph_free(qop_graph *q);

static inline qop_value *qop_at(const qop_graph *q, int index) { return &q->values[index]; }

/* The plan's quantizer of an activation-like tensor when QOperator can hold it: 8 bits or fewer, per tensor. */
const nnq_quantizer *qop_activation_grid(const qop_graph *q, const char *tensor);

/* The integer value of tensor: registered already, or a constant the plan
 * quantizes as an operand (quantized now); -1 in *index when it has none. */
nnq_status qop_require(qop_graph *q, const char *tensor, int *index);

/* The type of the form of value `index` that a node computed (converting to it costs nothing). */
nnq_dtype qop_computed_type(const qop_graph *q, int index);

/* The value of `index` in `type` - itself or its counterpart - under its name, converted now if no node
 * has computed that form yet. Use it before reading a value's name. */
nnq_status qop_convert(qop_graph *q, int index, nnq_dtype type, int *converted);

/* The name of tensor's float form for a float reader: its integer value
 * dequantized (once), a constant the plan quantizes behind its
 * DequantizeLinear, or the tensor itself. */
nnq_status qop_float_input(qop_graph *q, const char *tensor, const char **name);

/* A new value for tensor on the plan's grid (not yet produced, not registered). */
nnq_status qop_planned(qop_graph *q, const char *tensor, int *index);

/* A new value for tensor on the grid of `source`, stored as `name` (not yet produced, not registered). */
nnq_status qop_on_grid_of(qop_graph *q, const char *tensor, int source, const char *name, int *index);

/* True when binding value `index` to tensor needs no requantization: the plan
 * has no grid for tensor, or the value's. */
bool qop_keeps_grid(const qop_graph *q, const char *tensor, int index);

/* Registers value `index` (already produced, holding `tensor`) as tensor's
 * integer form - requantized onto the plan's grid for tensor when the plan
 * has a different one (DequantizeLinear -> QuantizeLinear). */
nnq_status qop_bind(qop_graph *q, const char *tensor, int index);

/* QuantizeLinear of float tensor `float_name` onto the plan's grid for
 * `tensor` (with the grid's clamp when narrower than 8 bits), registered. */
nnq_status qop_quantize_float(qop_graph *q, const char *tensor, const char *float_name);

/* Where an op writes value y computed in `type` and clamped to the real [lo, hi] (+-INFINITY: none). */
typedef struct qop_output {
    int y;                   /* the value the op computes */
    int written;             /* y or its counterpart in `type`: the op's output grid */
    const char *op_output;   /* the tensor the op writes */
    char *unclamped;         /* owned name when a Clip follows */
    int32_t low, high;       /* the clamp on written's grid */
} qop_output;

nnq_status qop_output_begin(qop_graph *q, int y, nnq_dtype type, float lo, float hi, qop_output *out);
/* After the op is added: the integer Clip; the written form is produced (y in its own type only when
 * a reader needs it: qop_convert). */
nnq_status qop_output_finish(qop_graph *q, qop_output *out);

/* An integer Clip of tensor `input` to [low, high] (on the grid of value `into`), writing value `into`. */
nnq_status qop_add_integer_clip(qop_graph *q, const char *input, int into, int32_t low, int32_t high);

#endif
