#include "quant/qscheme.h"

#include <math.h>
#include <stdio.h>

void qscheme_grid(const nnq_qscheme *scheme, int32_t *q_min, int32_t *q_max) {
    /* 64-bit arithmetic: int32 biases use a 32-bit grid. */
    int bits = scheme->bits < 1 ? 1 : scheme->bits > 32 ? 32 : scheme->bits;
    int64_t levels = (int64_t)1 << bits;
    if (!scheme->is_signed) {
        int64_t top = levels - 1;
        *q_min = 0;
        *q_max = top > INT32_MAX ? INT32_MAX : (int32_t)top;
        return;
    }
    *q_max = (int32_t)(levels / 2 - 1);
    *q_min = scheme->narrow_range ? -*q_max : (int32_t)(-levels / 2);
}

float round_half_even(float x) {
    /* nearbyintf honours the current rounding mode, which C starts at round-to-nearest-even. */
    return nearbyintf(x);
}

void qscheme_params(const nnq_qscheme *scheme, float lo, float hi, float *scale, int32_t *zero_point) {
    int32_t q_min, q_max;
    qscheme_grid(scheme, &q_min, &q_max);
    lo = fminf(lo, 0.0f);
    hi = fmaxf(hi, 0.0f);
    double s;
    if (scheme->symmetric) {
        double absmax = fmax(fabs((double)lo), fabs((double)hi));
        s = scheme->is_signed ? 2.0 * absmax / (double)(q_max - q_min) : absmax / (double)q_max;
    } else {
        s = ((double)hi - (double)lo) / (double)(q_max - q_min);
    }
    if (!(s > 0.0) || !isfinite(s)) s = 1.0;
    if (scheme->power_of_two) s = exp2(ceil(log2(s)));
    *scale = (float)s;
    if (scheme->symmetric) {
        *zero_point = 0;
        return;
    }
    double z = nearbyint((double)q_min - (double)lo / s);
    if (z < q_min) z = q_min;
    if (z > q_max) z = q_max;
    *zero_point = (int32_t)z;
}

int32_t quantize_value(float x, float scale, int32_t zero_point, int32_t q_min, int32_t q_max) {
    if (isnan(x)) return zero_point;
    double q = nearbyint((double)x / (double)scale) + zero_point;
    if (q < q_min) return q_min;
    if (q > q_max) return q_max;
    return (int32_t)q;
}

float fake_quantize_value(float x, float scale, int32_t zero_point, int32_t q_min, int32_t q_max) {
    return scale * (float)(quantize_value(x, scale, zero_point, q_min, q_max) - zero_point);
}

void fake_quantize_span(float *x, int64_t n, float scale, int32_t zero_point, int32_t q_min, int32_t q_max) {
    for (int64_t i = 0; i < n; i++) x[i] = fake_quantize_value(x[i], scale, zero_point, q_min, q_max);
}

const char *qscheme_describe(const nnq_qscheme *scheme, char *buf, int size) {
    snprintf(buf, (size_t)size, "%sint%d %s%s%s", scheme->is_signed ? "" : "u", scheme->bits,
             scheme->symmetric ? "sym" : "asym", scheme->is_signed && scheme->narrow_range ? " narrow" : "",
             scheme->power_of_two ? " pow2" : "");
    return buf;
}
