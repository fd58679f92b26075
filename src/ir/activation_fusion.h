/* Activation function fusing as a rule of the quantization plan (white
 * paper §2.3.2): hardware applies Relu or Clip to the accumulator before
 * requantizing, so a linear op followed only by such an activation is
 * quantized once, after the activation, and the activation's clamp range
 * bounds that quantizer (Relu: a grid starting at 0, the sign optimization).
 * This is an analysis of the graph; nothing is rewritten. */
#ifndef NNQ_IR_ACTIVATION_FUSION_H
#define NNQ_IR_ACTIVATION_FUSION_H

#include <stdbool.h>

#include "base/name_map.h"
#include "ir/graph.h"

/* One linear op fused with the activation that is its only reader. */
typedef struct activation_fusion {
    char *linear_output;     /* not quantized: it lives only inside the fused op */
    char *activation_output; /* where the quantizer goes */
    int linear_node;         /* node indices in the graph analysed */
    int activation_node;
    /* The range the activation clamps to: Relu [0, +inf), Clip [min, max]
     * with an absent bound as -inf / +inf. */
    float clamp_min, clamp_max;
} activation_fusion;

typedef struct activation_fusions {
    int count;
    activation_fusion *items;
    name_map by_linear_output;     /* tensor name -> index into items */
    name_map by_activation_output;
} activation_fusions;

/* Finds every Conv, ConvTranspose, Gemm or MatMul whose output is read only
 * by one Relu or Clip and is not a graph output. Clip bounds come from its
 * attributes (opset < 11) or from initializer inputs (opset >= 11; a Clip
 * whose bounds are computed at run time is not fused). Node indices refer
 * to the graph as it is now. */
nnq_status graph_find_activation_fusions(const nnq_model *model, activation_fusions *out);
void activation_fusions_free(activation_fusions *fusions);

/* True when tensor is a linear op's output fused into its activation: no quantizer on it. */
bool activation_fusion_skips_quantization(const activation_fusions *fusions, const char *tensor);
/* The fusion whose activation produces tensor, or NULL. */
const activation_fusion *activation_fusion_at_output(const activation_fusions *fusions, const char *tensor);

#endif
