/* How each operator takes part in quantization: one table, one row per op
 * type (DESIGN.md: adding an operator touches one row here). */
#ifndef NNQ_QUANT_OP_RULES_H
#define NNQ_QUANT_OP_RULES_H

#include <stdbool.h>

#include "ir/graph.h"

typedef enum op_quant_kind {
    OPQ_FLOAT = 0,     /* runs in float: reads dequantized inputs, its output is not quantized */
    OPQ_COMPUTE,       /* runs quantized: activation inputs, weights, bias and output get grids */
    OPQ_PASS_THROUGH,  /* moves or selects values: its output stays on its input's grid */
} op_quant_kind;

typedef struct op_quant_rule {
    const char *op_type;
    op_quant_kind kind;
    int weight_input;  /* input index of the weight (quantized as a weight when constant), -1 if none */
    int bias_input;    /* input index of an int32 bias (scale s_x * s_w), -1 if none */
    bool joins;        /* a joining node (Add, Concat): inputs may share one grid (max arbitration) */
} op_quant_rule;

/* The rule for a node (default-domain ops only); kind OPQ_FLOAT for ops without a row. */
const op_quant_rule *op_quant_rule_for(const nnq_node *node);

/* The channel axis of a node's weight for per-channel quantization: the
 * weight's output-channel axis (Conv: 0; ConvTranspose: 1; Gemm: 0 with
 * transB, else 1; MatMul: the last axis). */
int op_weight_channel_axis(const nnq_node *node, int weight_rank);

#endif
