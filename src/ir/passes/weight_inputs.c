/* Before IR version 4, ONNX required every initializer to be listed among the
 * graph inputs too, so old exporters (PyTorch 0.3 among them) list weights as
 * inputs. For quantization those weights are constants: this pass drops the
 * input entries that merely repeat an initializer, in models below IR 4 only -
 * from IR 4 on, an initializer listed as an input is a deliberate default the
 * user may override. */
#include <string.h>

#include "base/status.h"
#include "ir/passes/passes.h"

#define FIRST_IR_WITHOUT_LISTED_WEIGHTS 4

nnq_status pass_unlist_weight_inputs(nnq_model *model, int *removed) {
    *removed = 0;
    if (model->ir_version >= FIRST_IR_WITHOUT_LISTED_WEIGHTS) return NNQ_OK;
    nnq_graph *g = &model->graph;
    int kept = 0;
    for (int i = 0; i < g->n_inputs; i++) {
        if (graph_find_initializer(g, g->inputs[i].name)) {
            value_info_free(&g->inputs[i]);
            (*removed)++;
            continue;
        }
        g->inputs[kept++] = g->inputs[i];
    }
    g->n_inputs = kept;
    /* The model now needs IR 4 semantics, where unlisted initializers are constants. */
    model->ir_version = FIRST_IR_WITHOUT_LISTED_WEIGHTS;
    return NNQ_OK;
}
