/* Small graph edits the rewriting passes share: renaming and rewiring tensors, picking fresh
 * names. Kept beside the passes because only passes rewrite graphs. */
#ifndef NNQ_IR_PASSES_GRAPH_EDIT_H
#define NNQ_IR_PASSES_GRAPH_EDIT_H

#include <stdbool.h>

#include "ir/graph.h"

/* True when a node carries a subgraph (If, Loop, Scan bodies). Subgraphs may
 * read outer tensors by name, which the rewiring passes cannot see, so they
 * leave such graphs alone. */
bool graph_has_subgraphs(const nnq_graph *graph);

/* How many node inputs name the tensor (a node reading it twice counts
 * twice), skipping nodes with skip[n] set (skip may be NULL). */
int graph_count_readers(const nnq_graph *graph, const bool *skip, const char *name);
/* The node producing name (its index, and the output slot via *output), or -1. */
int graph_find_producer(const nnq_graph *graph, const bool *skip, const char *name, int *output);

/* Makes every node input naming `from` name `to` instead, skipping nodes
 * with skip[n] set (skip may be NULL). */
nnq_status graph_rename_inputs(nnq_graph *graph, const bool *skip, const char *from, const char *to);

/* Sets node input `index` to name, growing the input list with omitted ("") inputs as needed. */
nnq_status node_set_input(nnq_node *node, int index, const char *name);
/* Replaces node output `index` by name. */
nnq_status node_set_output(nnq_node *node, int index, const char *name);

/* Removes the value_info entry of name (a tensor that no longer exists), if any. */
void graph_forget_value_info(nnq_graph *graph, const char *name);

/* *out = base, or base followed by "_2", "_3", ... : the first that names no
 * initializer, graph input/output, value_info or node output. Caller frees. */
nnq_status graph_unique_name(const nnq_graph *graph, const char *base, char **out);

#endif
