#include "ir/passes/layer_pairs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/activation_fusion.h"
#include "ir/graph_consumers.h"

/* What one operation between the layers is. */
typedef enum between_kind {
    BETWEEN_NONE,           /* not allowed: ends the chain */
    BETWEEN_RELU,           /* Relu, or Clip(0, +inf) */
    BETWEEN_EQUIVARIANT,    /* PRelu, LeakyRelu: f(s x) = s f(x) for s >= 0 per element */
    BETWEEN_MAX_POOL,       /* max(s x) = s max(x) per channel for s >= 0 */
    BETWEEN_BOUNDED_CLIP,   /* Clip(0, max) with a finite max: ReLU6 and kin */
    BETWEEN_FLATTEN         /* Flatten(axis=1) of [N, C, spatial...]: channel c -> features c*S .. c*S+S-1 */
} between_kind;

static bool is_default_domain(const nnq_node *node) {
    return !*node->domain || strcmp(node->domain, "ai.onnx") == 0;
}

/* The clamp of a Clip directly after a linear layer (bounds as
 * graph_find_activation_fusions reads them), classified. */
static between_kind classify_clip(const activation_fusions *fusions, const char *linear_output) {
    int i = fusions->by_linear_output.capacity ? name_map_get(&fusions->by_linear_output, linear_output) : -1;
    if (i < 0 || fusions->items[i].clamp_min != 0.0f) return BETWEEN_NONE;
    return isinf(fusions->items[i].clamp_max) ? BETWEEN_RELU : BETWEEN_BOUNDED_CLIP;
}

/* Flatten(axis=1) of a tensor whose shape [N, C, d...] is known: S = prod(d). */
static int64_t flatten_spatial_size(const nnq_graph *g, const nnq_node *flatten) {
    if (node_attr_int(flatten, "axis", 1) != 1) return 0;
    const nnq_value_info *in = graph_find_value_info(g, flatten->inputs[0]);
    if (!in || in->rank < 3) return 0;
    int64_t size = 1;
    for (int d = 2; d < in->rank; d++) {
        if (in->dims[d] <= 0) return 0;
        size *= in->dims[d];
    }
    return size;
}

static between_kind classify_between(const nnq_model *model, const activation_fusions *fusions,
                                     const nnq_node *node, const char *first_output, int position) {
    if (!is_default_domain(node) || node->n_inputs < 1 || node->n_outputs < 1) return BETWEEN_NONE;
    const char *op = node->op_type;
    if (strcmp(op, "Relu") == 0) return BETWEEN_RELU;
    if (strcmp(op, "PRelu") == 0 || strcmp(op, "LeakyRelu") == 0) return BETWEEN_EQUIVARIANT;
    if (strcmp(op, "MaxPool") == 0)
        return node->n_outputs == 1 || !*node->outputs[1] ? BETWEEN_MAX_POOL : BETWEEN_NONE;
    if (strcmp(op, "Clip") == 0) return position == 0 ? classify_clip(fusions, first_output) : BETWEEN_NONE;
    if (strcmp(op, "Flatten") == 0) return flatten_spatial_size(&model->graph, node) > 0 ? BETWEEN_FLATTEN : BETWEEN_NONE;
    return BETWEEN_NONE;
}

/* The one node reading tensor (at input 0, once), when the tensor is not a graph output; else -1. */
static int single_reader(const nnq_graph *g, const graph_consumers *consumers, const char *tensor) {
    const int *readers;
    if (graph_consumers_of(consumers, tensor, &readers) != 1 || graph_is_output(g, tensor)) return -1;
    const nnq_node *reader = &g->nodes[readers[0]];
    return reader->n_inputs >= 1 && strcmp(reader->inputs[0], tensor) == 0 ? readers[0] : -1;
}

/* Do W1's output channels line up with W2's input channels through the operations between? */
static bool channels_line_up(const layer_pair *pair, bool flattened, bool pooled) {
    bool first_conv = linear_layer_is_convolution(&pair->first), second_conv = linear_layer_is_convolution(&pair->second);
    if (pooled && !first_conv) return false;
    if (flattened) {
        if (!first_conv || second_conv) return false;
    } else if (first_conv != second_conv) {
        return false;
    }
    return pair->first.out_channels * pair->features_per_channel == pair->second.in_channels;
}

