/* Bias correction (white paper §3.3): quantizing a layer's weight to
 * W^ = W + dW shifts its expected output by dW E[x] (eq. 25); subtracting
 * that from the bias removes the shift (eq. 26). E[x] comes from data
 * (empirical, eq. 27) or from the previous layer's batch norm (analytic,
 * eq. 28).
 *
 * Both work on a prepared model and its resolved plan (weight and
 * activation grids set, plan_recipe_resolve done: the simulation needs the
 * bias scales) and change only the FP32 model's biases: a Conv or Gemm
 * without a bias gets one, with its int32 quantizer added to the plan (scale
 * s_x * s_w, eq. 13). Bias scales do not depend on bias values, so the plan
 * stays valid. Layers: every Conv, Gemm and MatMul of quantized_layers_find
 * (MatMul has no bias input: skipped). In ptq.c's run(), call them after
 * plan_recipe_resolve().
 *
 * Bias correction measures dW against the model's current weights: after
 * AdaRound (which stores the chosen W^ as the weights) dW is 0 for the
 * AdaRounded layers. Use one or the other; AdaRound minimizes the output
 * error, mean included. */
#ifndef NNQ_QUANT_BIAS_CORRECTION_H
#define NNQ_QUANT_BIAS_CORRECTION_H

#include <stdbool.h>
#include <stdint.h>

#include "data/dataset.h"
#include "ir/graph.h"
#include "quant/bn_ranges.h"
#include "quant/plan.h"
#include "quant/quantized_layer.h"

typedef struct bias_correction_options {
    int64_t samples;      /* calibration samples per pass (empirical); 0: all. Default 512 */
    int64_t batch_size;   /* samples per run; default 64 */
    /* true: one simulation pass gives E[x^] for every layer, all corrected
     * at once (each layer's x^ then comes from uncorrected preceding
     * layers). false (default): layer by layer, one pass each, x^ from the
     * already corrected preceding layers - eq. 27 as the paper states it. */
    bool single_pass;
    void (*on_progress)(void *user, int64_t done, int64_t total); /* layers done; may be NULL */
    void *progress_user;
} bias_correction_options;

void bias_correction_options_defaults(bias_correction_options *options);

typedef struct bias_correction_layer {
    char *node;               /* the corrected node's display name */
    int64_t channels;
    bool bias_created;        /* it had no bias */
    double mean_abs_shift;    /* mean and max over channels of |dW E[x]| subtracted */
    double max_abs_shift;
} bias_correction_layer;

typedef struct bias_correction_report {
    int layers_corrected;
    int layers_skipped;       /* MatMul without bias, or (analytic) no BN statistics for the input */
    int biases_created;
    int passes;               /* simulation passes over the data (empirical) */
    int64_t samples;          /* samples per pass */
    double seconds;
    int n_layers;
    bias_correction_layer *layers; /* the corrected layers, in graph order */
} bias_correction_report;

void bias_correction_report_free(bias_correction_report *report);

/* Empirical (eq. 27): E[x^] of each layer's input in the fake-quantized
 * simulation on `data`, then shift = dW E[x^] computed exactly per output
 * channel: for a Conv the convolution of dW with the mean input image,
 * averaged over the output positions (linearity: this is E[W^ x^] - E[W x^]
 * with padding and borders as they are). report may be NULL. */
nnq_status ptq_correct_bias_empirical(nnq_model *prepared, nnq_plan *plan, nnq_dataset *data,
                                      const bias_correction_options *options, bias_correction_report *report);

/* Analytic, data-free (eq. 28): a layer whose input is a batch-normalized
 * tensor (collected before folding, kept aligned with CLE: bn_ranges.h),
 * possibly through the fused Relu/Clip of the layer producing it, has
 * E[x_c] = E[clamp(N(beta_c, gamma_c^2), lo, hi)] (clipped_gaussian_mean);
 * shift[m] = sum over input channels c and kernel positions of
 * dW[m, c, k] E[x_c], which ignores the zero padding at the borders (the
 * paper's form). Layers whose input no BN describes are skipped. */
nnq_status ptq_correct_bias_analytic(nnq_model *prepared, nnq_plan *plan, const bn_parameters *bn,
                                     bias_correction_report *report);

/* Shared by the two: readies report for up to max_layers entries, and
 * absorbs one layer's shift into its bias (bias_shift_absorb) recording it. */
nnq_status bias_correction_report_begin(bias_correction_report *report, int max_layers);
nnq_status bias_correction_apply(nnq_model *prepared, nnq_plan *plan, quantized_layer *layer, const double *shift,
                                 bias_correction_report *report);

#endif
