#include "quant/adaround.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/model_copy.h"
#include "quant/adam.h"
#include "quant/adaround_objective.h"
#include "quant/layer_samples.h"
#include "quant/quantize_tensor.h"
#include "quant/quantized_layer.h"
#include "base/wall_clock.h"
#include "run/simulation.h"

void adaround_options_defaults(adaround_options *o) {
    memset(o, 0, sizeof *o);
    o->samples = 256;
    o->iterations = 1000;
    o->batch_size = 512;
    o->regularization = 0.01f;
    o->beta_start = 20.0f;
    o->beta_end = 2.0f;
    o->warmup = 0.2f;
    o->learning_rate = 1e-2f;
    o->evaluation_columns = 4096;
    o->pass_batch_size = 64;
    o->seed = 0x5eed;
}

void adaround_report_free(adaround_report *r) {
    for (int i = 0; i < r->n_layers; i++) free(r->layers[i].node);
    free(r->layers);
    memset(r, 0, sizeof *r);
}

/* Everything one layer's optimization holds; one allocation per array. */
typedef struct rounding_state {
    adaround_layer layer;
    float *fp32_rows, *nearest_rows, *chosen_rows; /* [M x K] */
    float *weight_floor, *v, *gradient;            /* [M x K] */
    float *scale, *zero_point;                     /* [M] */
    float *batch_inputs, *batch_targets;           /* [K x R], [M x R] */
    float *eval_inputs, *eval_targets;             /* [K x E], [M x E] */
    int64_t batch, evaluation;                     /* R, E */
    adaround_workspace workspace;
    adam_optimizer adam;
} rounding_state;

static void state_free(rounding_state *s) {
    float *arrays[] = {s->fp32_rows, s->nearest_rows, s->chosen_rows, s->weight_floor, s->v, s->gradient,
                       s->scale, s->zero_point, s->batch_inputs, s->batch_targets, s->eval_inputs, s->eval_targets};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) free(arrays[i]);
    adaround_workspace_free(&s->workspace);
    adam_free(&s->adam);
    memset(s, 0, sizeof *s);
}

static nnq_status state_alloc(rounding_state *s, const layer_samples *samples, const adaround_options *o) {
    int64_t m_count = samples->rows, k_count = samples->depth, weights = m_count * k_count;
    int64_t columns = layer_samples_columns(samples);
    s->batch = o->batch_size > 0 ? o->batch_size : 512;
    s->evaluation = o->evaluation_columns > 0 && o->evaluation_columns < columns ? o->evaluation_columns : columns;
    float **weight_arrays[] = {&s->fp32_rows, &s->nearest_rows, &s->chosen_rows, &s->weight_floor, &s->v,
                               &s->gradient};
    bool ok = true;
    for (size_t i = 0; i < sizeof weight_arrays / sizeof weight_arrays[0]; i++)
        ok = ok && (*weight_arrays[i] = malloc(sizeof(float) * (size_t)weights));
    ok = ok && (s->scale = malloc(sizeof(float) * (size_t)m_count)) &&
         (s->zero_point = malloc(sizeof(float) * (size_t)m_count)) &&
         (s->batch_inputs = malloc(sizeof(float) * (size_t)(k_count * s->batch))) &&
         (s->batch_targets = malloc(sizeof(float) * (size_t)(m_count * s->batch))) &&
         (s->eval_inputs = malloc(sizeof(float) * (size_t)(k_count * s->evaluation))) &&
         (s->eval_targets = malloc(sizeof(float) * (size_t)(m_count * s->evaluation)));
    if (!ok) return nnq_fail(NNQ_ERR_NOMEM, "out of memory for AdaRound");
    s->layer.rows = m_count;
    s->layer.depth = k_count;
    NNQ_TRY(adaround_workspace_init(&s->workspace, &s->layer, s->batch > s->evaluation ? s->batch : s->evaluation));
    return adam_init(&s->adam, weights, o->learning_rate);
}

