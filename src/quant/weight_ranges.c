#include "quant/weight_ranges.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "calib/weight_range.h"

static nnq_status check_finite(const nnq_tensor *t) {
    int64_t n = tensor_numel(t);
    const float *x = t->data;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return nnq_fail(NNQ_ERR_INVALID, "weight '%s' holds a %s value (element %lld): it cannot be quantized",
                            t->name, isnan(x[i]) ? "NaN" : "infinite", (long long)i);
    return NNQ_OK;
}

static nnq_status set_from_values(nnq_quantizer *q, const nnq_tensor *t, nnq_range_method method,
                                  const nnq_calib_options *options) {
    NNQ_TRY(check_finite(t));
    int64_t n = calib_weight_range_count(t, q->axis);
    if (n != q->n_channels)
        return nnq_fail(NNQ_ERR_INVALID, "weight '%s': %d channel scales do not match axis %d", t->name, q->n_channels,
                        q->axis);
    float *lo = malloc(sizeof(float) * (size_t)n), *hi = malloc(sizeof(float) * (size_t)n);
    nnq_status st = lo && hi ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st == NNQ_OK) st = calib_weight_ranges(t, q->axis, method, &q->scheme, options, lo, hi);
    if (st == NNQ_OK && q->axis < 0) {
        st = quantizer_set_range(q, lo[0], hi[0], range_method_name(method));
    } else if (st == NNQ_OK) {
        for (int64_t c = 0; c < n; c++) qscheme_params(&q->scheme, lo[c], hi[c], &q->scales[c], &q->zero_points[c]);
        free(q->method);
        q->method = strdup(range_method_name(method));
        if (!q->method) st = nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    }
    if (st == NNQ_OK) {
        /* The per-tensor extremes, for the calibration table. */
        q->observed_min = q->observed_max = 0;
        const float *x = t->data;
        for (int64_t i = 0, count = tensor_numel(t); i < count; i++) {
            q->observed_min = fminf(q->observed_min, x[i]);
            q->observed_max = fmaxf(q->observed_max, x[i]);
        }
    }
    free(lo);
    free(hi);
    return st == NNQ_OK ? NNQ_OK : nnq_fail_context(st, "range of weight '%s'", t->name);
}

nnq_status plan_set_weight_ranges(const nnq_model *model, nnq_plan *plan, const plan_recipe *recipe,
                                  const quant_config *config, const nnq_calib_options *options) {
    nnq_range_method weight_method, minmax;
    NNQ_TRY(range_method_from_name(config->weight_method, &weight_method));
    NNQ_TRY(range_method_from_name("minmax", &minmax));
    for (int i = 0; i < plan->n_quantizers; i++) {
        nnq_quantizer *q = &plan->quantizers[i];
        if (q->role == NNQ_ROLE_BIAS || recipe->observe[i] || recipe->grid_source[i] >= 0) continue;
        const nnq_tensor *t = graph_find_fixed_initializer(&model->graph, q->tensor);
        if (!t) return nnq_fail(NNQ_ERR_INVALID, "plan constant '%s' is not an initializer of the model", q->tensor);
        /* Constant operands of Add/Mul/Concat are exact values, not a distribution to clip. */
        NNQ_TRY(set_from_values(q, t, q->role == NNQ_ROLE_WEIGHT ? weight_method : minmax, options));
    }
    return NNQ_OK;
}
