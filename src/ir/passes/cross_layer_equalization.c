/* Cross-layer equalization (white paper §3.2; Nagel et al. 2019). For a
 * positively scale-equivariant f (eq. 20, f(s x) = s f(x) for s >= 0),
 *     W2 f(W1 x + b1) = (W2 S) f(S^-1 W1 x + S^-1 b1)             (eq. 21)
 * for any positive diagonal S, and the choice
 *     s_i = sqrt(r1_i r2_i) / r2_i                                 (eq. 22)
 * gives both layers the same per-channel range sqrt(r1_i r2_i), which is
 * the optimal equalization for per-tensor quantization. On a chain
 * W1 -> W2 -> W3 the middle layer is rescaled on both sides, so the pairs
 * are swept repeatedly until the scales settle at 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/passes/graph_edit.h"
#include "ir/passes/layer_pairs.h"
#include "ir/passes/passes.h"

void cle_options_init(cle_options *options) {
    options->replace_bounded_relu = false;
    options->max_iterations = CLE_DEFAULT_MAX_ITERATIONS;
    options->tolerance = CLE_DEFAULT_TOLERANCE;
}

/* ---- Per-channel ranges ---- */

/* r1_i = max |W1[i, ...]| over W1's output channel i. */
static void first_layer_ranges(nnq_graph *g, const layer_pair *pair, double *ranges) {
    const linear_layer *layer = &pair->first;
    const float *w = linear_layer_weights(g, layer);
    memset(ranges, 0, sizeof *ranges * (size_t)layer->out_channels);
    for (int64_t k = 0, n = linear_layer_weight_count(g, layer); k < n; k++) {
        int64_t c = linear_layer_output_channel(g, layer, k);
        ranges[c] = fmax(ranges[c], fabs(w[k]));
    }
}

/* r2_i = max |W2[:, i, ...]| over everything W2 applies to W1's output channel i. */
static void second_layer_ranges(nnq_graph *g, const layer_pair *pair, double *ranges) {
    const float *w = linear_layer_weights(g, &pair->second);
    memset(ranges, 0, sizeof *ranges * (size_t)pair->first.out_channels);
    for (int64_t k = 0, n = linear_layer_weight_count(g, &pair->second); k < n; k++) {
        int64_t c = layer_pair_channel_of_second(g, pair, k);
        ranges[c] = fmax(ranges[c], fabs(w[k]));
    }
}

/* max_i r_i / min_i r_i over the channels with r_i > 0; 1 when none. */
static double range_spread(const double *ranges, int64_t channels) {
    double lo = INFINITY, hi = 0.0;
    for (int64_t c = 0; c < channels; c++)
        if (ranges[c] > 0.0 && isfinite(ranges[c])) {
            lo = fmin(lo, ranges[c]);
            hi = fmax(hi, ranges[c]);
        }
    return hi > 0.0 ? hi / lo : 1.0;
}

/* ---- Rescaling one pair ---- */

/* s_i of eq. 22; 1 for a channel that is zero (dead) on either side or not finite. */
static double equalizing_scale(double r1, double r2) {
    double s = sqrt(r1 * r2) / r2;
    return r1 > 0.0 && r2 > 0.0 && isfinite(s) && s > 0.0 ? s : 1.0;
}

/* Applies eq. 21 with s (one per W1 output channel): W1[i] /= s_i, b1[i] /= s_i, W2[:, i] *= s_i. */
static void rescale_pair(nnq_graph *g, const layer_pair *pair, const double *s) {
    float *w1 = linear_layer_weights(g, &pair->first);
    for (int64_t k = 0, n = linear_layer_weight_count(g, &pair->first); k < n; k++)
        w1[k] = (float)(w1[k] / s[linear_layer_output_channel(g, &pair->first, k)]);
    float *b1 = linear_layer_bias(g, &pair->first);
    for (int64_t c = 0; b1 && c < pair->first.out_channels; c++) b1[c] = (float)(b1[c] / s[c]);
    float *w2 = linear_layer_weights(g, &pair->second);
    for (int64_t k = 0, n = linear_layer_weight_count(g, &pair->second); k < n; k++)
        w2[k] = (float)(w2[k] * s[layer_pair_channel_of_second(g, pair, k)]);
}

