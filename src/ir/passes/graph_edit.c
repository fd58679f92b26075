#include "ir/passes/graph_edit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"


bool graph_has_subgraphs(const nnq_graph *graph) {
    for (int n = 0; n < graph->n_nodes; n++)
        for (int a = 0; a < graph->nodes[n].n_attrs; a++) {
            nnq_attr_type type = graph->nodes[n].attrs[a].type;
            if (type == NNQ_ATTR_GRAPH || type == NNQ_ATTR_GRAPHS) return true;
        }
    return false;
}

int graph_count_readers(const nnq_graph *graph, const bool *skip, const char *name) {
    int count = 0;
    for (int n = 0; n < graph->n_nodes; n++) {
        if (skip && skip[n]) continue;
        for (int i = 0; i < graph->nodes[n].n_inputs; i++) count += strcmp(graph->nodes[n].inputs[i], name) == 0;
    }
    return count;
}

int graph_find_producer(const nnq_graph *graph, const bool *skip, const char *name, int *output) {
    for (int n = 0; n < graph->n_nodes; n++) {
        if (skip && skip[n]) continue;
        for (int o = 0; o < graph->nodes[n].n_outputs; o++)
            if (strcmp(graph->nodes[n].outputs[o], name) == 0) {
                if (output) *output = o;
                return n;
            }
    }
    return -1;
}

static nnq_status replace_name(char **slot, const char *name) {
    char *copy = strdup(name);
    if (!copy) return nnq_fail(NNQ_ERR_NOMEM, "out of memory renaming tensor '%s'", *slot);
    free(*slot);
    *slot = copy;
    return NNQ_OK;
}

nnq_status graph_rename_inputs(nnq_graph *graph, const bool *skip, const char *from, const char *to) {
    for (int n = 0; n < graph->n_nodes; n++) {
        if (skip && skip[n]) continue;
        nnq_node *node = &graph->nodes[n];
        for (int i = 0; i < node->n_inputs; i++)
            if (strcmp(node->inputs[i], from) == 0) NNQ_TRY(replace_name(&node->inputs[i], to));
    }
    return NNQ_OK;
}

nnq_status node_set_input(nnq_node *node, int index, const char *name) {
    if (index >= node->n_inputs) {
        char **grown = realloc(node->inputs, sizeof *grown * (size_t)(index + 1));
        if (!grown) return nnq_fail(NNQ_ERR_NOMEM, "out of memory adding an input to node '%s'", node_display_name(node));
        node->inputs = grown;
        for (int i = node->n_inputs; i <= index; i++) {
            if (!(grown[i] = strdup(""))) {
                node->n_inputs = i;
                return nnq_fail(NNQ_ERR_NOMEM, "out of memory adding an input to node '%s'", node_display_name(node));
            }
        }
        node->n_inputs = index + 1;
    }
    return replace_name(&node->inputs[index], name);
}

nnq_status node_set_output(nnq_node *node, int index, const char *name) {
    return replace_name(&node->outputs[index], name);
}

void graph_forget_value_info(nnq_graph *graph, const char *name) {
    for (int i = 0; i < graph->n_value_infos; i++) {
        if (strcmp(graph->value_infos[i].name, name) != 0) continue;
        value_info_free(&graph->value_infos[i]);
        memmove(&graph->value_infos[i], &graph->value_infos[i + 1],
                sizeof *graph->value_infos * (size_t)(graph->n_value_infos - i - 1));
        graph->n_value_infos--;
        return;
    }
}

static bool name_taken(const nnq_graph *graph, const char *name) {
    /* graph_find_value_info covers value_info entries and the graph's inputs and outputs. */
    if (graph_find_initializer(graph, name) || graph_find_value_info(graph, name)) return true;
    for (int n = 0; n < graph->n_nodes; n++)
        for (int o = 0; o < graph->nodes[n].n_outputs; o++)
            if (strcmp(graph->nodes[n].outputs[o], name) == 0) return true;
    return false;
}

nnq_status graph_unique_name(const nnq_graph *graph, const char *base, char **out) {
    size_t size = strlen(base) + 24;
    char *name = malloc(size);
    if (!name) return nnq_fail(NNQ_ERR_NOMEM, "out of memory naming a tensor after '%s'", base);
    snprintf(name, size, "%s", base);
    for (long suffix = 2; name_taken(graph, name); suffix++) snprintf(name, size, "%s_%ld", base, suffix);
    *out = name;
    return NNQ_OK;
}
