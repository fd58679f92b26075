#include "quant/quantize_tensor.h"

#include <math.h>
#include <string.h>

#include "base/status.h"

void quantizer_grid(const nnq_quantizer *q, int32_t *q_min, int32_t *q_max) {
    if (q->role == NNQ_ROLE_BIAS) {
        *q_min = INT32_MIN;
        *q_max = INT32_MAX;
        return;
    }
    qscheme_grid(&q->scheme, q_min, q_max);
}

nnq_dtype quantizer_storage_type(const nnq_quantizer *q) {
    if (q->role == NNQ_ROLE_BIAS) return NNQ_INT32;
    if (q->scheme.bits <= 8) return q->scheme.is_signed ? NNQ_INT8 : NNQ_UINT8;
    return q->scheme.is_signed ? NNQ_INT16 : NNQ_UINT16;
}

nnq_status quantizer_check_tensor(const nnq_quantizer *q, const nnq_tensor *t) {
    if (t->dtype != NNQ_FLOAT)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "tensor '%s': only float tensors are quantized, this one is %s", q->tensor,
                        dtype_name(t->dtype));
    if (q->axis < 0) return q->n_channels == 1 ? NNQ_OK : nnq_fail(NNQ_ERR_INVALID, "tensor '%s': per-tensor quantizer with %d scales", q->tensor, q->n_channels);
    if (q->axis >= t->rank || t->dims[q->axis] != q->n_channels)
        return nnq_fail(NNQ_ERR_INVALID, "tensor '%s': %d channel scales do not match axis %d of its shape", q->tensor,
                        q->n_channels, q->axis);
    return NNQ_OK;
}

/* Visits the tensor as [outer, channels, inner] blocks along the quantizer's axis. */
typedef struct channel_layout {
    int64_t outer, channels, inner;
} channel_layout;

static channel_layout layout_of(const nnq_quantizer *q, const nnq_tensor *t) {
    channel_layout l = {1, 1, tensor_numel(t)};
    if (q->axis < 0) return l;
    l.channels = t->dims[q->axis];
    l.outer = dims_numel(t->dims, q->axis);
    l.inner = dims_numel(t->dims + q->axis + 1, t->rank - q->axis - 1);
    return l;
}

/* x / s rounded half to even, plus z, clamped. Activations and weights
 * divide in float as ONNX QuantizeLinear does (so ONNX Runtime agrees to the
 * bit); biases span int32 and divide in double, as ONNX Runtime's quantizer
 * computes them. */
static double quantize_to_grid(const nnq_quantizer *q, double x, double scale, int32_t zero_point, int32_t q_min,
                               int32_t q_max) {
    if (isnan(x)) return zero_point;
    double v = q->role == NNQ_ROLE_BIAS ? nearbyint(x / scale) : (double)nearbyintf((float)x / (float)scale);
    v += zero_point;
    return v < q_min ? q_min : v > q_max ? q_max : v;
}

void quantizer_fake_quantize(const nnq_quantizer *q, nnq_tensor *t, bool rounding) {
    int32_t q_min, q_max;
    quantizer_grid(q, &q_min, &q_max);
    channel_layout l = layout_of(q, t);
    float *x = t->data;
    for (int64_t o = 0; o < l.outer; o++)
        for (int64_t c = 0; c < l.channels; c++) {
            double s = q->scales[q->axis < 0 ? 0 : c];
            int32_t z = q->zero_points[q->axis < 0 ? 0 : c];
            float *block = x + (o * l.channels + c) * l.inner;
            double lo = s * ((double)q_min - z), hi = s * ((double)q_max - z);
            for (int64_t i = 0; i < l.inner; i++) {
                /* Dequantize as ONNX DequantizeLinear does: (float)(q - z) * s in float. */
                if (rounding) block[i] = (float)(quantize_to_grid(q, block[i], s, z, q_min, q_max) - z) * (float)s;
                else block[i] = (float)fmin(fmax((double)block[i], lo), hi);
            }
        }
}

nnq_status quantizer_quantize(const nnq_quantizer *q, const nnq_tensor *real, nnq_tensor *ints) {
    memset(ints, 0, sizeof *ints);
    NNQ_TRY(quantizer_check_tensor(q, real));
    NNQ_TRY(tensor_create(ints, quantizer_storage_type(q), real->rank, real->dims));
    int32_t q_min, q_max;
    quantizer_grid(q, &q_min, &q_max);
    channel_layout l = layout_of(q, real);
    const float *x = real->data;
    for (int64_t o = 0; o < l.outer; o++)
        for (int64_t c = 0; c < l.channels; c++) {
            double s = q->scales[q->axis < 0 ? 0 : c];
            int32_t z = q->zero_points[q->axis < 0 ? 0 : c];
            int64_t base = (o * l.channels + c) * l.inner;
            for (int64_t i = 0; i < l.inner; i++)
                tensor_set_double(ints, base + i, quantize_to_grid(q, x[base + i], s, z, q_min, q_max));
        }
    return NNQ_OK;
}
