/* The graph preparation the PTQ pipeline runs once before calibration. */
#include <string.h>

#include "base/status.h"
#include "ir/passes/passes.h"

nnq_status model_prepare_for_quantization(nnq_model *model, prep_report *report) {
    prep_report counts;
    memset(&counts, 0, sizeof counts);
    int unlisted = 0;
    NNQ_TRY(pass_unlist_weight_inputs(model, &unlisted));
    NNQ_TRY(pass_sort_topologically(model));
    /* Static shapes let Shape chains fold and tell BN folding a MatMul's output rank. */
    NNQ_TRY(pass_infer_shapes(model));
    NNQ_TRY(pass_fold_constants(model, &counts.constants_folded));
    /* Identities first: Conv -> Identity -> BN folds only once the Identity is gone. */
    NNQ_TRY(pass_remove_identities(model, &counts.identities_removed));
    NNQ_TRY(pass_fold_batchnorm(model, &counts.batchnorms_folded));
    /* Initializers left unread by folding (a shared weight's old copy, BN parameters) go here. */
    NNQ_TRY(pass_remove_dead_nodes(model, &counts.dead_nodes_removed));
    if (report) *report = counts;
    return NNQ_OK;
}
