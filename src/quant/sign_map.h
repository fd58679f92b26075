/* Sign optimization (N2D2's unsigned activations, Aidge's ComputeSignMap):
 * which tensors are non-negative by construction, so that they can use an
 * unsigned grid and spend every level on [0, max] - doubling the resolution
 * of a symmetric signed grid. */
#ifndef NNQ_QUANT_SIGN_MAP_H
#define NNQ_QUANT_SIGN_MAP_H

#include "base/name_map.h"
#include "ir/graph.h"

/* Fills nonnegative (initialized here) with the names of tensors proven
 * non-negative; names are borrowed from the model. The model's nodes must be
 * in topological order. Graph inputs are never assumed non-negative. */
nnq_status sign_map_compute(const nnq_model *model, name_map *nonnegative);

#endif
