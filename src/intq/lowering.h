/* Integer lowering: graph + plan -> IntProgram (DESIGN.md's intq/ box).
 *
 * Node by node, in topological order, each node is lowered by its row in one
 * table (Conv, Gemm, MatMul, Add, Concat, MaxPool, AveragePool, Relu/Clip,
 * reshapes, single-input elementwise ops) when the plan quantizes it and its
 * integer form is supported; otherwise it becomes a float step (see
 * int_program.h: Softmax, Mul, elementwise ops whose input or output is not
 * on an 8-bit grid, ...), and the reason is kept. Rules:
 *   - a float tensor the plan quantizes is quantized where it is produced
 *     (the model input, a float step's output), as the simulation's tap does;
 *   - Conv/Gemm/MatMul: int8 weights (the plan's per-channel grids), int32
 *     bias on s_x s_w with -z_x sum w folded in (eq. 13), a fused Relu/Clip
 *     as the requantization's clamp, rescaling per output channel or per
 *     layer with weight compensation (layer_rescale.h);
 *   - Add: per-input rescale steps onto one fine grid, int32 sum, requantize
 *     with saturation; Concat: each input rescaled onto the output grid;
 *   - a standalone Relu/Clip right after a requantizing op is folded into
 *     that op's clamp; MaxPool runs directly on the grid; average pools sum
 *     and divide with rounding (kernels/intq_kernels.h);
 *   - a single-input elementwise op (Tanh, Sigmoid, HardSwish, Exp, ...)
 *     with its input and output on 8-bit grids is a 256-entry lookup table:
 *     the node's FP32 operator on every dequantized input value, quantized
 *     onto the output grid - bit-exact with the simulation;
 *   - graph outputs are dequantized to float.
 * The model must be the prepared graph the plan was made for (after
 * model_prepare_for_quantization); it is not modified. */
#ifndef NNQ_INTQ_LOWERING_H
#define NNQ_INTQ_LOWERING_H

#include <stdbool.h>

#include "intq/int_program.h"
#include "quant/plan.h"

typedef struct intq_lowering_options {
    intq_rescale_mode mode;     /* --rescale */
    bool rescale_per_output;    /* one rescale per output channel (--rescale-per-output) or per layer
                                   (--rescale-per-layer) */
} intq_lowering_options;

/* The defaults: fixed32 multipliers, one per output channel. Per output
 * channel because the plan's weights are on per-channel grids by default: one
 * multiplier per layer must then re-quantize each channel's weights onto it
 * (layer_rescale.h), which cost up to 0.16 points of top-1 on mobilenetv2
 * (models/README.md), while per output channel the integer engine matches the
 * fake-quantized model within 0.1 point on every bundled model - and it is
 * what ONNX Runtime's QLinearConv does with per-axis weight scales. N2D2's
 * default (-act-rescale-per-output 0) stays one option away. */
intq_lowering_options intq_lowering_defaults(void);

nnq_status intq_lower(const nnq_model *model, const nnq_plan *plan, const intq_lowering_options *options,
                      intq_program *out);

/* Lists the float steps as "Sigmoid 'name' (reason), ..." into buf; returns their count. */
int intq_program_float_steps(const intq_program *program, char *buf, size_t size);

#endif
