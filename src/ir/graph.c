#include "ir/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"

char *nnq_strdup(const char *s) { return s ? strdup(s) : NULL; }

void attr_free(nnq_attr *attr) {
    free(attr->name);
    free(attr->s);
    tensor_free(&attr->t);
    free(attr->floats);
    free(attr->ints);
    if (attr->strings)
        for (int64_t i = 0; i < attr->count; i++) free(attr->strings[i]);
    free(attr->strings);
    free(attr->doc_string);
    free(attr->packed);
    memset(attr, 0, sizeof *attr);
}

void node_free(nnq_node *node) {
    free(node->name);
    free(node->op_type);
    free(node->domain);
    free(node->doc_string);
    for (int i = 0; i < node->n_inputs; i++) free(node->inputs[i]);
    free(node->inputs);
    for (int i = 0; i < node->n_outputs; i++) free(node->outputs[i]);
    free(node->outputs);
    for (int i = 0; i < node->n_attrs; i++) attr_free(&node->attrs[i]);
    free(node->attrs);
    memset(node, 0, sizeof *node);
}

void value_info_free(nnq_value_info *info) {
    free(info->name);
    for (int i = 0; i < NNQ_MAX_RANK; i++) free(info->dim_params[i]);
    free(info->doc_string);
    memset(info, 0, sizeof *info);
}

static void value_infos_free(nnq_value_info *infos, int n) {
    for (int i = 0; i < n; i++) value_info_free(&infos[i]);
    free(infos);
}

void model_free(nnq_model *model) {
    if (!model) return;
    free(model->producer_name);
    free(model->producer_version);
    free(model->domain);
    free(model->doc_string);
    for (int i = 0; i < model->n_opset_imports; i++) free(model->opset_imports[i].domain);
    free(model->opset_imports);
    for (int i = 0; i < model->n_metadata; i++) {
        free(model->metadata[i].key);
        free(model->metadata[i].value);
    }
    free(model->metadata);
    nnq_graph *g = &model->graph;
    free(g->name);
    free(g->doc_string);
    for (int i = 0; i < g->n_nodes; i++) node_free(&g->nodes[i]);
    free(g->nodes);
    for (int i = 0; i < g->n_initializers; i++) tensor_free(&g->initializers[i]);
    free(g->initializers);
    value_infos_free(g->inputs, g->n_inputs);
    value_infos_free(g->outputs, g->n_outputs);
    value_infos_free(g->value_infos, g->n_value_infos);
    memset(model, 0, sizeof *model);
}

int64_t model_opset(const nnq_model *model, const char *domain) {
    bool want_default = !domain || !*domain || strcmp(domain, "ai.onnx") == 0;
    for (int i = 0; i < model->n_opset_imports; i++) {
        const char *d = model->opset_imports[i].domain;
        bool is_default = !d || !*d || strcmp(d, "ai.onnx") == 0;
        if (want_default ? is_default : (d && strcmp(d, domain) == 0))
            return model->opset_imports[i].version;
    }
    return 0;
}

int graph_find_initializer_index(const nnq_graph *graph, const char *name) {
    for (int i = 0; i < graph->n_initializers; i++)
        if (graph->initializers[i].name && strcmp(graph->initializers[i].name, name) == 0) return i;
    return -1;
}

const nnq_tensor *graph_find_initializer(const nnq_graph *graph, const char *name) {
    int i = graph_find_initializer_index(graph, name);
    return i < 0 ? NULL : &graph->initializers[i];
}

const nnq_value_info *graph_find_value_info(const nnq_graph *graph, const char *name) {
    for (int i = 0; i < graph->n_value_infos; i++)
        if (strcmp(graph->value_infos[i].name, name) == 0) return &graph->value_infos[i];
    for (int i = 0; i < graph->n_inputs; i++)
        if (strcmp(graph->inputs[i].name, name) == 0) return &graph->inputs[i];
    for (int i = 0; i < graph->n_outputs; i++)
        if (strcmp(graph->outputs[i].name, name) == 0) return &graph->outputs[i];
    return NULL;
}

bool graph_is_runtime_input(const nnq_graph *graph, const char *name) {
    for (int i = 0; i < graph->n_inputs; i++)
        if (strcmp(graph->inputs[i].name, name) == 0) return graph_find_initializer(graph, name) == NULL;
    return false;
}

