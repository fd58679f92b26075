/* A linear layer's parameters as the weight-rescaling passes (cross-layer
 * equalization, high-bias absorption) see them: which output channel and
 * which input channel every weight element belongs to, and the bias that
 * runs along the output channels.
 *
 *   Conv          W [C_out, C_in/group, k...]  out = axis 0; in = (group of out) * C_in/group + axis 1
 *                 (a depthwise W's input channel is its group's channel)
 *   ConvTranspose W [C_in, C_out/group, k...]  in = axis 0; out = (group of in) * C_out/group + axis 1
 *   Gemm          B [N, K] (transB=1) or [K, N] (transB=0): out = N, in = K; bias C of N values
 *   MatMul        B [K, N] a fixed 2-D initializer: out = N, in = K; no bias
 * (ONNX Conv, ConvTranspose, Gemm and MatMul operator docs.) */
#ifndef NNQ_IR_PASSES_LINEAR_LAYER_H
#define NNQ_IR_PASSES_LINEAR_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/graph.h"

typedef enum linear_layer_kind {
    LAYER_CONV,
    LAYER_CONV_TRANSPOSE,
    LAYER_GEMM,
    LAYER_MATMUL
} linear_layer_kind;

typedef struct linear_layer {
    int node;
    linear_layer_kind kind;
    /* Initializer indices (stable while no initializer is added or removed);
     * bias_initializer is -1 when the layer has no bias. */
    int weight_initializer, bias_initializer;
    int64_t out_channels, in_channels;
    int64_t group;            /* Conv and ConvTranspose; 1 otherwise */
    bool weight_transposed;   /* Gemm transB=1: B is [N, K] */
    double gemm_alpha, gemm_beta; /* 1 for the other kinds */
} linear_layer;

/* Fills layer for node n when it is a default-domain Conv, ConvTranspose,
 * Gemm or MatMul whose weight (and bias, if any) are fixed float
 * initializers of consistent shapes, the bias one value per output channel
 * (Gemm's C as [N] or [1, N]). A Gemm with transA=1 does not qualify: its
 * input's feature axis is not the one the previous layer's channels are on. */
bool linear_layer_read(const nnq_graph *graph, int n, linear_layer *layer);

/* True when no other node input, graph input or graph output names the
 * layer's weight, nor (when it has one) its bias: rewriting them in place
 * changes this layer only. */
bool linear_layer_owns_parameters(const nnq_graph *graph, const linear_layer *layer);

/* True for Conv and ConvTranspose, whose outputs carry channels on axis 1 of
 * a rank >= 3 tensor; Gemm and MatMul carry them on the last axis. */
bool linear_layer_is_convolution(const linear_layer *layer);

/* The output and input channel of weight element `index` (row-major). */
int64_t linear_layer_output_channel(const nnq_graph *graph, const linear_layer *layer, int64_t index);
int64_t linear_layer_input_channel(const nnq_graph *graph, const linear_layer *layer, int64_t index);

float *linear_layer_weights(nnq_graph *graph, const linear_layer *layer);
int64_t linear_layer_weight_count(const nnq_graph *graph, const linear_layer *layer);
/* The bias values (out_channels of them), or NULL without a bias. */
float *linear_layer_bias(nnq_graph *graph, const linear_layer *layer);

/* Gives a layer without a bias a zero one ("<weight>_bias", one value per
 * output channel), so that passes can shift it. Conv and Gemm only. Adds an
 * initializer: other linear_layer structs' indices stay valid (appended). */
nnq_status linear_layer_add_zero_bias(nnq_graph *graph, linear_layer *layer);

#endif
