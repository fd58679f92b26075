/* Deep copies of a model, for transformations that must leave the original
 * intact (simulation with fake-quantized weights, export). */
#ifndef NNQ_IR_MODEL_COPY_H
#define NNQ_IR_MODEL_COPY_H

#include "ir/graph.h"

nnq_status model_copy(nnq_model *dst, const nnq_model *src);
nnq_status value_info_copy(nnq_value_info *dst, const nnq_value_info *src);

#endif
