/* Batch-norm folding (white paper §2.3.1, eq. 9-12): an inference
 * BatchNormalization right after a linear layer is an affine map per output
 * channel k, y_k = a_k x_k + (beta_k - a_k mu_k) with a_k = gamma_k / sqrt(var_k + eps),
 * so it folds into the layer:
 *     W'_k = a_k W_k                      (eq. 11)
 *     b'_k = a_k (b_k - mu_k) + beta_k    (eq. 12, with the layer's own bias b)
 * The layer then produces the BN's output name (graph outputs and value_info
 * named by users survive) and the BN goes.
 *
 * Layers and where their output channel lives in the weight:
 *   Conv          W [C_out, C_in/group, k...]   channel = axis 0, any group
 *   ConvTranspose W [C_in, C_out/group, k...]   channel = (group of the input row) * C_out/group + axis 1
 *   Gemm          B [N, K] (transB=1) or [K, N] (transB=0); BN's axis 1 is Gemm's column N
 *   MatMul        B [K, N] initializer, A 2-D so the output is [M, N] and BN's axis 1 is N;
 *                 it becomes Gemm(A, B', C') - one node that carries its bias, the form
 *                 the quantizer handles for every linear layer.
 * A BN whose input has other readers, is a graph output, or comes from
 * anything else stays: it is quantized later as an op of its own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/passes/graph_edit.h"
#include "ir/passes/passes.h"

/* BatchNormalization's epsilon default (ONNX operator doc). */
#define BATCHNORM_DEFAULT_EPSILON 1e-5f

/* How a weight tensor's elements map to the layer's output channels. */
typedef enum channel_layout {
    CHANNELS_ON_FIRST_AXIS,   /* Conv [C_out, ...], Gemm transB=1 [N, K] */
    CHANNELS_ON_LAST_AXIS,    /* Gemm transB=0 and MatMul [K, N] */
    CHANNELS_IN_GROUPS_OF_AXIS_1 /* ConvTranspose [C_in, C_out/group, k...] */
} channel_layout;

/* One BN found foldable, with everything the rewrite needs. */
typedef struct batchnorm_fold {
    int batchnorm;          /* node indices */
    int layer;
    int weight_input;       /* the layer's input slot of W and of its bias */
    int bias_input;
    channel_layout layout;
    int64_t channels;
    int64_t group;          /* ConvTranspose only */
    double gemm_beta;       /* Gemm's beta scales its C; 1 elsewhere */
    const nnq_tensor *weight, *bias; /* bias NULL when the layer has none */
    const float *gamma, *beta, *mean, *var;
    float epsilon;
} batchnorm_fold;

/* ---- Recognizing a foldable BN ---- */

static bool is_default_domain(const nnq_node *node) {
    return !*node->domain || strcmp(node->domain, "ai.onnx") == 0;
}

static const nnq_tensor *fixed_floats(const nnq_graph *g, const char *name) {
    const nnq_tensor *t = graph_find_fixed_initializer(g, name);
    return t && t->dtype == NNQ_FLOAT && t->data ? t : NULL;
}

/* The BN's statistics and affine parameters: fixed float vectors of one length. */
static bool read_batchnorm(const nnq_model *model, const nnq_node *bn, batchnorm_fold *fold) {
    const nnq_graph *g = &model->graph;
    int64_t opset = model_opset(model, "");
    if (bn->n_inputs != 5 || !is_default_domain(bn)) return false;
    if (opset >= 14 && node_attr_int(bn, "training_mode", 0) != 0) return false;
    if (opset < 9 && node_attr_int(bn, "spatial", 1) != 1) return false;
    for (int o = 1; o < bn->n_outputs; o++)
        if (*bn->outputs[o]) return false; /* running statistics requested: training */
    const float **params[4] = {&fold->gamma, &fold->beta, &fold->mean, &fold->var};
    fold->channels = -1;
    for (int i = 0; i < 4; i++) {
        const nnq_tensor *t = fixed_floats(g, bn->inputs[1 + i]);
        if (!t) return false;
        int64_t n = tensor_numel(t);
        if (fold->channels >= 0 && n != fold->channels) return false;
        fold->channels = n;
        *params[i] = t->data;
    }
    fold->epsilon = node_attr_float(bn, "epsilon", BATCHNORM_DEFAULT_EPSILON);
    for (int64_t c = 0; c < fold->channels; c++)
        if (!((double)fold->var[c] + fold->epsilon > 0.0)) return false; /* the BN itself is not finite */
    return true;
}

