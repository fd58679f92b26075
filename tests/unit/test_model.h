/* Builds small models in memory for tests: one call per node, initializer or
 * graph input/output, so a test reads like the graph it makes. */
#ifndef NNQ_TESTS_TEST_MODEL_H
#define NNQ_TESTS_TEST_MODEL_H

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"

static inline void test_model_init(nnq_model *m, int64_t opset) {
    memset(m, 0, sizeof *m);
    m->ir_version = 8;
    m->producer_name = strdup("nnquant-tests");
    m->producer_version = strdup("1");
    m->domain = strdup("");
    m->doc_string = strdup("");
    m->n_opset_imports = 1;
    m->opset_imports = calloc(1, sizeof *m->opset_imports);
    m->opset_imports[0].domain = strdup("");
    m->opset_imports[0].version = opset;
    m->graph.name = strdup("test");
}

static inline nnq_value_info test_value(const char *name, nnq_dtype dtype, int rank, const int64_t *dims) {
    nnq_value_info v;
    memset(&v, 0, sizeof v);
    v.name = strdup(name);
    v.dtype = dtype;
    v.rank = rank;
    for (int i = 0; i < rank; i++) v.dims[i] = dims[i];
    return v;
}

static inline void test_add_input(nnq_model *m, const char *name, nnq_dtype dtype, int rank, const int64_t *dims) {
    nnq_graph *g = &m->graph;
    g->inputs = realloc(g->inputs, sizeof *g->inputs * (size_t)(g->n_inputs + 1));
    g->inputs[g->n_inputs++] = test_value(name, dtype, rank, dims);
}

static inline void test_add_output(nnq_model *m, const char *name, nnq_dtype dtype, int rank, const int64_t *dims) {
    nnq_graph *g = &m->graph;
    g->outputs = realloc(g->outputs, sizeof *g->outputs * (size_t)(g->n_outputs + 1));
    g->outputs[g->n_outputs++] = test_value(name, dtype, rank, dims);
}

/* Adds a float initializer with the given values. */
static inline void test_add_floats(nnq_model *m, const char *name, int rank, const int64_t *dims, const float *values) {
    nnq_tensor t;
    memset(&t, 0, sizeof t);
    tensor_create(&t, NNQ_FLOAT, rank, dims);
    t.name = strdup(name);
    memcpy(t.data, values, sizeof(float) * (size_t)tensor_numel(&t));
    graph_add_initializer(&m->graph, &t);
}

/* Adds a node: inputs and outputs as NULL-terminated name lists. Returns it for attributes. */
static inline nnq_node *test_add_node(nnq_model *m, const char *op_type, const char *name, const char *const *inputs,
                                      const char *const *outputs) {
    nnq_node node;
    memset(&node, 0, sizeof node);
    node.name = (char *)name;
    node.op_type = (char *)op_type;
    node.domain = (char *)"";
    while (inputs[node.n_inputs]) node.n_inputs++;
    while (outputs[node.n_outputs]) node.n_outputs++;
    node.inputs = (char **)inputs;
    node.outputs = (char **)outputs;
    graph_add_node(&m->graph, &node);
    return &m->graph.nodes[m->graph.n_nodes - 1];
}

static inline void test_node_set_int(nnq_node *node, const char *name, int64_t value) {
    node->attrs = realloc(node->attrs, sizeof *node->attrs * (size_t)(node->n_attrs + 1));
    nnq_attr *a = &node->attrs[node->n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = strdup(name);
    a->type = NNQ_ATTR_INT;
    a->i = value;
}

#endif
