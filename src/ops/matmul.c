/* Placeholder: filled in by the matmul operator family. */
#include "ops/op.h"

const nnq_op_def nnq_ops_matmul[] = {
    {NULL, NULL, 0, NULL, NULL},
};
