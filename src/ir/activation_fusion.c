#include "ir/activation_fusion.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/graph_consumers.h"

static bool is_default_domain(const nnq_node *node) {
    return !*node->domain || strcmp(node->domain, "ai.onnx") == 0;
}

static bool is_linear(const nnq_node *node) {
    static const char *const linear_ops[] = {"Conv", "ConvTranspose", "Gemm", "MatMul"};
    for (size_t i = 0; i < sizeof linear_ops / sizeof *linear_ops; i++)
        if (strcmp(node->op_type, linear_ops[i]) == 0) return is_default_domain(node);
    return false;
}

static bool is_graph_output(const nnq_graph *g, const char *name) {
    for (int i = 0; i < g->n_outputs; i++)
        if (strcmp(g->outputs[i].name, name) == 0) return true;
    return false;
}

/* A Clip bound given as an input (opset >= 11): absent means unbounded; a
 * runtime value (graph input or computed) cannot be fused. */
static bool clip_input_bound(const nnq_graph *g, const nnq_node *clip, int slot, float unbounded, float *bound) {
    *bound = unbounded;
    if (slot >= clip->n_inputs || !*clip->inputs[slot]) return true;
    const char *name = clip->inputs[slot];
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i].name, name) == 0) return false;
    const nnq_tensor *t = graph_find_initializer(g, name);
    if (!t || !t->data || tensor_numel(t) != 1) return false;
    *bound = (float)tensor_get_double(t, 0);
    return true;
}

/* The clamp range of a fusable activation; false when node is not one.
 * Relu = max(x, 0) (ONNX Relu doc); Clip's min/max are attributes before
 * opset 11 and optional inputs from it (ONNX Clip doc). */
static bool activation_clamp(const nnq_model *model, const nnq_node *node, float *lo, float *hi) {
    if (!is_default_domain(node)) return false;
    if (strcmp(node->op_type, "Relu") == 0) {
        *lo = 0.0f;
        *hi = INFINITY;
        return true;
    }
    if (strcmp(node->op_type, "Clip") != 0) return false;
    if (model_opset(model, "") < 11) {
        *lo = node_attr_float(node, "min", -INFINITY);
        *hi = node_attr_float(node, "max", INFINITY);
        return true;
    }
    return clip_input_bound(&model->graph, node, 1, -INFINITY, lo) &&
           clip_input_bound(&model->graph, node, 2, INFINITY, hi);
}

static nnq_status fusions_append(activation_fusions *f, int *capacity, const activation_fusion *item) {
    if (f->count == *capacity) {
        int grown_capacity = *capacity ? *capacity * 2 : 16;
        activation_fusion *grown = realloc(f->items, sizeof *grown * (size_t)grown_capacity);
        if (!grown) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        f->items = grown;
        *capacity = grown_capacity;
    }
    activation_fusion *slot = &f->items[f->count];
    *slot = *item;
    slot->linear_output = strdup(item->linear_output);
    slot->activation_output = strdup(item->activation_output);
    f->count++;
    if (!slot->linear_output || !slot->activation_output) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    return NNQ_OK;
}

static nnq_status find_fusions(const nnq_model *model, const graph_consumers *consumers, activation_fusions *out) {
    const nnq_graph *g = &model->graph;
    int capacity = 0;
    for (int n = 0; n < g->n_nodes; n++) {
        const nnq_node *linear = &g->nodes[n];
        if (!is_linear(linear) || linear->n_outputs < 1 || !*linear->outputs[0]) continue;
        const char *y = linear->outputs[0];
        const int *readers;
        if (graph_consumers_of(consumers, y, &readers) != 1 || is_graph_output(g, y)) continue;
        const nnq_node *activation = &g->nodes[readers[0]];
        activation_fusion item = {0};
        if (activation->n_inputs < 1 || strcmp(activation->inputs[0], y) != 0 || activation->n_outputs < 1 ||
            !activation_clamp(model, activation, &item.clamp_min, &item.clamp_max))
            continue;
        item.linear_output = (char *)y;
        item.activation_output = activation->outputs[0];
        item.linear_node = n;
        item.activation_node = readers[0];
        NNQ_TRY(fusions_append(out, &capacity, &item));
    }
    return NNQ_OK;
}

/* The maps borrow their keys from items, which no longer moves. */
static nnq_status index_fusions(activation_fusions *f) {
    NNQ_TRY(name_map_init(&f->by_linear_output, (size_t)f->count));
    NNQ_TRY(name_map_init(&f->by_activation_output, (size_t)f->count));
    for (int i = 0; i < f->count; i++) {
        NNQ_TRY(name_map_put(&f->by_linear_output, f->items[i].linear_output, i));
        NNQ_TRY(name_map_put(&f->by_activation_output, f->items[i].activation_output, i));
    }
    return NNQ_OK;
}

nnq_status graph_find_activation_fusions(const nnq_model *model, activation_fusions *out) {
    memset(out, 0, sizeof *out);
    graph_consumers consumers;
    NNQ_TRY(graph_map_consumers(&model->graph, &consumers));
    nnq_status st = find_fusions(model, &consumers, out);
    graph_consumers_free(&consumers);
    if (st == NNQ_OK) st = index_fusions(out);
    if (st != NNQ_OK) activation_fusions_free(out);
    return st;
}

void activation_fusions_free(activation_fusions *fusions) {
    for (int i = 0; i < fusions->count; i++) {
        free(fusions->items[i].linear_output);
        free(fusions->items[i].activation_output);
    }
    free(fusions->items);
    name_map_free(&fusions->by_linear_output);
    name_map_free(&fusions->by_activation_output);
    memset(fusions, 0, sizeof *fusions);
}

bool activation_fusion_skips_quantization(const activation_fusions *fusions, const char *tensor) {
    return fusions->by_linear_output.capacity && name_map_get(&fusions->by_linear_output, tensor) >= 0;
}

const activation_fusion *activation_fusion_at_output(const activation_fusions *fusions, const char *tensor) {
    if (!fusions->by_activation_output.capacity) return NULL;
    int i = name_map_get(&fusions->by_activation_output, tensor);
    return i < 0 ? NULL : &fusions->items[i];
}
