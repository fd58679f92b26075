#include "quant/layer_samples.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "quant/calibration_pass.h"

typedef struct collector {
    const nnq_model *model;
    const quantized_layer *layer;
    layer_samples *samples;
    int64_t images;
    int64_t capacity;                 /* units allocated */
    int64_t inputs_filled, targets_filled;
} collector;

/* Sizes the cache from the first tensor seen (input or output): units per image. */
static nnq_status reserve(collector *c, int64_t units_per_image) {
    layer_samples *s = c->samples;
    if (s->inputs) return NNQ_OK;
    c->capacity = c->images * units_per_image;
    s->inputs = malloc(sizeof(float) * (size_t)(c->capacity * s->unit_size));
    s->targets = malloc(sizeof(float) * (size_t)(c->capacity * s->rows * s->positions));
    if (s->inputs && s->targets) return NNQ_OK;
    return nnq_fail(NNQ_ERR_NOMEM, "out of memory caching %lld samples of layer '%s'", (long long)c->images,
                    node_display_name(c->layer->node));
}

/* The layout of one tensor: conv [B, C, spatial...] = B units; else [..., K] rows. */
static nnq_status shape_units(collector *c, const nnq_tensor *x, int64_t channels, int64_t *units) {
    const quantized_layer *layer = c->layer;
    bool conv = layer->linear.kind == LAYER_CONV;
    bool fits = conv ? x->rank >= 3 && x->dims[1] == channels : x->rank >= 1 && x->dims[x->rank - 1] == channels;
    if (!fits || tensor_numel(x) <= 0 || x->dtype != NNQ_FLOAT)
        return nnq_fail(NNQ_ERR_INVALID, "AdaRound of '%s': tensor '%s' does not have %lld channels",
                        node_display_name(layer->node), x->name ? x->name : "", (long long)channels);
    *units = conv ? x->dims[0] : tensor_numel(x) / channels;
    return NNQ_OK;
}

static nnq_status on_input(collector *c, const nnq_tensor *x) {
    layer_samples *s = c->samples;
    int64_t units;
    NNQ_TRY(shape_units(c, x, c->layer->linear.in_channels, &units));
    if (!s->inputs) {
        if (c->layer->linear.kind == LAYER_CONV) {
            NNQ_TRY(quantized_layer_conv_geometry(c->model, c->layer, x->dims + 2, &s->geometry));
            s->unit_size = tensor_numel(x) / x->dims[0];
            s->positions = im2col_col_count(&s->geometry);
        }
        NNQ_TRY(reserve(c, c->layer->linear.kind == LAYER_CONV ? 1 : units / x->dims[0]));
    }
    if (tensor_numel(x) / units != s->unit_size)
        return nnq_fail(NNQ_ERR_INVALID, "AdaRound of '%s': its input changes shape between samples",
                        node_display_name(c->layer->node));
    int64_t take = units < c->capacity - c->inputs_filled ? units : c->capacity - c->inputs_filled;
    memcpy(s->inputs + c->inputs_filled * s->unit_size, x->data, sizeof(float) * (size_t)(take * s->unit_size));
    c->inputs_filled += take;
    return NNQ_OK;
}

static nnq_status on_output(collector *c, const nnq_tensor *y) {
    layer_samples *s = c->samples;
    int64_t units;
    NNQ_TRY(shape_units(c, y, s->rows, &units));
    if (!s->inputs) return nnq_fail(NNQ_ERR_INVALID, "AdaRound of '%s': output seen before input",
                                    node_display_name(c->layer->node));
    int64_t per_unit = s->rows * s->positions;
    if (tensor_numel(y) != units * per_unit)
        return nnq_fail(NNQ_ERR_INVALID, "AdaRound of '%s': output '%s' does not match its input's shape",
                        node_display_name(c->layer->node), c->layer->node->outputs[0]);
    int64_t take = units < c->capacity - c->targets_filled ? units : c->capacity - c->targets_filled;
    const float *v = y->data;
    float *t = s->targets + c->targets_filled * per_unit;
    for (int64_t i = 0; i < take * per_unit; i++)
        t[i] = fminf(fmaxf(v[i], c->layer->clamp_min), c->layer->clamp_max); /* f_a */
    c->targets_filled += take;
    return NNQ_OK;
}

static nnq_status tap_input(void *user, const nnq_node *node, const char *name, nnq_tensor *value) {
    (void)node;
    collector *c = user;
    return strcmp(name, c->layer->node->inputs[0]) == 0 ? on_input(c, value) : NNQ_OK;
}

