#include "ir/graph_order.h"

#include <stdlib.h>
#include <string.h>

#include "base/status.h"

nnq_status graph_map_producers(const nnq_graph *graph, name_map *producers) {
    NNQ_TRY(name_map_init(producers, (size_t)graph->n_nodes * 2));
    for (int i = 0; i < graph->n_nodes; i++) {
        const nnq_node *node = &graph->nodes[i];
        for (int o = 0; o < node->n_outputs; o++) {
            const char *name = node->outputs[o];
            if (!*name) continue;
            if (name_map_get(producers, name) >= 0 || graph_find_initializer(graph, name)) {
                name_map_free(producers);
                return nnq_fail(NNQ_ERR_INVALID, "tensor '%s' is produced twice (again by node '%s')", name,
                                node_display_name(node));
            }
            nnq_status st = name_map_put(producers, name, i);
            if (st != NNQ_OK) {
                name_map_free(producers);
                return st;
            }
        }
    }
    return NNQ_OK;
}

static bool provided_without_node(const nnq_graph *graph, const char *name) {
    if (graph_find_initializer(graph, name)) return true;
    for (int i = 0; i < graph->n_inputs; i++)
        if (strcmp(graph->inputs[i].name, name) == 0) return true;
    return false;
}

enum { UNVISITED = 0, IN_PROGRESS = 1, DONE = 2 };

/* Iterative depth-first post-order: a node is emitted once all its producers are. */
nnq_status graph_topological_order(const nnq_graph *graph, int *order) {
    int n = graph->n_nodes;
    name_map producers;
    NNQ_TRY(graph_map_producers(graph, &producers));
    unsigned char *state = calloc((size_t)n + 1, 1);
    int *stack_node = malloc(sizeof(int) * ((size_t)n + 1));
    int *stack_input = malloc(sizeof(int) * ((size_t)n + 1));
    nnq_status st = NNQ_OK;
    if (!state || !stack_node || !stack_input) st = nnq_fail(NNQ_ERR_NOMEM, "out of memory ordering the graph");
    int emitted = 0;
    for (int root = 0; st == NNQ_OK && root < n; root++) {
        if (state[root] != UNVISITED) continue;
        int depth = 0;
        stack_node[0] = root;
        stack_input[0] = 0;
        state[root] = IN_PROGRESS;
        while (depth >= 0 && st == NNQ_OK) {
            const nnq_node *node = &graph->nodes[stack_node[depth]];
            if (stack_input[depth] == node->n_inputs) {
                state[stack_node[depth]] = DONE;
                order[emitted++] = stack_node[depth];
                depth--;
                continue;
            }
            const char *input = node->inputs[stack_input[depth]++];
            if (!*input) continue;
            int producer = name_map_get(&producers, input);
            if (producer < 0) {
                if (!provided_without_node(graph, input))
                    st = nnq_fail(NNQ_ERR_INVALID,
                                  "node '%s' (%s): input '%s' is not produced by any node, initializer or graph input",
                                  node_display_name(node), node->op_type, input);
                continue;
            }
            if (state[producer] == DONE) continue;
            if (state[producer] == IN_PROGRESS) {
                st = nnq_fail(NNQ_ERR_INVALID, "the graph has a cycle through node '%s' (%s)",
                              node_display_name(node), node->op_type);
                break;
            }
            state[producer] = IN_PROGRESS;
            depth++;
            stack_node[depth] = producer;
            stack_input[depth] = 0;
        }
    }
    free(state);
    free(stack_node);
    free(stack_input);
    name_map_free(&producers);
    return st;
}
