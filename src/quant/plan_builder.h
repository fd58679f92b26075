/* From a prepared graph and the user's configuration to a plan skeleton:
 * which tensors get quantizers, with which grids, and how their parameters
 * will be found. Ranges are set afterwards (weights from their values,
 * activations from calibration), then plan_recipe_resolve() copies shared
 * grids and computes bias scales. */
#ifndef NNQ_QUANT_PLAN_BUILDER_H
#define NNQ_QUANT_PLAN_BUILDER_H

#include "ir/graph.h"
#include "quant/plan.h"
#include "quant/quant_config.h"

/* How each quantizer of the plan (same index) gets its parameters. */
typedef struct plan_recipe {
    int n;                 /* = plan->n_quantizers */
    int *grid_source;      /* >= 0: takes that quantizer's grid (pass-through ops) */
    int *bias_input;       /* bias quantizers: the layer input's quantizer ... */
    int *bias_weight;      /* ... and its weight's: s_b[c] = s_x * s_w[c], z = 0 */
    int *join_group;       /* >= 0: Add/Concat group sharing one grid (JOIN_SHARED) */
    bool *observe;         /* activation computed at run time: calibrate it */
    bool *is_logits;       /* a graph output: set with config.logits_method */
    float *clamp_min, *clamp_max; /* bounds a fused activation imposes (-inf/+inf if none) */
} plan_recipe;

/* Builds the skeleton. The model must be topologically sorted (prepared). */
nnq_status plan_build(const nnq_model *model, const quant_config *config, nnq_plan *plan, plan_recipe *recipe);
void plan_recipe_free(plan_recipe *recipe);

/* Copies grids along grid_source links, unifies join groups (max
 * arbitration: the union of the members' ranges) and sets bias scales. Call
 * once every other quantizer has its range. */
nnq_status plan_recipe_resolve(nnq_plan *plan, const plan_recipe *recipe);

#endif
