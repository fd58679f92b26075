/* The quantization error model behind "mse" (white paper eq. 16).
 *
 * The values of a histogram bin [a, a + w) with count c are taken as uniform
 * on it (density c / w). For the grid of qscheme_params(scheme, lo, hi),
 * points g_j = s (j - z), j = q_min .. q_max, spanning [g_lo, g_hi], the
 * squared error of quantize→dequantize integrates in closed form per bin:
 *   below g_lo (clipped):  ∫ (x - g_lo)² dx = [(x - g_lo)³ / 3]
 *   above g_hi (clipped):  ∫ (x - g_hi)² dx
 *   inside (rounding):     s³ [F(u_b) - F(u_a)],  u = (x - g_lo) / s,
 *     F(u) = ∫_0^u (t - round t)² dt = m / 12 + (r³ + 1/8) / 3 + const,
 *     m = floor(u + 1/2), r = u - m  (each full step contributes ∫_{-1/2}^{1/2} r² dr = 1/12).
 * So the error is exact for piecewise-uniform data at any bin/step ratio;
 * rounding ties (measure zero) do not matter. */
#ifndef NNQ_CALIB_RANGE_MSE_H
#define NNQ_CALIB_RANGE_MSE_H

#include "calib/histogram.h"
#include "quant/qscheme.h"

/* Mean squared error per value of quantizing the histogram's values with the
 * grid qscheme_params(scheme, lo, hi) gives; 0 for an empty histogram. */
double histogram_quantization_mse(const nnq_histogram *histogram, const nnq_qscheme *scheme, double lo, double hi);

#endif
