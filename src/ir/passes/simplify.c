#include "base/status.h"
#include "ir/passes/passes.h"

nnq_status model_simplify(nnq_model *model) {
    int folded = 0, removed = 0;
    NNQ_TRY(pass_sort_topologically(model));
    NNQ_TRY(pass_infer_shapes(model));
    NNQ_TRY(pass_fold_constants(model, &folded));
    NNQ_TRY(pass_remove_dead_nodes(model, &removed));
    return NNQ_OK;
}
