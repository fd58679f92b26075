#include "ir/model_copy.h"

#include <stdlib.h>
#include <string.h>

#include "base/status.h"

nnq_status value_info_copy(nnq_value_info *dst, const nnq_value_info *src) {
    *dst = *src;
    dst->name = nnq_strdup(src->name);
    dst->doc_string = nnq_strdup(src->doc_string);
    bool ok = dst->name && (!src->doc_string || dst->doc_string);
    for (int i = 0; i < NNQ_MAX_RANK; i++) {
        dst->dim_params[i] = nnq_strdup(src->dim_params[i]);
        if (src->dim_params[i] && !dst->dim_params[i]) ok = false;
    }
    if (!ok) {
        value_info_free(dst);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory copying a model");
    }
    return NNQ_OK;
}

static nnq_status copy_value_infos(nnq_value_info **dst, int *n_dst, const nnq_value_info *src, int n) {
    *dst = calloc((size_t)n + 1, sizeof **dst);
    if (!*dst) return nnq_fail(NNQ_ERR_NOMEM, "out of memory copying a model");
    for (int i = 0; i < n; i++) {
        NNQ_TRY(value_info_copy(&(*dst)[i], &src[i]));
        *n_dst = i + 1;
    }
    return NNQ_OK;
}

static nnq_status copy_contents(nnq_model *dst, const nnq_model *src) {
    dst->ir_version = src->ir_version;
    dst->model_version = src->model_version;
    dst->producer_name = nnq_strdup(src->producer_name);
    dst->producer_version = nnq_strdup(src->producer_version);
    dst->domain = nnq_strdup(src->domain);
    dst->doc_string = nnq_strdup(src->doc_string);
    dst->opset_imports = calloc((size_t)src->n_opset_imports + 1, sizeof *dst->opset_imports);
    dst->metadata = calloc((size_t)src->n_metadata + 1, sizeof *dst->metadata);
    if (!dst->opset_imports || !dst->metadata) return nnq_fail(NNQ_ERR_NOMEM, "out of memory copying a model");
    for (int i = 0; i < src->n_opset_imports; i++) {
        dst->opset_imports[i].version = src->opset_imports[i].version;
        dst->opset_imports[i].domain = nnq_strdup(src->opset_imports[i].domain);
        dst->n_opset_imports = i + 1;
    }
    for (int i = 0; i < src->n_metadata; i++) {
        dst->metadata[i].key = nnq_strdup(src->metadata[i].key);
        dst->metadata[i].value = nnq_strdup(src->metadata[i].value);
        dst->n_metadata = i + 1;
    }
    const nnq_graph *g = &src->graph;
    nnq_graph *h = &dst->graph;
    h->name = nnq_strdup(g->name);
    h->doc_string = nnq_strdup(g->doc_string);
    for (int i = 0; i < g->n_nodes; i++) NNQ_TRY(graph_add_node(h, &g->nodes[i]));
    for (int i = 0; i < g->n_initializers; i++) {
        nnq_tensor copy;
        NNQ_TRY(tensor_copy(&copy, &g->initializers[i]));
        NNQ_TRY(graph_add_initializer(h, &copy));
    }
    NNQ_TRY(copy_value_infos(&h->inputs, &h->n_inputs, g->inputs, g->n_inputs));
    NNQ_TRY(copy_value_infos(&h->outputs, &h->n_outputs, g->outputs, g->n_outputs));
    NNQ_TRY(copy_value_infos(&h->value_infos, &h->n_value_infos, g->value_infos, g->n_value_infos));
    return NNQ_OK;
}

nnq_status model_copy(nnq_model *dst, const nnq_model *src) {
    memset(dst, 0, sizeof *dst);
    nnq_status st = copy_contents(dst, src);
    if (st != NNQ_OK) model_free(dst);
    return st;
}
