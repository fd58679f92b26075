/* Which nodes read each tensor: the consumer map passes use to rewrite a
 * tensor's readers (activation fusing, QDQ insertion, CLE chains). */
#ifndef NNQ_IR_GRAPH_CONSUMERS_H
#define NNQ_IR_GRAPH_CONSUMERS_H

#include "base/name_map.h"
#include "ir/graph.h"

typedef struct graph_consumers {
    name_map tensor_index;  /* tensor name -> row */
    int *row_start;         /* row r's readers are nodes[row_start[r] .. row_start[r + 1]) */
    int *nodes;             /* node indices, in graph order; a node reading a tensor twice is listed twice */
    int n_rows;
} graph_consumers;

/* Builds the map for the graph as it is now (rebuild after rewriting it). */
nnq_status graph_map_consumers(const nnq_graph *graph, graph_consumers *out);
void graph_consumers_free(graph_consumers *consumers);

/* The nodes reading tensor name: returns their count, *nodes points into the map. */
int graph_consumers_of(const graph_consumers *consumers, const char *name, const int **nodes);

#endif
