/* A plan together with the FP32 graph it annotates.
 *
 * A plan names tensors of the prepared graph (BN folded, activations fused,
 * ...). Preparation alone is deterministic, but cross-layer equalization,
 * bias absorption, bias correction and AdaRound change that graph's weights
 * and biases, so it cannot be rebuilt from the model the user has. quantize
 * --plan-out therefore writes the prepared graph next to the plan
 * (PLAN.json -> PLAN.prepared.onnx, named in the plan's "prepared_model"),
 * and eval / run / export --plan read it from there - the same bits the QDQ
 * export was made from. A plan without it (written by hand, or by an older
 * nnquant) gets the model re-prepared. */
#ifndef NNQ_QUANT_PLAN_MODEL_H
#define NNQ_QUANT_PLAN_MODEL_H

#include "ir/graph.h"
#include "quant/plan.h"

/* Writes prepared as the plan's sibling file, then the plan naming it (both atomic). */
nnq_status plan_write_with_model(const nnq_plan *plan, const nnq_model *prepared, const char *plan_path);

/* Reads the plan and its prepared graph; model (the user's FP32 model) is
 * re-prepared when the plan names no prepared graph. A prepared graph whose
 * layers (op type, output name, weight shape) are not model's is refused. */
nnq_status plan_load_with_model(const char *plan_path, const nnq_model *model, nnq_plan *plan, nnq_model *prepared);

#endif
