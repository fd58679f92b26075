/* The one requantization function of the integer path (every kernel calls
 * it, as every CMSIS-NN kernel calls arm_nn_requantize) and the rounding rule
 * of the whole integer path.
 *
 * Rounding rule: ROUND HALF TO EVEN, everywhere - in requantization, in the
 * rounding division of the average pools and in quantize at the model entry.
 * It is ONNX QuantizeLinear's rounding and the fake-quantized simulation's
 * (qscheme.h), so the integer engine and the simulation round ties alike, and
 * it carries no bias on the frequent exact ties of shift-only rescaling.
 *
 * A rescale applies one real multiplier m to an int32 value:
 *   integer modes: y = round(acc * multiplier * 2^-shift), computed exactly in
 *                  int64 and saturated to int32. multiplier is the x of
 *                  N2D2's fixed-point "x 2^-p" (x >= 0: up to 2^15 - 1 in
 *                  fixed16, 2^31 - 1 in fixed32; 1 for a single shift 2^-n;
 *                  2^(k-n) + 1 for a double shift 2^-n + 2^-k, shift = k).
 *                  shift lies in [-31, 62]; a negative shift is a left shift
 *                  (fixed16 fallback of large scales).
 *   float mode:    y = round(acc * real) in float arithmetic (is_float != 0).
 * Which (multiplier, shift) a real scale becomes is src/intq/requantize.c's
 * business; applying it is this file's.
 *
 * INTQ_INTEGER_ONLY: define it (for every file of a build) when no rescale is
 * a float one - the C export of an integer mode does. The float branch is
 * then compiled out and the integer path has no floating-point operation
 * (the export's test compiles it with -mgeneral-regs-only) and needs no
 * header but <stdint.h> (freestanding targets). The struct
 * layout does not change; a rescale with is_float set is not supported then.
 * The integer engine is built without it. */
#ifndef NNQ_INTQ_REQUANTIZE_KERNEL_H
#define NNQ_INTQ_REQUANTIZE_KERNEL_H

#include <stdint.h>
#ifndef INTQ_INTEGER_ONLY
#include <math.h> /* rintf */
#endif

typedef struct intq_rescale {
    int32_t multiplier;
    int32_t shift;
    float real;           /* the multiplier itself, used in float mode */
    int32_t is_float;
} intq_rescale;

/* From an accumulator to an output grid: a rescale per output channel (or one
 * for all), the output zero point, and the clamp bounds - the output grid,
 * narrowed by a fused Relu/Clip (white paper §2.3.2). */
typedef struct intq_requant {
    int32_t n_channels;            /* 1: one rescale for the whole layer; else one per output channel */
    const intq_rescale *rescales;  /* n_channels entries */
    int32_t output_zero_point;
    int32_t output_min, output_max;
} intq_requant;

static inline int32_t intq_saturate_s32(int64_t v) {
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* round_half_even(v / 2^shift) for shift in [1, 62]; portable: no right
 * shift of negative values (implementation-defined in C99). */
static inline int64_t intq_rounding_shift_right(int64_t v, int32_t shift) {
    int64_t unit = (int64_t)1 << shift;
    int64_t q = v >= 0 ? v >> shift : -((-v - 1) >> shift) - 1; /* floor(v / 2^shift) */
    int64_t remainder = v - q * unit;                             /* in [0, 2^shift) */
    int64_t half = unit >> 1;
    if (remainder > half || (remainder == half && (q & 1))) q++;
    return q;
}

/* round_half_even(numerator / denominator) for denominator > 0. */
static inline int64_t intq_rounding_divide(int64_t numerator, int64_t denominator) {
    int64_t q = numerator / denominator, r = numerator % denominator; /* C99: truncation */
    if (r < 0) {
        q--;
        r += denominator;
    }
    if (2 * r > denominator || (2 * r == denominator && (q & 1))) q++;
    return q;
}

/* THE requantization: y = round_half_even(acc * m) for the rescale's m, saturated to int32. */
static inline int32_t intq_rescale_apply(int32_t acc, const intq_rescale *r) {
#ifndef INTQ_INTEGER_ONLY
    if (r->is_float) {
        float y = rintf((float)acc * r->real); /* rintf: round half to even in the default mode */
        if (y >= 2147483647.0f) return INT32_MAX;
        if (y <= -2147483648.0f) return INT32_MIN;
        return (int32_t)y;
    }
#endif
    int64_t product = (int64_t)acc * r->multiplier; /* |acc| < 2^31, multiplier < 2^31: fits */
    if (r->shift > 0) return intq_saturate_s32(intq_rounding_shift_right(product, r->shift));
    int32_t left = -r->shift;
    if (product > (INT64_MAX >> left)) return INT32_MAX;
    if (product < -(INT64_MAX >> left)) return INT32_MIN;
    return intq_saturate_s32(product * ((int64_t)1 << left));
}

/* The accumulator of output channel `channel` on the output grid: rescale, add the zero point, clamp. */
static inline int32_t intq_requant_output(const intq_requant *q, int32_t channel, int32_t acc) {
    const intq_rescale *r = &q->rescales[q->n_channels == 1 ? 0 : channel];
    int64_t y = (int64_t)intq_rescale_apply(acc, r) + q->output_zero_point;
    return y < q->output_min ? q->output_min : y > q->output_max ? q->output_max : (int32_t)y;
}

#endif
