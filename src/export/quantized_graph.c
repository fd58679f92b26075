#include "export/quantized_graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "quant/quantize_tensor.h"

char *export_name(const char *base, const char *suffix) {
    size_t n = strlen(base) + strlen(suffix) + 1;
    char *name = malloc(n);
    if (name) snprintf(name, n, "%s%s", base, suffix);
    return name;
}

nnq_status export_add_initializer(nnq_graph *g, nnq_tensor *t, const char *base, const char *suffix) {
    free(t->name);
    if (!(t->name = export_name(base, suffix))) {
        tensor_free(t);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    }
    return graph_add_initializer(g, t);
}

nnq_status export_add_scale_and_zero_point(nnq_graph *g, const nnq_quantizer *q, const char *base) {
    char *scale_name = export_name(base, "_scale");
    if (!scale_name) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    bool present = graph_find_initializer(g, scale_name) != NULL;
    free(scale_name);
    if (present) return NNQ_OK;
    nnq_tensor scale = {0}, zero_point = {0};
    int64_t dims[1] = {q->n_channels};
    int rank = q->axis < 0 ? 0 : 1;
    NNQ_TRY(tensor_create(&scale, NNQ_FLOAT, rank, dims));
    nnq_status st = tensor_create(&zero_point, quantizer_storage_type(q), rank, dims);
    if (st != NNQ_OK) {
        tensor_free(&scale);
        return st;
    }
    for (int c = 0; c < q->n_channels; c++) {
        ((float *)scale.data)[c] = q->scales[c];
        tensor_set_double(&zero_point, c, q->zero_points[c]);
    }
    st = export_add_initializer(g, &scale, base, "_scale");
    if (st == NNQ_OK) st = export_add_initializer(g, &zero_point, base, "_zero_point");
    else tensor_free(&zero_point);
    return st;
}

nnq_status export_add_node(nnq_graph *g, const char *op_type, const char *domain, const char *name,
                           const char *const *inputs, int n_inputs, const char *output, const nnq_attr *attrs,
                           int n_attrs) {
    nnq_node node = {0};
    node.name = (char *)name;
    node.op_type = (char *)op_type;
    node.domain = (char *)(domain ? domain : "");
    node.n_inputs = n_inputs;
    node.inputs = (char **)inputs;
    node.n_outputs = 1;
    node.outputs = (char **)&output;
    node.n_attrs = n_attrs;
    node.attrs = n_attrs ? (nnq_attr *)attrs : NULL;
    return graph_add_node(g, &node);
}

nnq_status export_add_axis_node(nnq_graph *g, const char *op_type, const char *name, const char *const *inputs,
                                int n_inputs, const char *output, int axis) {
    nnq_attr axis_attr = {0};
    axis_attr.name = (char *)"axis";
    axis_attr.type = NNQ_ATTR_INT;
    axis_attr.i = axis;
    return export_add_node(g, op_type, NULL, name, inputs, n_inputs, output, &axis_attr, axis >= 0 ? 1 : 0);
}

void export_drop_graph_input(nnq_graph *g, const char *name) {
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) {
            value_info_free(&g->inputs[i]);
            memmove(&g->inputs[i], &g->inputs[i + 1], sizeof *g->inputs * (size_t)(g->n_inputs - i - 1));
            g->n_inputs--;
            return;
        }
}

nnq_status export_add_quantized_constant(nnq_graph *g, const nnq_quantizer *q) {
    char *quantized = export_name(q->tensor, "_quantized");
    if (!quantized) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    bool present = graph_find_initializer(g, quantized) != NULL;
    free(quantized);
    if (present) return NNQ_OK;
    int index = graph_find_initializer_index(g, q->tensor);
    if (index < 0) return nnq_fail(NNQ_ERR_INVALID, "constant '%s' has no initializer", q->tensor);
    nnq_tensor ints;
    NNQ_TRY(quantizer_quantize(q, &g->initializers[index], &ints));
    NNQ_TRY(export_add_initializer(g, &ints, q->tensor, "_quantized"));
    return export_add_scale_and_zero_point(g, q, q->tensor);
}

nnq_status export_dequantize_constant(nnq_graph *g, const nnq_quantizer *q) {
    NNQ_TRY(export_add_quantized_constant(g, q));
    char *base = strdup(q->tensor);
    char *quantized = export_name(q->tensor, "_quantized"), *scale = export_name(q->tensor, "_scale"),
         *zero_point = export_name(q->tensor, "_zero_point"), *node_name = export_name(q->tensor, "_DequantizeLinear");
    nnq_status st = base && quantized && scale && zero_point && node_name ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st == NNQ_OK) {
        graph_remove_initializer(g, graph_find_initializer_index(g, base));
        export_drop_graph_input(g, base);
        const char *inputs[3] = {quantized, scale, zero_point};
        st = export_add_axis_node(g, "DequantizeLinear", node_name, inputs, 3, base, q->axis);
    }
    free(base);
    free(quantized);
    free(scale);
    free(zero_point);
    free(node_name);
    return st;
}

nnq_status export_check_plan(const nnq_plan *plan, const char *format) {
    for (int i = 0; i < plan->n_quantizers; i++) {
        const nnq_quantizer *q = &plan->quantizers[i];
        if (q->role != NNQ_ROLE_BIAS && q->scheme.bits > 8)
            return nnq_fail(NNQ_ERR_UNSUPPORTED, "tensor '%s': %s export of %d-bit grids is not supported yet (8 bits or fewer)",
                            q->tensor, format, q->scheme.bits);
        if (q->role == NNQ_ROLE_ACTIVATION && q->n_channels != 1)
            return nnq_fail(NNQ_ERR_UNSUPPORTED, "tensor '%s': per-channel activation grids cannot be exported as %s",
                            q->tensor, format);
    }
    return NNQ_OK;
}
