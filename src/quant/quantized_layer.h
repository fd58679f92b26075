/* The quantized linear layers that bias correction (white paper §3.3) and
 * AdaRound (§3.4) rework: Conv, Gemm and MatMul nodes of the prepared graph
 * whose constant weight the plan quantizes, each seen as one matrix product
 * per group
 *
 *   y[M] = W[M x K] x[K] + b      (x: an im2col column for Conv, a row for Gemm/MatMul)
 *
 * followed by f_a, the activation fused into the layer (Relu or Clip: a
 * clamp to [clamp_min, clamp_max]; none: the identity). W's rows are the
 * output channels, which are also the weight quantizer's channels. */
#ifndef NNQ_QUANT_QUANTIZED_LAYER_H
#define NNQ_QUANT_QUANTIZED_LAYER_H

#include "ir/graph.h"
#include "ir/passes/linear_layer.h"
#include "ops/im2col.h"
#include "quant/plan.h"

typedef struct quantized_layer {
    linear_layer linear;         /* node, kind, weight/bias initializers, channels, group */
    const nnq_node *node;        /* in the model searched: inputs[0] is x, outputs[0] is y before f_a */
    int weight_quantizer;        /* plan indices; -1 when the plan has none */
    int input_quantizer;
    int bias_quantizer;
    int64_t depth;               /* K: weights per output channel, (C / group) * kernel size */
    float clamp_min, clamp_max;  /* f_a's clamp, (-inf, +inf) without a fused activation */
} quantized_layer;

typedef struct quantized_layers {
    int count;
    quantized_layer *items;      /* in the graph's (topological) order */
} quantized_layers;

/* Every Conv (any group), Gemm (alpha = beta = 1, transA = 0) and 2-D MatMul
 * whose weight the plan quantizes (NNQ_ROLE_WEIGHT, per tensor or along the
 * output channels) and that owns its weight and bias (no other reader). */
nnq_status quantized_layers_find(const nnq_model *prepared, const nnq_plan *plan, quantized_layers *out);
void quantized_layers_free(quantized_layers *layers);

/* The weight as rows [M x K] (output channel-major; Gemm's [K, N] and
 * MatMul's weights are transposed), and back into the model's initializer. */
void quantized_layer_weight_rows(const nnq_model *model, const quantized_layer *layer, float *rows);
void quantized_layer_store_weight_rows(nnq_model *model, const quantized_layer *layer, const float *rows);

/* The weight quantization error dW = W^ - W (white paper eq. 25) as rows
 * [M x K], W^ being the weight quantizer's fake-quantized weight. */
nnq_status quantized_layer_weight_error(const nnq_model *model, const nnq_plan *plan, const quantized_layer *layer,
                                        float *delta_rows);

/* A Conv's window on an input of spatial dims in_spatial (explicit pads,
 * auto_pad VALID or SAME_*, ONNX Conv's output size formula). */
nnq_status quantized_layer_conv_geometry(const nnq_model *model, const quantized_layer *layer,
                                         const int64_t *in_spatial, im2col_geometry *geometry);

#endif
