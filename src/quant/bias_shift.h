/* The bias correction term of white paper §3.3 and its absorption into the
 * bias: a layer whose weight is quantized to W^ = W + dW shifts its expected
 * output by
 *   E[y^] - E[y] = dW E[x]                                    (eq. 25-26)
 * and subtracting that shift from the bias restores E[y] (eq. 26). */
#ifndef NNQ_QUANT_BIAS_SHIFT_H
#define NNQ_QUANT_BIAS_SHIFT_H

#include "ops/im2col.h"
#include "quant/quantized_layer.h"

/* shift[M] = dW E[x] from the mean of the layer input, one output channel
 * at a time:
 *   Gemm / MatMul: mean_input is E[x] over the K input features;
 *   Conv, geometry given: mean_input is the mean input image [C x image
 *     size]; the shift is the convolution of dW with it averaged over the
 *     output positions - by linearity exactly E[W^ x] - E[W x] over every
 *     position, borders included (eq. 27);
 *   Conv, geometry NULL: mean_input holds one mean per input channel [C];
 *     the shift sums dW over each channel's kernel positions, exact away
 *     from the zero-padded borders (analytic correction when the input's
 *     spatial shape is not known; with it, it passes a constant image).
 * delta_rows is dW as rows [M x K] (quantized_layer_weight_error). */
nnq_status bias_shift_compute(const quantized_layer *layer, const float *delta_rows, const float *mean_input,
                              const im2col_geometry *geometry, double *shift);

/* bias -= shift (eq. 26). A Conv or Gemm without a bias gets one (a new
 * "<weight>_bias" initializer), and - when the layer's input and weight
 * are quantized - its int32 bias quantizer in the plan with the scale
 * s_x * s_w[c] plan_recipe_resolve gives biases (eq. 13): so run this after
 * the plan is resolved. A MatMul cannot take a bias: NNQ_ERR_UNSUPPORTED.
 * *created tells whether a bias was added. */
nnq_status bias_shift_absorb(nnq_model *model, nnq_plan *plan, quantized_layer *layer, const double *shift,
                             bool *created);

#endif
