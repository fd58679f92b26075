/* Placeholder: filled in by the reduce operator family. */
#include "ops/op.h"

const nnq_op_def nnq_ops_reduce[] = {
    {NULL, NULL, 0, NULL, NULL},
};
