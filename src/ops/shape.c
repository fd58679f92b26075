/* Placeholder: filled in by the shape operator family. */
#include "ops/op.h"

const nnq_op_def nnq_ops_shape[] = {
    {NULL, NULL, 0, NULL, NULL},
};
