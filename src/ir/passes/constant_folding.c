/* Constant folding: a node whose every input is known before the model runs
 * is evaluated once, its outputs become initializers and the node goes. */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/passes/passes.h"
#include "run/node_eval.h"

/* Folded outputs larger than this stay computed at run time: folding would
 * only trade a fast op for a bigger model file. */
#define MAX_FOLDED_BYTES ((int64_t)64 << 20)

/* Quantization nodes are the structure of a QDQ model, not computation to
 * simplify: folding DequantizeLinear(int8 weights) would turn the model back
 * into float weights. */
static bool is_kept_structure(const nnq_node *node) {
    return strcmp(node->op_type, "QuantizeLinear") == 0 || strcmp(node->op_type, "DequantizeLinear") == 0 ||
           strcmp(node->op_type, "DynamicQuantizeLinear") == 0;
}

/* Random and training-mode ops are not functions of their inputs. */
static bool is_nondeterministic(const nnq_node *node) {
    return strncmp(node->op_type, "Random", 6) == 0 || strcmp(node->op_type, "Multinomial") == 0 ||
           strcmp(node->op_type, "Bernoulli") == 0;
}

/* Shape and Size read only their input's shape: with a fully known static
 * shape they fold even though the input's values are not known. */
static const nnq_value_info *static_shape_source(const nnq_graph *g, const nnq_node *node) {
    if (!node_reads_only_input_shape(node) || node->n_inputs != 1) return NULL;
    const nnq_value_info *info = graph_find_value_info(g, node->inputs[0]);
    if (!info || info->rank < 0) return NULL;
    for (int i = 0; i < info->rank; i++)
        if (info->dims[i] < 0) return NULL;
    return info;
}

/* Gathers the node's inputs if all are constant. shape_only receives a data-less
 * tensor when the input is only known by its static shape. */
static bool constant_inputs(const nnq_graph *g, const nnq_node *node, const nnq_tensor **inputs,
                            nnq_tensor *shape_only) {
    const nnq_value_info *info = static_shape_source(g, node);
    if (info) {
        memset(shape_only, 0, sizeof *shape_only);
        tensor_set_shape(shape_only, info->dtype, info->rank, info->dims);
        inputs[0] = shape_only;
        return true;
    }
    for (int i = 0; i < node->n_inputs; i++) {
        inputs[i] = NULL;
        if (!*node->inputs[i]) continue;
        /* A graph input that is also an initializer is only a default: the user may override it. */
        if (!(inputs[i] = graph_find_fixed_initializer(g, node->inputs[i]))) return false;
    }
    return true;
}

static bool too_large(const nnq_tensor *outputs, int n) {
    for (int o = 0; o < n; o++)
        if (tensor_numel(&outputs[o]) * (int64_t)dtype_size(outputs[o].dtype) > MAX_FOLDED_BYTES) return true;
    return false;
}

/* Turns the outputs into initializers named after the node's outputs. */
static nnq_status adopt_outputs(nnq_graph *g, const nnq_node *node, nnq_tensor *outputs) {
    for (int o = 0; o < node->n_outputs; o++) {
        if (!*node->outputs[o]) {
            tensor_free(&outputs[o]);
            continue;
        }
        free(outputs[o].name);
        if (!(outputs[o].name = strdup(node->outputs[o]))) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        NNQ_TRY(graph_add_initializer(g, &outputs[o]));
    }
    return NNQ_OK;
}

nnq_status pass_fold_constants(nnq_model *model, int *folded) {
    nnq_graph *g = &model->graph;
    *folded = 0;
    NNQ_TRY(pass_sort_topologically(model));
    bool *fold = calloc((size_t)g->n_nodes + 1, sizeof *fold);
    if (!fold) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    nnq_status st = NNQ_OK;
    /* Nodes are in topological order, so an output folded here is an
     * initializer by the time its consumers are visited. */
    for (int n = 0; st == NNQ_OK && n < g->n_nodes; n++) {
        const nnq_node *node = &g->nodes[n];
        if (is_kept_structure(node) || is_nondeterministic(node)) continue;
        const nnq_op_def *op;
        int opset;
        if (node_find_op(model, node, &op, &opset) != NNQ_OK) continue; /* unsupported: left for the executor to report */
        const nnq_tensor **inputs = calloc((size_t)node->n_inputs + 1, sizeof *inputs);
        nnq_tensor *outputs = calloc((size_t)node->n_outputs + 1, sizeof *outputs);
        nnq_tensor shape_only;
        if (!inputs || !outputs) st = nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        else if (constant_inputs(g, node, inputs, &shape_only)) {
            /* A node that fails on constant inputs is left in place: the run will report it with context. */
            if (node_evaluate(op, opset, node, inputs, outputs) == NNQ_OK) {
                if (too_large(outputs, node->n_outputs)) {
                    for (int o = 0; o < node->n_outputs; o++) tensor_free(&outputs[o]);
                } else {
                    st = adopt_outputs(g, node, outputs);
                    fold[n] = true;
                    (*folded)++;
                }
            }
        }
        free(inputs);
        free(outputs);
    }
    if (st == NNQ_OK) graph_remove_nodes(g, fold);
    free(fold);
    return st;
}
