#include "quant/plan_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/model_copy.h"
#include "ir/passes/passes.h"
#include "onnx/onnx_io.h"

/* "dir/plan.json" -> "plan.prepared.onnx" (the extension, if any, replaced). */
static char *sibling_name(const char *plan_path) {
    const char *base = strrchr(plan_path, '/');
    base = base ? base + 1 : plan_path;
    size_t stem = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base) stem = (size_t)(dot - base);
    const char *suffix = ".prepared.onnx";
    char *name = malloc(stem + strlen(suffix) + 1);
    if (name) {
        memcpy(name, base, stem);
        strcpy(name + stem, suffix);
    }
    return name;
}

/* The plan's folder joined with name. */
static char *beside(const char *plan_path, const char *name) {
    const char *slash = strrchr(plan_path, '/');
    size_t dir = slash ? (size_t)(slash - plan_path) + 1 : 0;
    char *path = malloc(dir + strlen(name) + 1);
    if (path) {
        memcpy(path, plan_path, dir);
        strcpy(path + dir, name);
    }
    return path;
}

nnq_status plan_write_with_model(const nnq_plan *plan, const nnq_model *prepared, const char *plan_path) {
    char *name = sibling_name(plan_path);
    char *path = name ? beside(plan_path, name) : NULL;
    nnq_status st = path ? onnx_save_model(prepared, path, NULL) : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st == NNQ_OK) {
        nnq_plan named = *plan; /* shallow: only prepared_model differs */
        named.prepared_model = name;
        st = plan_write_json(&named, plan_path);
    }
    free(path);
    free(name);
    return st;
}

static int count_linear(const nnq_graph *g) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += !strcmp(g->nodes[i].op_type, "Conv") || !strcmp(g->nodes[i].op_type, "Gemm") ||
             !strcmp(g->nodes[i].op_type, "MatMul");
    return n;
}

static const nnq_node *producer(const nnq_graph *g, const char *tensor) {
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].n_outputs > 0 && !strcmp(g->nodes[i].outputs[0], tensor)) return &g->nodes[i];
    return NULL;
}

/* The saved graph must come from this model: the model, prepared again, has
 * the same layers (op type, output name, weight shape) - only their weight
 * values may differ (equalization, absorption, correction, AdaRound). */
static nnq_status check_derived(const nnq_model *model, const nnq_model *prepared, const char *path) {
    nnq_model fresh;
    NNQ_TRY(model_copy(&fresh, model));
    nnq_status st = model_prepare_for_quantization(&fresh, NULL);
    const char *mismatch = NULL;
    if (st == NNQ_OK && count_linear(&fresh.graph) != count_linear(&prepared->graph)) mismatch = "its layer count";
    for (int i = 0; st == NNQ_OK && !mismatch && i < prepared->graph.n_nodes; i++) {
        const nnq_node *a = &prepared->graph.nodes[i];
        if (strcmp(a->op_type, "Conv") && strcmp(a->op_type, "Gemm") && strcmp(a->op_type, "MatMul")) continue;
        const nnq_node *b = producer(&fresh.graph, a->outputs[0]);
        const nnq_tensor *wa = a->n_inputs > 1 ? graph_find_initializer(&prepared->graph, a->inputs[1]) : NULL;
        const nnq_tensor *wb = b && b->n_inputs > 1 ? graph_find_initializer(&fresh.graph, b->inputs[1]) : NULL;
        bool same = b && !strcmp(a->op_type, b->op_type) && !wa == !wb;
        if (same && wa) {
            same = wa->rank == wb->rank;
            for (int d = 0; same && d < wa->rank; d++) same = wa->dims[d] == wb->dims[d];
        }
        if (!same) mismatch = a->outputs[0];
    }
    if (st == NNQ_OK && mismatch)
        st = nnq_fail(NNQ_ERR_INVALID, "'%s' was prepared from another model (it differs at %s)", path, mismatch);
    model_free(&fresh);
    return st;
}

nnq_status plan_load_with_model(const char *plan_path, const nnq_model *model, nnq_plan *plan, nnq_model *prepared) {
    memset(prepared, 0, sizeof *prepared);
    NNQ_TRY(plan_read_json(plan_path, plan));
    nnq_status st = NNQ_OK;
    if (plan->prepared_model) {
        char *path = beside(plan_path, plan->prepared_model);
        st = path ? onnx_load_model(path, prepared) : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        if (st == NNQ_OK) st = check_derived(model, prepared, path);
        free(path);
    } else {
        st = model_copy(prepared, model);
    }
    /* Idempotent on a prepared graph; re-derives shapes a saved file may lack. */
    if (st == NNQ_OK) st = model_prepare_for_quantization(prepared, NULL);
    if (st != NNQ_OK) {
        model_free(prepared);
        plan_free(plan);
        nnq_fail_context(st, "plan '%s'", plan_path);
    }
    return st;
}