/* floor(W/s) + z and V with h(V) = W/s - floor(W/s) (the paper's start: W~ = W). */
static nnq_status state_init(rounding_state *s, nnq_model *model, const nnq_plan *plan, const quantized_layer *ql) {
    const nnq_quantizer *q = &plan->quantizers[ql->weight_quantizer];
    int32_t q_min, q_max;
    quantizer_grid(q, &q_min, &q_max);
    adaround_layer *layer = &s->layer;
    layer->q_min = (float)q_min;
    layer->q_max = (float)q_max;
    layer->weight_floor = s->weight_floor;
    layer->scale = s->scale;
    layer->zero_point = s->zero_point;
    layer->bias = linear_layer_bias(&model->graph, &ql->linear);
    layer->clamp_min = ql->clamp_min;
    layer->clamp_max = ql->clamp_max;
    quantized_layer_weight_rows(model, ql, s->fp32_rows);
    NNQ_TRY(quantized_layer_weight_error(model, plan, ql, s->nearest_rows));
    for (int64_t m = 0; m < layer->rows; m++) {
        int c = q->axis < 0 ? 0 : (int)m;
        s->scale[m] = q->scales[c];
        s->zero_point[m] = (float)q->zero_points[c];
        for (int64_t k = 0; k < layer->depth; k++) {
            int64_t i = m * layer->depth + k;
            s->nearest_rows[i] += s->fp32_rows[i];
            float ratio = s->fp32_rows[i] / s->scale[m], lower = floorf(ratio);
            s->weight_floor[i] = lower + s->zero_point[m];
            s->v[i] = adaround_initial_v(fminf(ratio - lower, 0.999f));
        }
    }
    return NNQ_OK;
}

static uint64_t next_random(uint64_t *state) { /* xorshift64* */
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1DULL;
}

/* lambda is 0 during the warm-up; then beta falls linearly from beta_start to beta_end. */
static void schedule(const adaround_options *o, int64_t t, float *lambda, float *beta) {
    int64_t warmup = (int64_t)(o->warmup * (float)o->iterations);
    *lambda = t < warmup ? 0.0f : o->regularization;
    double progress = t < warmup ? 0.0 : (double)(t - warmup) / (double)(o->iterations - warmup > 1 ? o->iterations - warmup - 1 : 1);
    *beta = (float)(o->beta_start + (o->beta_end - o->beta_start) * progress);
}

static void optimize(rounding_state *s, const layer_samples *samples, const adaround_options *o, uint64_t *random,
                     int64_t progress_base, int64_t progress_total) {
    int64_t columns = layer_samples_columns(samples);
    bool full_batch = s->batch >= columns; /* every column, every step: gathered once */
    if (full_batch) {
        s->batch = columns;
        for (int64_t j = 0; j < columns; j++)
            layer_samples_gather(samples, j, j, s->batch, s->batch_inputs, s->batch_targets);
    }
    for (int64_t t = 0; t < o->iterations; t++) {
        for (int64_t j = 0; !full_batch && j < s->batch; j++)
            layer_samples_gather(samples, (int64_t)(next_random(random) % (uint64_t)columns), j, s->batch,
                                 s->batch_inputs, s->batch_targets);
        float lambda, beta;
        schedule(o, t, &lambda, &beta);
        adaround_objective(&s->layer, s->v, s->batch_inputs, s->batch_targets, s->batch, lambda, beta, &s->workspace,
                           s->gradient);
        adam_step(&s->adam, s->v, s->gradient);
        if (o->on_progress && (t % 16 == 15 || t + 1 == o->iterations))
            o->on_progress(o->progress_user, progress_base + t + 1, progress_total);
    }
}

/* W = s (clamp(floor + [h(V) >= 0.5]) - z), in float as DequantizeLinear computes it. */
static void choose_rounding(rounding_state *s, adaround_layer_report *entry) {
    const adaround_layer *layer = &s->layer;
    int64_t weights = layer->rows * layer->depth, changed = 0, undecided = 0;
    for (int64_t m = 0; m < layer->rows; m++)
        for (int64_t k = 0; k < layer->depth; k++) {
            int64_t i = m * layer->depth + k;
            float h = adaround_rectified_sigmoid(s->v[i]);
            float q = fminf(fmaxf(s->weight_floor[i] + (h >= 0.5f ? 1.0f : 0.0f), layer->q_min), layer->q_max);
            s->chosen_rows[i] = (q - s->zero_point[m]) * s->scale[m];
            changed += s->chosen_rows[i] != s->nearest_rows[i];
            undecided += h > 0.0f && h < 1.0f;
        }
    entry->weights = weights;
    entry->fraction_changed = (double)changed / (double)weights;
    entry->fraction_undecided = (double)undecided / (double)weights;
}

