#include "run/node_eval.h"

#include <string.h>

static bool is_default_domain(const char *domain) {
    return !domain || !*domain || strcmp(domain, "ai.onnx") == 0;
}

nnq_status node_find_op(const nnq_model *model, const nnq_node *node, const nnq_op_def **op, int *opset) {
    int64_t version = model_opset(model, node->domain);
    *op = NULL;
    if (version == 0 && !is_default_domain(node->domain))
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "node '%s': domain '%s' is not imported by the model",
                        node_display_name(node), node->domain);
    *opset = (int)version;
    *op = op_registry_find(node->domain, node->op_type, *opset);
    if (*op) return NNQ_OK;
    if (!is_default_domain(node->domain))
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "node '%s': operator '%s' of domain '%s' is not supported",
                        node_display_name(node), node->op_type, node->domain);
    if (op_registry_has(node->domain, node->op_type))
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "node '%s': operator '%s' is not supported at opset %d",
                        node_display_name(node), node->op_type, *opset);
    return nnq_fail(NNQ_ERR_UNSUPPORTED, "node '%s': operator '%s' is not supported", node_display_name(node),
                    node->op_type);
}

nnq_status node_evaluate(const nnq_op_def *op, int opset, const nnq_node *node, const nnq_tensor *const *inputs,
                         nnq_tensor *outputs) {
    nnq_op_context ctx = {node, opset, node->n_inputs, inputs, node->n_outputs, outputs};
    nnq_status status = op->infer(&ctx);
    for (int o = 0; status == NNQ_OK && o < node->n_outputs; o++) {
        status = tensor_alloc(&outputs[o]);
        if (status != NNQ_OK)
            status = nnq_fail_context(status, "node '%s' (%s) output '%s'", node_display_name(node), node->op_type,
                                      node->outputs[o]);
    }
    if (status == NNQ_OK) status = op->run(&ctx);
    if (status != NNQ_OK)
        for (int o = 0; o < node->n_outputs; o++) tensor_free(&outputs[o]);
    return status;
}

bool node_reads_only_input_shape(const nnq_node *node) {
    return is_default_domain(node->domain) && (strcmp(node->op_type, "Shape") == 0 || strcmp(node->op_type, "Size") == 0);
}
