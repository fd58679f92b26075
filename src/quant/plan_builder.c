#include "quant/plan_builder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/activation_fusion.h"
#include "quant/op_rules.h"
#include "quant/sign_map.h"

typedef struct builder {
    const nnq_model *model;
    const quant_config *config;
    nnq_plan *plan;
    plan_recipe *recipe;
    activation_fusions fusions;
    name_map nonnegative;
    int capacity;
    int next_group;
} builder;

/* Grows the recipe's arrays with the plan. */
static nnq_status recipe_reserve(builder *b) {
    plan_recipe *r = b->recipe;
    if (b->plan->n_quantizers < b->capacity) return NNQ_OK;
    int capacity = b->capacity ? b->capacity * 2 : 64;
#define GROW(field)                                                                           \
    do {                                                                                      \
        void *grown = realloc(r->field, sizeof *r->field * (size_t)capacity);                 \
        if (!grown) return nnq_fail(NNQ_ERR_NOMEM, "out of memory building the plan");        \
        r->field = grown;                                                                     \
    } while (0)
    GROW(grid_source);
    GROW(bias_input);
    GROW(bias_weight);
    GROW(join_group);
    GROW(observe);
    GROW(is_logits);
    GROW(clamp_min);
    GROW(clamp_max);
#undef GROW
    b->capacity = capacity;
    return NNQ_OK;
}

/* Adds a quantizer with a default recipe entry; returns its index via *index. */
static nnq_status add_quantizer(builder *b, const char *tensor, nnq_quant_role role, const nnq_qscheme *scheme,
                                int axis, int n_channels, int *index) {
    NNQ_TRY(recipe_reserve(b));
    NNQ_TRY(plan_add(b->plan, tensor, role, scheme, axis, n_channels, NULL));
    int i = b->plan->n_quantizers - 1;
    plan_recipe *r = b->recipe;
    r->grid_source[i] = r->bias_input[i] = r->bias_weight[i] = r->join_group[i] = -1;
    r->observe[i] = r->is_logits[i] = false;
    r->clamp_min[i] = -INFINITY;
    r->clamp_max[i] = INFINITY;
    r->n = b->plan->n_quantizers;
    *index = i;
    return NNQ_OK;
}

static int quantizer_index(const builder *b, const char *tensor) {
    const nnq_quantizer *q = plan_find(b->plan, tensor);
    return q ? (int)(q - b->plan->quantizers) : -1;
}

static bool is_nonnegative(const builder *b, const char *tensor) {
    return name_map_get(&b->nonnegative, tensor) >= 0;
}

/* The activation grid for a tensor: signedness from the activation type and
 * the sign map; symmetric grids are signed, or unsigned from 0 when the
 * tensor is proven non-negative. */
static nnq_qscheme activation_scheme(const builder *b, bool nonnegative) {
    const quant_config *c = b->config;
    nnq_qscheme s = {c->activation_bits, true, false, false, c->power_of_two};
    switch (c->activations) {
    case ACTIVATION_TYPE_UINT8: s.is_signed = false; break;
    case ACTIVATION_TYPE_INT8: s.is_signed = true; break;
    case ACTIVATION_TYPE_AUTO: s.is_signed = !(c->sign_optimization && nonnegative); break;
    }
    s.symmetric = c->activation_symmetric && (s.is_signed || nonnegative);
    s.narrow_range = s.symmetric && s.is_signed;
    return s;
}

static nnq_qscheme weight_scheme(const quant_config *c) {
    nnq_qscheme s = {c->weight_bits, c->weight_signed, c->weight_signed, c->weight_signed && !c->weight_full_range,
                     c->power_of_two};
    return s;
}

static nnq_status add_activation(builder *b, const char *tensor, int *index) {
    if ((*index = quantizer_index(b, tensor)) >= 0) return NNQ_OK;
    nnq_qscheme scheme = activation_scheme(b, is_nonnegative(b, tensor));
    NNQ_TRY(add_quantizer(b, tensor, NNQ_ROLE_ACTIVATION, &scheme, -1, 1, index));
    b->recipe->observe[*index] = true;
    b->recipe->is_logits[*index] = graph_is_output(&b->model->graph, tensor);
    return NNQ_OK;
}

/* A constant operand of Add/Mul/Concat: an activation-like grid over its own values. */
static nnq_status add_constant_operand(builder *b, const nnq_tensor *value, int *index) {
    if ((*index = quantizer_index(b, value->name)) >= 0) return NNQ_OK;
    bool nonnegative = true;
    int64_t n = tensor_numel(value);
    for (int64_t i = 0; i < n && nonnegative; i++) nonnegative = ((const float *)value->data)[i] >= 0.0f;
    nnq_qscheme scheme = activation_scheme(b, nonnegative);
    return add_quantizer(b, value->name, NNQ_ROLE_ACTIVATION, &scheme, -1, 1, index);
}

