#include "quant/bn_ranges.h"

#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "calib/range_bn.h"
#include "ir/activation_fusion.h"
#include "quant/moment_propagation.h"

nnq_status bn_parameters_collect(const nnq_model *model, bn_parameters *out) {
    memset(out, 0, sizeof *out);
    const nnq_graph *g = &model->graph;
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += strcmp(g->nodes[i].op_type, "BatchNormalization") == 0;
    out->tensors = calloc((size_t)n + 1, sizeof *out->tensors);
    out->beta = calloc((size_t)n + 1, sizeof *out->beta);
    out->gamma = calloc((size_t)n + 1, sizeof *out->gamma);
    if (!out->tensors || !out->beta || !out->gamma) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    NNQ_TRY(name_map_init(&out->by_tensor, (size_t)n));
    for (int i = 0; i < g->n_nodes; i++) {
        const nnq_node *node = &g->nodes[i];
        if (strcmp(node->op_type, "BatchNormalization") != 0 || node->n_inputs < 3 || node->n_outputs < 1) continue;
        const nnq_tensor *gamma = graph_find_fixed_initializer(g, node->inputs[1]);
        const nnq_tensor *beta = graph_find_fixed_initializer(g, node->inputs[2]);
        if (!gamma || !beta || gamma->dtype != NNQ_FLOAT || beta->dtype != NNQ_FLOAT ||
            tensor_numel(gamma) != tensor_numel(beta))
            continue;
        int k = out->count;
        if (!(out->tensors[k] = strdup(node->outputs[0]))) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        out->count++;
        NNQ_TRY(tensor_copy(&out->gamma[k], gamma));
        NNQ_TRY(tensor_copy(&out->beta[k], beta));
        NNQ_TRY(name_map_put(&out->by_tensor, out->tensors[k], k));
    }
    return NNQ_OK;
}

void bn_parameters_free(bn_parameters *bn) {
    for (int i = 0; i < bn->count; i++) {
        free(bn->tensors[i]);
        tensor_free(&bn->beta[i]);
        tensor_free(&bn->gamma[i]);
    }
    free(bn->tensors);
    free(bn->beta);
    free(bn->gamma);
    name_map_free(&bn->by_tensor);
    memset(bn, 0, sizeof *bn);
}

nnq_status plan_set_bn_ranges(const nnq_model *prepared, nnq_plan *plan, plan_recipe *recipe,
                              const bn_parameters *bn, const nnq_calib_options *options, int *set) {
    *set = 0;
    activation_fusions fusions;
    NNQ_TRY(graph_find_activation_fusions(prepared, &fusions));
    nnq_status st = NNQ_OK;
    for (int i = 0; st == NNQ_OK && i < plan->n_quantizers; i++) {
        if (!recipe->observe[i]) continue;
        nnq_quantizer *q = &plan->quantizers[i];
        /* The BN output itself, or the activation fused after it. */
        const activation_fusion *fused = activation_fusion_at_output(&fusions, q->tensor);
        int k = name_map_get(&bn->by_tensor, fused ? fused->linear_output : q->tensor);
        if (k < 0) continue;
        bool relu_follows = fused && fused->clamp_min >= 0.0f;
        float lo, hi;
        st = calib_bn_range(bn->beta[k].data, bn->gamma[k].data, tensor_numel(&bn->beta[k]), options->bn_alpha,
                            relu_follows, &lo, &hi);
        if (st != NNQ_OK) break;
        if (recipe->clamp_max[i] < hi) hi = recipe->clamp_max[i]; /* e.g. ReLU6 */
        if (lo > hi) lo = hi;
        st = quantizer_set_range(q, lo, hi, "bn");
        recipe->observe[i] = false;
        (*set)++;
    }
    activation_fusions_free(&fusions);
    return st;
}

nnq_status plan_set_propagated_ranges(const nnq_model *prepared, nnq_plan *plan, plan_recipe *recipe,
                                      const bn_parameters *bn, const input_range *input,
                                      const nnq_calib_options *options, int *set, int *layers_without_bn) {
    *set = 0;
    moment_map moments;
    NNQ_TRY(moments_propagate(prepared, bn, input, &moments));
    *layers_without_bn = moments.layers_without_bn;
    nnq_status st = NNQ_OK;
    for (int i = 0; st == NNQ_OK && i < plan->n_quantizers; i++) {
        if (!recipe->observe[i]) continue;
        nnq_quantizer *q = &plan->quantizers[i];
        const activation_moments *m = moment_map_find(&moments, q->tensor);
        if (!m) continue;
        float lo, hi;
        activation_moments_range(m, options->bn_alpha, &lo, &hi);
        if (recipe->clamp_max[i] < hi) hi = recipe->clamp_max[i];
        if (lo > hi) lo = hi;
        st = quantizer_set_range(q, lo, hi, "bn");
        recipe->observe[i] = false;
        (*set)++;
    }
    moment_map_free(&moments);
    return st;
}
