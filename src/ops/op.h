/* The operator interface: every ONNX operator nnquant runs is one row
 * (nnq_op_def) in a family table, found through op_registry_find().
 *
 * An operator has two functions sharing one context:
 *   infer - from the inputs' dtypes and shapes (and their data when known)
 *           set each output's dtype, rank and dims. Used both by static
 *           shape inference (inputs may have data == NULL, rank or dims
 *           unknown: then set what can be known and leave the rest unknown)
 *           and by the executor right before run (all inputs have data).
 *   run   - compute outputs whose data the executor has already allocated
 *           from the shapes infer set.
 * Behaviour that changed between opsets is chosen from ctx->opset, the
 * version the model imports for the node's domain. */
#ifndef NNQ_OPS_OP_H
#define NNQ_OPS_OP_H

#include "base/status.h"
#include "ir/graph.h"
#include "ir/tensor.h"

typedef struct nnq_op_context {
    const nnq_node *node;
    int opset;
    int n_inputs;                     /* node->n_inputs */
    const nnq_tensor *const *inputs;  /* NULL entry for an omitted optional input */
    int n_outputs;                    /* node->n_outputs */
    nnq_tensor *outputs;              /* dtype/shape set by infer, data by run */
} nnq_op_context;

typedef nnq_status (*nnq_op_infer_fn)(nnq_op_context *ctx);
typedef nnq_status (*nnq_op_run_fn)(nnq_op_context *ctx);

typedef struct nnq_op_def {
    const char *op_type;
    const char *domain;    /* "" for the default ONNX domain */
    int since_opset;       /* oldest opset version this implementation follows */
    nnq_op_infer_fn infer;
    nnq_op_run_fn run;
} nnq_op_def;

/* The definition for (domain, op_type) at opset, or NULL if unsupported. */
const nnq_op_def *op_registry_find(const char *domain, const char *op_type, int opset);
/* True when nnquant can run op_type of domain at some opset. */
bool op_registry_has(const char *domain, const char *op_type);

/* Family tables, each terminated by a row whose op_type is NULL. */
extern const nnq_op_def nnq_ops_elementwise[];
extern const nnq_op_def nnq_ops_activation[];
extern const nnq_op_def nnq_ops_softmax[];
extern const nnq_op_def nnq_ops_normalization[];
extern const nnq_op_def nnq_ops_reduce[];
extern const nnq_op_def nnq_ops_conv[];
extern const nnq_op_def nnq_ops_matmul[];
extern const nnq_op_def nnq_ops_pool[];
extern const nnq_op_def nnq_ops_shape[];
extern const nnq_op_def nnq_ops_indexing[];
extern const nnq_op_def nnq_ops_constant[];
extern const nnq_op_def nnq_ops_resize[];
extern const nnq_op_def nnq_ops_quantize[];

/* Records an error naming the node and its op type, returns code:
 *   return op_fail(ctx, NNQ_ERR_INVALID, "axis %lld out of range", axis); */
nnq_status op_fail(const nnq_op_context *ctx, nnq_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The input at index, or NULL when it is beyond n_inputs or omitted. */
const nnq_tensor *op_input(const nnq_op_context *ctx, int index);
/* Fails unless the node has between min and max inputs and min..max outputs
 * present, with the required ones non-NULL. */
nnq_status op_check_arity(const nnq_op_context *ctx, int min_inputs, int max_inputs,
                          int min_outputs, int max_outputs);
/* Fails unless t has one of the listed dtypes (list ends with NNQ_UNDEFINED). */
nnq_status op_check_dtype(const nnq_op_context *ctx, const nnq_tensor *t, const char *what, ...);

/* Normalizes a possibly negative axis for a given rank; fails if out of range. */
nnq_status op_normalize_axis(const nnq_op_context *ctx, int64_t axis, int rank, int *out);

/* Multidirectional (numpy) broadcasting of two shapes. Unknown dims (-1)
 * broadcast with 1 to unknown. Fails naming the node when incompatible. */
nnq_status op_broadcast_shape(const nnq_op_context *ctx, const nnq_tensor *a, const nnq_tensor *b,
                              int *out_rank, int64_t *out_dims);

/* Strides (in elements) a tensor of `rank` dims would have when broadcast to
 * out_rank/out_dims: 0 along broadcast axes. */
void op_broadcast_strides(const int64_t *dims, int rank, const int64_t *out_dims, int out_rank,
                          int64_t *strides);

/* Copies shape (dtype too) from src to out: the common infer for unary ops. */
void op_infer_same_as(nnq_tensor *out, const nnq_tensor *src);

#endif
