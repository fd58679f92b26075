/* AdaRound (white paper §3.4, eq. 32-35; Nagel et al., 2020): per layer, in
 * graph order, learn whether each weight rounds up or down by minimizing the
 * layer's output reconstruction error (adaround_objective.h) with Adam, then
 * fix each weight to floor(W/s) + [h(V) >= 0.5] on its grid.
 *
 * Works on a prepared model and its plan with weight and activation grids set
 * (after plan_calibrate; before or after plan_recipe_resolve: weight scales
 * are not changed and bias scales s_x * s_w stay valid - but the simulation
 * that gives x^ quantizes biases, so calling it after plan_recipe_resolve
 * is what ptq.c's run() should do). Never recompute weight ranges after it.
 *
 * The result is stored in the model: each AdaRounded weight initializer
 * becomes s (q - z) (dequantized, in float exactly as DequantizeLinear
 * computes it), which quantizer_fake_quantize and quantizer_quantize map
 * back to the chosen integers q. The FP32 model then carries the quantized
 * weights; its "FP32" accuracy is that of W^ with float activations.
 *
 * Layers: Conv (group 1), Gemm, MatMul of quantized_layers_find; others are
 * left to nearest rounding (layers_skipped). */
#ifndef NNQ_QUANT_ADAROUND_H
#define NNQ_QUANT_ADAROUND_H

#include <stdint.h>

#include "data/dataset.h"
#include "ir/graph.h"
#include "quant/plan.h"

typedef struct adaround_options {
    int64_t samples;          /* calibration images cached per layer (paper: 1024; default 256) */
    int64_t iterations;       /* Adam steps per layer (paper: 10000-20000; default 1000) */
    int64_t batch_size;       /* GEMM columns per step: random (image, output position) pairs (default 512) */
    float regularization;     /* lambda of eq. 35 (0.01) */
    float beta_start, beta_end; /* beta annealed linearly from 20 to 2 ... */
    float warmup;             /* ... after this fraction of the iterations without the regularizer (0.2) */
    float learning_rate;      /* Adam's: 1e-2 (the paper's 1e-3 is for 10x the iterations) */
    int64_t evaluation_columns; /* columns the report's errors are measured on (4096) */
    int64_t pass_batch_size;  /* samples per simulation run while caching (64) */
    uint64_t seed;            /* of the column sampler */
    void (*on_progress)(void *user, int64_t done, int64_t total); /* steps over all layers; may be NULL */
    void *progress_user;
} adaround_options;

void adaround_options_defaults(adaround_options *options);

typedef struct adaround_layer_report {
    char *node;
    int64_t weights;
    double error_nearest;     /* eq. 34's reconstruction error on the evaluation columns: nearest rounding ... */
    double error_adaround;    /* ... and the AdaRound choice */
    double fraction_changed;  /* weights rounded otherwise than to nearest */
    double fraction_undecided;/* h(V) strictly between 0 and 1 at the end */
    double seconds;
} adaround_layer_report;

typedef struct adaround_report {
    int layers_rounded, layers_skipped;
    double seconds;
    int n_layers;
    adaround_layer_report *layers;
} adaround_report;

void adaround_report_free(adaround_report *report);

/* report may be NULL. */
nnq_status ptq_adaround(nnq_model *prepared, const nnq_plan *plan, nnq_dataset *data, const adaround_options *options,
                        adaround_report *report);

#endif
