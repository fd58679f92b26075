/* The operator registry: the family tables in one list, searched by
 * (domain, op_type). Adding an operator means adding a row to its family. */
#include <string.h>

#include "ops/op.h"

static const nnq_op_def *const families[] = {
    nnq_ops_elementwise, nnq_ops_activation, nnq_ops_softmax, nnq_ops_normalization,
    nnq_ops_reduce,      nnq_ops_conv,       nnq_ops_matmul,  nnq_ops_pool,
    nnq_ops_shape,       nnq_ops_indexing,   nnq_ops_constant, nnq_ops_resize,
    nnq_ops_quantize,
};

static bool same_domain(const char *a, const char *b) {
    /* "" and "ai.onnx" both name the default domain. */
    if (!a || strcmp(a, "ai.onnx") == 0) a = "";
    if (!b || strcmp(b, "ai.onnx") == 0) b = "";
    return strcmp(a, b) == 0;
}

const nnq_op_def *op_registry_find(const char *domain, const char *op_type, int opset) {
    const nnq_op_def *best = NULL;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        for (const nnq_op_def *def = families[f]; def->op_type; def++) {
            if (strcmp(def->op_type, op_type) != 0 || !same_domain(def->domain, domain)) continue;
            if (def->since_opset > opset) continue;
            /* Several rows may implement one op for different opset ranges: take the newest that applies. */
            if (!best || def->since_opset > best->since_opset) best = def;
        }
    }
    return best;
}

bool op_registry_has(const char *domain, const char *op_type) {
    return op_registry_find(domain, op_type, 1 << 30) != NULL;
}
