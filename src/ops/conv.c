/* Placeholder: filled in by the conv operator family. */
#include "ops/op.h"

const nnq_op_def nnq_ops_conv[] = {
    {NULL, NULL, 0, NULL, NULL},
};
