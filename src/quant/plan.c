#include "quant/plan.h"

#include <stdlib.h>
#include <string.h>

#include "base/status.h"

void plan_init(nnq_plan *plan) { memset(plan, 0, sizeof *plan); }

static void quantizer_free(nnq_quantizer *q) {
    free(q->tensor);
    free(q->scales);
    free(q->zero_points);
    free(q->method);
}

void plan_free(nnq_plan *plan) {
    for (int i = 0; i < plan->n_quantizers; i++) quantizer_free(&plan->quantizers[i]);
    free(plan->quantizers);
    free(plan->model_name);
    free(plan->prepared_model);
    memset(plan, 0, sizeof *plan);
}

nnq_quantizer *plan_find(const nnq_plan *plan, const char *tensor) {
    for (int i = 0; i < plan->n_quantizers; i++)
        if (strcmp(plan->quantizers[i].tensor, tensor) == 0) return &plan->quantizers[i];
    return NULL;
}

nnq_status plan_add(nnq_plan *plan, const char *tensor, nnq_quant_role role, const nnq_qscheme *scheme, int axis,
                    int n_channels, nnq_quantizer **out) {
    if (plan_find(plan, tensor)) return nnq_fail(NNQ_ERR_INVALID, "tensor '%s' is quantized twice in the plan", tensor);
    if (scheme->bits < NNQ_MIN_BITS || scheme->bits > (role == NNQ_ROLE_BIAS ? 32 : NNQ_MAX_BITS))
        return nnq_fail(NNQ_ERR_INVALID, "tensor '%s': %d bits is outside %d..%d", tensor, scheme->bits, NNQ_MIN_BITS,
                        NNQ_MAX_BITS);
    if (n_channels < 1) return nnq_fail(NNQ_ERR_INVALID, "tensor '%s': %d channels", tensor, n_channels);
    if (plan->n_quantizers == plan->capacity) {
        int capacity = plan->capacity ? plan->capacity * 2 : 32;
        nnq_quantizer *grown = realloc(plan->quantizers, sizeof *grown * (size_t)capacity);
        if (!grown) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        plan->quantizers = grown;
        plan->capacity = capacity;
    }
    nnq_quantizer *q = &plan->quantizers[plan->n_quantizers];
    memset(q, 0, sizeof *q);
    q->tensor = strdup(tensor);
    q->role = role;
    q->scheme = *scheme;
    q->axis = axis;
    q->n_channels = n_channels;
    q->scales = malloc(sizeof(float) * (size_t)n_channels);
    q->zero_points = calloc((size_t)n_channels, sizeof(int32_t));
    if (!q->tensor || !q->scales || !q->zero_points) {
        quantizer_free(q);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    }
    for (int c = 0; c < n_channels; c++) q->scales[c] = 1.0f;
    plan->n_quantizers++;
    if (out) *out = q;
    return NNQ_OK;
}

nnq_status quantizer_set_range(nnq_quantizer *q, float lo, float hi, const char *method) {
    if (q->n_channels != 1) return nnq_fail(NNQ_ERR_INVALID, "tensor '%s': a per-channel quantizer needs a range per channel", q->tensor);
    if (!(lo <= hi)) return nnq_fail(NNQ_ERR_INVALID, "tensor '%s': invalid range [%g, %g]", q->tensor, lo, hi);
    qscheme_params(&q->scheme, lo, hi, &q->scales[0], &q->zero_points[0]);
    q->range_min = lo;
    q->range_max = hi;
    free(q->method);
    q->method = strdup(method ? method : "");
    return q->method ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
}
