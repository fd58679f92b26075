/* QOperator ONNX: the plan written as ONNX Runtime's quantizer writes
 * QuantFormat.QOperator models - integer tensors flow between quantized
 * operators, on the same grids as the QDQ export and the integer lowering:
 *   - QuantizeLinear at the graph input, DequantizeLinear at the outputs;
 *   - Conv -> QLinearConv (int8 weights, per-channel w_scale / w_zero_point,
 *     int32 bias on x_scale * w_scale); MatMul by a constant -> QLinearMatMul;
 *     Gemm -> QGemm (com.microsoft) with --ms-ops, as ONNX Runtime's
 *     quantizer does; without it a Gemm without bias is a QLinearMatMul, and a
 *     Gemm with bias - which no standard quantized operator takes - a 1x1
 *     QLinearConv between two Reshapes, whose int32 bias keeps the result
 *     integer-exact;
 *   - a Relu/Clip the plan fuses into its Conv/Gemm disappears: the output
 *     grid starts at the clamp, as in ONNX Runtime's QOperator models; where
 *     it does not (a symmetric grid, a standalone Relu on a wider grid, a grid
 *     narrower than 8 bits) an integer Clip on the quantized tensor applies it;
 *   - with --ms-ops, Add, Concat, AveragePool and GlobalAveragePool become
 *     com.microsoft QLinearAdd, QLinearConcat, QLinearAveragePool and
 *     QLinearGlobalAveragePool (opset import com.microsoft 1);
 *   - MaxPool, Reshape, Flatten, Transpose, Squeeze, Unsqueeze and Identity
 *     run on the integer tensors (8-bit MaxPool: opset 12);
 *   - everything else runs in float between DequantizeLinear and
 *     QuantizeLinear (the latter when the plan quantizes its output), as
 *     ONNX Runtime's quantizer leaves unsupported operators.
 * ONNX Runtime's kernels want one 8-bit type across an op (QLinearConv: x
 * and y; QLinearAdd: all operands), while nnquant's sign optimization mixes
 * int8 and uint8 grids: such operands are converted exactly (see
 * qoperator_values.h). Models below opset 13 are upgraded first.
 *
 * One known difference in rounding: ONNX Runtime's QLinearAdd (MLAS) rounds
 * x / y_scale + y_zero_point half to even, where QuantizeLinear - and the
 * integer engine - round x / y_scale and then add the zero point. On exact
 * ties (rare; frequent with --power-of-two scales) an odd output zero point
 * makes the two differ by one step. */
#ifndef NNQ_EXPORT_QOPERATOR_EXPORT_H
#define NNQ_EXPORT_QOPERATOR_EXPORT_H

#include <stdbool.h>

#include "ir/graph.h"
#include "quant/plan.h"

typedef struct qoperator_options {
    bool ms_ops; /* ONNX Runtime's com.microsoft contrib operators allowed */
} qoperator_options;

/* Builds the QOperator model from the graph the plan was made for. */
nnq_status export_qoperator(const nnq_model *model, const nnq_plan *plan, const qoperator_options *options,
                            nnq_model *out);

#endif
