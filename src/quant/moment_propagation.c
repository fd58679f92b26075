#include "quant/moment_propagation.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/passes/linear_layer.h"
#include "quant/clipped_gaussian.h"

/* ---- descriptions ---- */

static nnq_status moments_alloc(activation_moments *m, int64_t channels) {
    m->channels = channels;
    m->mean = calloc((size_t)channels, sizeof *m->mean);
    m->sd = calloc((size_t)channels, sizeof *m->sd);
    m->lo = -INFINITY;
    m->hi = INFINITY;
    return m->mean && m->sd ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory propagating moments");
}

static void moments_free(activation_moments *m) {
    free(m->mean);
    free(m->sd);
    memset(m, 0, sizeof *m);
}

static nnq_status moments_copy(activation_moments *dst, const activation_moments *src) {
    NNQ_TRY(moments_alloc(dst, src->channels));
    memcpy(dst->mean, src->mean, sizeof *dst->mean * (size_t)src->channels);
    memcpy(dst->sd, src->sd, sizeof *dst->sd * (size_t)src->channels);
    dst->lo = src->lo;
    dst->hi = src->hi;
    return NNQ_OK;
}

void activation_moments_channel(const activation_moments *m, int64_t c, double *mean, double *variance) {
    int64_t k = m->channels == 1 ? 0 : c;
    double e = clipped_gaussian_mean(m->mean[k], m->sd[k], m->lo, m->hi);
    double e2 = clipped_gaussian_second_moment(m->mean[k], m->sd[k], m->lo, m->hi);
    *mean = e;
    *variance = fmax(e2 - e * e, 0.0);
}

void activation_moments_range(const activation_moments *m, double alpha, float *lo, float *hi) {
    double low = INFINITY, high = -INFINITY;
    for (int64_t c = 0; c < m->channels; c++) {
        low = fmin(low, m->mean[c] - alpha * m->sd[c]);
        high = fmax(high, m->mean[c] + alpha * m->sd[c]);
    }
    low = fmin(fmax(low, m->lo), m->hi);
    high = fmin(fmax(high, m->lo), m->hi);
    *lo = (float)low;
    *hi = (float)high;
}

/* One description for all channels that keeps the per-channel range: the
 * mixture's mean, with an sd wide enough for mean +- alpha sd to cover every
 * channel's (alpha = 6, the eq. 19 default). Used where a reshape loses the
 * channel axis. */
static nnq_status moments_collapse(const activation_moments *m, activation_moments *out) {
    const double alpha = 6.0;
    double mean = 0.0, second = 0.0;
    for (int64_t c = 0; c < m->channels; c++) {
        double e, v;
        activation_moments_channel(m, c, &e, &v);
        mean += e / (double)m->channels;
        second += (v + e * e) / (double)m->channels;
    }
    double sd = sqrt(fmax(second - mean * mean, 0.0));
    for (int64_t c = 0; c < m->channels; c++) {
        sd = fmax(sd, (m->mean[c] + alpha * m->sd[c] - mean) / alpha);
        sd = fmax(sd, (mean - (m->mean[c] - alpha * m->sd[c])) / alpha);
    }
    NNQ_TRY(moments_alloc(out, 1));
    out->mean[0] = (float)mean;
    out->sd[0] = (float)sd;
    out->lo = m->lo;
    out->hi = m->hi;
    return NNQ_OK;
}

/* A variable uniform on [lo, hi] (a codomain or the input's value range). */
static nnq_status moments_uniform(activation_moments *out, float lo, float hi) {
    NNQ_TRY(moments_alloc(out, 1));
    out->mean[0] = 0.5f * (lo + hi);
    out->sd[0] = (hi - lo) / sqrtf(12.0f);
    out->lo = lo;
    out->hi = hi;
    return NNQ_OK;
}

/* ---- the map ---- */

void moment_map_free(moment_map *map) {
    for (int i = 0; i < map->count; i++) {
        free(map->tensors[i]);
        moments_free(&map->moments[i]);
    }
    free(map->tensors);
    free(map->moments);
    name_map_free(&map->by_tensor);
    memset(map, 0, sizeof *map);
}

const activation_moments *moment_map_find(const moment_map *map, const char *tensor) {
    int k = name_map_get(&map->by_tensor, tensor);
    return k < 0 ? NULL : &map->moments[k];
}

/* Takes ownership of *m. */
static nnq_status moment_map_put(moment_map *map, const char *tensor, activation_moments *m) {
    int k = map->count;
    map->tensors[k] = strdup(tensor);
    if (!map->tensors[k]) {
        moments_free(m);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory propagating moments");
    }
    map->moments[k] = *m;
    memset(m, 0, sizeof *m);
    map->count++;
    return name_map_put(&map->by_tensor, tensor, k);
}

