/* High-bias absorption (white paper §3.2, eq. 23-24; Nagel et al. 2019).
 * For h = relu(W1 x + b1) and a non-negative c with relu(x' - c) = relu(x') - c
 * wherever the pre-activation x' >= c,
 *     W2 h + b2 = W2 (relu(W1 x + b1 - c) + c) + b2 = W2 h~ + (b2 + W2 c)   (eq. 23)
 * with c_i = max(0, min_x (W1 x + b1)_i) on calibration data (eq. 24), or
 * data-free c_i = max(0, beta_i - 3 gamma_i) from the BN folded into W1.
 * The activation h~ = h - c then starts nearer 0, so its quantization grid
 * wastes less range. A MaxPool or Flatten after the Relu commutes with the
 * per-channel shift and may stand between the layers. A zero-padding Conv W2
 * breaks the identity at its borders; those pairs are skipped unless the
 * caller accepts the approximation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/passes/graph_edit.h"
#include "ir/passes/layer_pairs.h"
#include "ir/passes/passes.h"

/* White paper §3.2: most of a BN output's mass lies above beta - 3 gamma. */
#define BATCHNORM_STANDARD_DEVIATIONS 3.0

/* ---- Which pairs can absorb ---- */

/* Does a Conv pad its input with zeros (explicit pads, or auto_pad SAME_*; ONNX Conv doc)? */
static bool conv_pads_input(const nnq_node *conv) {
    const char *auto_pad = node_attr_string(conv, "auto_pad", "NOTSET");
    if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) return true;
    int64_t count = 0;
    const int64_t *pads = node_attr_ints(conv, "pads", &count);
    for (int64_t i = 0; i < count; i++)
        if (pads[i] != 0) return true;
    return false;
}

/* W1 gets b1 -= c and W2 gets b2 += W2 c: both need a bias slot. A
 * ConvTranspose W2 sums a varying number of taps per output (stride), so a
 * constant input shift does not move its outputs by one constant; a Gemm
 * with beta = 0 ignores its bias. */
static bool can_absorb(const layer_pair *pair) {
    if (!pair->relu_then_shift_commuting) return false;
    const linear_layer *first = &pair->first, *second = &pair->second;
    if (first->kind == LAYER_MATMUL || first->gemm_beta == 0.0) return false;
    if (first->kind == LAYER_CONV_TRANSPOSE && first->bias_initializer < 0) return false;
    return (second->kind == LAYER_CONV || second->kind == LAYER_GEMM) && second->gemm_beta != 0.0;
}

/* A zero-padding Conv W2 sees a padded 0 of h - c where it saw a 0 of h,
 * i.e. c less than before: its border outputs move by W2 c restricted to the
 * padded taps. Such pairs are absorbed only on request. */
static bool absorbs_through_padding(const nnq_graph *g, const layer_pair *pair, const high_bias_source *source) {
    if (pair->second.kind != LAYER_CONV || !conv_pads_input(&g->nodes[pair->second.node])) return true;
    return source->allow_padded_convolution;
}

/* ---- The shift c ---- */

/* c_i = max(0, beta_i - 3 |gamma_i|), beta and gamma first rescaled by CLE's factor for the channel. */
static bool shift_from_batchnorm(const high_bias_source *source, const char *tensor, int64_t channels, float *c,
                                 float *gamma) {
    if (!source->batchnorm_statistics(source->user, tensor, channels, c, gamma)) return false;
    int64_t scaled_channels = 0;
    const float *scale = cle_report_channel_scale(source->equalization, tensor, &scaled_channels);
    if (scale && scaled_channels != channels) return false;
    for (int64_t i = 0; i < channels; i++) {
        double factor = scale ? scale[i] : 1.0;
        double beta = c[i] * factor, deviation = fabs(gamma[i] * factor);
        c[i] = (float)fmax(0.0, beta - BATCHNORM_STANDARD_DEVIATIONS * deviation);
    }
    return true;
}

/* c_i = max(0, min over the data of the pre-activation) (eq. 24). */
static bool shift_from_minimum(const high_bias_source *source, const char *tensor, int64_t channels, float *c) {
    if (!source->channel_minimum(source->user, tensor, channels, c)) return false;
    for (int64_t i = 0; i < channels; i++) c[i] = fmaxf(0.0f, c[i]);
    return true;
}

/* Fills c (channels values); false when the source does not know the tensor or a value is not finite. */
static bool find_shift(const high_bias_source *source, const char *tensor, int64_t channels, float *c, float *scratch) {
    bool known = source->channel_minimum ? shift_from_minimum(source, tensor, channels, c)
                                         : shift_from_batchnorm(source, tensor, channels, c, scratch);
    for (int64_t i = 0; known && i < channels; i++)
        if (!isfinite(c[i])) return false;
    return known;
}

static int count_positive(const float *c, int64_t channels) {
    int n = 0;
    for (int64_t i = 0; i < channels; i++) n += c[i] > 0.0f;
    return n;
}

/* ---- Moving c between the biases (eq. 23) ---- */

/* b1 -= c, the bias as the layer adds it: Gemm adds beta * C. */
static void lower_first_bias(nnq_graph *g, const linear_layer *first, const float *c) {
    float *b1 = linear_layer_bias(g, first);
    for (int64_t i = 0; i < first->out_channels; i++) b1[i] = (float)(b1[i] - c[i] / first->gemm_beta);
}

