/* Placeholder: filled in by the indexing operator family. */
#include "ops/op.h"

const nnq_op_def nnq_ops_indexing[] = {
    {NULL, NULL, 0, NULL, NULL},
};