/* A bias vector of `channels` values the layer adds along its output channels. */
static bool is_channel_bias(const nnq_tensor *bias, int64_t channels) {
    return bias && bias->rank == 1 && bias->dims[0] == channels;
}

static bool read_conv(const nnq_graph *g, const nnq_node *layer, batchnorm_fold *fold) {
    fold->weight = fixed_floats(g, layer->inputs[1]);
    if (!fold->weight || fold->weight->rank < 3 || fold->weight->dims[0] != fold->channels) return false;
    fold->layout = CHANNELS_ON_FIRST_AXIS;
    return true;
}

static bool read_conv_transpose(const nnq_graph *g, const nnq_node *layer, batchnorm_fold *fold) {
    fold->weight = fixed_floats(g, layer->inputs[1]);
    fold->group = node_attr_int(layer, "group", 1);
    const nnq_tensor *w = fold->weight;
    if (!w || w->rank < 3 || fold->group < 1 || w->dims[0] % fold->group != 0) return false;
    if (w->dims[1] * fold->group != fold->channels) return false;
    fold->layout = CHANNELS_IN_GROUPS_OF_AXIS_1;
    return true;
}

static bool read_gemm(const nnq_graph *g, const nnq_node *layer, batchnorm_fold *fold) {
    fold->weight = fixed_floats(g, layer->inputs[1]);
    bool trans_b = node_attr_int(layer, "transB", 0) != 0;
    const nnq_tensor *w = fold->weight;
    if (!w || w->rank != 2 || w->dims[trans_b ? 0 : 1] != fold->channels) return false;
    fold->layout = trans_b ? CHANNELS_ON_FIRST_AXIS : CHANNELS_ON_LAST_AXIS;
    fold->gemm_beta = node_attr_float(layer, "beta", 1.0f);
    return true;
}

/* Gemm's C broadcasts to [M, N] (ONNX Gemm doc); folding needs it constant
 * along M: a scalar, or N values on the last axis with leading dims of 1. */
static bool is_row_broadcast(const nnq_tensor *c, int64_t channels) {
    int64_t n = tensor_numel(c);
    if (c->rank > 2 || (n != 1 && n != channels)) return false;
    return n == 1 || c->dims[c->rank - 1] == channels;
}

static bool read_matmul(const nnq_graph *g, const nnq_node *layer, batchnorm_fold *fold) {
    fold->weight = fixed_floats(g, layer->inputs[1]);
    const nnq_tensor *w = fold->weight;
    if (!w || w->rank != 2 || w->dims[1] != fold->channels) return false;
    /* Only a 2-D product [M, N] has its features on BN's channel axis 1. */
    const nnq_value_info *out = graph_find_value_info(g, layer->outputs[0]);
    if (!out || out->rank != 2) return false;
    fold->layout = CHANNELS_ON_LAST_AXIS;
    return true;
}

/* The layer's existing bias, checked to be a fixed float of the right shape. */
static bool read_bias(const nnq_graph *g, const nnq_node *layer, batchnorm_fold *fold) {
    fold->bias = NULL;
    if (fold->bias_input >= layer->n_inputs || !*layer->inputs[fold->bias_input]) return true;
    fold->bias = fixed_floats(g, layer->inputs[fold->bias_input]);
    if (!fold->bias) return false;
    if (strcmp(layer->op_type, "Gemm") == 0) return is_row_broadcast(fold->bias, fold->channels);
    return is_channel_bias(fold->bias, fold->channels);
}

/* Fills fold for BN node n when it can be folded into its input's producer. */
static bool find_foldable(const nnq_model *model, const bool *gone, int n, batchnorm_fold *fold) {
    const nnq_graph *g = &model->graph;
    const nnq_node *bn = &g->nodes[n];
    memset(fold, 0, sizeof *fold);
    if (strcmp(bn->op_type, "BatchNormalization") != 0 || !read_batchnorm(model, bn, fold)) return false;
    const char *x = bn->inputs[0];
    int slot;
    int layer_index = graph_find_producer(g, gone, x, &slot);
    if (layer_index < 0 || slot != 0 || graph_is_output(g, x) || graph_count_readers(g, gone, x) != 1) return false;
    const nnq_node *layer = &g->nodes[layer_index];
    if (!is_default_domain(layer) || layer->n_inputs < 2) return false;
    fold->batchnorm = n;
    fold->layer = layer_index;
    fold->weight_input = 1;
    fold->bias_input = 2;
    fold->group = 1;
    fold->gemm_beta = 1.0;
    bool ok;
    if (strcmp(layer->op_type, "Conv") == 0) ok = read_conv(g, layer, fold);
    else if (strcmp(layer->op_type, "ConvTranspose") == 0) ok = read_conv_transpose(g, layer, fold);
    else if (strcmp(layer->op_type, "Gemm") == 0) ok = read_gemm(g, layer, fold);
    else if (strcmp(layer->op_type, "MatMul") == 0) ok = read_matmul(g, layer, fold) && layer->n_inputs == 2;
    else ok = false;
    return ok && read_bias(g, layer, fold);
}

