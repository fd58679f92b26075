#include "quant/sign_map.h"

#include <string.h>

#include "base/status.h"

typedef enum sign_rule {
    SIGN_ALWAYS,      /* output >= 0 whatever the input: Relu, Sigmoid, Softmax, ... */
    SIGN_ALL_INPUTS,  /* output >= 0 when every data input is (pools, reshapes, Concat, Add, Mul, Min) */
    SIGN_ANY_INPUT,   /* output >= 0 when one input is (Max) */
    SIGN_FIRST_INPUT, /* output >= 0 when input 0 is (the other inputs are shapes, indices, sizes) */
    SIGN_CLIP,        /* output >= 0 when the lower bound is */
} sign_rule;

typedef struct sign_row {
    const char *op_type;
    sign_rule rule;
} sign_row;

static const sign_row rows[] = {
    {"Relu", SIGN_ALWAYS},        {"Sigmoid", SIGN_ALWAYS},        {"Softmax", SIGN_ALWAYS},
    {"Abs", SIGN_ALWAYS},         {"Exp", SIGN_ALWAYS},            {"Softplus", SIGN_ALWAYS},
    {"HardSigmoid", SIGN_ALWAYS}, {"Sqrt", SIGN_ALWAYS},           {"Clip", SIGN_CLIP},
    {"MaxPool", SIGN_FIRST_INPUT}, {"GlobalMaxPool", SIGN_ALL_INPUTS}, {"AveragePool", SIGN_ALL_INPUTS},
    {"GlobalAveragePool", SIGN_ALL_INPUTS}, {"Reshape", SIGN_FIRST_INPUT}, {"Flatten", SIGN_ALL_INPUTS},
    {"Transpose", SIGN_ALL_INPUTS}, {"Squeeze", SIGN_FIRST_INPUT},  {"Unsqueeze", SIGN_FIRST_INPUT},
    {"Identity", SIGN_ALL_INPUTS}, {"Dropout", SIGN_FIRST_INPUT},  {"Concat", SIGN_ALL_INPUTS},
    {"Add", SIGN_ALL_INPUTS},     {"Mul", SIGN_ALL_INPUTS},        {"Min", SIGN_ALL_INPUTS},
    {"Max", SIGN_ANY_INPUT},      {"Resize", SIGN_FIRST_INPUT},    {"Upsample", SIGN_FIRST_INPUT},
    {"Slice", SIGN_FIRST_INPUT},  {"Gather", SIGN_FIRST_INPUT},    {"Split", SIGN_FIRST_INPUT},
};

static bool all_values_nonnegative(const nnq_tensor *t) {
    int64_t n = tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        if (!(tensor_get_double(t, i) >= 0.0)) return false;
    return true;
}

static bool is_nonnegative(const nnq_model *m, const name_map *known, const char *name) {
    if (!*name) return true; /* an omitted optional input does not make anything negative */
    if (name_map_get(known, name) >= 0) return true;
    const nnq_tensor *init = graph_find_initializer(&m->graph, name);
    return init && !graph_is_runtime_input(&m->graph, name) && all_values_nonnegative(init);
}

/* Clip's lower bound: attribute before opset 11, constant input from 11. */
static bool clip_lower_bound_nonnegative(const nnq_model *m, const nnq_node *node) {
    if (model_opset(m, node->domain) < 11) return node_attr_float(node, "min", -1.0f) >= 0.0f;
    if (node->n_inputs < 2 || !*node->inputs[1]) return false;
    const nnq_tensor *lower = graph_find_initializer(&m->graph, node->inputs[1]);
    return lower && tensor_numel(lower) == 1 && tensor_get_double(lower, 0) >= 0.0;
}

static bool output_nonnegative(const nnq_model *m, const name_map *known, const nnq_node *node) {
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        if (strcmp(rows[r].op_type, node->op_type) != 0) continue;
        switch (rows[r].rule) {
        case SIGN_ALWAYS: return true;
        case SIGN_CLIP: return clip_lower_bound_nonnegative(m, node) || (node->n_inputs > 0 && is_nonnegative(m, known, node->inputs[0]));
        case SIGN_FIRST_INPUT: return node->n_inputs > 0 && is_nonnegative(m, known, node->inputs[0]);
        case SIGN_ALL_INPUTS:
            for (int i = 0; i < node->n_inputs; i++)
                if (!is_nonnegative(m, known, node->inputs[i])) return false;
            return node->n_inputs > 0;
        case SIGN_ANY_INPUT:
            for (int i = 0; i < node->n_inputs; i++)
                if (*node->inputs[i] && is_nonnegative(m, known, node->inputs[i])) return true;
            return false;
        }
    }
    return false;
}

nnq_status sign_map_compute(const nnq_model *model, name_map *nonnegative) {
    const nnq_graph *g = &model->graph;
    NNQ_TRY(name_map_init(nonnegative, (size_t)g->n_nodes * 2));
    for (int n = 0; n < g->n_nodes; n++) {
        const nnq_node *node = &g->nodes[n];
        bool default_domain = !*node->domain || strcmp(node->domain, "ai.onnx") == 0;
        if (!default_domain || !output_nonnegative(model, nonnegative, node)) continue;
        /* Only the data output: MaxPool's indices and Dropout's mask are not activations. */
        if (node->n_outputs > 0 && *node->outputs[0]) {
            nnq_status st = name_map_put(nonnegative, node->outputs[0], 1);
            if (st != NNQ_OK) {
                name_map_free(nonnegative);
                return st;
            }
        }
        if (strcmp(node->op_type, "Split") == 0)
            for (int o = 1; o < node->n_outputs; o++)
                if (*node->outputs[o]) NNQ_TRY(name_map_put(nonnegative, node->outputs[o], 1));
    }
    return NNQ_OK;
}
