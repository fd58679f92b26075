/* Graph passes: each rewrites the model in place, keeps its outputs equal,
 * and lives in its own file. */
#ifndef NNQ_IR_PASSES_H
#define NNQ_IR_PASSES_H

#include "ir/graph.h"

/* Reorders nodes so each comes after the producers of its inputs. */
nnq_status pass_sort_topologically(nnq_model *model);

/* Evaluates nodes whose inputs are all constant (initializers, Constant
 * nodes, Shape of a statically known shape) and replaces their outputs by
 * initializers - e.g. the Shape -> Gather -> Unsqueeze -> Concat -> Reshape
 * chains PyTorch exports for fixed shapes. Quantize/Dequantize nodes are
 * kept: they carry a quantized model's structure. *folded counts removed nodes. */
nnq_status pass_fold_constants(nnq_model *model, int *folded);

/* Removes nodes none of whose outputs reach a graph output, then
 * initializers no node reads. *removed counts removed nodes. */
nnq_status pass_remove_dead_nodes(nnq_model *model, int *removed);

/* Infers dtype and shape of every tensor (symbolic dims stay unknown) and
 * records them in graph.value_infos (graph inputs/outputs keep their own).
 * Small constant-valued tensors are evaluated along the way so that shapes
 * computed in the graph (Reshape targets) resolve. */
nnq_status pass_infer_shapes(nnq_model *model);

/* Removes Identity nodes and inference Dropouts (mask unread, training_mode
 * absent or constant false); their readers read the input instead. A graph
 * output name survives: the input's producer is renamed to it, and when the
 * input is a graph input, initializer or another graph output the node
 * stays. Graphs with subgraphs are left alone. *removed counts removed nodes. */
nnq_status pass_remove_identities(nnq_model *model, int *removed);

/* Folds inference BatchNormalization into the Conv, ConvTranspose, Gemm or
 * 2-D MatMul producing its input (white paper eq. 10-12), when that input has
 * no other reader and the weights, bias and BN parameters are initializers
 * (run constant folding first for Constant-node weights; run shape inference
 * first so a MatMul's output rank is known). Shared weights are copied, not
 * changed; a missing bias is created; a folded MatMul becomes Gemm. The layer
 * takes over the BN's output name. Other BNs stay. *folded counts folded BNs. */
nnq_status pass_fold_batchnorm(nnq_model *model, int *folded);

/* Rewrites a model of default-domain opset 1..target_opset to target_opset
 * (13..17): every node whose operator's definition changed in between is
 * converted to the new form computing the same outputs (attributes that
 * became inputs, Upsample to Resize, Softmax's coerced 2-D axis, legacy
 * broadcasting, ...); the opset import and, if older, the IR version are
 * raised. Nodes that cannot be converted fail with NNQ_ERR_UNSUPPORTED naming
 * the node and the reason, and the model may then be partly rewritten (work
 * on a copy). *converted counts nodes of operators whose definition changed. */
nnq_status pass_upgrade_opset(nnq_model *model, int target_opset, int *converted);

/* The standard clean-up before running: sort, fold constants, remove dead nodes. */
nnq_status model_simplify(nnq_model *model);

/* What model_prepare_for_quantization changed. */
/* Models below IR 4 list their initializers as graph inputs as well; this
 * drops those entries so the weights are constants (and sets IR 4). */
nnq_status pass_unlist_weight_inputs(nnq_model *model, int *removed);

typedef struct prep_report {
    int constants_folded;    /* nodes replaced by initializers */
    int identities_removed;  /* Identity and inference Dropout nodes */
    int batchnorms_folded;   /* BatchNormalization nodes folded into their layer */
    int dead_nodes_removed;  /* nodes whose outputs reached no graph output */
} prep_report;

/* The FP32 graph preparation before calibration: unlist weight inputs (IR < 4), sort, infer shapes, fold
 * constants, remove identities, fold batch norms, remove dead nodes. Outputs
 * stay equal up to float rounding. report may be NULL. */
nnq_status model_prepare_for_quantization(nnq_model *model, prep_report *report);

#endif
