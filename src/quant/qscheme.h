/* A uniform quantization grid and the parameters that map reals onto it.
 *
 *   x_int = clamp(round_half_even(x / s) + z, q_min, q_max)      (white paper eq. 1-3)
 *   x_hat = s * (x_int - z)                                        (eq. 4)
 *
 * Grids: unsigned [0, 2^b - 1]; signed [-2^(b-1), 2^(b-1) - 1], or the
 * narrow (restricted) signed grid [-(2^(b-1) - 1), 2^(b-1) - 1] that N2D2
 * uses by default for symmetric tensors so that the grid is symmetric
 * around zero. Zero is always exactly representable (z is an integer). */
#ifndef NNQ_QUANT_QSCHEME_H
#define NNQ_QUANT_QSCHEME_H

#include <stdbool.h>
#include <stdint.h>

#define NNQ_MIN_BITS 2
#define NNQ_MAX_BITS 16

typedef struct nnq_qscheme {
    int bits;          /* NNQ_MIN_BITS .. NNQ_MAX_BITS */
    bool is_signed;    /* signed grid (int8-like) or unsigned (uint8-like) */
    bool symmetric;    /* zero point fixed at 0: signed grids cover [-m, m], unsigned grids
                          [0, m] (N2D2's "unsigned" activations after sign optimization) */
    bool narrow_range; /* signed only: drop -2^(b-1) so the grid is symmetric */
    bool power_of_two; /* scales rounded up to a power of two (shift-only hardware) */
} nnq_qscheme;

/* The integer grid limits. */
void qscheme_grid(const nnq_qscheme *scheme, int32_t *q_min, int32_t *q_max);

/* Scale and zero point covering the real range [lo, hi], as ONNX Runtime
 * computes them (seed 004): the range is first widened to include 0;
 *   asymmetric: s = (hi - lo) / (q_max - q_min), z = round(q_min - lo / s)
 *   symmetric, signed:   s = 2 max(|lo|, |hi|) / (q_max - q_min), z = 0
 *   symmetric, unsigned: s = max(|lo|, |hi|) / q_max, z = 0 (for tensors
 *                        proven non-negative; negatives would clip to 0)
 * A degenerate range (lo == hi == 0) gives s = 1 so nothing divides by 0.
 * power_of_two rounds s up to 2^ceil(log2 s) (never clipping more). */
void qscheme_params(const nnq_qscheme *scheme, float lo, float hi, float *scale, int32_t *zero_point);

/* Rounds half to even (ONNX QuantizeLinear's rounding), as a float. */
float round_half_even(float x);

/* x_int for one value; saturates; NaN maps to the zero point. */
int32_t quantize_value(float x, float scale, int32_t zero_point, int32_t q_min, int32_t q_max);
/* x_hat = s (x_int - z): quantize then dequantize (fake quantization). */
float fake_quantize_value(float x, float scale, int32_t zero_point, int32_t q_min, int32_t q_max);

/* Fake-quantizes n values in place with one (scale, zero point). */
void fake_quantize_span(float *x, int64_t n, float scale, int32_t zero_point, int32_t q_min, int32_t q_max);

/* A short text for reports: "int8 sym narrow", "uint4 asym", "int8 sym pow2". */
const char *qscheme_describe(const nnq_qscheme *scheme, char *buf, int size);

#endif