/* b2 += W2 c: for each W2 weight element, its output channel gains weight * c of its input channel
 * (all kernel positions of a Conv; B^T c of a Gemm, which adds alpha A B + beta C). */
static nnq_status raise_second_bias(nnq_graph *g, const layer_pair *pair, const float *c) {
    const linear_layer *second = &pair->second;
    double *added = calloc((size_t)second->out_channels, sizeof *added);
    if (!added) return nnq_fail(NNQ_ERR_NOMEM, "out of memory absorbing a bias into '%s'",
                                node_display_name(&g->nodes[second->node]));
    const float *w2 = linear_layer_weights(g, second);
    for (int64_t k = 0, n = linear_layer_weight_count(g, second); k < n; k++)
        added[linear_layer_output_channel(g, second, k)] += (double)w2[k] * c[layer_pair_channel_of_second(g, pair, k)];
    float *b2 = linear_layer_bias(g, second);
    double gain = second->gemm_alpha / second->gemm_beta;
    for (int64_t o = 0; o < second->out_channels; o++) b2[o] = (float)(b2[o] + gain * added[o]);
    free(added);
    return NNQ_OK;
}

/* Re-reads both layers (an earlier pair may have given one a bias) and moves c. */
static nnq_status absorb_pair(nnq_graph *g, layer_pair *pair, const float *c) {
    if (!linear_layer_read(g, pair->first.node, &pair->first) || !linear_layer_read(g, pair->second.node, &pair->second))
        return nnq_fail(NNQ_ERR_INVALID, "layers '%s' and '%s' changed while absorbing biases",
                        node_display_name(&g->nodes[pair->first.node]), node_display_name(&g->nodes[pair->second.node]));
    NNQ_TRY(linear_layer_add_zero_bias(g, &pair->first));
    NNQ_TRY(linear_layer_add_zero_bias(g, &pair->second));
    lower_first_bias(g, &pair->first, c);
    return raise_second_bias(g, pair, c);
}

/* ---- The report ---- */

/* Adds pair's shift c to the report, taking c (freed on failure too). */
static nnq_status record_shift(const nnq_graph *g, const layer_pair *pair, float *c, high_bias_report *report) {
    high_bias_shift *grown = realloc(report->shifts, sizeof *grown * (size_t)(report->n_shifts + 1));
    if (!grown) {
        free(c);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory recording absorbed biases");
    }
    report->shifts = grown;
    high_bias_shift *entry = &report->shifts[report->n_shifts++];
    entry->tensor = strdup(g->nodes[pair->first.node].outputs[0]);
    entry->channels = pair->first.out_channels;
    entry->shift = c; /* taken */
    report->layers_absorbed++;
    report->channels_absorbed += count_positive(c, entry->channels);
    return entry->tensor ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory recording absorbed biases");
}

void high_bias_report_free(high_bias_report *report) {
    for (int i = 0; i < report->n_shifts; i++) {
        free(report->shifts[i].tensor);
        free(report->shifts[i].shift);
    }
    free(report->shifts);
    memset(report, 0, sizeof *report);
}

/* ---- The pass ---- */

static nnq_status absorb_pairs(nnq_graph *g, const high_bias_source *source, layer_pairs *pairs,
                               high_bias_report *report) {
    for (int p = 0; p < pairs->count; p++) {
        layer_pair *pair = &pairs->items[p];
        if (!can_absorb(pair)) continue;
        if (!absorbs_through_padding(g, pair, source)) {
            report->padded_skipped++;
            continue;
        }
        int64_t channels = pair->first.out_channels;
        float *c = malloc(sizeof *c * (size_t)channels), *scratch = malloc(sizeof *scratch * (size_t)channels);
        nnq_status st = c && scratch ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory absorbing biases");
        bool absorbs = st == NNQ_OK && find_shift(source, g->nodes[pair->first.node].outputs[0], channels, c, scratch) &&
                       count_positive(c, channels) > 0;
        free(scratch);
        if (absorbs) st = absorb_pair(g, pair, c);
        if (absorbs && st == NNQ_OK) st = record_shift(g, pair, c, report);
        else free(c);
        if (st != NNQ_OK)
            return nnq_fail_context(st, "absorbing the bias of '%s' into '%s'", node_display_name(&g->nodes[pair->first.node]),
                                    node_display_name(&g->nodes[pair->second.node]));
    }
    return NNQ_OK;
}

nnq_status pass_absorb_high_bias(nnq_model *model, const high_bias_source *source, high_bias_report *report) {
    high_bias_report local;
    if (!report) report = &local;
    memset(report, 0, sizeof *report);
    if (!source || (!source->channel_minimum == !source->batchnorm_statistics))
        return nnq_fail(NNQ_ERR_USAGE, "high-bias absorption needs exactly one source of shifts "
                                       "(channel minimum or batch-norm statistics)");
    nnq_graph *g = &model->graph;
    if (graph_has_subgraphs(g)) return NNQ_OK;
    layer_pairs pairs;
    NNQ_TRY(layer_pairs_find(model, &pairs, NULL));
    nnq_status st = absorb_pairs(g, source, &pairs, report);
    layer_pairs_free(&pairs);
    if (st != NNQ_OK || report == &local) high_bias_report_free(report);
    return st;
}
