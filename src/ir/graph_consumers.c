#include "ir/graph_consumers.h"

#include <stdlib.h>
#include <string.h>

#include "base/status.h"

/* Two passes (count readers per tensor, then fill) give compact rows without per-tensor allocations. */
nnq_status graph_map_consumers(const nnq_graph *g, graph_consumers *out) {
    memset(out, 0, sizeof *out);
    size_t n_edges = 0;
    for (int i = 0; i < g->n_nodes; i++) n_edges += (size_t)g->nodes[i].n_inputs;
    NNQ_TRY(name_map_init(&out->tensor_index, n_edges + 1));
    int *counts = calloc(n_edges + 2, sizeof *counts);
    out->nodes = malloc(sizeof(int) * (n_edges + 1));
    out->row_start = calloc(n_edges + 2, sizeof(int));
    if (!counts || !out->nodes || !out->row_start) {
        free(counts);
        graph_consumers_free(out);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory mapping consumers");
    }
    nnq_status st = NNQ_OK;
    for (int i = 0; st == NNQ_OK && i < g->n_nodes; i++)
        for (int k = 0; st == NNQ_OK && k < g->nodes[i].n_inputs; k++) {
            const char *name = g->nodes[i].inputs[k];
            if (!*name) continue;
            int row = name_map_get(&out->tensor_index, name);
            if (row < 0) {
                row = out->n_rows++;
                st = name_map_put(&out->tensor_index, name, row);
            }
            counts[row]++;
        }
    for (int r = 0; r < out->n_rows; r++) out->row_start[r + 1] = out->row_start[r] + counts[r];
    memset(counts, 0, sizeof(int) * (size_t)(out->n_rows + 1));
    for (int i = 0; st == NNQ_OK && i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++) {
            if (!*g->nodes[i].inputs[k]) continue;
            int row = name_map_get(&out->tensor_index, g->nodes[i].inputs[k]);
            out->nodes[out->row_start[row] + counts[row]++] = i;
        }
    free(counts);
    if (st != NNQ_OK) graph_consumers_free(out);
    return st;
}

void graph_consumers_free(graph_consumers *consumers) {
    name_map_free(&consumers->tensor_index);
    free(consumers->row_start);
    free(consumers->nodes);
    memset(consumers, 0, sizeof *consumers);
}

int graph_consumers_of(const graph_consumers *consumers, const char *name, const int **nodes) {
    int row = name_map_get(&consumers->tensor_index, name);
    if (row < 0) {
        *nodes = NULL;
        return 0;
    }
    *nodes = consumers->nodes + consumers->row_start[row];
    return consumers->row_start[row + 1] - consumers->row_start[row];
}
