/* The integer kernels of nnquant's integer path, in portable C99 with no
 * dependency on the rest of the library: the integer engine runs them and the
 * C exporter copies these files verbatim into the generated code, so both are
 * bit-exact by construction (DESIGN.md, "one integer lowering, two consumers").
 *
 * Conventions (as CMSIS-NN's arm_nnfunctions.h):
 *   - one kernel per file, named op_variant_dtype; no malloc, no globals;
 *     scratch memory comes from the caller;
 *   - activations are int8: an unsigned 8-bit grid [0, 255] with zero point z
 *     is stored as int8 with zero point z - 128 (the same reals, shifted);
 *   - weights are int8 with zero point 0 (symmetric, white paper §2.4.1), so
 *     the input zero point's term of eq. 13 is folded into the int32 bias:
 *       sum_k w_k (x_k - z_x) = sum_k w_k x_k - z_x sum_k w_k;
 *   - layouts are NCHW for one sample (the batch loop is the caller's);
 *   - sizes are int32_t;
 *   - float appears only in the quantize/dequantize kernels at the program's
 *     float boundary and in the `float` requantization mode.
 * Requantization and its rounding rule are in intq_requantize.h. */
#ifndef NNQ_INTQ_KERNELS_H
#define NNQ_INTQ_KERNELS_H

#include <stdint.h>

#include "intq_requantize.h"

/* ---- geometry of a 2-D window (Conv, pools) over a C x H x W sample ---- */
typedef struct intq_window {
    int32_t in_channels, in_height, in_width;
    int32_t out_channels, out_height, out_width;
    int32_t kernel_height, kernel_width;
    int32_t stride_height, stride_width;
    int32_t pad_top, pad_left;               /* bottom/right padding follows from the output size */
    int32_t dilation_height, dilation_width;
    int32_t groups;                          /* Conv only: in_channels and out_channels divide by it */
} intq_window;

/* Conv (ONNX Conv, 2-D): out[oc][y][x] = requant(bias[oc] + sum w * in), where
 * positions in the padding read pad_value (the input's zero point, real 0).
 *   weights: [out_channels][in_channels / groups][kernel_height][kernel_width]
 *   bias:    [out_channels], eq. 13's zero-point term included
 *   scratch: out_height * out_width int32 accumulators */
void conv_s8(const intq_window *window, const int8_t *input, int32_t pad_value, const int8_t *weights,
             const int32_t *bias, const intq_requant *requant, int32_t *scratch, int8_t *output);

/* Fully connected (Gemm / MatMul with constant weights):
 * out[r][o] = requant(bias[o] + sum_k weights[o][k] * in[r][k]), o the channel.
 *   input: [rows][in_features]; weights: [out_features][in_features]; output: [rows][out_features] */
void fully_connected_s8(int32_t rows, int32_t in_features, int32_t out_features, const int8_t *input,
                        const int8_t *weights, const int32_t *bias, const intq_requant *requant, int8_t *output);

/* Elementwise Add of n_inputs same-shaped tensors on different grids (a
 * joining node): each input is moved onto one fine common grid by its own
 * rescale step, v_i = rescale_i((x_i - z_i) * 2^left_shift), the v_i are
 * summed in int32 and the sum requantized onto the output grid with
 * saturation. left_shift keeps |sum| < 2^30 (see intq_add_left_shift). */
void add_s8(int32_t n_inputs, const int8_t *const *inputs, const int32_t *input_zero_points,
            const intq_rescale *input_rescales, int32_t left_shift, int32_t count, const intq_requant *requant,
            int8_t *output);

/* Moves count values from one grid to another: out = requant(in - in_zero_point).
 * Concat calls it once per input block; it also joins mismatched grids. */
void rescale_s8(const int8_t *input, int32_t count, int32_t input_zero_point, const intq_requant *requant,
                int8_t *output);

/* MaxPool: the maximum over each window (padding never wins); the output keeps the input's grid. */
void maxpool_s8(const intq_window *window, const int8_t *input, int8_t *output);

/* AveragePool / GlobalAveragePool: per window the int32 sum of (x - z_x),
 * then a rounding division by the window's count (count_include_pad: the
 * full kernel, else only the positions inside) done on a grid 2^fraction_bits
 * finer than the input's, then requantization to the output grid with
 * multiplier s_x / (s_y 2^fraction_bits). */
void avgpool_s8(const intq_window *window, const int8_t *input, int32_t input_zero_point, int32_t count_include_pad,
                int32_t fraction_bits, const intq_requant *requant, int8_t *output);

/* Relu / Clip on a grid: out = min(max(in, low), high). */
void clamp_s8(const int8_t *input, int32_t count, int32_t low, int32_t high, int8_t *output);

/* A unary elementwise op (Tanh, Sigmoid, ...) on 8-bit grids, as TFLite and
 * CMSIS-NN do: out = table[in + 128], where the lowering filled table[q + 128]
 * with f(s_in (q - z_in)) quantized onto the output grid, for every stored q. */
void lookup_s8(const int8_t *input, int32_t count, const int8_t *table, int8_t *output);

/* The float boundary (white paper eq. 4 and 6):
 *   quantize:   q = clamp(round_half_even(x / scale) + zero_point, q_min, q_max)
 *   dequantize: x = scale * (q - zero_point) */
void quantize_f32_s8(const float *input, int32_t count, float scale, int32_t zero_point, int32_t q_min,
                     int32_t q_max, int8_t *output);
void dequantize_s8_f32(const int8_t *input, int32_t count, float scale, int32_t zero_point, float *output);

#endif