/* ---- Rewriting ---- */

/* a_k = gamma_k / sqrt(var_k + eps) (eq. 11's factor), in double as the
 * BatchNormalization kernel computes it. */
static double channel_factor(const batchnorm_fold *fold, int64_t k) {
    return fold->gamma[k] / sqrt((double)fold->var[k] + (double)fold->epsilon);
}

static int64_t output_channel_of(const batchnorm_fold *fold, int64_t index) {
    const nnq_tensor *w = fold->weight;
    int64_t numel = tensor_numel(w);
    switch (fold->layout) {
    case CHANNELS_ON_FIRST_AXIS:
        return index / (numel / w->dims[0]);
    case CHANNELS_ON_LAST_AXIS:
        return index % w->dims[w->rank - 1];
    case CHANNELS_IN_GROUPS_OF_AXIS_1: {
        int64_t per_group_out = w->dims[1], per_group_in = w->dims[0] / fold->group;
        int64_t kernel = numel / (w->dims[0] * w->dims[1]);
        int64_t input_row = index / (per_group_out * kernel), column = (index / kernel) % per_group_out;
        return (input_row / per_group_in) * per_group_out + column;
    }
    }
    return 0;
}

/* Gives layer input `slot` the values (ownership taken) and shape: in place
 * when only this layer reads the initializer, else as a new initializer so
 * that its other readers keep the old values. */
static nnq_status store_parameter(nnq_graph *g, const bool *gone, int layer, int slot, float *values, int rank,
                                  const int64_t *dims, const char *name_base) {
    nnq_node *node = &g->nodes[layer];
    const char *current = slot < node->n_inputs ? node->inputs[slot] : "";
    int index = *current ? graph_find_initializer_index(g, current) : -1;
    if (index >= 0 && graph_count_readers(g, gone, current) == 1 && !graph_is_output(g, current)) {
        nnq_tensor *t = &g->initializers[index];
        free(t->data);
        tensor_set_shape(t, NNQ_FLOAT, rank, dims);
        t->data = values;
        return NNQ_OK;
    }
    nnq_tensor fresh = {0};
    tensor_set_shape(&fresh, NNQ_FLOAT, rank, dims);
    fresh.data = values;
    nnq_status st = graph_unique_name(g, name_base, &fresh.name);
    if (st == NNQ_OK) st = node_set_input(node, slot, fresh.name);
    if (st == NNQ_OK) st = graph_add_initializer(g, &fresh);
    tensor_free(&fresh); /* zeroed by graph_add_initializer on success */
    return st;
}

/* W'_k = a_k W_k (eq. 11). */
static float *folded_weight(const batchnorm_fold *fold) {
    int64_t numel = tensor_numel(fold->weight);
    float *out = malloc(sizeof *out * (size_t)numel);
    if (!out) return NULL;
    const float *w = fold->weight->data;
    for (int64_t i = 0; i < numel; i++) out[i] = (float)(w[i] * channel_factor(fold, output_channel_of(fold, i)));
    return out;
}

/* b'_k = a_k (b_k - mu_k) + beta_k (eq. 12); b_k is 0 without a bias, and
 * for Gemm it is beta * C_k (its C broadcast along the rows). */
static float *folded_bias(const batchnorm_fold *fold) {
    float *out = malloc(sizeof *out * (size_t)fold->channels);
    if (!out) return NULL;
    const float *b = fold->bias ? fold->bias->data : NULL;
    bool scalar = fold->bias && tensor_numel(fold->bias) == 1;
    for (int64_t k = 0; k < fold->channels; k++) {
        double layer_bias = b ? fold->gemm_beta * b[scalar ? 0 : k] : 0.0;
        out[k] = (float)(channel_factor(fold, k) * (layer_bias - fold->mean[k]) + fold->beta[k]);
    }
    return out;
}

/* The folded C already includes Gemm's beta (eq. 12 above). */
static void set_gemm_beta_to_one(nnq_node *gemm) {
    for (int a = 0; a < gemm->n_attrs; a++)
        if (strcmp(gemm->attrs[a].name, "beta") == 0) gemm->attrs[a].f = 1.0f;
}

