/* AdaRound's layer objective and its gradient (white paper §3.4; Nagel et
 * al., 2020). One layer y = W x + b with weight rows [M x K] on a per-row
 * grid (scale s_m, zero point z_m, integers [q_min, q_max]) is made soft:
 *
 *   W~_mk = s_m (clamp(floor(W_mk / s_m) + z_m + h(V_mk), q_min, q_max) - z_m)   (eq. 32)
 *   h(V)  = clamp(sigmoid(V) (zeta - gamma) + gamma, 0, 1),  zeta = 1.1, gamma = -0.1   (eq. 33)
 *
 * and V minimizes, over a batch of n columns x^_j (the layer input with the
 * preceding layers quantized) and targets t_j = f_a(W x_j + b) (the FP32
 * layer's output, f_a its fused activation):
 *
 *   E(V) = (1/n) sum_j || f_a(W~ x^_j + b) - t_j ||^2                       (eq. 34)
 *        + lambda sum_mk (1 - |2 h(V_mk) - 1|^beta)                        (eq. 35)
 *
 * The squared norm runs over the M output channels and is averaged over the
 * columns. Hand-written gradient, by the chain rule:
 *   dE/dY      = (2/n) (f_a(Y) - T) * f_a'(Y)         (Y = W~ X^ + b, f_a' = 1 inside the clamp)
 *   dE/dW~     = dE/dY X^T
 *   dW~/dh     = s_m where q_min < floor + z + h < q_max, else 0
 *   dreg/dh    = -2 beta |2h - 1|^(beta - 1) sign(2h - 1)
 *   dh/dV      = sigmoid(V) (1 - sigmoid(V)) (zeta - gamma) where 0 < h < 1, else 0
 *   dE/dV      = (dE/dW~ dW~/dh + lambda dreg/dh) dh/dV */
#ifndef NNQ_QUANT_ADAROUND_OBJECTIVE_H
#define NNQ_QUANT_ADAROUND_OBJECTIVE_H

#include <stdint.h>

#include "nnquant.h"

#define ADAROUND_ZETA 1.1f
#define ADAROUND_GAMMA (-0.1f)

/* h(V) of eq. 33. */
float adaround_rectified_sigmoid(float v);
/* The V with h(V) = fraction, for fraction in [0, 1) (the paper's
 * initialization: W~ starts at W, as fraction is W / s - floor(W / s)). */
float adaround_initial_v(float fraction);

typedef struct adaround_layer {
    int64_t rows, depth;            /* M output channels, K weights each */
    const float *weight_floor;      /* [M x K]: floor(W / s) + z, on the integer grid */
    const float *scale;             /* [M] s_m */
    const float *zero_point;        /* [M] z_m */
    float q_min, q_max;
    const float *bias;              /* [M], or NULL */
    float clamp_min, clamp_max;     /* f_a (+-inf: identity) */
} adaround_layer;

/* Buffers for batches of up to max_columns columns. */
typedef struct adaround_workspace {
    int64_t max_columns;
    float *soft_weight;             /* [M x K] */
    float *outputs;                 /* [M x max_columns]: Y, then dE/dY */
    float *weight_gradient;         /* [M x K] */
} adaround_workspace;

nnq_status adaround_workspace_init(adaround_workspace *ws, const adaround_layer *layer, int64_t max_columns);
void adaround_workspace_free(adaround_workspace *ws);

/* W~ of eq. 32 for V, as rows [M x K]. */
void adaround_soft_weight(const adaround_layer *layer, const float *v, float *soft_weight);

/* E(V) on columns inputs [K x n] (row-major: column j is inputs[k * n + j])
 * and targets [M x n]; dE/dV into gradient [M x K] unless it is NULL. */
double adaround_objective(const adaround_layer *layer, const float *v, const float *inputs, const float *targets,
                          int64_t n, float lambda, float beta, adaround_workspace *ws, float *gradient);

/* The reconstruction term alone (eq. 34) of fixed weight rows [M x K]:
 * (1/n) sum_j || f_a(W' x^_j + b) - t_j ||^2. */
double adaround_reconstruction_error(const adaround_layer *layer, const float *weight_rows, const float *inputs,
                                     const float *targets, int64_t n, adaround_workspace *ws);

#endif
