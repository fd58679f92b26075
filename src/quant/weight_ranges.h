/* Grids of the plan's constants: weights (per tensor or per channel, with
 * the configured weight range method) and constant operands of Add/Mul/Concat
 * (min-max of their values). Biases wait for plan_recipe_resolve. */
#ifndef NNQ_QUANT_WEIGHT_RANGES_H
#define NNQ_QUANT_WEIGHT_RANGES_H

#include "calib/calib_options.h"
#include "ir/graph.h"
#include "quant/plan_builder.h"

/* Fails naming the tensor when a weight holds NaN or infinite values. */
nnq_status plan_set_weight_ranges(const nnq_model *model, nnq_plan *plan, const plan_recipe *recipe,
                                  const quant_config *config, const nnq_calib_options *options);

#endif
