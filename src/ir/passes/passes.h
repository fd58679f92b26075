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

/* The standard clean-up before running: sort, fold constants, remove dead nodes. */
nnq_status model_simplify(nnq_model *model);

#endif
