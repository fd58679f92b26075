/* Evaluates one node on given input tensors: infer output shapes, allocate,
 * run. The executor and the constant-folding and shape-inference passes all
 * evaluate nodes through here. */
#ifndef NNQ_RUN_NODE_EVAL_H
#define NNQ_RUN_NODE_EVAL_H

#include "ops/op.h"

/* outputs[0..node->n_outputs) must be zeroed; on success they hold new
 * tensors (unnamed), on failure they are released. */
nnq_status node_evaluate(const nnq_op_def *op, int opset, const nnq_node *node, const nnq_tensor *const *inputs,
                         nnq_tensor *outputs);

/* Finds the operator for node at the model's opset; fails naming the node,
 * its op type and (when not the default) its domain. */
nnq_status node_find_op(const nnq_model *model, const nnq_node *node, const nnq_op_def **op, int *opset);

/* True for operators that read only their input's shape, never its values
 * (Shape, Size): they can be evaluated on a data-less tensor of known shape. */
bool node_reads_only_input_shape(const nnq_node *node);

#endif
