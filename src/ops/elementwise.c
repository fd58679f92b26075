/* Placeholder: filled in by the elementwise operator family. */
#include "ops/op.h"

const nnq_op_def nnq_ops_elementwise[] = {
    {NULL, NULL, 0, NULL, NULL},
};
