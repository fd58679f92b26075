/* Applying a plan quantizer to a whole tensor: per tensor, or per channel
 * along the quantizer's axis (channel c uses scales[c], zero_points[c]). */
#ifndef NNQ_QUANT_QUANTIZE_TENSOR_H
#define NNQ_QUANT_QUANTIZE_TENSOR_H

#include "ir/tensor.h"
#include "quant/plan.h"

/* The integer grid of a quantizer (biases: the int32 range). */
void quantizer_grid(const nnq_quantizer *q, int32_t *q_min, int32_t *q_max);

/* The smallest ONNX integer type holding the grid: int8/uint8 up to 8 bits,
 * int16/uint16 up to 16, int32 for biases. Narrower grids live in 8-bit
 * containers with their narrower range. */
nnq_dtype quantizer_storage_type(const nnq_quantizer *q);

/* Checks that the quantizer fits a float tensor (its channel axis exists and
 * has n_channels entries); fails naming the tensor. */
nnq_status quantizer_check_tensor(const nnq_quantizer *q, const nnq_tensor *t);

/* In place: x <- s (clamp(round(x / s) + z) - z). With rounding off, only the
 * clamp to the grid's real range [s (q_min - z), s (q_max - z)] is applied
 * (Aidge's "PTQ without rounding", a debugging aid). */
void quantizer_fake_quantize(const nnq_quantizer *q, nnq_tensor *t, bool rounding);

/* The integer values of a float tensor in quantizer_storage_type(q). */
nnq_status quantizer_quantize(const nnq_quantizer *q, const nnq_tensor *real, nnq_tensor *ints);

#endif
