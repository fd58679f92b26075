/* QDQ ONNX: the plan written as QuantizeLinear/DequantizeLinear pairs around
 * the FP32 graph - the format ONNX Runtime fuses into QLinearConv /
 * QLinearMatMul kernels and TensorRT reads.
 *   activations: producer -> T_float -> QuantizeLinear -> DequantizeLinear -> T
 *                (graph inputs: T -> Q -> DQ -> T_dequantized, consumers rewired)
 *   weights:     int8 initializer -> DequantizeLinear (per-axis scales when per channel) -> W
 *   biases:      int32 initializer (scale s_x * s_w, zero point 0) -> DequantizeLinear -> B
 * Grids narrower than their 8-bit container get a Clip to the grid's real
 * range before QuantizeLinear, so ONNX Runtime saturates exactly where
 * nnquant's simulation does. */
#ifndef NNQ_EXPORT_QDQ_EXPORT_H
#define NNQ_EXPORT_QDQ_EXPORT_H

#include "ir/graph.h"
#include "quant/plan.h"

/* Builds the QDQ model from the graph the plan was made for. */
nnq_status export_qdq(const nnq_model *model, const nnq_plan *plan, nnq_model *out);

#endif