static nnq_status tap_output(void *user, const nnq_node *node, const char *name, nnq_tensor *value) {
    (void)node;
    collector *c = user;
    return strcmp(name, c->layer->node->outputs[0]) == 0 ? on_output(c, value) : NNQ_OK;
}

nnq_status layer_samples_collect(const nnq_model *fp32, nnq_simulation *sim, const nnq_model *model,
                                 const quantized_layer *layer, nnq_dataset *data, int64_t images, int64_t batch_size,
                                 layer_samples *out) {
    memset(out, 0, sizeof *out);
    if (layer->linear.group != 1)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "AdaRound of '%s': group convolutions are not supported",
                        node_display_name(layer->node));
    out->rows = layer->linear.out_channels;
    out->depth = layer->depth;
    out->unit_size = layer->depth;
    out->positions = 1;
    collector c = {model, layer, out, images > 0 ? images : dataset_count(data), 0, 0, 0};
    nnq_executor *executors[2] = {NULL, simulation_executor(sim)};
    /* The simulation first: it sizes the cache from the input before the FP32 output arrives. */
    nnq_executor *order[2] = {executors[1], NULL};
    nnq_status st = executor_create(fp32, &executors[0]);
    order[1] = executors[0];
    if (st == NNQ_OK) st = executor_add_tap(executors[0], (nnq_tap){tap_output, &c});
    if (st == NNQ_OK) st = executor_add_tap(executors[1], (nnq_tap){tap_input, &c});
    if (st == NNQ_OK) st = calibration_pass_run(order, 2, fp32, data, &(calibration_pass_options){.max_samples = c.images, .batch_size = batch_size}, NULL);
    executor_free(executors[0]);
    out->units = c.inputs_filled < c.targets_filled ? c.inputs_filled : c.targets_filled;
    if (st == NNQ_OK && out->units == 0)
        st = nnq_fail(NNQ_ERR_INVALID, "AdaRound: the calibration data never reached layer '%s'",
                      node_display_name(layer->node));
    if (st != NNQ_OK) layer_samples_free(out);
    return st;
}

void layer_samples_free(layer_samples *s) {
    free(s->inputs);
    free(s->targets);
    memset(s, 0, sizeof *s);
}

int64_t layer_samples_columns(const layer_samples *s) { return s->units * s->positions; }

/* The im2col patch of one output position: channel c, kernel offset k reads
 * the image at position * stride - pad_begin + k * dilation per spatial
 * axis, or 0 in the padding (the layout of ops/im2col.h, one column). */
static void gather_patch(const layer_samples *s, const float *image, int64_t position, float *column, int64_t n) {
    const im2col_geometry *g = &s->geometry;
    int rank = g->spatial_rank;
    int64_t out_index[NNQ_MAX_RANK], kernel_index[NNQ_MAX_RANK];
    for (int d = rank - 1; d >= 0; d--) {
        out_index[d] = position % g->cols[d];
        position /= g->cols[d];
    }
    int64_t kernel_size = im2col_kernel_size(g), image_size = im2col_image_size(g);
    int64_t channels = s->unit_size / image_size;
    for (int64_t k = 0; k < kernel_size; k++) {
        int64_t rest = k, offset = 0;
        bool inside = true;
        for (int d = rank - 1; d >= 0; d--) {
            kernel_index[d] = rest % g->kernel[d];
            rest /= g->kernel[d];
        }
        for (int d = 0; d < rank; d++) {
            int64_t coordinate = out_index[d] * g->strides[d] - g->pads[d] + kernel_index[d] * g->dilations[d];
            inside = inside && coordinate >= 0 && coordinate < g->image[d];
            offset = offset * g->image[d] + coordinate;
        }
        for (int64_t c = 0; c < channels; c++)
            column[(c * kernel_size + k) * n] = inside ? image[c * image_size + offset] : 0.0f;
    }
}

void layer_samples_gather(const layer_samples *s, int64_t column, int64_t j, int64_t n, float *inputs,
                          float *targets) {
    int64_t unit = column / s->positions, position = column % s->positions;
    const float *x = s->inputs + unit * s->unit_size;
    if (s->positions == 1 && s->geometry.spatial_rank == 0) {
        for (int64_t k = 0; k < s->depth; k++) inputs[k * n + j] = x[k];
    } else {
        gather_patch(s, x, position, inputs + j, n);
    }
    const float *t = s->targets + unit * s->rows * s->positions + position;
    for (int64_t m = 0; m < s->rows; m++) targets[m * n + j] = t[m * s->positions];
}
