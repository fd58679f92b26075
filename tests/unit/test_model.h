/* Builds small models in memory for tests: one call per node, initializer or
 * graph input/output, so a test reads like the graph it makes. */
#ifndef NNQ_TESTS_TEST_MODEL_H
#define NNQ_TESTS_TEST_MODEL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/npy.h"
#include "ir/graph.h"
#include "run/executor.h"

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


static inline void test_node_add_attr(nnq_node *node, const char *name, nnq_attr_type type, nnq_attr **out) {
    node->attrs = realloc(node->attrs, sizeof *node->attrs * (size_t)(node->n_attrs + 1));
    nnq_attr *a = &node->attrs[node->n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = strdup(name);
    a->type = type;
    *out = a;
}

static inline void test_node_set_int(nnq_node *node, const char *name, int64_t value) {
    nnq_attr *a;
    test_node_add_attr(node, name, NNQ_ATTR_INT, &a);
    a->i = value;
}

static inline void test_node_set_float(nnq_node *node, const char *name, float value) {
    nnq_attr *a;
    test_node_add_attr(node, name, NNQ_ATTR_FLOAT, &a);
    a->f = value;
}

static inline void test_node_set_ints(nnq_node *node, const char *name, int count, const int64_t *values) {
    nnq_attr *a;
    test_node_add_attr(node, name, NNQ_ATTR_INTS, &a);
    a->count = count;
    a->ints = malloc(sizeof *a->ints * (size_t)(count > 0 ? count : 1));
    memcpy(a->ints, values, sizeof *a->ints * (size_t)count);
}

static inline void test_node_set_floats(nnq_node *node, const char *name, int count, const float *values) {
    nnq_attr *a;
    test_node_add_attr(node, name, NNQ_ATTR_FLOATS, &a);
    a->count = count;
    a->floats = malloc(sizeof *a->floats * (size_t)(count > 0 ? count : 1));
    memcpy(a->floats, values, sizeof *a->floats * (size_t)count);
}

/* ---- Reproducible random values ---- */

static uint32_t test_random_state = 12345u;

static inline void test_random_seed(uint32_t seed) { test_random_state = seed; }

/* Uniform in [lo, hi) from a 32-bit LCG (Numerical Recipes constants). */
static inline float test_random_uniform(float lo, float hi) {
    test_random_state = test_random_state * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(test_random_state >> 8) / (float)(1u << 24);
}

/* A float initializer of uniform random values. */
static inline void test_add_random(nnq_model *m, const char *name, int rank, const int64_t *dims, float lo, float hi) {
    int64_t n = dims_numel(dims, rank);
    float *values = malloc(sizeof *values * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) values[i] = test_random_uniform(lo, hi);
    test_add_floats(m, name, rank, dims, values);
    free(values);
}

/* ---- Running and comparing ---- */

/* Random values in [-2, 2) for every runtime input of the graph (symbolic dims as 2); returns how many. */
static inline int test_make_inputs(const nnq_model *m, nnq_tensor *inputs) {
    int n = 0;
    for (int i = 0; i < m->graph.n_inputs; i++) {
        const nnq_value_info *info = &m->graph.inputs[i];
        if (!graph_is_runtime_input(&m->graph, info->name)) continue;
        int64_t dims[NNQ_MAX_RANK];
        for (int d = 0; d < info->rank; d++) dims[d] = info->dims[d] > 0 ? info->dims[d] : 2;
        nnq_tensor *t = &inputs[n++];
        memset(t, 0, sizeof *t);
        tensor_create(t, info->dtype, info->rank, dims);
        t->name = strdup(info->name);
        for (int64_t k = 0; k < tensor_numel(t); k++) tensor_set_double(t, k, test_random_uniform(-2.0f, 2.0f));
    }
    return n;
}

/* Runs m (with tap, if not NULL) into outputs; false (and the error on stderr) on failure. */
static inline bool test_run_model(const nnq_model *m, const nnq_tensor *inputs, int n_inputs, nnq_tensor *outputs,
                                  const nnq_tap *tap) {
    nnq_executor *ex = NULL;
    nnq_status st = executor_create(m, &ex);
    if (st == NNQ_OK && tap) st = executor_add_tap(ex, *tap);
    if (st == NNQ_OK) st = executor_run(ex, inputs, n_inputs, outputs);
    if (st != NNQ_OK) fprintf(stderr, "run failed: %s\n", nnq_last_error());
    executor_free(ex);
    return st == NNQ_OK;
}

/* max |reference - got| / max |reference| for float tensors, INFINITY on a type or shape mismatch. */
static inline double test_relative_difference(const nnq_tensor *reference, const nnq_tensor *got) {
    if (reference->dtype != NNQ_FLOAT || got->dtype != NNQ_FLOAT || reference->rank != got->rank) return INFINITY;
    for (int d = 0; d < reference->rank; d++)
        if (reference->dims[d] != got->dims[d]) return INFINITY;
    const float *r = reference->data, *g = got->data;
    double scale = 0.0, worst = 0.0;
    for (int64_t i = 0; i < tensor_numel(reference); i++) {
        scale = fmax(scale, fabs(r[i]));
        worst = fmax(worst, fabs((double)r[i] - g[i]));
    }
    return scale > 0.0 ? worst / scale : worst;
}

/* A dataset of the rows of t (first axis = samples), through a .npy file in
 * /tmp named after `name`; NULL (with the error on stderr) on failure. */
static inline nnq_dataset *test_dataset_from_tensor(const char *name, const nnq_tensor *t) {
    char path[256], spec[300];
    snprintf(path, sizeof path, "/tmp/nnq_test_%d_%s.npy", (int)getpid(), name);
    snprintf(spec, sizeof spec, "npy:%s", path);
    nnq_dataset *d = NULL;
    dataset_options options = dataset_options_defaults();
    if (npy_write(path, t) != NNQ_OK || dataset_open(spec, &options, &d) != NNQ_OK) {
        fprintf(stderr, "test dataset: %s\n", nnq_last_error());
        d = NULL;
    }
    unlink(path); /* the dataset keeps the file open */
    return d;
}

static inline int test_count_ops(const nnq_model *m, const char *op_type) {
    int count = 0;
    for (int n = 0; n < m->graph.n_nodes; n++) count += strcmp(m->graph.nodes[n].op_type, op_type) == 0;
    return count;
}

#endif
