/* Consecutive linear layers W1 -> f -> W2 joined only through per-channel,
 * positively scale-equivariant operations f (white paper eq. 20:
 * f(s x) = s f(x) for s >= 0): the pairs cross-layer equalization rescales
 * and high-bias absorption shifts.
 *
 * Between the layers may stand, in any order, Relu, PRelu, LeakyRelu,
 * MaxPool (convolution outputs only; its Indices output unused), a Clip
 * with lower bound 0 (unbounded above it is a Relu; bounded, a ReLU6-style
 * clamp that is not equivariant - the caller decides), and a Flatten(axis=1)
 * of a convolution output into a Gemm/MatMul, when that output's shape is
 * known. Every tensor from W1's output to W2's input must have that one
 * reader and not be a graph output; anything else - an Add or Concat join,
 * a second reader, a skip connection - ends the chain. This is what keeps
 * equalization inside residual blocks (white paper §3.2; Aidge's CLE is
 * likewise limited to feed-forward chains). */
#ifndef NNQ_IR_PASSES_LAYER_PAIRS_H
#define NNQ_IR_PASSES_LAYER_PAIRS_H

#include "ir/graph.h"
#include "ir/passes/linear_layer.h"

/* Operations between the layers of one pair; more than this ends the chain. */
#define LAYER_PAIR_MAX_BETWEEN 8

typedef struct layer_pair {
    linear_layer first, second;
    int n_between;
    int between[LAYER_PAIR_MAX_BETWEEN]; /* node indices from W1's reader to W2's producer */
    int bounded_clip;          /* node index of a Clip(0, max < inf) between them, or -1 */
    /* W2 input features per W1 output channel: 1, or the spatial size a Flatten folded into features. */
    int64_t features_per_channel;
    /* The first operation is a Relu (or unbounded Clip(0, .)), and the rest are MaxPools or the
     * Flatten: then f(x - c) = f(x) - c wherever x >= c >= 0 (white paper eq. 23's condition). */
    bool relu_then_shift_commuting;
} layer_pair;

typedef struct layer_pairs {
    int count;
    layer_pair *items;         /* in graph (topological) order of W1 */
} layer_pairs;

/* Finds every pair in the model; the graph must be topologically sorted.
 * Pairs whose layers do not own their parameters (a weight or bias shared
 * with another node) are left out and counted in *shared_skipped (may be
 * NULL). */
nnq_status layer_pairs_find(const nnq_model *model, layer_pairs *out, int *shared_skipped);
void layer_pairs_free(layer_pairs *pairs);

/* W2's input channel (W1's output channel) of W2's weight element `index`. */
int64_t layer_pair_channel_of_second(const nnq_graph *graph, const layer_pair *pair, int64_t index);

#endif
