/* Building blocks the quantized ONNX exports share (QDQ and QOperator): derived
 * tensor names, a quantizer's scale and zero-point initializers, constants
 * stored as integers (optionally behind a DequantizeLinear), and node
 * construction. Every tensor a block adds is named "<base><suffix>":
 *   <T>_quantized   the integer form of T      <T>_scale, <T>_zero_point   its grid
 * so both exports name the same things the same way. */
#ifndef NNQ_EXPORT_QUANTIZED_GRAPH_H
#define NNQ_EXPORT_QUANTIZED_GRAPH_H

#include "ir/graph.h"
#include "quant/plan.h"

/* "<base><suffix>" in a fresh heap string (NULL when out of memory). */
char *export_name(const char *base, const char *suffix);

/* Names t "<base><suffix>" and adds it (the graph takes t's data; t is freed on failure). */
nnq_status export_add_initializer(nnq_graph *g, nnq_tensor *t, const char *base, const char *suffix);

/* <base>_scale (float) and <base>_zero_point (the quantizer's storage type):
 * scalars per tensor, vectors per channel. Nothing happens when <base>_scale exists. */
nnq_status export_add_scale_and_zero_point(nnq_graph *g, const nnq_quantizer *q, const char *base);

/* Appends a node of the default domain (domain NULL) or another one; names and attributes are copied. */
nnq_status export_add_node(nnq_graph *g, const char *op_type, const char *domain, const char *name,
                           const char *const *inputs, int n_inputs, const char *output, const nnq_attr *attrs,
                           int n_attrs);
/* A QuantizeLinear / DequantizeLinear (or any node) with an "axis" attribute when axis >= 0. */
nnq_status export_add_axis_node(nnq_graph *g, const char *op_type, const char *name, const char *const *inputs,
                                int n_inputs, const char *output, int axis);

/* Old models (IR < 4) also list initializers as graph inputs; a constant
 * that is replaced must leave that list. */
void export_drop_graph_input(nnq_graph *g, const char *name);

/* Constant q->tensor (a float initializer of g) as integers: <T>_quantized with
 * <T>_scale and <T>_zero_point. Nothing happens when <T>_quantized exists. */
nnq_status export_add_quantized_constant(nnq_graph *g, const nnq_quantizer *q);

/* Replaces float constant q->tensor by its integer form and a DequantizeLinear
 * (per axis when per channel) that computes T again under its own name. */
nnq_status export_dequantize_constant(nnq_graph *g, const nnq_quantizer *q);

/* Grids the exports write: at most 8 bits (biases: 32), activations per tensor. */
nnq_status export_check_plan(const nnq_plan *plan, const char *format);

#endif
