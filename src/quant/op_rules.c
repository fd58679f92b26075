#include "quant/op_rules.h"

#include <string.h>

/* Compute ops requantize their output; pass-through ops (MaxPool and the
 * reshaping family) keep their input's grid, as integer kernels for them
 * only move values (the scheme rules; ONNX Runtime's QDQ does the same);
 * averaging pools requantize because their output range differs. */
static const op_quant_rule rules[] = {
    {"Conv", OPQ_COMPUTE, 1, 2, false},
    {"ConvTranspose", OPQ_COMPUTE, 1, 2, false},
    {"Gemm", OPQ_COMPUTE, 1, 2, false},
    {"MatMul", OPQ_COMPUTE, 1, -1, false},
    {"Add", OPQ_COMPUTE, -1, -1, true},
    {"Mul", OPQ_COMPUTE, -1, -1, false},
    {"Concat", OPQ_COMPUTE, -1, -1, true},
    {"AveragePool", OPQ_COMPUTE, -1, -1, false},
    {"GlobalAveragePool", OPQ_COMPUTE, -1, -1, false},
    {"MaxPool", OPQ_PASS_THROUGH, -1, -1, false},
    {"GlobalMaxPool", OPQ_PASS_THROUGH, -1, -1, false},
    {"Relu", OPQ_PASS_THROUGH, -1, -1, false},
    {"Clip", OPQ_PASS_THROUGH, -1, -1, false},
    {"Reshape", OPQ_PASS_THROUGH, -1, -1, false},
    {"Flatten", OPQ_PASS_THROUGH, -1, -1, false},
    {"Transpose", OPQ_PASS_THROUGH, -1, -1, false},
    {"Squeeze", OPQ_PASS_THROUGH, -1, -1, false},
    {"Unsqueeze", OPQ_PASS_THROUGH, -1, -1, false},
    {"Identity", OPQ_PASS_THROUGH, -1, -1, false},
};

static const op_quant_rule float_rule = {"", OPQ_FLOAT, -1, -1, false};

const op_quant_rule *op_quant_rule_for(const nnq_node *node) {
    if (node->domain && *node->domain && strcmp(node->domain, "ai.onnx") != 0) return &float_rule;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (strcmp(rules[i].op_type, node->op_type) == 0) return &rules[i];
    return &float_rule;
}

int op_weight_channel_axis(const nnq_node *node, int weight_rank) {
    if (strcmp(node->op_type, "ConvTranspose") == 0) return 1;
    if (strcmp(node->op_type, "Gemm") == 0) return node_attr_int(node, "transB", 0) ? 0 : 1;
    if (strcmp(node->op_type, "MatMul") == 0) return weight_rank - 1;
    return 0;
}
