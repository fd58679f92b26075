/* Element type conversion for loaded data: inputs arrive as double, uint8,
 * int64 ... and models mostly want float32. */
#ifndef NNQ_DATA_TENSOR_CONVERT_H
#define NNQ_DATA_TENSOR_CONVERT_H

#include "ir/tensor.h"

/* Converts t's data to NNQ_FLOAT in place (values as a C cast gives them;
 * doubles round to nearest). A float tensor is left as it is. */
nnq_status tensor_convert_to_float(nnq_tensor *t);

#endif
