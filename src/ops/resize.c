/* Placeholder: filled in by the resize operator family. */
#include "ops/op.h"

const nnq_op_def nnq_ops_resize[] = {
    {NULL, NULL, 0, NULL, NULL},
};
