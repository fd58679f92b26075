#include <stdlib.h>

#include "base/status.h"
#include "ir/graph_order.h"
#include "ir/passes/passes.h"

nnq_status pass_sort_topologically(nnq_model *model) {
    nnq_graph *g = &model->graph;
    int *order = malloc(sizeof(int) * ((size_t)g->n_nodes + 1));
    nnq_node *sorted = malloc(sizeof(nnq_node) * ((size_t)g->n_nodes + 1));
    if (!order || !sorted) {
        free(order);
        free(sorted);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory sorting the graph");
    }
    nnq_status st = graph_topological_order(g, order);
    if (st == NNQ_OK) {
        for (int i = 0; i < g->n_nodes; i++) sorted[i] = g->nodes[order[i]];
        free(g->nodes);
        g->nodes = sorted;
        g->nodes_capacity = g->n_nodes + 1;
        sorted = NULL;
    }
    free(sorted);
    free(order);
    return st;
}