static nnq_status add_weight(builder *b, const nnq_node *node, const nnq_tensor *w, int *index) {
    if ((*index = quantizer_index(b, w->name)) >= 0) return NNQ_OK;
    nnq_qscheme scheme = weight_scheme(b->config);
    int axis = -1, channels = 1;
    bool grouped_transpose = strcmp(node->op_type, "ConvTranspose") == 0 && node_attr_int(node, "group", 1) != 1;
    /* Grouped ConvTranspose weights [C_in, C_out/group, k..] have no single output-channel axis. */
    if (b->config->per_channel && w->rank >= 1 && !grouped_transpose) {
        axis = op_weight_channel_axis(node, w->rank);
        channels = (int)w->dims[axis];
    }
    return add_quantizer(b, w->name, NNQ_ROLE_WEIGHT, &scheme, axis, channels, index);
}

static nnq_status add_bias(builder *b, const nnq_tensor *bias, int input, int weight) {
    if (quantizer_index(b, bias->name) >= 0 || bias->rank != 1) return NNQ_OK;
    const nnq_quantizer *w = &b->plan->quantizers[weight];
    int channels = (int)bias->dims[0];
    if (w->n_channels != 1 && w->n_channels != channels) return NNQ_OK; /* no int32 bias: it stays float */
    nnq_qscheme scheme = {32, true, true, false, false};
    int index;
    NNQ_TRY(add_quantizer(b, bias->name, NNQ_ROLE_BIAS, &scheme, 0, channels, &index));
    b->recipe->bias_input[index] = input;
    b->recipe->bias_weight[index] = weight;
    return NNQ_OK;
}

static bool node_selected(const builder *b, const nnq_node *node) {
    const quant_config *c = b->config;
    if (c->op_types.count && !name_list_contains(&c->op_types, node->op_type)) return false;
    if (c->nodes_to_quantize.count && !name_list_contains(&c->nodes_to_quantize, node->name)) return false;
    return !name_list_contains(&c->nodes_to_exclude, node->name);
}

static const nnq_tensor *constant(const builder *b, const char *name) {
    const nnq_tensor *t = graph_find_fixed_initializer(&b->model->graph, name);
    return t && t->dtype == NNQ_FLOAT ? t : NULL;
}

/* A quantized op: activation inputs, weight, bias and output (after its fused activation). */
static nnq_status plan_compute(builder *b, const nnq_node *node, const op_quant_rule *rule) {
    int first_input = -1, weight = -1, member[64], n_members = 0;
    const nnq_tensor *bias = NULL;
    for (int i = 0; i < node->n_inputs; i++) {
        const char *name = node->inputs[i];
        if (!*name) continue;
        const nnq_tensor *value = constant(b, name);
        int index = -1;
        if (i == rule->weight_input && value) NNQ_TRY(add_weight(b, node, value, &weight));
        else if (i == rule->bias_input && value) bias = value;
        else if (value) NNQ_TRY(add_constant_operand(b, value, &index));
        else NNQ_TRY(add_activation(b, name, &index));
        if (index >= 0 && first_input < 0) first_input = index;
        if (index >= 0 && n_members < 63) member[n_members++] = index;
    }
    const char *output = node->outputs[0];
    const activation_fusion *fused = NULL;
    if (activation_fusion_skips_quantization(&b->fusions, output)) {
        int f = name_map_get(&b->fusions.by_linear_output, output);
        fused = &b->fusions.items[f];
        output = fused->activation_output;
    }
    int out;
    NNQ_TRY(add_activation(b, output, &out));
    if (fused) {
        b->recipe->clamp_min[out] = fused->clamp_min;
        b->recipe->clamp_max[out] = fused->clamp_max;
    }
    member[n_members++] = out;
    if (bias && weight >= 0 && first_input >= 0) NNQ_TRY(add_bias(b, bias, first_input, weight));
    if (rule->joins && b->config->joins == JOIN_SHARED) {
        int group = b->next_group++;
        for (int m = 0; m < n_members; m++) b->recipe->join_group[member[m]] = group;
    }
    return NNQ_OK;
}

/* MaxPool, reshapes, a standalone Relu: the output stays on the input's grid. */
static nnq_status plan_pass_through(builder *b, const nnq_node *node) {
    int source = quantizer_index(b, node->inputs[0]);
    const char *output = node->outputs[0];
    if (source < 0 || !*output || quantizer_index(b, output) >= 0) return NNQ_OK;
    nnq_qscheme scheme = b->plan->quantizers[source].scheme;
    int index;
    NNQ_TRY(add_quantizer(b, output, NNQ_ROLE_ACTIVATION, &scheme, -1, 1, &index));
    b->recipe->grid_source[index] = source;
    return NNQ_OK;
}