/* ---- rules, one per kind of node ---- */

typedef struct propagation {
    const nnq_model *model;
    const bn_parameters *bn;
    moment_map *map;
} propagation;

static int64_t channel_dim(const nnq_graph *g, const char *tensor) {
    const nnq_value_info *info = graph_find_value_info(g, tensor);
    return info && info->rank >= 2 && info->dims[1] > 0 ? info->dims[1] : -1;
}

/* x's description with per-channel arrays of `channels` entries (a per-tensor one repeated). */
static nnq_status moments_expand(const activation_moments *x, int64_t channels, activation_moments *out) {
    if (x->channels == channels) return moments_copy(out, x);
    if (x->channels != 1) return moments_collapse(x, out);
    NNQ_TRY(moments_alloc(out, channels));
    for (int64_t c = 0; c < channels; c++) {
        out->mean[c] = x->mean[0];
        out->sd[c] = x->sd[0];
    }
    out->lo = x->lo;
    out->hi = x->hi;
    return NNQ_OK;
}

static nnq_status rule_clamp(const propagation *p, const nnq_node *node, const activation_moments *x,
                             activation_moments *y) {
    float lo = 0.0f, hi = INFINITY;
    if (strcmp(node->op_type, "Clip") == 0) {
        lo = node_attr_float(node, "min", -INFINITY); /* opset < 11 */
        hi = node_attr_float(node, "max", INFINITY);
        for (int i = 1; i <= 2 && i < node->n_inputs; i++) {
            const nnq_tensor *bound = node->inputs[i][0] ? graph_find_fixed_initializer(&p->model->graph, node->inputs[i])
                                                         : NULL;
            if (node->inputs[i][0] && (!bound || tensor_numel(bound) != 1 || bound->dtype != NNQ_FLOAT)) return NNQ_OK;
            if (bound) *(i == 1 ? &lo : &hi) = ((const float *)bound->data)[0];
        }
    }
    NNQ_TRY(moments_copy(y, x));
    y->lo = fmaxf(y->lo, lo);
    y->hi = fminf(y->hi, hi);
    if (y->lo > y->hi) y->lo = y->hi;
    return NNQ_OK;
}

/* Conv / Gemm / MatMul: the BN it absorbed, else the linear map of the input's moments. */
static nnq_status rule_linear(const propagation *p, const nnq_node *node, const linear_layer *layer,
                              const activation_moments *x, activation_moments *y) {
    int k = name_map_get(&p->bn->by_tensor, node->outputs[0]);
    if (k >= 0 && tensor_numel(&p->bn->beta[k]) == layer->out_channels) {
        NNQ_TRY(moments_alloc(y, layer->out_channels));
        for (int64_t c = 0; c < layer->out_channels; c++) {
            y->mean[c] = ((const float *)p->bn->beta[k].data)[c];
            y->sd[c] = fabsf(((const float *)p->bn->gamma[k].data)[c]);
        }
        return NNQ_OK;
    }
    if (!x || layer->kind == LAYER_CONV_TRANSPOSE) return NNQ_OK;
    p->map->layers_without_bn++;
    activation_moments in = {0};
    NNQ_TRY(moments_expand(x, layer->in_channels, &in));
    const nnq_graph *g = &p->model->graph;
    const float *w = linear_layer_weights((nnq_graph *)g, layer);
    const float *b = linear_layer_bias((nnq_graph *)g, layer);
    int64_t count = linear_layer_weight_count(g, layer);
    double *mean = calloc((size_t)layer->out_channels, sizeof *mean);
    double *spread = calloc((size_t)layer->out_channels, sizeof *spread);
    double *in_mean = malloc(sizeof *in_mean * (size_t)layer->in_channels);
    double *in_variance = malloc(sizeof *in_variance * (size_t)layer->in_channels);
    nnq_status st = mean && spread && in_mean && in_variance ? NNQ_OK
                                                                : nnq_fail(NNQ_ERR_NOMEM, "out of memory propagating moments");
    if (st == NNQ_OK) {
        for (int64_t c = 0; c < layer->in_channels; c++)
            activation_moments_channel(&in, in.channels == 1 ? 0 : c, &in_mean[c], &in_variance[c]);
        /* mean_o = alpha sum W m + beta b (Gemm's alpha, beta; 1 otherwise) and
         * sd_o = |alpha| sum |W| sd: exact for fully correlated inputs and an
         * upper bound otherwise (Minkowski). The independent estimate
         * sqrt(sum W^2 v) put MobileNetV2's logits at a third of their spread -
         * a classifier's features are correlated by design. */
        for (int64_t i = 0; i < count; i++) {
            int64_t o = linear_layer_output_channel(g, layer, i), c = linear_layer_input_channel(g, layer, i);
            mean[o] += (double)w[i] * in_mean[c];
            spread[o] += fabs((double)w[i]) * sqrt(in_variance[c]);
        }
        st = moments_alloc(y, layer->out_channels);
    }
    for (int64_t o = 0; st == NNQ_OK && o < layer->out_channels; o++) {
        y->mean[o] = (float)(layer->gemm_alpha * mean[o] + (b ? layer->gemm_beta * b[o] : 0.0));
        y->sd[o] = (float)(fabs(layer->gemm_alpha) * spread[o]);
    }
    free(mean);
    free(spread);
    free(in_mean);
    free(in_variance);
    moments_free(&in);
    return st;
}

