/* The requantization of a layer with weights (Conv, Gemm, MatMul) and the
 * weight compensation it may need - a lowering step of its own.
 *
 * The layer needs, per output channel c, the real multiplier
 *   m_c = s_x s_w[c] / s_y      (white paper eq. 3: the accumulator's scale over the output's)
 * and the output stage realizes some a_c. When a_c differs from m_c by more
 * than the mode's rounding - a single or double shift (Aidge's single shift,
 * seed 003), or one multiplier for the whole layer over per-channel weights
 * (N2D2's default per-layer rescaling, -act-rescale-per-output 0) - the
 * ratio r_c = m_c / a_c is folded into the layer: weights and bias of channel
 * c are re-quantized as round(w_int r_c), round(b_int r_c), so that the net
 * scale a_c / r_c stays m_c. a_c is chosen so that r_c never pushes a weight
 * past the grid: r_c <= q_max / max_k |w_int[c][k]|, as large as possible
 * (the smallest representable a_c >= m_c max|w_int[c]| / q_max). */
#ifndef NNQ_INTQ_LAYER_RESCALE_H
#define NNQ_INTQ_LAYER_RESCALE_H

#include <stdbool.h>
#include <stdint.h>

#include "intq/int_program.h"

typedef struct intq_layer {
    int channels;             /* output channels */
    int32_t per_channel;      /* weights per channel: weights[c * per_channel + k] */
    int8_t *weights;          /* int8, changed in place by compensation */
    int32_t *bias;            /* int32 on the accumulator grid (zero-point term not yet folded), in place */
    int32_t weight_min, weight_max; /* the weight grid */
    const double *multipliers; /* m_c, channels entries */
} intq_layer;

/* Fills stage (mode, rescales: one per channel with per_output, else one)
 * for the layer, compensating its weights and bias when needed. */
nnq_status intq_layer_rescale(intq_layer *layer, intq_rescale_mode mode, bool per_output, intq_output_stage *stage);

#endif
