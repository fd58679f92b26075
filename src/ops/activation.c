/* Placeholder: filled in by the activation operator family. */
#include "ops/op.h"

const nnq_op_def nnq_ops_activation[] = {
    {NULL, NULL, 0, NULL, NULL},
};
