/* The FP32 executor: runs a model's nodes in topological order and offers
 * every produced tensor to registered taps (calibration observers, per-layer
 * error, fake quantization all hook in here - there is one executor). */
#ifndef NNQ_RUN_EXECUTOR_H
#define NNQ_RUN_EXECUTOR_H

#include "ir/graph.h"

typedef struct nnq_executor nnq_executor;

typedef struct nnq_tap {
    /* Called after node computed output `name`, and for each graph input as
     * it is bound (node == NULL). A tap may modify the tensor in place (same
     * dtype and shape), as fake quantization does. Returning an error stops
     * the run. */
    nnq_status (*on_tensor)(void *user, const nnq_node *node, const char *name, nnq_tensor *value);
    void *user;
} nnq_tap;

/* Prepares model for running: orders nodes, resolves each node's operator at
 * the model's opset. Fails naming the first unsupported op or domain. The
 * model must outlive the executor. */
nnq_status executor_create(const nnq_model *model, nnq_executor **out);
void executor_free(nnq_executor *executor);

nnq_status executor_add_tap(nnq_executor *executor, nnq_tap tap);

/* Runs on inputs matched by name to the graph's runtime inputs (dtype and
 * known dims are checked). Fills outputs[0..graph.n_outputs) with new
 * tensors named as the graph outputs; the caller frees them. */
nnq_status executor_run(nnq_executor *executor, const nnq_tensor *inputs, int n_inputs, nnq_tensor *outputs);

/* Lists the distinct unsupported (domain, op_type) pairs of a model into
 * buf as "Op, domain:Op, ..." ; returns how many there are. */
int executor_list_unsupported(const nnq_model *model, char *buf, size_t size);

#endif