static nnq_status round_layer(nnq_model *prepared, const nnq_model *fp32, const nnq_plan *plan, quantized_layer *ql,
                              nnq_dataset *data, const adaround_options *o, uint64_t *random, int64_t progress_base,
                              int64_t progress_total, adaround_layer_report *entry) {
    double start = wall_clock_seconds();
    nnq_simulation *sim = NULL;
    layer_samples samples = {0};
    rounding_state s = {0};
    nnq_status st = simulation_create(prepared, plan, true, &sim); /* preceding layers already AdaRounded */
    if (st == NNQ_OK)
        st = layer_samples_collect(fp32, sim, prepared, ql, data, o->samples, o->pass_batch_size, &samples);
    simulation_free(sim);
    if (st == NNQ_OK) st = state_alloc(&s, &samples, o);
    if (st == NNQ_OK) st = state_init(&s, prepared, plan, ql);
    if (st == NNQ_OK) {
        int64_t columns = layer_samples_columns(&samples);
        for (int64_t j = 0; j < s.evaluation; j++) /* evenly spread, fixed */
            layer_samples_gather(&samples, j * columns / s.evaluation, j, s.evaluation, s.eval_inputs,
                                 s.eval_targets);
        optimize(&s, &samples, o, random, progress_base, progress_total);
        choose_rounding(&s, entry);
        entry->error_nearest = adaround_reconstruction_error(&s.layer, s.nearest_rows, s.eval_inputs, s.eval_targets,
                                                             s.evaluation, &s.workspace);
        entry->error_adaround = adaround_reconstruction_error(&s.layer, s.chosen_rows, s.eval_inputs, s.eval_targets,
                                                              s.evaluation, &s.workspace);
        quantized_layer_store_weight_rows(prepared, ql, s.chosen_rows);
    }
    state_free(&s);
    layer_samples_free(&samples);
    entry->seconds = wall_clock_seconds() - start;
    if (st != NNQ_OK) return nnq_fail_context(st, "AdaRound of layer '%s'", node_display_name(ql->node));
    return NNQ_OK;
}

static nnq_status run(nnq_model *prepared, const nnq_plan *plan, nnq_dataset *data, const adaround_options *o,
                      quantized_layers *layers, nnq_model *fp32, adaround_report *r) {
    int rounded = 0;
    for (int i = 0; i < layers->count; i++) rounded += layers->items[i].linear.group == 1;
    r->layers_skipped = layers->count - rounded;
    if (!(r->layers = calloc((size_t)rounded + 1, sizeof *r->layers))) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    NNQ_TRY(model_copy(fp32, prepared)); /* the FP32 targets never change */
    uint64_t random = o->seed ? o->seed : 1;
    for (int i = 0; i < layers->count; i++) {
        quantized_layer *ql = &layers->items[i];
        if (ql->linear.group != 1) continue;
        adaround_layer_report *entry = &r->layers[r->n_layers];
        if (!(entry->node = strdup(node_display_name(ql->node)))) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        r->n_layers++;
        NNQ_TRY(round_layer(prepared, fp32, plan, ql, data, o, &random, (int64_t)r->layers_rounded * o->iterations,
                            (int64_t)rounded * o->iterations, entry));
        r->layers_rounded++;
    }
    return NNQ_OK;
}

nnq_status ptq_adaround(nnq_model *prepared, const nnq_plan *plan, nnq_dataset *data, const adaround_options *options,
                        adaround_report *report) {
    if (!data) return nnq_fail(NNQ_ERR_USAGE, "AdaRound needs calibration data");
    adaround_options defaults;
    adaround_options_defaults(&defaults);
    const adaround_options *o = options ? options : &defaults;
    if (o->iterations < 1 || o->warmup < 0.0f || o->warmup >= 1.0f || !(o->learning_rate > 0.0f))
        return nnq_fail(NNQ_ERR_USAGE, "AdaRound: iterations must be >= 1, warm-up in [0, 1), learning rate > 0");
    double start = wall_clock_seconds();
    adaround_report local, *r = report ? report : &local;
    memset(r, 0, sizeof *r);
    quantized_layers layers;
    NNQ_TRY(quantized_layers_find(prepared, plan, &layers));
    nnq_model fp32 = {0};
    nnq_status st = run(prepared, plan, data, o, &layers, &fp32, r);
    r->seconds = wall_clock_seconds() - start;
    model_free(&fp32);
    quantized_layers_free(&layers);
    if (st != NNQ_OK || r == &local) adaround_report_free(r);
    return st;
}