/* Add / Sum of described inputs (independent: moments add), or a described
 * input plus a scalar constant (the mean and the clamp shift). */
static nnq_status rule_sum(const propagation *p, const nnq_node *node, activation_moments *y) {
    int64_t channels = 1;
    double shift = 0.0;
    const activation_moments *terms[8];
    int n = 0;
    for (int i = 0; i < node->n_inputs; i++) {
        const nnq_tensor *constant = graph_find_fixed_initializer(&p->model->graph, node->inputs[i]);
        if (constant) {
            if (constant->dtype != NNQ_FLOAT || tensor_numel(constant) != 1) return NNQ_OK;
            shift += ((const float *)constant->data)[0];
            continue;
        }
        const activation_moments *m = moment_map_find(p->map, node->inputs[i]);
        if (!m || n == 8) return NNQ_OK;
        terms[n++] = m;
        if (m->channels > 1) {
            if (channels > 1 && m->channels != channels) return NNQ_OK;
            channels = m->channels;
        }
    }
    if (n == 0) return NNQ_OK;
    NNQ_TRY(moments_alloc(y, channels));
    double lo = shift, hi = shift;
    for (int t = 0; t < n; t++) {
        lo += terms[t]->lo;
        hi += terms[t]->hi;
    }
    for (int64_t c = 0; c < channels; c++) {
        double mean = shift, variance = 0.0;
        for (int t = 0; t < n; t++) {
            double e, v;
            activation_moments_channel(terms[t], c, &e, &v);
            mean += e;
            variance += v;
        }
        y->mean[c] = (float)mean;
        y->sd[c] = (float)sqrt(variance);
    }
    y->lo = (float)lo; /* -inf + anything stays -inf: no clamp */
    y->hi = (float)hi;
    return NNQ_OK;
}

/* Average pools: each output is a mean of clamped inputs, so it stays in the
 * clamp with the input's mean; its spread is at most the input's (equal when
 * the pooled positions are fully correlated, the safe assumption). */
static nnq_status rule_average(const activation_moments *x, activation_moments *y) {
    NNQ_TRY(moments_copy(y, x));
    for (int64_t c = 0; c < x->channels; c++) {
        double e, v;
        activation_moments_channel(x, c, &e, &v);
        y->mean[c] = (float)e;
        y->sd[c] = (float)sqrt(v);
    }
    return NNQ_OK;
}

/* Reshape-like ops: a channel's description follows its values. Flattening
 * [N, C, ...] into [N, C * k] repeats channel c over its k positions (row-major). */
static nnq_status rule_reshape(const propagation *p, const nnq_node *node, const activation_moments *x,
                               activation_moments *y) {
    int64_t out_channels = channel_dim(&p->model->graph, node->outputs[0]);
    int64_t in_channels = channel_dim(&p->model->graph, node->inputs[0]);
    if (x->channels == 1 || out_channels == x->channels) return moments_copy(y, x);
    bool flattens = strcmp(node->op_type, "Flatten") == 0 || strcmp(node->op_type, "Reshape") == 0;
    if (flattens && in_channels == x->channels && out_channels > 0 && out_channels % x->channels == 0) {
        int64_t repeat = out_channels / x->channels;
        NNQ_TRY(moments_alloc(y, out_channels));
        for (int64_t c = 0; c < out_channels; c++) {
            y->mean[c] = x->mean[c / repeat];
            y->sd[c] = x->sd[c / repeat];
        }
        y->lo = x->lo;
        y->hi = x->hi;
        return NNQ_OK;
    }
    return moments_collapse(x, y);
}