static nnq_status build(builder *b) {
    const nnq_graph *g = &b->model->graph;
    NNQ_TRY(graph_find_activation_fusions(b->model, &b->fusions));
    NNQ_TRY(sign_map_compute(b->model, &b->nonnegative));
    for (int n = 0; n < g->n_nodes; n++) {
        const nnq_node *node = &g->nodes[n];
        const op_quant_rule *rule = op_quant_rule_for(node);
        if (rule->kind == OPQ_FLOAT || node->n_outputs < 1 || !node_selected(b, node)) continue;
        nnq_status st = rule->kind == OPQ_COMPUTE ? plan_compute(b, node, rule) : plan_pass_through(b, node);
        if (st != NNQ_OK) return nnq_fail_context(st, "planning node '%s' (%s)", node_display_name(node), node->op_type);
    }
    return NNQ_OK;
}

nnq_status plan_build(const nnq_model *model, const quant_config *config, nnq_plan *plan, plan_recipe *recipe) {
    plan_init(plan);
    memset(recipe, 0, sizeof *recipe);
    builder b = {0};
    b.model = model;
    b.config = config;
    b.plan = plan;
    b.recipe = recipe;
    nnq_status st = build(&b);
    activation_fusions_free(&b.fusions);
    name_map_free(&b.nonnegative);
    if (st != NNQ_OK) {
        plan_free(plan);
        plan_recipe_free(recipe);
    }
    return st;
}

void plan_recipe_free(plan_recipe *r) {
    free(r->grid_source);
    free(r->bias_input);
    free(r->bias_weight);
    free(r->join_group);
    free(r->observe);
    free(r->is_logits);
    free(r->clamp_min);
    free(r->clamp_max);
    memset(r, 0, sizeof *r);
}

static void copy_grid(nnq_quantizer *to, const nnq_quantizer *from, const char *method_prefix) {
    to->scheme = from->scheme;
    to->scales[0] = from->scales[0];
    to->zero_points[0] = from->zero_points[0];
    to->range_min = from->range_min;
    to->range_max = from->range_max;
    free(to->method);
    size_t n = strlen(method_prefix) + strlen(from->tensor) + 1;
    to->method = malloc(n);
    if (to->method) snprintf(to->method, n, "%s%s", method_prefix, from->tensor);
}

/* Max arbitration (Aidge): every member of a join group takes the union of their ranges. */
static nnq_status unify_join_groups(nnq_plan *plan, const plan_recipe *r) {
    int n_groups = 0;
    for (int i = 0; i < r->n; i++)
        if (r->join_group[i] >= n_groups) n_groups = r->join_group[i] + 1;
    for (int group = 0; group < n_groups; group++) {
        float lo = INFINITY, hi = -INFINITY;
        int widest = -1; /* a signed member's grid if any: one grid must hold every member's values */
        for (int k = 0; k < r->n; k++)
            if (r->join_group[k] == group) {
                lo = fminf(lo, plan->quantizers[k].range_min);
                hi = fmaxf(hi, plan->quantizers[k].range_max);
                if (widest < 0 || plan->quantizers[k].scheme.is_signed) widest = k;
            }
        for (int k = 0; k < r->n; k++)
            if (r->join_group[k] == group) {
                plan->quantizers[k].scheme = plan->quantizers[widest].scheme;
                NNQ_TRY(quantizer_set_range(&plan->quantizers[k], lo, hi, "joined"));
            }
    }
    return NNQ_OK;
}

nnq_status plan_recipe_resolve(nnq_plan *plan, const plan_recipe *r) {
    if (r->n != plan->n_quantizers) return nnq_fail(NNQ_ERR_INVALID, "the recipe does not belong to this plan");
    NNQ_TRY(unify_join_groups(plan, r));
    /* Sources come before the tensors that copy them (topological order), so one forward pass resolves chains. */
    for (int i = 0; i < r->n; i++)
        if (r->grid_source[i] >= 0) copy_grid(&plan->quantizers[i], &plan->quantizers[r->grid_source[i]], "shared:");
    for (int i = 0; i < r->n; i++) {
        if (r->bias_input[i] < 0) continue;
        nnq_quantizer *bias = &plan->quantizers[i];
        const nnq_quantizer *x = &plan->quantizers[r->bias_input[i]], *w = &plan->quantizers[r->bias_weight[i]];
        /* The accumulator's scale: an int32 bias adds to sum(x_int * w_int) directly (white paper eq. 13). */
        for (int c = 0; c < bias->n_channels; c++) {
            bias->scales[c] = x->scales[0] * w->scales[w->n_channels == 1 ? 0 : c];
            bias->zero_points[c] = 0;
        }
        free(bias->method);
        bias->method = strdup("s_x*s_w");
    }
    return NNQ_OK;
}