/* Follows W1's output through allowed operations to the next linear layer; fills pair when it qualifies. */
static bool follow_chain(const nnq_model *model, const graph_consumers *consumers, const activation_fusions *fusions,
                         const linear_layer *first, layer_pair *pair) {
    const nnq_graph *g = &model->graph;
    memset(pair, 0, sizeof *pair);
    pair->first = *first;
    pair->bounded_clip = -1;
    pair->features_per_channel = 1;
    const char *first_output = g->nodes[first->node].outputs[0];
    const char *tensor = first_output;
    bool flattened = false, pooled = false, shift_commutes = true;
    for (;;) {
        int reader = single_reader(g, consumers, tensor);
        if (reader < 0) return false;
        if (linear_layer_read(g, reader, &pair->second)) break;
        if (pair->n_between == LAYER_PAIR_MAX_BETWEEN) return false;
        const nnq_node *node = &g->nodes[reader];
        between_kind kind = classify_between(model, fusions, node, first_output, pair->n_between);
        switch (kind) {
        case BETWEEN_NONE:
            return false;
        case BETWEEN_RELU:
            shift_commutes = shift_commutes && pair->n_between == 0;
            break;
        case BETWEEN_EQUIVARIANT:
            shift_commutes = false;
            break;
        case BETWEEN_MAX_POOL:
            pooled = true;
            break;
        case BETWEEN_BOUNDED_CLIP:
            pair->bounded_clip = reader;
            shift_commutes = false;
            break;
        case BETWEEN_FLATTEN:
            if (flattened) return false;
            flattened = true;
            pair->features_per_channel = flatten_spatial_size(g, node);
            break;
        }
        if (kind == BETWEEN_MAX_POOL && flattened) return false; /* pooling features, not channels */
        pair->between[pair->n_between++] = reader;
        tensor = node->outputs[0];
    }
    if (!channels_line_up(pair, flattened, pooled)) return false;
    const nnq_node *first_reader = pair->n_between ? &g->nodes[pair->between[0]] : NULL;
    pair->relu_then_shift_commuting =
        shift_commutes && first_reader && classify_between(model, fusions, first_reader, first_output, 0) == BETWEEN_RELU;
    return true;
}

static nnq_status pairs_append(layer_pairs *pairs, int *capacity, const layer_pair *pair) {
    if (pairs->count == *capacity) {
        int grown_capacity = *capacity ? *capacity * 2 : 16;
        layer_pair *grown = realloc(pairs->items, sizeof *grown * (size_t)grown_capacity);
        if (!grown) return nnq_fail(NNQ_ERR_NOMEM, "out of memory listing layer pairs");
        pairs->items = grown;
        *capacity = grown_capacity;
    }
    pairs->items[pairs->count++] = *pair;
    return NNQ_OK;
}

static nnq_status find_pairs(const nnq_model *model, const graph_consumers *consumers,
                             const activation_fusions *fusions, layer_pairs *out, int *shared_skipped) {
    const nnq_graph *g = &model->graph;
    int capacity = 0;
    for (int n = 0; n < g->n_nodes; n++) {
        linear_layer first;
        layer_pair pair;
        if (!linear_layer_read(g, n, &first) || !follow_chain(model, consumers, fusions, &first, &pair)) continue;
        if (!linear_layer_owns_parameters(g, &pair.first) || !linear_layer_owns_parameters(g, &pair.second)) {
            if (shared_skipped) (*shared_skipped)++;
            continue;
        }
        NNQ_TRY(pairs_append(out, &capacity, &pair));
    }
    return NNQ_OK;
}

nnq_status layer_pairs_find(const nnq_model *model, layer_pairs *out, int *shared_skipped) {
    memset(out, 0, sizeof *out);
    if (shared_skipped) *shared_skipped = 0;
    graph_consumers consumers;
    activation_fusions fusions;
    NNQ_TRY(graph_map_consumers(&model->graph, &consumers));
    nnq_status st = graph_find_activation_fusions(model, &fusions);
    if (st == NNQ_OK) {
        st = find_pairs(model, &consumers, &fusions, out, shared_skipped);
        activation_fusions_free(&fusions);
    }
    graph_consumers_free(&consumers);
    if (st != NNQ_OK) layer_pairs_free(out);
    return st;
}

void layer_pairs_free(layer_pairs *pairs) {
    free(pairs->items);
    memset(pairs, 0, sizeof *pairs);
}

int64_t layer_pair_channel_of_second(const nnq_graph *g, const layer_pair *pair, int64_t index) {
    return linear_layer_input_channel(g, &pair->second, index) / pair->features_per_channel;
}