static nnq_status rule_concat(const propagation *p, const nnq_node *node, activation_moments *y) {
    const nnq_value_info *info = graph_find_value_info(&p->model->graph, node->outputs[0]);
    int64_t axis = node_attr_int(node, "axis", 1);
    if (!info || info->rank < 2 || (axis != 1 && axis != 1 - info->rank) || info->dims[1] <= 0) return NNQ_OK;
    activation_moments parts[8];
    int n = 0;
    int64_t total = 0;
    nnq_status st = NNQ_OK;
    for (int i = 0; st == NNQ_OK && i < node->n_inputs; i++) {
        const activation_moments *m = moment_map_find(p->map, node->inputs[i]);
        int64_t channels = channel_dim(&p->model->graph, node->inputs[i]);
        if (!m || channels <= 0 || n == 8) break;
        st = moments_expand(m, channels, &parts[n]);
        if (st == NNQ_OK) total += parts[n++].channels;
    }
    if (st == NNQ_OK && n == node->n_inputs && total == info->dims[1]) {
        st = moments_alloc(y, total);
        int64_t at = 0;
        y->lo = INFINITY;
        y->hi = -INFINITY;
        for (int t = 0; st == NNQ_OK && t < n; t++) {
            memcpy(y->mean + at, parts[t].mean, sizeof *y->mean * (size_t)parts[t].channels);
            memcpy(y->sd + at, parts[t].sd, sizeof *y->sd * (size_t)parts[t].channels);
            at += parts[t].channels;
            y->lo = fminf(y->lo, parts[t].lo);
            y->hi = fmaxf(y->hi, parts[t].hi);
        }
    }
    for (int t = 0; t < n; t++) moments_free(&parts[t]);
    return st;
}

static bool op_is(const nnq_node *node, const char *const *names) {
    for (; *names; names++)
        if (strcmp(node->op_type, *names) == 0) return true;
    return false;
}

static nnq_status describe_node(const propagation *p, const nnq_node *node) {
    static const char *const pass_through[] = {"MaxPool", "GlobalMaxPool", "Identity", "Dropout", "Resize",
                                               "Upsample", NULL};
    static const char *const averages[] = {"AveragePool", "GlobalAveragePool", NULL};
    static const char *const reshapes[] = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", NULL};
    static const char *const unit_interval[] = {"Sigmoid", "Softmax", "HardSigmoid", NULL};
    if (node->domain[0] || node->n_outputs < 1 || !node->outputs[0][0]) return NNQ_OK;
    const activation_moments *x = node->n_inputs > 0 ? moment_map_find(p->map, node->inputs[0]) : NULL;
    activation_moments y = {0};
    nnq_status st = NNQ_OK;
    linear_layer layer;
    int index = (int)(node - p->model->graph.nodes);
    if (linear_layer_read(&p->model->graph, index, &layer)) st = rule_linear(p, node, &layer, x, &y);
    else if (op_is(node, (const char *const[]){"Add", "Sum", NULL})) st = rule_sum(p, node, &y);
    else if (strcmp(node->op_type, "Concat") == 0) st = rule_concat(p, node, &y);
    else if (op_is(node, unit_interval)) st = moments_uniform(&y, 0.0f, 1.0f);
    else if (strcmp(node->op_type, "Tanh") == 0) st = moments_uniform(&y, -1.0f, 1.0f);
    else if (!x) return NNQ_OK;
    else if (op_is(node, (const char *const[]){"Relu", "Clip", NULL})) st = rule_clamp(p, node, x, &y);
    else if (op_is(node, pass_through)) st = moments_copy(&y, x);
    else if (op_is(node, averages)) st = rule_average(x, &y);
    else if (op_is(node, reshapes)) st = rule_reshape(p, node, x, &y);
    if (st != NNQ_OK) {
        moments_free(&y);
        return st;
    }
    return y.channels ? moment_map_put(p->map, node->outputs[0], &y) : NNQ_OK;
}

nnq_status moments_propagate(const nnq_model *prepared, const bn_parameters *bn, const input_range *input,
                             moment_map *out) {
    memset(out, 0, sizeof *out);
    const nnq_graph *g = &prepared->graph;
    int capacity = g->n_nodes + g->n_inputs;
    out->tensors = calloc((size_t)capacity + 1, sizeof *out->tensors);
    out->moments = calloc((size_t)capacity + 1, sizeof *out->moments);
    if (!out->tensors || !out->moments) return nnq_fail(NNQ_ERR_NOMEM, "out of memory propagating moments");
    NNQ_TRY(name_map_init(&out->by_tensor, (size_t)capacity));
    propagation p = {prepared, bn, out};
    nnq_status st = NNQ_OK;
    for (int i = 0; st == NNQ_OK && input && i < g->n_inputs; i++) {
        if (!graph_is_runtime_input(g, g->inputs[i].name)) continue;
        activation_moments m = {0};
        st = moments_uniform(&m, input->lo, input->hi);
        if (st == NNQ_OK) st = moment_map_put(out, g->inputs[i].name, &m);
    }
    for (int i = 0; st == NNQ_OK && i < g->n_nodes; i++) st = describe_node(&p, &g->nodes[i]);
    if (st != NNQ_OK) moment_map_free(out);
    return st;
}
