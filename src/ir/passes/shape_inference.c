/* Static shape inference: every operator's own infer function, run in
 * topological order on data-less tensors (unknown dims stay -1). Small
 * tensors whose values are computable before the run (shape arithmetic) are
 * evaluated so data-dependent shapes (Reshape, Expand, ...) resolve. */
#include <stdlib.h>
#include <string.h>

#include "base/name_map.h"
#include "base/status.h"
#include "ir/passes/passes.h"
#include "run/node_eval.h"

/* Values are propagated only for tensors up to this many elements: shape
 * vectors, not activations. */
#define MAX_PROPAGATED_ELEMENTS 4096

typedef struct facts {
    name_map index;
    nnq_tensor *known; /* shape (and small data) per tensor name */
    int count, capacity;
} facts;

static nnq_status facts_add(facts *f, const char *name, const nnq_tensor *value, bool with_data) {
    if (f->count == f->capacity) {
        int capacity = f->capacity ? f->capacity * 2 : 64;
        nnq_tensor *grown = realloc(f->known, sizeof *grown * (size_t)capacity);
        if (!grown) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        f->known = grown;
        f->capacity = capacity;
    }
    nnq_tensor *t = &f->known[f->count];
    memset(t, 0, sizeof *t);
    if (with_data && value->data) NNQ_TRY(tensor_copy(t, value));
    else tensor_set_shape(t, value->dtype, value->rank, value->dims);
    free(t->name);
    t->name = NULL;
    NNQ_TRY(name_map_put(&f->index, name, f->count));
    f->count++;
    return NNQ_OK;
}

static void facts_free(facts *f) {
    for (int i = 0; i < f->count; i++) tensor_free(&f->known[i]);
    free(f->known);
    name_map_free(&f->index);
}

static const nnq_tensor *facts_get(const facts *f, const char *name) {
    int i = name_map_get(&f->index, name);
    return i < 0 ? NULL : &f->known[i];
}

static bool small(const nnq_tensor *t) {
    int64_t n = tensor_numel(t);
    return n >= 0 && n <= MAX_PROPAGATED_ELEMENTS;
}

static nnq_status seed_facts(const nnq_graph *g, facts *f) {
    for (int i = 0; i < g->n_initializers; i++)
        NNQ_TRY(facts_add(f, g->initializers[i].name, &g->initializers[i], small(&g->initializers[i])));
    for (int i = 0; i < g->n_inputs; i++) {
        if (facts_get(f, g->inputs[i].name)) continue;
        nnq_tensor t = {0};
        nnq_dtype dtype = g->inputs[i].dtype == NNQ_FLOAT16 ? NNQ_FLOAT : g->inputs[i].dtype;
        tensor_set_shape(&t, dtype, g->inputs[i].rank, g->inputs[i].dims);
        NNQ_TRY(facts_add(f, g->inputs[i].name, &t, false));
    }
    return NNQ_OK;
}

/* Infers one node's outputs into `outputs`; evaluates it when its inputs' values are all known and small. */
static nnq_status infer_node(const nnq_model *m, const nnq_node *node, const facts *f, const nnq_tensor **inputs,
                             nnq_tensor *outputs) {
    const nnq_op_def *op;
    int opset;
    bool unknown_input = false, all_values = true;
    for (int i = 0; i < node->n_inputs; i++) {
        inputs[i] = *node->inputs[i] ? facts_get(f, node->inputs[i]) : NULL;
        if (*node->inputs[i] && !inputs[i]) return NNQ_OK; /* produced by nothing: the executor will say so */
        if (inputs[i] && !tensor_shape_known(inputs[i])) unknown_input = true;
        if (inputs[i] && (!inputs[i]->data || !small(inputs[i]))) all_values = false;
    }
    if (node_find_op(m, node, &op, &opset) != NNQ_OK) return NNQ_OK; /* unsupported: outputs stay unknown */
    bool shape_is_enough = node_reads_only_input_shape(node) && node->n_inputs == 1 && !unknown_input;
    if ((all_values || shape_is_enough) && node_evaluate(op, opset, node, inputs, outputs) == NNQ_OK) return NNQ_OK;
    nnq_op_context ctx = {node, opset, node->n_inputs, inputs, node->n_outputs, outputs};
    nnq_status st = op->infer(&ctx);
    if (st == NNQ_OK) return NNQ_OK;
    /* With every input shape known the failure is the model's (e.g. shapes that cannot broadcast). */
    if (!unknown_input) return nnq_fail_context(st, "shape inference");
    for (int o = 0; o < node->n_outputs; o++) {
        memset(&outputs[o], 0, sizeof outputs[o]);
        outputs[o].rank = NNQ_UNKNOWN_RANK;
    }
    return NNQ_OK;
}

/* Writes an inferred shape into the value_info for name, creating it if needed;
 * declared information (dims, symbolic names) is only ever refined, not replaced. */
static nnq_status record_value_info(nnq_graph *g, const char *name, const nnq_tensor *t) {
    nnq_value_info *info = (nnq_value_info *)graph_find_value_info(g, name);
    if (!info) {
        nnq_value_info *grown = realloc(g->value_infos, sizeof *grown * (size_t)(g->n_value_infos + 1));
        if (!grown) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        g->value_infos = grown;
        info = &g->value_infos[g->n_value_infos++];
        memset(info, 0, sizeof *info);
        info->rank = NNQ_UNKNOWN_RANK;
        if (!(info->name = strdup(name))) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    }
    if (info->dtype == NNQ_UNDEFINED) info->dtype = t->dtype;
    if (t->rank < 0) return NNQ_OK;
    if (info->rank < 0) {
        info->rank = t->rank;
        for (int i = 0; i < t->rank; i++) info->dims[i] = t->dims[i];
    } else if (info->rank == t->rank) {
        for (int i = 0; i < t->rank; i++)
            if (info->dims[i] < 0 && !info->dim_params[i]) info->dims[i] = t->dims[i];
    }
    return NNQ_OK;
}

nnq_status pass_infer_shapes(nnq_model *model) {
    nnq_graph *g = &model->graph;
    NNQ_TRY(pass_sort_topologically(model));
    facts f = {0};
    NNQ_TRY(name_map_init(&f.index, (size_t)g->n_nodes * 2 + (size_t)g->n_initializers));
    nnq_status st = seed_facts(g, &f);
    for (int n = 0; st == NNQ_OK && n < g->n_nodes; n++) {
        const nnq_node *node = &g->nodes[n];
        const nnq_tensor **inputs = calloc((size_t)node->n_inputs + 1, sizeof *inputs);
        nnq_tensor *outputs = calloc((size_t)node->n_outputs + 1, sizeof *outputs);
        if (!inputs || !outputs) st = nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        if (st == NNQ_OK) {
            for (int o = 0; o < node->n_outputs; o++) outputs[o].rank = NNQ_UNKNOWN_RANK;
            st = infer_node(model, node, &f, inputs, outputs);
        }
        for (int o = 0; st == NNQ_OK && o < node->n_outputs; o++) {
            if (!*node->outputs[o]) continue;
            st = facts_add(&f, node->outputs[o], &outputs[o], small(&outputs[o]));
            if (st == NNQ_OK) st = record_value_info(g, node->outputs[o], &outputs[o]);
        }
        for (int o = 0; outputs && o < node->n_outputs; o++) tensor_free(&outputs[o]);
        free(inputs);
        free(outputs);
    }
    facts_free(&f);
    return st;
}
