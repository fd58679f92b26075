#include "quant/bias_correction.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "quant/bias_shift.h"
#include "quant/calibration_pass.h"
#include "base/wall_clock.h"
#include "run/simulation.h"

void bias_correction_options_defaults(bias_correction_options *o) {
    memset(o, 0, sizeof *o);
    o->samples = 512;
    o->batch_size = 64;
}

void bias_correction_report_free(bias_correction_report *r) {
    for (int i = 0; i < r->n_layers; i++) free(r->layers[i].node);
    free(r->layers);
    memset(r, 0, sizeof *r);
}

nnq_status bias_correction_report_begin(bias_correction_report *r, int max_layers) {
    memset(r, 0, sizeof *r);
    r->layers = calloc((size_t)max_layers + 1, sizeof *r->layers);
    return r->layers ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
}

nnq_status bias_correction_apply(nnq_model *prepared, nnq_plan *plan, quantized_layer *layer, const double *shift,
                                 bias_correction_report *r) {
    bool created;
    NNQ_TRY(bias_shift_absorb(prepared, plan, layer, shift, &created));
    bias_correction_layer *entry = &r->layers[r->n_layers];
    if (!(entry->node = strdup(node_display_name(layer->node)))) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    r->n_layers++;
    entry->channels = layer->linear.out_channels;
    entry->bias_created = created;
    for (int64_t m = 0; m < entry->channels; m++) {
        entry->mean_abs_shift += fabs(shift[m]) / (double)entry->channels;
        entry->max_abs_shift = fmax(entry->max_abs_shift, fabs(shift[m]));
    }
    r->layers_corrected++;
    r->biases_created += created;
    return NNQ_OK;
}

/* ---- Empirical: the mean of each layer's quantized input over the data ---- */

typedef struct input_mean {
    quantized_layer *layer;
    double *sum;            /* per element of one sample's input (Conv: the image [C x H x W]; else [K]) */
    int64_t unit_size;      /* elements per sample */
    int64_t units;          /* samples (images, or rows of a matrix input) summed */
    int64_t spatial[NNQ_MAX_RANK];
} input_mean;

typedef struct input_means {
    int count;
    input_mean *items;
} input_means;

static nnq_status accumulate(input_mean *a, const nnq_tensor *x) {
    const quantized_layer *layer = a->layer;
    const char *name = layer->node->inputs[0];
    bool conv = layer->linear.kind == LAYER_CONV;
    int64_t numel = tensor_numel(x);
    bool fits = conv ? x->rank >= 3 && x->dims[1] == layer->linear.in_channels
                     : x->rank >= 1 && x->dims[x->rank - 1] == layer->linear.in_channels;
    if (!fits || numel <= 0)
        return nnq_fail(NNQ_ERR_INVALID, "bias correction of '%s': its input '%s' does not have %lld channels",
                        node_display_name(layer->node), name, (long long)layer->linear.in_channels);
    int64_t unit_size = conv ? numel / x->dims[0] : layer->linear.in_channels;
    if (!a->sum) {
        a->unit_size = unit_size;
        if (conv) memcpy(a->spatial, x->dims + 2, sizeof(int64_t) * (size_t)(x->rank - 2));
        if (!(a->sum = calloc((size_t)unit_size, sizeof *a->sum)))
            return nnq_fail(NNQ_ERR_NOMEM, "out of memory measuring the mean of '%s'", name);
    }
    if (unit_size != a->unit_size)
        return nnq_fail(NNQ_ERR_INVALID, "bias correction: input '%s' changes its shape between samples", name);
    const float *v = x->data;
    int64_t units = numel / unit_size;
    for (int64_t u = 0; u < units; u++)
        for (int64_t i = 0; i < unit_size; i++) a->sum[i] += v[u * unit_size + i];
    a->units += units;
    return NNQ_OK;
}

static nnq_status tap_input_means(void *user, const nnq_node *node, const char *name, nnq_tensor *value) {
    (void)node;
    input_means *means = user;
    for (int i = 0; i < means->count; i++)
        if (strcmp(means->items[i].layer->node->inputs[0], name) == 0) NNQ_TRY(accumulate(&means->items[i], value));
    return NNQ_OK;
}

/* One pass of the simulation (the preceding layers quantized, and corrected
 * so far) accumulating the inputs of means' layers. */
static nnq_status measure_means(const nnq_model *prepared, const nnq_plan *plan, nnq_dataset *data,
                                const bias_correction_options *o, input_means *means) {
    nnq_simulation *sim = NULL;
    NNQ_TRY(simulation_create(prepared, plan, true, &sim));
    nnq_executor *ex = simulation_executor(sim);
    nnq_status st = executor_add_tap(ex, (nnq_tap){tap_input_means, means});
    if (st == NNQ_OK) st = calibration_pass_run(&ex, 1, simulation_model(sim), data, &(calibration_pass_options){.max_samples = o->samples, .batch_size = o->batch_size}, NULL);
    simulation_free(sim);
    return st;
}

