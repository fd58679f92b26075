/* "bn": data-free activation range from the BatchNorm that produced the tensor
 * (white paper eq. 18-19, after Nagel et al. 2019, "Data-free quantization"):
 * a BN output channel c has mean β_c and standard deviation |γ_c|, so
 *   lo = min_c (β_c - α |γ_c|),   hi = max_c (β_c + α |γ_c|),
 * α = 6 by default (options.bn_alpha) so that only large outliers are clipped.
 * If a ReLU follows the BN (and the tensor is the ReLU's output), the range is
 * intersected with [0, ∞): lo = max(lo, 0), hi = max(hi, 0). The paper writes
 * γ; |γ| makes a negative learned scale (legal in ONNX) give the same spread. */
#ifndef NNQ_CALIB_RANGE_BN_H
#define NNQ_CALIB_RANGE_BN_H

#include <stdbool.h>
#include <stdint.h>

#include "nnquant.h"

/* beta and gamma hold `channels` values (the BN's B and scale inputs).
 * NNQ_ERR_INVALID if channels < 1, alpha <= 0 or a parameter is not finite. */
nnq_status calib_bn_range(const float *beta, const float *gamma, int64_t channels, double alpha, bool relu_follows,
                          float *lo, float *hi);

#endif