/* Equalizes one pair; returns max_i |s_i - 1|. channel_scale accumulates 1/s_i. */
static double equalize_pair(nnq_graph *g, const layer_pair *pair, double *r1, double *r2, double *s,
                            float *channel_scale) {
    first_layer_ranges(g, pair, r1);
    second_layer_ranges(g, pair, r2);
    double largest_change = 0.0;
    for (int64_t c = 0; c < pair->first.out_channels; c++) {
        s[c] = equalizing_scale(r1[c], r2[c]);
        largest_change = fmax(largest_change, fabs(s[c] - 1.0));
        channel_scale[c] = (float)(channel_scale[c] / s[c]);
    }
    rescale_pair(g, pair, s);
    return largest_change;
}

/* ---- Choosing pairs ---- */

/* Turns Clip(x, 0, max) into Relu(x): drops the bound inputs and attributes. */
static nnq_status replace_clip_by_relu(nnq_node *clip) {
    char *relu = strdup("Relu");
    if (!relu) return nnq_fail(NNQ_ERR_NOMEM, "out of memory replacing Clip '%s'", node_display_name(clip));
    free(clip->op_type);
    clip->op_type = relu;
    for (int i = 1; i < clip->n_inputs; i++) free(clip->inputs[i]);
    clip->n_inputs = 1;
    for (int a = 0; a < clip->n_attrs; a++) attr_free(&clip->attrs[a]);
    clip->n_attrs = 0;
    return NNQ_OK;
}

/* Keeps the pairs CLE may rescale: a bounded Clip between them is replaced or the pair dropped. */
static nnq_status select_pairs(nnq_graph *g, const cle_options *options, layer_pairs *pairs, cle_report *report) {
    int kept = 0;
    for (int p = 0; p < pairs->count; p++) {
        const layer_pair *pair = &pairs->items[p];
        if (pair->bounded_clip >= 0) {
            if (!options->replace_bounded_relu) {
                report->clips_skipped++;
                continue;
            }
            NNQ_TRY(replace_clip_by_relu(&g->nodes[pair->bounded_clip]));
            report->clips_replaced++;
        }
        pairs->items[kept++] = *pair;
    }
    pairs->count = kept;
    return NNQ_OK;
}

/* ---- The report ---- */

static nnq_status start_pair_report(const nnq_graph *g, const layer_pair *pair, cle_pair_report *entry) {
    memset(entry, 0, sizeof *entry);
    entry->first = strdup(node_display_name(&g->nodes[pair->first.node]));
    entry->second = strdup(node_display_name(&g->nodes[pair->second.node]));
    entry->tensor = strdup(g->nodes[pair->first.node].outputs[0]);
    entry->channels = pair->first.out_channels;
    entry->channel_scale = malloc(sizeof *entry->channel_scale * (size_t)entry->channels);
    if (!entry->first || !entry->second || !entry->tensor || !entry->channel_scale)
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory equalizing '%s'", node_display_name(&g->nodes[pair->first.node]));
    for (int64_t c = 0; c < entry->channels; c++) entry->channel_scale[c] = 1.0f;
    return NNQ_OK;
}

static void pair_report_free(cle_pair_report *entry) {
    free(entry->first);
    free(entry->second);
    free(entry->tensor);
    free(entry->channel_scale);
}

void cle_report_free(cle_report *report) {
    for (int p = 0; p < report->n_pairs; p++) pair_report_free(&report->pairs[p]);
    free(report->pairs);
    memset(report, 0, sizeof *report);
}

const float *cle_report_channel_scale(const cle_report *report, const char *tensor, int64_t *channels) {
    for (int p = 0; report && p < report->n_pairs; p++)
        if (strcmp(report->pairs[p].tensor, tensor) == 0) {
            if (channels) *channels = report->pairs[p].channels;
            return report->pairs[p].channel_scale;
        }
    if (channels) *channels = 0;
    return NULL;
}