/* A 2-D MatMul with a bias is Gemm(A, B, C) with the defaults alpha = beta = 1, no transposes. */
static nnq_status turn_matmul_into_gemm(nnq_node *matmul) {
    char *gemm = strdup("Gemm");
    if (!gemm) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    free(matmul->op_type);
    matmul->op_type = gemm;
    return NNQ_OK;
}

/* name followed by suffix; caller frees. */
static char *name_with_suffix(const char *name, const char *suffix) {
    size_t size = strlen(name) + strlen(suffix) + 1;
    char *out = malloc(size);
    if (out) {
        strcpy(out, name);
        strcat(out, suffix);
    }
    return out;
}

/* The new values and names of one fold, prepared before the graph changes. */
typedef struct fold_result {
    float *weight, *bias;
    int weight_rank;
    int64_t weight_dims[NNQ_MAX_RANK];
    char *weight_name_base; /* "<weight>_folded" */
    char *bias_name_base;   /* "<bias>_folded", or "<weight>_bias" when the layer had none */
    char *output;           /* the BN's output name, which the layer takes over */
} fold_result;

static void fold_result_free(fold_result *r) {
    free(r->weight);
    free(r->bias);
    free(r->weight_name_base);
    free(r->bias_name_base);
    free(r->output);
}

static nnq_status compute_fold(const nnq_graph *g, const batchnorm_fold *fold, fold_result *r) {
    const nnq_node *layer = &g->nodes[fold->layer];
    const char *weight_name = layer->inputs[fold->weight_input];
    memset(r, 0, sizeof *r);
    r->weight = folded_weight(fold);
    r->bias = folded_bias(fold);
    r->weight_rank = fold->weight->rank;
    memcpy(r->weight_dims, fold->weight->dims, sizeof r->weight_dims);
    r->weight_name_base = name_with_suffix(weight_name, "_folded");
    r->bias_name_base = fold->bias ? name_with_suffix(layer->inputs[fold->bias_input], "_folded")
                                   : name_with_suffix(weight_name, "_bias");
    r->output = strdup(g->nodes[fold->batchnorm].outputs[0]);
    if (r->weight && r->bias && r->weight_name_base && r->bias_name_base && r->output) return NNQ_OK;
    fold_result_free(r);
    return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
}

static nnq_status apply_fold(nnq_graph *g, bool *gone, const batchnorm_fold *fold) {
    fold_result r;
    NNQ_TRY(compute_fold(g, fold, &r));
    /* From here on fold's tensor pointers may dangle: adding initializers moves them. */
    int64_t bias_dims[1] = {fold->channels};
    float *weight = r.weight, *bias = r.bias;
    r.weight = r.bias = NULL; /* store_parameter takes them */
    nnq_status st = store_parameter(g, gone, fold->layer, fold->weight_input, weight, r.weight_rank, r.weight_dims,
                                    r.weight_name_base);
    if (st == NNQ_OK) st = store_parameter(g, gone, fold->layer, fold->bias_input, bias, 1, bias_dims, r.bias_name_base);
    else free(bias);
    nnq_node *layer = &g->nodes[fold->layer];
    if (st == NNQ_OK && strcmp(layer->op_type, "Gemm") == 0) set_gemm_beta_to_one(layer);
    if (st == NNQ_OK && strcmp(layer->op_type, "MatMul") == 0) st = turn_matmul_into_gemm(layer);
    if (st == NNQ_OK) {
        graph_forget_value_info(g, layer->outputs[0]);
        st = node_set_output(layer, 0, r.output);
    }
    if (st == NNQ_OK) gone[fold->batchnorm] = true;
    fold_result_free(&r);
    return st;
}

nnq_status pass_fold_batchnorm(nnq_model *model, int *folded) {
    nnq_graph *g = &model->graph;
    *folded = 0;
    if (graph_has_subgraphs(g) || model_opset(model, "") < 7) return NNQ_OK;
    bool *gone = calloc((size_t)g->n_nodes + 1, sizeof *gone);
    if (!gone) return nnq_fail(NNQ_ERR_NOMEM, "out of memory folding batch norms");
    nnq_status st = NNQ_OK;
    for (int n = 0; st == NNQ_OK && n < g->n_nodes; n++) {
        batchnorm_fold fold;
        if (!find_foldable(model, gone, n, &fold)) continue;
        st = apply_fold(g, gone, &fold);
        if (st != NNQ_OK) st = nnq_fail_context(st, "folding BatchNormalization '%s' into '%s'",
                                                node_display_name(&g->nodes[n]), node_display_name(&g->nodes[fold.layer]));
        else (*folded)++;
    }
    if (st == NNQ_OK) graph_remove_nodes(g, gone);
    free(gone);
    return st;
}
