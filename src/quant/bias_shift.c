#include "quant/bias_shift.h"

#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "kernels/gemm_f32.h"

/* One group of a Conv: dW_g [M/group x K] times the columns of the mean
 * image's group channels, averaged over the output positions. */
static nnq_status convolved_shift(const quantized_layer *layer, const float *delta_rows, const float *mean_image,
                                  const im2col_geometry *g, double *shift) {
    int64_t group = layer->linear.group, rows_per_group = layer->linear.out_channels / group;
    int64_t channels_per_group = layer->linear.in_channels / group, k_count = layer->depth;
    int64_t positions = im2col_col_count(g), image_size = im2col_image_size(g);
    float *columns = malloc(sizeof(float) * (size_t)(k_count * positions));
    float *outputs = malloc(sizeof(float) * (size_t)(rows_per_group * positions));
    if (!columns || !outputs) {
        free(columns);
        free(outputs);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory correcting the bias of '%s'", node_display_name(layer->node));
    }
    const float zero = 0.0f;
    for (int64_t gi = 0; gi < group; gi++) {
        im2col(g, channels_per_group, mean_image + gi * channels_per_group * image_size, sizeof(float), &zero,
               columns);
        gemm_f32(false, false, rows_per_group, positions, k_count, 1.0f, delta_rows + gi * rows_per_group * k_count,
                 k_count, columns, positions, 0.0f, outputs, positions);
        for (int64_t m = 0; m < rows_per_group; m++) {
            double sum = 0.0;
            for (int64_t p = 0; p < positions; p++) sum += outputs[m * positions + p];
            shift[gi * rows_per_group + m] = sum / (double)positions;
        }
    }
    free(columns);
    free(outputs);
    return NNQ_OK;
}

/* Conv from per-channel means: row m of group g reads channel
 * g * C/group + k / kernel_size at its column k. */
static void channel_mean_shift(const quantized_layer *layer, const float *delta_rows, const float *channel_mean,
                               double *shift) {
    int64_t group = layer->linear.group, rows_per_group = layer->linear.out_channels / group;
    int64_t channels_per_group = layer->linear.in_channels / group, k_count = layer->depth;
    int64_t kernel_size = k_count / channels_per_group;
    for (int64_t m = 0; m < layer->linear.out_channels; m++) {
        const float *dw = delta_rows + m * k_count;
        const float *mean = channel_mean + (m / rows_per_group) * channels_per_group;
        double sum = 0.0;
        for (int64_t k = 0; k < k_count; k++) sum += (double)dw[k] * mean[k / kernel_size];
        shift[m] = sum;
    }
}

nnq_status bias_shift_compute(const quantized_layer *layer, const float *delta_rows, const float *mean_input,
                              const im2col_geometry *geometry, double *shift) {
    if (layer->linear.kind == LAYER_CONV) {
        if (geometry) return convolved_shift(layer, delta_rows, mean_input, geometry, shift);
        channel_mean_shift(layer, delta_rows, mean_input, shift);
        return NNQ_OK;
    }
    for (int64_t m = 0; m < layer->linear.out_channels; m++) {
        double sum = 0.0;
        for (int64_t k = 0; k < layer->depth; k++) sum += (double)delta_rows[m * layer->depth + k] * mean_input[k];
        shift[m] = sum;
    }
    return NNQ_OK;
}

/* The int32 grid of a new bias: s_b[c] = s_x * s_w[c], z = 0 (eq. 13). */
static nnq_status add_bias_quantizer(const nnq_model *model, nnq_plan *plan, quantized_layer *layer) {
    if (layer->input_quantizer < 0) return NNQ_OK;
    const char *bias = model->graph.initializers[layer->linear.bias_initializer].name;
    nnq_qscheme scheme = {32, true, true, false, false};
    nnq_quantizer *q;
    NNQ_TRY(plan_add(plan, bias, NNQ_ROLE_BIAS, &scheme, 0, (int)layer->linear.out_channels, &q));
    const nnq_quantizer *x = &plan->quantizers[layer->input_quantizer];
    const nnq_quantizer *w = &plan->quantizers[layer->weight_quantizer];
    for (int c = 0; c < q->n_channels; c++) {
        q->scales[c] = x->scales[0] * w->scales[w->n_channels == 1 ? 0 : c];
        q->zero_points[c] = 0;
    }
    free(q->method);
    if (!(q->method = strdup("s_x*s_w"))) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    layer->bias_quantizer = (int)(q - plan->quantizers);
    return NNQ_OK;
}

nnq_status bias_shift_absorb(nnq_model *model, nnq_plan *plan, quantized_layer *layer, const double *shift,
                             bool *created) {
    *created = false;
    if (layer->linear.bias_initializer < 0) {
        if (layer->linear.kind == LAYER_MATMUL)
            return nnq_fail(NNQ_ERR_UNSUPPORTED, "layer '%s' (MatMul) has no bias to correct", node_display_name(layer->node));
        NNQ_TRY(linear_layer_add_zero_bias(&model->graph, &layer->linear));
        NNQ_TRY(add_bias_quantizer(model, plan, layer));
        *created = true;
    }
    float *bias = linear_layer_bias(&model->graph, &layer->linear);
    for (int64_t m = 0; m < layer->linear.out_channels; m++) bias[m] = (float)((double)bias[m] - shift[m]);
    return NNQ_OK;
}
