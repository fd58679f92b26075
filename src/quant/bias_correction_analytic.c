/* Analytic (data-free) bias correction: white paper §3.3, eq. 28. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/activation_fusion.h"
#include "quant/bias_correction.h"
#include "quant/bias_shift.h"
#include "quant/clipped_gaussian.h"
#include "base/wall_clock.h"

/* E[x_c] of a layer input from the BN that produced it: the BN's output
 * itself (mean beta), or the fused Relu/Clip after the layer the BN was
 * folded into (a clipped Gaussian). False when no BN describes the input. */
static bool expected_input(const bn_parameters *bn, const activation_fusions *fusions, const quantized_layer *layer,
                           float *mean) {
    const char *input = layer->node->inputs[0];
    const activation_fusion *f = activation_fusion_at_output(fusions, input);
    const char *pre_activation = f ? f->linear_output : input;
    double lo = f ? f->clamp_min : -INFINITY, hi = f ? f->clamp_max : INFINITY;
    int k = name_map_get(&bn->by_tensor, pre_activation);
    if (k < 0 || tensor_numel(&bn->beta[k]) != layer->linear.in_channels) return false;
    const float *beta = bn->beta[k].data, *gamma = bn->gamma[k].data;
    for (int64_t c = 0; c < layer->linear.in_channels; c++)
        mean[c] = (float)clipped_gaussian_mean(beta[c], fabs(gamma[c]), lo, hi); /* eq. 28 */
    return true;
}

/* The mean input image [C x spatial] of a Conv whose input shape is known:
 * E[x_c] at every position. With it bias_shift_compute convolves dW with
 * zero padding, so border outputs, whose windows reach into the padding,
 * get the smaller shift they really have (on resnet8's 7x7 maps a fifth of
 * the 3x3 taps are padding). *image stays NULL (the per-channel form, exact
 * away from borders) when the shape is not known. */
static nnq_status mean_image(const nnq_model *prepared, const quantized_layer *layer, const float *mean,
                             float **image, im2col_geometry *geometry) {
    *image = NULL;
    const nnq_value_info *info = graph_find_value_info(&prepared->graph, layer->node->inputs[0]);
    if (layer->linear.kind != LAYER_CONV || !info || info->rank < 3) return NNQ_OK;
    int64_t size = 1;
    for (int d = 2; d < info->rank; d++) {
        if (info->dims[d] <= 0) return NNQ_OK;
        size *= info->dims[d];
    }
    NNQ_TRY(quantized_layer_conv_geometry(prepared, layer, info->dims + 2, geometry));
    int64_t channels = layer->linear.in_channels;
    if (!(*image = malloc(sizeof **image * (size_t)(channels * size))))
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory for the mean input of '%s'", layer->node->inputs[0]);
    for (int64_t c = 0; c < channels; c++)
        for (int64_t i = 0; i < size; i++) (*image)[c * size + i] = mean[c];
    return NNQ_OK;
}

static nnq_status correct_layer(nnq_model *prepared, nnq_plan *plan, const bn_parameters *bn,
                                const activation_fusions *fusions, quantized_layer *layer,
                                bias_correction_report *r) {
    int64_t m_count = layer->linear.out_channels;
    float *mean = malloc(sizeof *mean * (size_t)layer->linear.in_channels);
    float *delta = malloc(sizeof *delta * (size_t)(m_count * layer->depth));
    double *shift = malloc(sizeof *shift * (size_t)m_count);
    nnq_status st = mean && delta && shift ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory correcting biases");
    if (st == NNQ_OK && (layer->linear.kind == LAYER_MATMUL || !expected_input(bn, fusions, layer, mean))) {
        r->layers_skipped++;
    } else if (st == NNQ_OK) {
        float *image = NULL;
        im2col_geometry geometry;
        st = quantized_layer_weight_error(prepared, plan, layer, delta);
        if (st == NNQ_OK) st = mean_image(prepared, layer, mean, &image, &geometry);
        if (st == NNQ_OK) st = bias_shift_compute(layer, delta, image ? image : mean, image ? &geometry : NULL, shift);
        if (st == NNQ_OK) st = bias_correction_apply(prepared, plan, layer, shift, r);
        free(image);
    }
    free(mean);
    free(delta);
    free(shift);
    return st;
}

nnq_status ptq_correct_bias_analytic(nnq_model *prepared, nnq_plan *plan, const bn_parameters *bn,
                                     bias_correction_report *report) {
    double start = wall_clock_seconds();
    bias_correction_report local, *r = report ? report : &local;
    memset(r, 0, sizeof *r);
    quantized_layers layers;
    NNQ_TRY(quantized_layers_find(prepared, plan, &layers));
    activation_fusions fusions;
    nnq_status st = graph_find_activation_fusions(prepared, &fusions);
    if (st != NNQ_OK) {
        quantized_layers_free(&layers);
        return st;
    }
    st = bias_correction_report_begin(r, layers.count);
    for (int i = 0; st == NNQ_OK && i < layers.count; i++)
        st = correct_layer(prepared, plan, bn, &fusions, &layers.items[i], r);
    r->seconds = wall_clock_seconds() - start;
    activation_fusions_free(&fusions);
    quantized_layers_free(&layers);
    if (st != NNQ_OK || r == &local) bias_correction_report_free(r);
    return st;
}