/* shift = dW E[x^] (eq. 27), absorbed into the bias. */
static nnq_status correct_from_mean(nnq_model *prepared, nnq_plan *plan, input_mean *a,
                                    bias_correction_report *report) {
    quantized_layer *layer = a->layer;
    if (a->units == 0)
        return nnq_fail(NNQ_ERR_INVALID, "bias correction: the calibration data never reached '%s'",
                        layer->node->inputs[0]);
    int64_t m_count = layer->linear.out_channels;
    float *mean = malloc(sizeof *mean * (size_t)a->unit_size);
    float *delta = malloc(sizeof *delta * (size_t)(m_count * layer->depth));
    double *shift = malloc(sizeof *shift * (size_t)m_count);
    nnq_status st = mean && delta && shift ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory correcting biases");
    for (int64_t i = 0; st == NNQ_OK && i < a->unit_size; i++) mean[i] = (float)(a->sum[i] / (double)a->units);
    if (st == NNQ_OK) st = quantized_layer_weight_error(prepared, plan, layer, delta);
    im2col_geometry geometry, *g = NULL;
    if (st == NNQ_OK && layer->linear.kind == LAYER_CONV) {
        st = quantized_layer_conv_geometry(prepared, layer, a->spatial, &geometry);
        g = &geometry;
    }
    if (st == NNQ_OK) st = bias_shift_compute(layer, delta, mean, g, shift);
    if (st == NNQ_OK) st = bias_correction_apply(prepared, plan, layer, shift, report);
    free(mean);
    free(delta);
    free(shift);
    return st;
}

static void means_reset(input_means *means) {
    for (int i = 0; i < means->count; i++) {
        free(means->items[i].sum);
        means->items[i].sum = NULL;
        means->items[i].units = 0;
    }
}

static nnq_status correct_empirical(nnq_model *prepared, nnq_plan *plan, nnq_dataset *data,
                                    const bias_correction_options *o, quantized_layers *layers, input_means *all,
                                    bias_correction_report *r) {
    for (int i = 0; i < layers->count; i++) {
        if (layers->items[i].linear.kind == LAYER_MATMUL) r->layers_skipped++;
        else all->items[all->count++].layer = &layers->items[i];
    }
    r->samples = o->samples;
    if (o->single_pass) {
        NNQ_TRY(measure_means(prepared, plan, data, o, all));
        r->passes = 1;
        for (int i = 0; i < all->count; i++) {
            NNQ_TRY(correct_from_mean(prepared, plan, &all->items[i], r));
            if (o->on_progress) o->on_progress(o->progress_user, i + 1, all->count);
        }
        return NNQ_OK;
    }
    for (int i = 0; i < all->count; i++) {
        input_means one = {1, &all->items[i]};
        NNQ_TRY(measure_means(prepared, plan, data, o, &one));
        r->passes++;
        NNQ_TRY(correct_from_mean(prepared, plan, &all->items[i], r));
        if (o->on_progress) o->on_progress(o->progress_user, i + 1, all->count);
    }
    return NNQ_OK;
}

nnq_status ptq_correct_bias_empirical(nnq_model *prepared, nnq_plan *plan, nnq_dataset *data,
                                      const bias_correction_options *options, bias_correction_report *report) {
    if (!data) return nnq_fail(NNQ_ERR_USAGE, "empirical bias correction needs calibration data");
    bias_correction_options defaults;
    bias_correction_options_defaults(&defaults);
    const bias_correction_options *o = options ? options : &defaults;
    double start = wall_clock_seconds();
    bias_correction_report local, *r = report ? report : &local;
    memset(r, 0, sizeof *r);
    quantized_layers layers;
    NNQ_TRY(quantized_layers_find(prepared, plan, &layers));
    input_means means = {0, calloc((size_t)layers.count + 1, sizeof(input_mean))};
    nnq_status st = means.items ? bias_correction_report_begin(r, layers.count)
                                : nnq_fail(NNQ_ERR_NOMEM, "out of memory correcting biases");
    if (st == NNQ_OK) st = correct_empirical(prepared, plan, data, o, &layers, &means, r);
    r->seconds = wall_clock_seconds() - start;
    means_reset(&means);
    free(means.items);
    quantized_layers_free(&layers);
    if (st != NNQ_OK || r == &local) bias_correction_report_free(r);
    return st;
}
