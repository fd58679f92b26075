/* Data-free activation ranges from batch normalization (white paper §3.1,
 * eq. 18-19): a tensor a BatchNormalization produced has per-channel mean β
 * and standard deviation γ, so its range is known without data. The BN
 * parameters are collected before BN folding; the folded layer keeps the BN's
 * output name, and a Relu fused after it narrows the range to [0, ...). */
#ifndef NNQ_QUANT_BN_RANGES_H
#define NNQ_QUANT_BN_RANGES_H

#include "base/name_map.h"
#include "calib/calib_options.h"
#include "ir/graph.h"
#include "quant/plan_builder.h"

typedef struct input_range input_range;

typedef struct bn_parameters {
    int count;
    char **tensors;          /* each BN's output tensor */
    nnq_tensor *beta, *gamma;
    name_map by_tensor;
} bn_parameters;

/* Copies every inference BatchNormalization's (β, γ) with constant parameters. */
nnq_status bn_parameters_collect(const nnq_model *model, bn_parameters *out);
void bn_parameters_free(bn_parameters *bn);

/* Sets the range of every observed activation whose values a BN determines -
 * the BN's output, or a fused Relu/Clip after it - and clears its `observe`
 * flag. Returns how many were set; the others still need data. */
nnq_status plan_set_bn_ranges(const nnq_model *prepared, nnq_plan *plan, plan_recipe *recipe,
                              const bn_parameters *bn, const nnq_calib_options *options, int *set);

/* The data-free ranges of the observed activations no BN determines (sums,
 * pools, logits, the input): from moments propagated through the graph
 * (moment_propagation.h), input the model input's value range or NULL. Each
 * range is narrowed to the recipe's clamp; clears `observe` where it sets one.
 * Returns how many were set, and through how many linear layers without a BN
 * the moments were propagated (each widens the bounds). */
nnq_status plan_set_propagated_ranges(const nnq_model *prepared, nnq_plan *plan, plan_recipe *recipe,
                                      const bn_parameters *bn, const input_range *input,
                                      const nnq_calib_options *options, int *set, int *layers_without_bn);

#endif
