/* Dead-node removal: a node is live when one of its outputs is a graph
 * output or an input of a live node. One backward sweep over the
 * topologically sorted nodes decides liveness for all. */
#include <stdlib.h>
#include <string.h>

#include "base/name_map.h"
#include "base/status.h"
#include "ir/passes/passes.h"

static nnq_status mark_needed(name_map *needed, const char *name) {
    return *name ? name_map_put(needed, name, 1) : NNQ_OK;
}

nnq_status pass_remove_dead_nodes(nnq_model *model, int *removed) {
    nnq_graph *g = &model->graph;
    *removed = 0;
    NNQ_TRY(pass_sort_topologically(model));
    name_map needed;
    NNQ_TRY(name_map_init(&needed, (size_t)g->n_nodes * 2 + (size_t)g->n_outputs));
    bool *dead = calloc((size_t)g->n_nodes + 1, sizeof *dead);
    nnq_status st = dead ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    for (int i = 0; st == NNQ_OK && i < g->n_outputs; i++) st = mark_needed(&needed, g->outputs[i].name);
    for (int n = g->n_nodes - 1; st == NNQ_OK && n >= 0; n--) {
        const nnq_node *node = &g->nodes[n];
        bool live = false;
        for (int o = 0; o < node->n_outputs && !live; o++) live = *node->outputs[o] && name_map_get(&needed, node->outputs[o]) >= 0;
        if (!live) {
            dead[n] = true;
            (*removed)++;
            continue;
        }
        for (int i = 0; st == NNQ_OK && i < node->n_inputs; i++) st = mark_needed(&needed, node->inputs[i]);
    }
    if (st == NNQ_OK) {
        graph_remove_nodes(g, dead);
        /* Initializers nothing reads (graph inputs keep theirs: a user may feed them). */
        for (int i = g->n_initializers - 1; i >= 0; i--) {
            const char *name = g->initializers[i].name;
            if (name_map_get(&needed, name) < 0 && !graph_is_input(g, name) && !graph_is_output(g, name)) graph_remove_initializer(g, i);
        }
    }
    free(dead);
    name_map_free(&needed);
    return st;
}
