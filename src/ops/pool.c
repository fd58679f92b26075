/* Placeholder: filled in by the pool operator family. */
#include "ops/op.h"

const nnq_op_def nnq_ops_pool[] = {
    {NULL, NULL, 0, NULL, NULL},
};
