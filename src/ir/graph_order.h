/* Producer lookups and topological order of a graph's nodes. */
#ifndef NNQ_IR_GRAPH_ORDER_H
#define NNQ_IR_GRAPH_ORDER_H

#include "base/name_map.h"
#include "ir/graph.h"

/* Maps each tensor name a node produces to that node's index. Fails if two
 * nodes produce the same name. */
nnq_status graph_map_producers(const nnq_graph *graph, name_map *producers);

/* Fills order[0..n_nodes) with node indices such that every node comes after
 * the producers of its inputs, keeping the file's order when it already is
 * one. Fails naming the node on a cycle or an input nothing provides. */
nnq_status graph_topological_order(const nnq_graph *graph, int *order);

#endif
