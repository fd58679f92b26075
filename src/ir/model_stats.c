#include "ir/model_stats.h"

#include <stdlib.h>
#include <string.h>

#include "base/status.h"

static int by_count_then_name(const void *a, const void *b) {
    const op_count *x = a, *y = b;
    if (x->count != y->count) return y->count - x->count;
    int d = strcmp(x->domain, y->domain);
    return d ? d : strcmp(x->op_type, y->op_type);
}

nnq_status model_stats_compute(const nnq_model *model, model_stats *out) {
    memset(out, 0, sizeof *out);
    const nnq_graph *g = &model->graph;
    out->ops = calloc((size_t)g->n_nodes + 1, sizeof *out->ops);
    if (!out->ops) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    for (int i = 0; i < g->n_nodes; i++) {
        const nnq_node *node = &g->nodes[i];
        int k = 0;
        while (k < out->n_ops &&
               (strcmp(out->ops[k].op_type, node->op_type) != 0 || strcmp(out->ops[k].domain, node->domain) != 0))
            k++;
        if (k == out->n_ops) out->ops[out->n_ops++] = (op_count){node->domain, node->op_type, 0};
        out->ops[k].count++;
    }
    qsort(out->ops, (size_t)out->n_ops, sizeof *out->ops, by_count_then_name);
    for (int i = 0; i < g->n_initializers; i++) {
        int64_t n = tensor_numel(&g->initializers[i]);
        out->parameters += n;
        out->parameter_bytes += n * (int64_t)dtype_size(g->initializers[i].dtype);
    }
    return NNQ_OK;
}

void model_stats_free(model_stats *stats) {
    free(stats->ops);
    memset(stats, 0, sizeof *stats);
}
