/* Integer quantization arithmetic shared by the quantized operators (and the
 * integer code built on them): the saturation range of each quantized type,
 * ONNX's saturate(round(v) + zero_point) with rounding half to even, and
 * element loads and stores of quantized tensors as int32.
 *
 * Header-only (static inline) so the per-element helpers inline into loops. */
#ifndef NNQ_OPS_QUANT_MATH_H
#define NNQ_OPS_QUANT_MATH_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "ir/tensor.h"

/* Inclusive range of a quantized integer type. */
typedef struct quant_range {
    int32_t min, max;
} quant_range;

/* The saturation range of dtype; false (and an empty {0, 0} range) for
 * types that are not quantized integer types (uint8, int8, uint16, int16, int32). */
static inline bool quant_range_of(nnq_dtype dtype, quant_range *range) {
    switch (dtype) {
    case NNQ_UINT8: *range = (quant_range){0, UINT8_MAX}; return true;
    case NNQ_INT8: *range = (quant_range){INT8_MIN, INT8_MAX}; return true;
    case NNQ_UINT16: *range = (quant_range){0, UINT16_MAX}; return true;
    case NNQ_INT16: *range = (quant_range){INT16_MIN, INT16_MAX}; return true;
    case NNQ_INT32: *range = (quant_range){INT32_MIN, INT32_MAX}; return true;
    default: *range = (quant_range){0, 0}; return false;
    }
}

/* ONNX QuantizeLinear's y = saturate(round(value) + zero_point):
 *   round  - to the nearest integer, ties to even (2.5 -> 2, 3.5 -> 4,
 *            -2.5 -> -2): rint() in the default IEEE rounding mode;
 *   saturate - clamp to the type's range.
 * Works in double, where a float and the int32 sum are exact, so nothing
 * overflows before the clamp. NaN quantizes to the zero point. */
static inline int32_t quant_round_saturate(float value, int32_t zero_point, quant_range range) {
    double q = rint((double)value);
    if (isnan(q)) q = 0.0;
    q += zero_point;
    if (q < range.min) return range.min;
    if (q > range.max) return range.max;
    return (int32_t)q;
}

/* Element i of quantized data of the given type, widened to int32 (0 for
 * types quant_range_of rejects). */
static inline int32_t quant_load(const void *data, nnq_dtype dtype, int64_t i) {
    switch (dtype) {
    case NNQ_UINT8: return ((const uint8_t *)data)[i];
    case NNQ_INT8: return ((const int8_t *)data)[i];
    case NNQ_UINT16: return ((const uint16_t *)data)[i];
    case NNQ_INT16: return ((const int16_t *)data)[i];
    case NNQ_INT32: return ((const int32_t *)data)[i];
    default: return 0;
    }
}

/* Stores v (already within the type's range) as element i. */
static inline void quant_store(void *data, nnq_dtype dtype, int64_t i, int32_t v) {
    switch (dtype) {
    case NNQ_UINT8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case NNQ_INT8: ((int8_t *)data)[i] = (int8_t)v; break;
    case NNQ_UINT16: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case NNQ_INT16: ((int16_t *)data)[i] = (int16_t)v; break;
    case NNQ_INT32: ((int32_t *)data)[i] = v; break;
    default: break;
    }
}

#endif
