/* Identity removal: Identity nodes, and Dropout nodes that are the identity
 * at inference, are taken out of the graph; their readers read the input
 * directly. Graph output names are part of the model's interface and stay. */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/passes/graph_edit.h"
#include "ir/passes/passes.h"

/* Dropout's optional training_mode input (opset 12+) given as a fixed
 * initializer holding false. */
static bool is_constant_false(const nnq_graph *g, const char *name) {
    const nnq_tensor *t = graph_find_fixed_initializer(g, name);
    return t && t->data && tensor_numel(t) == 1 && tensor_get_int64(t, 0) == 0;
}

/* ONNX Dropout: before opset 7 the is_test attribute selects inference
 * (default 0, training); from opset 12 the training_mode input does
 * (default false). The mask output, if anyone reads it, keeps the node. */
static bool dropout_is_identity(const nnq_model *model, const nnq_node *node) {
    const nnq_graph *g = &model->graph;
    int64_t opset = model_opset(model, "");
    if (opset < 7 && node_attr_int(node, "is_test", 0) == 0) return false;
    if (opset >= 12 && node->n_inputs >= 3 && *node->inputs[2] && !is_constant_false(g, node->inputs[2])) return false;
    if (node->n_outputs >= 2 && *node->outputs[1]) {
        const char *mask = node->outputs[1];
        if (graph_is_output(g, mask) || graph_count_readers(g, NULL, mask) > 0) return false;
    }
    return true;
}

static bool is_removable(const nnq_model *model, const nnq_node *node) {
    if (*node->domain && strcmp(node->domain, "ai.onnx") != 0) return false;
    if (node->n_inputs < 1 || !*node->inputs[0] || node->n_outputs < 1 || !*node->outputs[0]) return false;
    if (strcmp(node->op_type, "Identity") == 0) return node->n_inputs == 1 && node->n_outputs == 1;
    if (strcmp(node->op_type, "Dropout") == 0) return dropout_is_identity(model, node);
    return false;
}

/* Takes node n (already marked in gone) out of the data flow, reporting via
 * *bypassed whether that was possible without changing a graph output name:
 * - its output is internal: readers of the output read the input instead;
 * - its output is a graph output: the input's producer is renamed to produce
 *   the output name directly, and the input's other readers follow. That is
 *   impossible when the input is itself a graph input, initializer or graph
 *   output - then the node stays. */
static nnq_status bypass_node(nnq_graph *g, const bool *gone, int n, bool *bypassed) {
    const nnq_node *node = &g->nodes[n];
    const char *in = node->inputs[0], *out = node->outputs[0];
    *bypassed = false;
    if (!graph_is_output(g, out)) {
        NNQ_TRY(graph_rename_inputs(g, gone, out, in));
        graph_forget_value_info(g, out);
        *bypassed = true;
        return NNQ_OK;
    }
    int slot;
    int producer = graph_find_producer(g, gone, in, &slot);
    if (producer < 0 || graph_is_output(g, in)) return NNQ_OK;
    NNQ_TRY(graph_rename_inputs(g, gone, in, out));
    NNQ_TRY(node_set_output(&g->nodes[producer], slot, out));
    graph_forget_value_info(g, in);
    *bypassed = true;
    return NNQ_OK;
}

nnq_status pass_remove_identities(nnq_model *model, int *removed) {
    nnq_graph *g = &model->graph;
    *removed = 0;
    if (graph_has_subgraphs(g)) return NNQ_OK;
    NNQ_TRY(pass_sort_topologically(model));
    bool *gone = calloc((size_t)g->n_nodes + 1, sizeof *gone);
    if (!gone) return nnq_fail(NNQ_ERR_NOMEM, "out of memory removing identities");
    nnq_status st = NNQ_OK;
    for (int n = 0; st == NNQ_OK && n < g->n_nodes; n++) {
        if (!is_removable(model, &g->nodes[n])) continue;
        gone[n] = true; /* so the renames below leave the node's own names alone */
        bool bypassed = false;
        st = bypass_node(g, gone, n, &bypassed);
        if (st != NNQ_OK) {
            st = nnq_fail_context(st, "removing node '%s'", node_display_name(&g->nodes[n]));
            break;
        }
        if (!bypassed) {
            gone[n] = false;
            continue;
        }
        const nnq_node *node = &g->nodes[n];
        if (node->n_outputs >= 2 && *node->outputs[1]) graph_forget_value_info(g, node->outputs[1]);
        (*removed)++;
    }
    if (st == NNQ_OK) graph_remove_nodes(g, gone);
    free(gone);
    return st;
}
