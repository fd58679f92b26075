/* The in-memory model: an ONNX ModelProto in plain C structs.
 *
 * nnq_model carries what a save needs to write the model back faithfully
 * (opset imports, metadata, doc strings, value_info); nnq_graph holds the
 * computation: nodes in a list, initializers, and typed graph inputs/outputs.
 * Everything is owned by the model and released by model_free(). */
#ifndef NNQ_IR_GRAPH_H
#define NNQ_IR_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/tensor.h"

/* ONNX AttributeProto.AttributeType numbers. */
typedef enum nnq_attr_type {
    NNQ_ATTR_UNDEFINED = 0,
    NNQ_ATTR_FLOAT = 1,
    NNQ_ATTR_INT = 2,
    NNQ_ATTR_STRING = 3,
    NNQ_ATTR_TENSOR = 4,
    NNQ_ATTR_GRAPH = 5,
    NNQ_ATTR_FLOATS = 6,
    NNQ_ATTR_INTS = 7,
    NNQ_ATTR_STRINGS = 8,
    NNQ_ATTR_TENSORS = 9,
    NNQ_ATTR_GRAPHS = 10,
    NNQ_ATTR_SPARSE_TENSOR = 11,
    NNQ_ATTR_SPARSE_TENSORS = 12,
    NNQ_ATTR_TYPE_PROTO = 13,
    NNQ_ATTR_TYPE_PROTOS = 14
} nnq_attr_type;

typedef struct nnq_attr {
    char *name;
    nnq_attr_type type;
    float f;
    int64_t i;
    char *s;            /* NUL-terminated copy of a STRING attribute */
    size_t s_len;       /* its byte length (ONNX strings are bytes) */
    nnq_tensor t;       /* TENSOR attribute */
    int64_t count;      /* number of elements in floats / ints / strings */
    float *floats;
    int64_t *ints;
    char **strings;
    char *doc_string;
    /* Kinds nnquant does not interpret (graphs, sparse tensors, type protos)
     * are kept as the packed AttributeProto so a save writes them back. */
    uint8_t *packed;
    size_t packed_len;
} nnq_attr;

typedef struct nnq_node {
    char *name;
    char *op_type;
    char *domain;       /* "" for the default ONNX domain */
    char *doc_string;
    int n_inputs;
    char **inputs;      /* "" marks an omitted optional input */
    int n_outputs;
    char **outputs;     /* "" marks an unused optional output */
    int n_attrs;
    nnq_attr *attrs;
} nnq_node;

typedef struct nnq_value_info {
    char *name;
    nnq_dtype dtype;    /* NNQ_UNDEFINED when the type is not given */
    int rank;           /* NNQ_UNKNOWN_RANK when no shape is given */
    int64_t dims[NNQ_MAX_RANK];   /* NNQ_UNKNOWN_DIM for symbolic or missing dims */
    char *dim_params[NNQ_MAX_RANK]; /* symbolic dim names ("batch"), or NULL */
    char *doc_string;
} nnq_value_info;

typedef struct nnq_opset_import {
    char *domain;       /* "" or "ai.onnx" for the default domain */
    int64_t version;
} nnq_opset_import;

typedef struct nnq_string_pair {
    char *key;
    char *value;
} nnq_string_pair;

typedef struct nnq_graph {
    char *name;
    char *doc_string;
    int n_nodes, nodes_capacity;
    nnq_node *nodes;
    int n_initializers, initializers_capacity;
    nnq_tensor *initializers; /* named tensors with data */
    int n_inputs;
    nnq_value_info *inputs;   /* may include initializer names (IR < 4 style) */
    int n_outputs;
    nnq_value_info *outputs;
    int n_value_infos;
    nnq_value_info *value_infos;
} nnq_graph;

typedef struct nnq_model {
    int64_t ir_version;
    char *producer_name;
    char *producer_version;
    char *domain;
    int64_t model_version;
    char *doc_string;
    int n_opset_imports;
    nnq_opset_import *opset_imports;
    int n_metadata;
    nnq_string_pair *metadata;
    nnq_graph graph;
} nnq_model;

void model_free(nnq_model *model);
void node_free(nnq_node *node);
void attr_free(nnq_attr *attr);
void value_info_free(nnq_value_info *info);

/* Opset version the model imports for domain ("" and "ai.onnx" are the same);
 * 0 when the domain is not imported. */
int64_t model_opset(const nnq_model *model, const char *domain);

/* Lookups by name; NULL / -1 when absent. */
const nnq_tensor *graph_find_initializer(const nnq_graph *graph, const char *name);
int graph_find_initializer_index(const nnq_graph *graph, const char *name);
const nnq_value_info *graph_find_value_info(const nnq_graph *graph, const char *name);
/* True when name is a graph input that is not also an initializer. */
bool graph_is_runtime_input(const nnq_graph *graph, const char *name);
/* True when name is one of the graph's outputs. */
bool graph_is_output(const nnq_graph *graph, const char *name);
/* True when name is one of the graph's inputs (with or without an initializer). */
bool graph_is_input(const nnq_graph *graph, const char *name);
/* An initializer the model fixes: present and not also a graph input a user could feed. */
const nnq_tensor *graph_find_fixed_initializer(const nnq_graph *graph, const char *name);
/* The graph's only runtime input; NULL when it has none or several. */
const nnq_value_info *graph_single_runtime_input(const nnq_graph *graph);

/* Appends a copy of node (deep copy). */
nnq_status graph_add_node(nnq_graph *graph, const nnq_node *node);
/* Appends tensor, taking ownership of its data and name (the caller's struct is zeroed). */
nnq_status graph_add_initializer(nnq_graph *graph, nnq_tensor *tensor);
/* Removes nodes whose index has remove[i] set, keeping order. */
void graph_remove_nodes(nnq_graph *graph, const bool *remove);
/* Removes initializer at index. */
void graph_remove_initializer(nnq_graph *graph, int index);

nnq_status node_copy(nnq_node *dst, const nnq_node *src);

/* Attribute access; each returns fallback when the attribute is absent. */
const nnq_attr *node_find_attr(const nnq_node *node, const char *name);
int64_t node_attr_int(const nnq_node *node, const char *name, int64_t fallback);
float node_attr_float(const nnq_node *node, const char *name, float fallback);
/* NUL-terminated string value or fallback. */
const char *node_attr_string(const nnq_node *node, const char *name, const char *fallback);
/* Pointer to the ints and their count via *count; NULL (and *count = 0) if absent. */
const int64_t *node_attr_ints(const nnq_node *node, const char *name, int64_t *count);
const float *node_attr_floats(const nnq_node *node, const char *name, int64_t *count);
const nnq_tensor *node_attr_tensor(const nnq_node *node, const char *name);

/* The name a message should use for a node: its name, or "<op_type> #index" if unnamed. */
const char *node_display_name(const nnq_node *node);

/* strdup that returns NULL for NULL. */
char *nnq_strdup(const char *s);

#endif
