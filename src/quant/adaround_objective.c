#include "quant/adaround_objective.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "kernels/gemm_f32.h"

static float sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }

float adaround_rectified_sigmoid(float v) {
    float stretched = sigmoid(v) * (ADAROUND_ZETA - ADAROUND_GAMMA) + ADAROUND_GAMMA; /* eq. 33 */
    return fminf(fmaxf(stretched, 0.0f), 1.0f);
}

float adaround_initial_v(float fraction) {
    /* sigmoid(V) = (h - gamma) / (zeta - gamma), inverted */
    float p = (fraction - ADAROUND_GAMMA) / (ADAROUND_ZETA - ADAROUND_GAMMA);
    return logf(p / (1.0f - p));
}

nnq_status adaround_workspace_init(adaround_workspace *ws, const adaround_layer *layer, int64_t max_columns) {
    memset(ws, 0, sizeof *ws);
    size_t weights = (size_t)(layer->rows * layer->depth);
    ws->max_columns = max_columns;
    ws->soft_weight = malloc(sizeof(float) * weights);
    ws->weight_gradient = malloc(sizeof(float) * weights);
    ws->outputs = malloc(sizeof(float) * (size_t)(layer->rows * max_columns));
    if (ws->soft_weight && ws->weight_gradient && ws->outputs) return NNQ_OK;
    adaround_workspace_free(ws);
    return nnq_fail(NNQ_ERR_NOMEM, "out of memory for AdaRound's buffers");
}

void adaround_workspace_free(adaround_workspace *ws) {
    free(ws->soft_weight);
    free(ws->outputs);
    free(ws->weight_gradient);
    memset(ws, 0, sizeof *ws);
}

static float grid_clamp(const adaround_layer *layer, float q) { return fminf(fmaxf(q, layer->q_min), layer->q_max); }

void adaround_soft_weight(const adaround_layer *layer, const float *v, float *soft_weight) {
    for (int64_t m = 0; m < layer->rows; m++)
        for (int64_t k = 0; k < layer->depth; k++) {
            int64_t i = m * layer->depth + k;
            float q = grid_clamp(layer, layer->weight_floor[i] + adaround_rectified_sigmoid(v[i]));
            soft_weight[i] = layer->scale[m] * (q - layer->zero_point[m]); /* eq. 32 */
        }
}

/* outputs = f_a(W' X + b); returns (1/n) sum ||outputs - T||^2 and, when
 * keep_gradient, leaves dE/dY = (2/n)(f_a(Y) - T) f_a'(Y) in outputs. */
static double reconstruct(const adaround_layer *layer, const float *weight_rows, const float *inputs,
                          const float *targets, int64_t n, adaround_workspace *ws, bool keep_gradient) {
    int64_t m_count = layer->rows;
    gemm_f32(false, false, m_count, n, layer->depth, 1.0f, weight_rows, layer->depth, inputs, n, 0.0f, ws->outputs, n);
    double sum = 0.0;
    for (int64_t m = 0; m < m_count; m++) {
        float b = layer->bias ? layer->bias[m] : 0.0f;
        float *y = ws->outputs + m * n;
        const float *t = targets + m * n;
        for (int64_t j = 0; j < n; j++) {
            float pre = y[j] + b;
            float activated = fminf(fmaxf(pre, layer->clamp_min), layer->clamp_max);
            float difference = activated - t[j];
            sum += (double)difference * difference;
            if (keep_gradient) {
                bool passes = pre > layer->clamp_min && pre < layer->clamp_max;
                y[j] = passes ? 2.0f * difference / (float)n : 0.0f;
            }
        }
    }
    return sum / (double)n; /* eq. 34 */
}

double adaround_reconstruction_error(const adaround_layer *layer, const float *weight_rows, const float *inputs,
                                     const float *targets, int64_t n, adaround_workspace *ws) {
    return reconstruct(layer, weight_rows, inputs, targets, n, ws, false);
}

double adaround_objective(const adaround_layer *layer, const float *v, const float *inputs, const float *targets,
                          int64_t n, float lambda, float beta, adaround_workspace *ws, float *gradient) {
    adaround_soft_weight(layer, v, ws->soft_weight);
    double error = reconstruct(layer, ws->soft_weight, inputs, targets, n, ws, gradient != NULL);
    if (gradient) /* dE/dW~ = dE/dY X^T */
        gemm_f32(false, true, layer->rows, layer->depth, n, 1.0f, ws->outputs, n, inputs, n, 0.0f,
                 ws->weight_gradient, layer->depth);
    double regularizer = 0.0;
    const float stretch = ADAROUND_ZETA - ADAROUND_GAMMA;
    for (int64_t m = 0; m < layer->rows; m++)
        for (int64_t k = 0; k < layer->depth; k++) {
            int64_t i = m * layer->depth + k;
            float s = sigmoid(v[i]);
            float stretched = s * stretch + ADAROUND_GAMMA;
            float h = fminf(fmaxf(stretched, 0.0f), 1.0f);
            float centered = 2.0f * h - 1.0f, magnitude = fabsf(centered);
            regularizer += 1.0 - pow(magnitude, beta); /* eq. 35 */
            if (!gradient) continue;
            if (!(stretched > 0.0f && stretched < 1.0f)) {
                gradient[i] = 0.0f;
                continue;
            }
            float q = layer->weight_floor[i] + h;
            float through_weight = q > layer->q_min && q < layer->q_max ? ws->weight_gradient[i] * layer->scale[m] : 0.0f;
            float through_regularizer =
                magnitude > 0.0f ? -2.0f * beta * powf(magnitude, beta - 1.0f) * (centered > 0.0f ? 1.0f : -1.0f) : 0.0f;
            gradient[i] = (through_weight + lambda * through_regularizer) * s * (1.0f - s) * stretch;
        }
    return error + lambda * regularizer;
}
