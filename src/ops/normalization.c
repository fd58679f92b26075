/* Placeholder: filled in by the normalization operator family. */
#include "ops/op.h"

const nnq_op_def nnq_ops_normalization[] = {
    {NULL, NULL, 0, NULL, NULL},
};