const nnq_value_info *graph_single_runtime_input(const nnq_graph *graph) {
    const nnq_value_info *found = NULL;
    for (int i = 0; i < graph->n_inputs; i++) {
        if (!graph_is_runtime_input(graph, graph->inputs[i].name)) continue;
        if (found) return NULL;
        found = &graph->inputs[i];
    }
    return found;
}

static bool in_value_infos(const nnq_value_info *infos, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(infos[i].name, name) == 0) return true;
    return false;
}

bool graph_is_output(const nnq_graph *graph, const char *name) {
    return in_value_infos(graph->outputs, graph->n_outputs, name);
}

bool graph_is_input(const nnq_graph *graph, const char *name) {
    return in_value_infos(graph->inputs, graph->n_inputs, name);
}

const nnq_tensor *graph_find_fixed_initializer(const nnq_graph *graph, const char *name) {
    if (!*name || graph_is_input(graph, name)) return NULL;
    return graph_find_initializer(graph, name);
}

static char **copy_names(char *const *names, int n, bool *ok) {
    if (n == 0) return NULL;
    char **out = calloc((size_t)n, sizeof *out);
    if (!out) {
        *ok = false;
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (!(out[i] = nnq_strdup(names[i] ? names[i] : ""))) *ok = false;
    return out;
}

static bool attr_copy(nnq_attr *dst, const nnq_attr *src) {
    memset(dst, 0, sizeof *dst);
    *dst = *src;
    dst->name = nnq_strdup(src->name);
    dst->doc_string = nnq_strdup(src->doc_string);
    dst->s = NULL;
    dst->floats = NULL;
    dst->ints = NULL;
    dst->strings = NULL;
    dst->packed = NULL;
    memset(&dst->t, 0, sizeof dst->t);
    bool ok = dst->name != NULL;
    if (src->s) {
        dst->s = malloc(src->s_len + 1);
        if (dst->s) memcpy(dst->s, src->s, src->s_len + 1);
        else ok = false;
    }
    if (src->floats && src->count) {
        dst->floats = malloc(sizeof(float) * (size_t)src->count);
        if (dst->floats) memcpy(dst->floats, src->floats, sizeof(float) * (size_t)src->count);
        else ok = false;
    }
    if (src->ints && src->count) {
        dst->ints = malloc(sizeof(int64_t) * (size_t)src->count);
        if (dst->ints) memcpy(dst->ints, src->ints, sizeof(int64_t) * (size_t)src->count);
        else ok = false;
    }
    if (src->strings && src->count) {
        dst->strings = calloc((size_t)src->count, sizeof(char *));
        if (dst->strings)
            for (int64_t i = 0; i < src->count; i++)
                if (!(dst->strings[i] = nnq_strdup(src->strings[i]))) ok = false;
        if (!dst->strings) ok = false;
    }
    if (src->packed && src->packed_len) {
        dst->packed = malloc(src->packed_len);
        if (dst->packed) memcpy(dst->packed, src->packed, src->packed_len);
        else ok = false;
    }
    if (src->type == NNQ_ATTR_TENSOR && tensor_copy(&dst->t, &src->t) != NNQ_OK) ok = false;
    return ok;
}

nnq_status node_copy(nnq_node *dst, const nnq_node *src) {
    memset(dst, 0, sizeof *dst);
    bool ok = true;
    dst->name = nnq_strdup(src->name ? src->name : "");
    dst->op_type = nnq_strdup(src->op_type);
    dst->domain = nnq_strdup(src->domain ? src->domain : "");
    dst->doc_string = nnq_strdup(src->doc_string);
    ok = dst->name && dst->op_type && dst->domain;
    dst->n_inputs = src->n_inputs;
    dst->inputs = copy_names(src->inputs, src->n_inputs, &ok);
    dst->n_outputs = src->n_outputs;
    dst->outputs = copy_names(src->outputs, src->n_outputs, &ok);
    if (src->n_attrs) {
        dst->attrs = calloc((size_t)src->n_attrs, sizeof *dst->attrs);
        if (!dst->attrs) ok = false;
        else {
            dst->n_attrs = src->n_attrs;
            for (int i = 0; i < src->n_attrs; i++)
                if (!attr_copy(&dst->attrs[i], &src->attrs[i])) ok = false;
        }
    }
    if (!ok) {
        node_free(dst);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory copying node '%s'", src->name ? src->name : "");
    }
    return NNQ_OK;
}

nnq_status graph_add_node(nnq_graph *graph, const nnq_node *node) {
    if (graph->n_nodes == graph->nodes_capacity) {
        int capacity = graph->nodes_capacity ? graph->nodes_capacity * 2 : 16;
        nnq_node *grown = realloc(graph->nodes, sizeof *grown * (size_t)capacity);
        if (!grown) return nnq_fail(NNQ_ERR_NOMEM, "out of memory adding a node");
        graph->nodes = grown;
        graph->nodes_capacity = capacity;
    }
    NNQ_TRY(node_copy(&graph->nodes[graph->n_nodes], node));
    graph->n_nodes++;
    return NNQ_OK;
}

nnq_status graph_add_initializer(nnq_graph *graph, nnq_tensor *tensor) {
    if (graph->n_initializers == graph->initializers_capacity) {
        int capacity = graph->initializers_capacity ? graph->initializers_capacity * 2 : 16;
        nnq_tensor *grown = realloc(graph->initializers, sizeof *grown * (size_t)capacity);
        if (!grown) return nnq_fail(NNQ_ERR_NOMEM, "out of memory adding an initializer");
        graph->initializers = grown;
        graph->initializers_capacity = capacity;
    }
    graph->initializers[graph->n_initializers++] = *tensor;
    memset(tensor, 0, sizeof *tensor);
    return NNQ_OK;
}

void graph_remove_nodes(nnq_graph *graph, const bool *remove) {
    int kept = 0;
    for (int i = 0; i < graph->n_nodes; i++) {
        if (remove[i]) node_free(&graph->nodes[i]);
        else graph->nodes[kept++] = graph->nodes[i];
    }
    graph->n_nodes = kept;
}

void graph_remove_initializer(nnq_graph *graph, int index) {
    tensor_free(&graph->initializers[index]);
    memmove(&graph->initializers[index], &graph->initializers[index + 1],
            sizeof(nnq_tensor) * (size_t)(graph->n_initializers - index - 1));
    graph->n_initializers--;
}

const nnq_attr *node_find_attr(const nnq_node *node, const char *name) {
    for (int i = 0; i < node->n_attrs; i++)
        if (strcmp(node->attrs[i].name, name) == 0) return &node->attrs[i];
    return NULL;
}

int64_t node_attr_int(const nnq_node *node, const char *name, int64_t fallback) {
    const nnq_attr *a = node_find_attr(node, name);
    return a && a->type == NNQ_ATTR_INT ? a->i : fallback;
}

float node_attr_float(const nnq_node *node, const char *name, float fallback) {
    const nnq_attr *a = node_find_attr(node, name);
    if (!a) return fallback;
    if (a->type == NNQ_ATTR_FLOAT) return a->f;
    if (a->type == NNQ_ATTR_INT) return (float)a->i;
    return fallback;
}

const char *node_attr_string(const nnq_node *node, const char *name, const char *fallback) {
    const nnq_attr *a = node_find_attr(node, name);
    return a && a->type == NNQ_ATTR_STRING && a->s ? a->s : fallback;
}

const int64_t *node_attr_ints(const nnq_node *node, const char *name, int64_t *count) {
    const nnq_attr *a = node_find_attr(node, name);
    if (!a || a->type != NNQ_ATTR_INTS) {
        *count = 0;
        return NULL;
    }
    *count = a->count;
    return a->ints;
}

const float *node_attr_floats(const nnq_node *node, const char *name, int64_t *count) {
    const nnq_attr *a = node_find_attr(node, name);
    if (!a || a->type != NNQ_ATTR_FLOATS) {
        *count = 0;
        return NULL;
    }
    *count = a->count;
    return a->floats;
}

const nnq_tensor *node_attr_tensor(const nnq_node *node, const char *name) {
    const nnq_attr *a = node_find_attr(node, name);
    return a && a->type == NNQ_ATTR_TENSOR ? &a->t : NULL;
}

const char *node_display_name(const nnq_node *node) {
    static _Thread_local char buf[256];
    if (node->name && *node->name) return node->name;
    snprintf(buf, sizeof buf, "<%s producing '%s'>", node->op_type,
             node->n_outputs > 0 ? node->outputs[0] : "");
    return buf;
}
