/* Data-free statistics of every activation: per-channel Gaussian moments
 * pushed through the prepared graph, so that the data-free pipeline
 * (--preset data-free, white paper §3.5) can set a range for tensors no
 * BatchNorm produces - residual sums, pooled features, logits, the input.
 *
 * A tensor is described as x_c ~ N(mean_c, sd_c^2) per channel (axis 1; or
 * one description for all channels), followed by a clamp [lo, hi]:
 *   - a BN output (folded into the layer before it): N(beta, gamma^2), eq. 18;
 *   - the graph input: its value range [lo, hi] as a uniform variable
 *     (mean (lo+hi)/2, sd (hi-lo)/sqrt 12), clamped to [lo, hi];
 *   - Relu / Clip: the input's description with the clamp narrowed;
 *   - Conv / Gemm / MatMul without a BN: mean_o = b_o + sum_k W_ok m_k and
 *     sd_o = sum_k |W_ok| s_k, with m, s the mean and sd of the clamped
 *     inputs (clipped_gaussian.h): the spread of fully correlated inputs, an
 *     upper bound for any correlation;
 *   - Add / Sum: means and variances add (independent branches), clamps add;
 *   - pools, reshapes and other value-preserving ops pass the description
 *     on (flattening repeats a channel's description over its positions);
 *   - Concat on axis 1 joins channel lists; Sigmoid, Tanh, Softmax and
 *     HardSigmoid give their codomain.
 * The range is eq. 18-19 generalized: [min_c(mean_c - alpha sd_c), max_c(mean_c
 * + alpha sd_c)] intersected with the clamp; for a BN output with a ReLU after
 * it this is exactly calib_bn_range. Tensors whose producer has no rule stay
 * undescribed. */
#ifndef NNQ_QUANT_MOMENT_PROPAGATION_H
#define NNQ_QUANT_MOMENT_PROPAGATION_H

#include <stdbool.h>
#include <stdint.h>

#include "base/name_map.h"
#include "ir/graph.h"
#include "quant/bn_ranges.h"

typedef struct activation_moments {
    int64_t channels;   /* 1: the description holds for every channel */
    float *mean, *sd;   /* of the values before the clamp */
    float lo, hi;       /* the clamp (-inf, inf: none) */
} activation_moments;

typedef struct moment_map {
    int count;
    char **tensors;
    activation_moments *moments;
    name_map by_tensor;
    int layers_without_bn;  /* linear layers described by propagation (loose bounds), not by a BN */
} moment_map;

/* The input value range (e.g. [0, 1] for images scaled by 1/255); NULL when
 * unknown, in which case nothing fed by the input can be described except
 * through a BN. */
struct input_range {
    float lo, hi;
};

/* Describes every tensor of the prepared (sorted, BN-folded) graph it can;
 * bn holds the BN statistics of the folded layers (after equalization). */
nnq_status moments_propagate(const nnq_model *prepared, const bn_parameters *bn, const input_range *input,
                             moment_map *out);
void moment_map_free(moment_map *map);

/* The description of tensor, or NULL. */
const activation_moments *moment_map_find(const moment_map *map, const char *tensor);

/* The range [lo, hi] described above, alpha > 0 (options.bn_alpha, 6). */
void activation_moments_range(const activation_moments *m, double alpha, float *lo, float *hi);

/* E[x_c] and Var[x_c] of channel c after the clamp. */
void activation_moments_channel(const activation_moments *m, int64_t c, double *mean, double *variance);

#endif