/* ---- The pass ---- */

/* Scratch for the widest pair: r1, r2 and s per channel. */
typedef struct channel_scratch {
    double *r1, *r2, *s;
} channel_scratch;

static nnq_status scratch_create(const layer_pairs *pairs, channel_scratch *scratch) {
    int64_t widest = 1;
    for (int p = 0; p < pairs->count; p++) widest = pairs->items[p].first.out_channels > widest
                                                        ? pairs->items[p].first.out_channels : widest;
    scratch->r1 = malloc(sizeof(double) * (size_t)widest);
    scratch->r2 = malloc(sizeof(double) * (size_t)widest);
    scratch->s = malloc(sizeof(double) * (size_t)widest);
    if (scratch->r1 && scratch->r2 && scratch->s) return NNQ_OK;
    return nnq_fail(NNQ_ERR_NOMEM, "out of memory equalizing %d layer pairs", pairs->count);
}

static void scratch_free(channel_scratch *scratch) {
    free(scratch->r1);
    free(scratch->r2);
    free(scratch->s);
}

static nnq_status equalize(nnq_graph *g, const cle_options *options, const layer_pairs *pairs, cle_report *report) {
    channel_scratch scratch = {0};
    nnq_status st = scratch_create(pairs, &scratch);
    report->pairs = calloc((size_t)pairs->count + 1, sizeof *report->pairs);
    if (st == NNQ_OK && !report->pairs) st = nnq_fail(NNQ_ERR_NOMEM, "out of memory equalizing layer pairs");
    for (int p = 0; st == NNQ_OK && p < pairs->count; p++) {
        st = start_pair_report(g, &pairs->items[p], &report->pairs[p]);
        report->n_pairs = p + 1;
        first_layer_ranges(g, &pairs->items[p], scratch.r1);
        report->pairs[p].spread_before = range_spread(scratch.r1, pairs->items[p].first.out_channels);
    }
    int max_iterations = options->max_iterations > 0 ? options->max_iterations : 1;
    report->converged = pairs->count == 0; /* nothing to equalize */
    while (st == NNQ_OK && pairs->count > 0 && report->iterations < max_iterations && !report->converged) {
        double largest_change = 0.0;
        for (int p = 0; p < pairs->count; p++)
            largest_change = fmax(largest_change, equalize_pair(g, &pairs->items[p], scratch.r1, scratch.r2, scratch.s,
                                                                report->pairs[p].channel_scale));
        report->iterations++;
        report->converged = largest_change <= options->tolerance;
    }
    for (int p = 0; st == NNQ_OK && p < pairs->count; p++) {
        first_layer_ranges(g, &pairs->items[p], scratch.r1);
        cle_pair_report *entry = &report->pairs[p];
        entry->spread_after = range_spread(scratch.r1, pairs->items[p].first.out_channels);
        report->worst_spread_before = fmax(report->worst_spread_before, entry->spread_before);
        report->worst_spread_after = fmax(report->worst_spread_after, entry->spread_after);
    }
    report->pairs_equalized = st == NNQ_OK ? pairs->count : 0;
    scratch_free(&scratch);
    return st;
}

nnq_status pass_equalize_cross_layer(nnq_model *model, const cle_options *options, cle_report *report) {
    cle_options defaults;
    cle_report local;
    cle_options_init(&defaults);
    if (!options) options = &defaults;
    if (!report) report = &local;
    memset(report, 0, sizeof *report);
    nnq_graph *g = &model->graph;
    if (graph_has_subgraphs(g)) return NNQ_OK;
    layer_pairs pairs;
    nnq_status st = layer_pairs_find(model, &pairs, &report->shared_skipped);
    if (st == NNQ_OK) st = select_pairs(g, options, &pairs, report);
    if (st == NNQ_OK) st = equalize(g, options, &pairs, report);
    layer_pairs_free(&pairs);
    if (st != NNQ_OK) st = nnq_fail_context(st, "cross-layer equalization");
    if (st != NNQ_OK || report == &local) cle_report_free(report);
    return st;
}
