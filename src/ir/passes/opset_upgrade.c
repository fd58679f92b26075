/* Opset upgrade: rewrites a model of default-domain opset 1..target so that
 * every node follows its operator's definition at the target opset (13..17)
 * and computes the same outputs. QuantizeLinear needs opset 10 and per-axis
 * DequantizeLinear opset 13, so a quantized model of an older one is written
 * at 13 or newer.
 *
 * What changed up to opset 17 for the operators nnquant runs, per ONNX's
 * operator Changelog, and what this pass does about it:
 *   - opset 4-7: Concat-4 requires `axis` (Concat-1 defaulted to 1);
 *     Reshape-5 takes the shape as an input; opset 6 dropped the
 *     `consumed_inputs` memory hint everywhere; opset 7 replaced the binary
 *     operators' `broadcast`/`axis` attributes by numpy broadcasting (B
 *     placed at `axis` gets trailing 1-dims via Unsqueeze) and PRelu's
 *     per-channel slope likewise, and dropped Gemm's `broadcast` and
 *     BatchNormalization's / Dropout's `is_test` (nnquant runs inference);
 *   - attributes that became inputs (table attribute_moves): Slice-10
 *     starts/ends/axes, Pad-11 pads/value, Clip-11 min/max, Dropout-12 ratio,
 *     Squeeze-13 / Unsqueeze-13 axes, Split-13 split, ReduceSum-13 axes;
 *   - Upsample, deprecated in opset 10, and Resize-10 become Resize-13 with
 *     the asymmetric coordinates and round-down nearest pixel Upsample and
 *     Resize-10 use (see ops/resize.c);
 *   - Softmax, LogSoftmax and Hardmax-13 work along one axis, older versions
 *     on the input coerced to 2-D at `axis` (table conversions);
 *   - BatchNormalization-9 dropped `spatial` (7's spatial=1 is 9's only
 *     form), -14 allows the statistics outputs in training mode only;
 *   - Dropout-10's mask is bool, before it had the data's type.
 * Every other change in that range leaves a valid older node valid and
 * equal: added types (Add-13/14, Relu-14, Pow-12/15, MaxPool-12 int8, ...),
 * negative axes (Concat-11, Flatten-11, Gather-11, ArgMax-11, ...), new
 * optional attributes or inputs whose defaults keep the old behaviour
 * (Gemm-11 optional C, ArgMax-12 select_last_index, Reshape-14 allowzero,
 * Shape-15 start/end, QuantizeLinear-13 axis for 1-D scales, Constant-12
 * value_* forms, MaxPool-10 / AveragePool-10 ceil_mode, Sum/Mean/Max/Min-8
 * broadcasting) and rewordings (ConvTranspose-11, MaxPool-11, Resize-13's
 * optional roi). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "ir/model_copy.h"
#include "ir/passes/attribute_edit.h"
#include "ir/passes/graph_edit.h"
#include "ir/passes/passes.h"
#include "ops/op.h"

#define OLDEST_UPGRADABLE_OPSET 1
#define OLDEST_TARGET_OPSET 13     /* per-axis DequantizeLinear */
#define NEWEST_TARGET_OPSET 17

typedef struct upgrade_state {
    nnq_model *model;
    int from, to;           /* the model's default-domain opset and the target */
    bool has_types;         /* typed is filled */
    nnq_model typed;        /* the model before any rewrite, shapes inferred at its own opset */
} upgrade_state;

/* ---- what the original model knew about a tensor ------------------------ */

/* Element type and shape of tensor `name` in the original model (graph
 * input/output, inferred value_info or initializer); NULL when unknown.
 * scratch holds the answer for initializers. */
static const nnq_value_info *original_type(const upgrade_state *s, const char *name, nnq_value_info *scratch) {
    if (!s->has_types) return NULL;
    const nnq_tensor *init = graph_find_initializer(&s->typed.graph, name);
    if (init) {
        memset(scratch, 0, sizeof *scratch);
        scratch->dtype = init->dtype;
        scratch->rank = init->rank;
        memcpy(scratch->dims, init->dims, sizeof scratch->dims);
        return scratch;
    }
    const nnq_value_info *info = graph_find_value_info(&s->typed.graph, name);
    return info && info->dtype != NNQ_UNDEFINED ? info : NULL;
}

/* ---- small edits --------------------------------------------------------- */

static nnq_status fail_node(const nnq_node *node, nnq_status code, const char *why) {
    return nnq_fail(code, "cannot upgrade %s node '%s': %s", node->op_type, node_display_name(node), why);
}

/* Adds `value` as an initializer named after the node's first output and
 * `what`, and makes it input `input` of node n. Takes the tensor's data. */
static nnq_status add_constant_input(upgrade_state *s, int n, const char *what, int input, nnq_tensor *value) {
    nnq_graph *g = &s->model->graph;
    const nnq_node *node = &g->nodes[n];
    const char *owner = node->n_outputs > 0 && *node->outputs[0] ? node->outputs[0] : node_display_name(node);
    char base[512];
    snprintf(base, sizeof base, "%s_%s", owner, what);
    char *name;
    nnq_status st = graph_unique_name(g, base, &name);
    if (st != NNQ_OK) {
        tensor_free(value);
        return st;
    }
    value->name = name;
    st = graph_add_initializer(g, value); /* the initializer now owns name */
    if (st != NNQ_OK) {
        tensor_free(value);
        return st;
    }
    return node_set_input(&g->nodes[n], input, name);
}

/* Removes node n's outputs from index `first` on. Named ones must be unread
 * (why says what reading them would need). */
static nnq_status drop_outputs_from(upgrade_state *s, int n, int first, const char *why) {
    nnq_graph *g = &s->model->graph;
    nnq_node *node = &g->nodes[n];
    for (int o = first; o < node->n_outputs; o++) {
        const char *name = node->outputs[o];
        if (*name && (graph_is_output(g, name) || graph_count_readers(g, NULL, name) > 0))
            return fail_node(node, NNQ_ERR_UNSUPPORTED, why);
    }
    for (int o = first; o < node->n_outputs; o++) {
        graph_forget_value_info(g, node->outputs[o]);
        free(node->outputs[o]);
    }
    if (node->n_outputs > first) node->n_outputs = first;
    return NNQ_OK;
}

/* Adds a node op_type(inputs) -> output named after node n; returns its index. */
static nnq_status add_helper_node(upgrade_state *s, int n, const char *op_type, const char *suffix,
                                  const char *const *inputs, int n_inputs, const char *output, int *added) {
    nnq_graph *g = &s->model->graph;
    const char *owner = g->nodes[n].name ? g->nodes[n].name : "";
    char name[512];
    if (*owner) snprintf(name, sizeof name, "%s_%s", owner, suffix);
    else name[0] = '\0';
    nnq_node helper = {.name = name, .op_type = (char *)op_type, .domain = (char *)"", .n_inputs = n_inputs,
                       .inputs = (char **)inputs, .n_outputs = 1, .outputs = (char **)&output};
    NNQ_TRY(graph_add_node(g, &helper));
    *added = g->n_nodes - 1;
    return NNQ_OK;
}

/* ---- attributes that became inputs --------------------------------------- */

typedef enum moved_kind {
    MOVED_INTS,        /* ints attribute -> 1-D int64 tensor */
    MOVED_FLOAT,       /* float attribute -> float scalar */
    MOVED_DATA_SCALAR  /* float attribute -> scalar of input 0's element type */
} moved_kind;

typedef struct attribute_move {
    const char *op_type;
    int became_input_in;   /* the opset whose definition takes it as an input */
    const char *attribute;
    int input;
    moved_kind kind;
    /* An empty list or a zero means what the omitted input means: leave it out. */
    bool omit_when_default;
} attribute_move;

static const attribute_move attribute_moves[] = {
    /* Reshape-5: the target shape is input 1. */
    {"Reshape", 5, "shape", 1, MOVED_INTS, false},
    /* Slice-10: starts, ends, axes are inputs 1-3 (steps, input 4, is new and defaults to 1s). */
    {"Slice", 10, "starts", 1, MOVED_INTS, false},
    {"Slice", 10, "ends", 2, MOVED_INTS, false},
    {"Slice", 10, "axes", 3, MOVED_INTS, true},
    /* Clip-11: optional min and max inputs of the input's type (absent: unbounded). */
    {"Clip", 11, "min", 1, MOVED_DATA_SCALAR, false},
    {"Clip", 11, "max", 2, MOVED_DATA_SCALAR, false},
    /* Pad-11: pads input 1, constant_value input 2 (default 0); mode stays an attribute. */
    {"Pad", 11, "pads", 1, MOVED_INTS, false},
    {"Pad", 11, "value", 2, MOVED_DATA_SCALAR, true},
    /* Dropout-12: ratio input 1; input 2 training_mode defaults to false, i.e. inference. */
    {"Dropout", 12, "ratio", 1, MOVED_FLOAT, false},
    /* Opset 13: axes of Squeeze (absent: every 1), Unsqueeze, ReduceSum (absent or
     * empty: every axis, noop_with_empty_axes defaulting to 0) and Split's sizes. */
    {"Squeeze", 13, "axes", 1, MOVED_INTS, true},
    {"Unsqueeze", 13, "axes", 1, MOVED_INTS, false},
    {"Split", 13, "split", 1, MOVED_INTS, true},
    {"ReduceSum", 13, "axes", 1, MOVED_INTS, true},
};

/* The moved attribute's value as a tensor; *omit when the input is better left out. */
static nnq_status moved_value(const upgrade_state *s, const nnq_node *node, const attribute_move *move,
                              const nnq_attr *attr, nnq_tensor *value, bool *omit) {
    char why[256];
    memset(value, 0, sizeof *value);
    *omit = false;
    if (move->kind == MOVED_INTS) {
        if (attr->type != NNQ_ATTR_INTS) {
            snprintf(why, sizeof why, "attribute '%s' is not a list of ints", move->attribute);
            return fail_node(node, NNQ_ERR_INVALID, why);
        }
        *omit = move->omit_when_default && attr->count == 0;
        if (*omit) return NNQ_OK;
        int64_t dims[1] = {attr->count};
        NNQ_TRY(tensor_create(value, NNQ_INT64, 1, dims));
        if (attr->count > 0) memcpy(value->data, attr->ints, sizeof(int64_t) * (size_t)attr->count);
        return NNQ_OK;
    }
    if (attr->type != NNQ_ATTR_FLOAT) {
        snprintf(why, sizeof why, "attribute '%s' is not a float", move->attribute);
        return fail_node(node, NNQ_ERR_INVALID, why);
    }
    *omit = move->omit_when_default && attr->f == 0.0f;
    if (*omit) return NNQ_OK;
    nnq_dtype dtype = NNQ_FLOAT;
    if (move->kind == MOVED_DATA_SCALAR) {
        nnq_value_info scratch;
        const nnq_value_info *data = node->n_inputs > 0 ? original_type(s, node->inputs[0], &scratch) : NULL;
        if (!data || !dtype_is_supported(data->dtype) || data->dtype == NNQ_BOOL) {
            snprintf(why, sizeof why, "attribute '%s' becomes an input of the data's element type, which %s",
                     move->attribute, data ? "nnquant cannot store" : "shape inference could not tell");
            return fail_node(node, NNQ_ERR_UNSUPPORTED, why);
        }
        dtype = data->dtype;
    }
    NNQ_TRY(tensor_create(value, dtype, 0, NULL));
    tensor_set_double(value, 0, attr->f);
    return NNQ_OK;
}

static nnq_status move_one_attribute(upgrade_state *s, int n, const attribute_move *move) {
    const nnq_node *node = &s->model->graph.nodes[n];
    const nnq_attr *attr = node_find_attr(node, move->attribute);
    if (!attr) return NNQ_OK;
    if (move->input < node->n_inputs && *node->inputs[move->input]) {
        char why[256];
        snprintf(why, sizeof why, "it has both attribute '%s' and input %d", move->attribute, move->input);
        return fail_node(node, NNQ_ERR_INVALID, why);
    }
    nnq_tensor value;
    bool omit;
    NNQ_TRY(moved_value(s, node, move, attr, &value, &omit));
    if (!omit) NNQ_TRY(add_constant_input(s, n, move->attribute, move->input, &value));
    node_remove_attr(&s->model->graph.nodes[n], move->attribute);
    return NNQ_OK;
}

/* Moves every attribute of node n that became an input at `version`. */
static nnq_status move_attributes_to_inputs(upgrade_state *s, int n, int version) {
    for (size_t i = 0; i < sizeof attribute_moves / sizeof attribute_moves[0]; i++) {
        const attribute_move *move = &attribute_moves[i];
        if (move->became_input_in == version && strcmp(move->op_type, s->model->graph.nodes[n].op_type) == 0)
            NNQ_TRY(move_one_attribute(s, n, move));
    }
    return NNQ_OK;
}

/* ---- Upsample and Resize-10 -> Resize-13 ---------------------------------- */

/* Upsample-7 (scales attribute), Upsample-9 and Resize-10 (X, scales) map
 * x_original = x / scale and take the nearest pixel rounding down: Resize-13
 * (X, roi, scales) with coordinate_transformation_mode "asymmetric" and
 * nearest_mode "floor", roi omitted (only tf_crop_and_resize reads it). */
static nnq_status convert_to_resize(upgrade_state *s, int n, int version) {
    (void)version;
    nnq_node *node = &s->model->graph.nodes[n];
    const char *mode = node_attr_string(node, "mode", "nearest");
    bool nearest = strcmp(mode, "nearest") == 0;
    if (!nearest && strcmp(mode, "linear") != 0 && strcmp(mode, "bilinear") != 0)
        return fail_node(node, NNQ_ERR_UNSUPPORTED, "its mode is neither nearest nor (bi)linear");
    bool scales_attribute = strcmp(node->op_type, "Upsample") == 0 && s->from < 9;
    if (scales_attribute) {
        const nnq_attr *attr = node_find_attr(node, "scales");
        if (!attr || attr->type != NNQ_ATTR_FLOATS || node->n_inputs != 1)
            return fail_node(node, NNQ_ERR_INVALID, "Upsample-7 needs one input and a 'scales' attribute");
        nnq_tensor scales = {0};
        int64_t dims[1] = {attr->count};
        NNQ_TRY(tensor_create(&scales, NNQ_FLOAT, 1, dims));
        if (attr->count > 0) memcpy(scales.data, attr->floats, sizeof(float) * (size_t)attr->count);
        NNQ_TRY(add_constant_input(s, n, "scales", 2, &scales));
        node = &s->model->graph.nodes[n];
        node_remove_attr(node, "scales");
    } else {
        if (node->n_inputs != 2 || !*node->inputs[1])
            return fail_node(node, NNQ_ERR_INVALID, "it needs the inputs (X, scales)");
        NNQ_TRY(node_set_input(node, 2, node->inputs[1]));
    }
    NNQ_TRY(node_set_input(node, 1, ""));
    if (strcmp(node->op_type, "Resize") != 0) {
        char *op_type = strdup("Resize");
        if (!op_type) return nnq_fail(NNQ_ERR_NOMEM, "out of memory upgrading node '%s'", node_display_name(node));
        free(node->op_type);
        node->op_type = op_type;
    }
    NNQ_TRY(node_set_attr_string(node, "mode", nearest ? "nearest" : "linear"));
    NNQ_TRY(node_set_attr_string(node, "coordinate_transformation_mode", "asymmetric"));
    if (nearest) NNQ_TRY(node_set_attr_string(node, "nearest_mode", "floor"));
    return NNQ_OK;
}

/* ---- Softmax, LogSoftmax, Hardmax ----------------------------------------- */

/* Before opset 13 these operators coerce the input to 2-D [prod(dims[:axis]),
 * prod(dims[axis:])] (axis default 1) and normalize each row; from 13 they
 * work along dims[axis] alone (default -1). Equal when every dim after axis
 * is 1 (the last axis in particular): then axis is written out. Otherwise
 * (or with an unknown shape) the node is wrapped:
 *   Flatten(X, axis) -> op(axis=-1) -> Reshape(to Shape(X)). */
static nnq_status convert_coerced_2d(upgrade_state *s, int n, int version) {
    (void)version;
    nnq_graph *g = &s->model->graph;
    nnq_node *node = &g->nodes[n];
    int64_t axis = node_attr_int(node, "axis", 1);
    if (node->n_inputs != 1 || node->n_outputs != 1) return fail_node(node, NNQ_ERR_INVALID, "it needs one input and one output");
    nnq_value_info scratch;
    const nnq_value_info *x = original_type(s, node->inputs[0], &scratch);
    if (x && x->rank >= 1) {
        int64_t a = axis < 0 ? axis + x->rank : axis;
        if (a < 0 || a >= x->rank) return fail_node(node, NNQ_ERR_INVALID, "its axis is out of range");
        bool single_axis = true;
        for (int d = (int)a + 1; d < x->rank; d++) single_axis &= x->dims[d] == 1;
        if (single_axis) return node_set_attr_int(node, "axis", a);
    }
    char base[512], *flat = NULL, *rows = NULL, *shape = NULL;
    nnq_status st = NNQ_OK;
    snprintf(base, sizeof base, "%s_coerced_2d", node->outputs[0]);
    st = graph_unique_name(g, base, &flat);
    snprintf(base, sizeof base, "%s_rows", node->outputs[0]);
    if (st == NNQ_OK) st = graph_unique_name(g, base, &rows);
    snprintf(base, sizeof base, "%s_shape", node->outputs[0]);
    if (st == NNQ_OK) st = graph_unique_name(g, base, &shape);
    char *x_name = st == NNQ_OK ? strdup(node->inputs[0]) : NULL;
    char *y_name = x_name ? strdup(node->outputs[0]) : NULL;
    if (st == NNQ_OK && !y_name) st = nnq_fail(NNQ_ERR_NOMEM, "out of memory upgrading node '%s'", node_display_name(node));
    int added;
    if (st == NNQ_OK) st = add_helper_node(s, n, "Flatten", "coerce_2d", (const char *const[]){x_name}, 1, flat, &added);
    if (st == NNQ_OK) st = node_set_attr_int(&g->nodes[added], "axis", axis);
    if (st == NNQ_OK) st = add_helper_node(s, n, "Shape", "shape", (const char *const[]){x_name}, 1, shape, &added);
    if (st == NNQ_OK)
        st = add_helper_node(s, n, "Reshape", "restore_shape", (const char *const[]){rows, shape}, 2, y_name, &added);
    /* allowzero (14+) keeps a 0 in the shape a real 0 rather than a copied dim. */
    if (st == NNQ_OK && s->to >= 14) st = node_set_attr_int(&g->nodes[added], "allowzero", 1);
    if (st == NNQ_OK) st = node_set_input(&g->nodes[n], 0, flat);
    if (st == NNQ_OK) st = node_set_output(&g->nodes[n], 0, rows);
    if (st == NNQ_OK) st = node_set_attr_int(&g->nodes[n], "axis", -1);
    free(flat);
    free(rows);
    free(shape);
    free(x_name);
    free(y_name);
    return st;
}

/* ---- opsets 1-6: removed attributes, legacy broadcasting ------------------ */

typedef struct removed_attribute {
    const char *op_type;   /* NULL: every operator */
    int removed_in;
    const char *attribute;
} removed_attribute;

/* Attributes whose removal changes nothing nnquant computes. */
static const removed_attribute removed_attributes[] = {
    {NULL, 6, "consumed_inputs"},            /* a memory-reuse hint of opset 1 */
    {"Gemm", 7, "broadcast"},                /* Gemm-7 always broadcasts C unidirectionally */
    {"BatchNormalization", 7, "is_test"},    /* inference either way in nnquant's runtime */
    {"Dropout", 7, "is_test"},               /* Dropout-7 without training input: inference */
};

static nnq_status drop_removed_attributes(upgrade_state *s, int n, int version) {
    nnq_node *node = &s->model->graph.nodes[n];
    for (size_t i = 0; i < sizeof removed_attributes / sizeof removed_attributes[0]; i++) {
        const removed_attribute *r = &removed_attributes[i];
        if (r->removed_in == version && (!r->op_type || strcmp(r->op_type, node->op_type) == 0))
            node_remove_attr(node, r->attribute);
    }
    return NNQ_OK;
}

/* Concat-1's axis defaulted to 1; from Concat-4 it is required. */
static nnq_status convert_concat_axis(upgrade_state *s, int n, int version) {
    (void)version;
    nnq_node *node = &s->model->graph.nodes[n];
    return node_find_attr(node, "axis") ? NNQ_OK : node_set_attr_int(node, "axis", 1);
}

/* Makes input `input` of node n read Unsqueeze(it, axes=[-1..-ones]): the
 * same values with `ones` trailing dims of 1, so numpy broadcasting lines
 * its dims up where the legacy axis placed them. */
static nnq_status append_unit_dims(upgrade_state *s, int n, int input, int ones) {
    nnq_graph *g = &s->model->graph;
    nnq_tensor axes = {0};
    int64_t dims[1] = {ones};
    NNQ_TRY(tensor_create(&axes, NNQ_INT64, 1, dims));
    for (int i = 0; i < ones; i++) ((int64_t *)axes.data)[i] = -1 - i;
    char base[512], *aligned = NULL, *axes_name = NULL;
    snprintf(base, sizeof base, "%s_aligned", g->nodes[n].inputs[input]);
    nnq_status st = graph_unique_name(g, base, &aligned);
    snprintf(base, sizeof base, "%s_alignment_axes", g->nodes[n].inputs[input]);
    if (st == NNQ_OK) st = graph_unique_name(g, base, &axes_name);
    if (st == NNQ_OK) {
        axes.name = axes_name;
        axes_name = NULL;
        st = graph_add_initializer(g, &axes);
    }
    int added;
    if (st == NNQ_OK)
        st = add_helper_node(s, n, "Unsqueeze", "align",
                             (const char *const[]){g->nodes[n].inputs[input], g->initializers[g->n_initializers - 1].name},
                             2, aligned, &added);
    if (st == NNQ_OK) st = node_set_input(&g->nodes[n], input, aligned);
    tensor_free(&axes);
    free(axes_name);
    free(aligned);
    return st;
}

/* Ranks of node n's inputs 0 and 1 in the original model, or fails. */
static nnq_status operand_ranks(const upgrade_state *s, const nnq_node *node, int *rank_a, int *rank_b) {
    nnq_value_info scratch_a, scratch_b;
    const nnq_value_info *a = node->n_inputs > 1 ? original_type(s, node->inputs[0], &scratch_a) : NULL;
    const nnq_value_info *b = node->n_inputs > 1 ? original_type(s, node->inputs[1], &scratch_b) : NULL;
    if (!a || !b || a->rank < 0 || b->rank < 0)
        return fail_node(node, NNQ_ERR_UNSUPPORTED,
                         "its legacy broadcast needs both operands' ranks, which shape inference could not tell");
    *rank_a = a->rank;
    *rank_b = b->rank;
    return NNQ_OK;
}

/* Binary operators before opset 7 (Add-6 and its kin): with broadcast=1, B
 * is suffix-aligned to A (what numpy broadcasting does) or placed at `axis`
 * (B then needs rank(A) - axis - rank(B) trailing 1-dims); without it the
 * shapes are equal. From opset 7 both attributes are gone. */
static nnq_status convert_legacy_broadcast(upgrade_state *s, int n, int version) {
    (void)version;
    nnq_node *node = &s->model->graph.nodes[n];
    bool placed = node_attr_int(node, "broadcast", 0) != 0 && node_find_attr(node, "axis");
    int64_t axis = node_attr_int(node, "axis", 0);
    node_remove_attr(node, "broadcast");
    node_remove_attr(node, "axis");
    if (!placed) return NNQ_OK;
    int rank_a, rank_b;
    NNQ_TRY(operand_ranks(s, node, &rank_a, &rank_b));
    if (axis < 0) axis += rank_a;
    if (axis < 0 || axis + rank_b > rank_a) return fail_node(node, NNQ_ERR_INVALID, "its axis cannot place B inside A");
    int ones = rank_a - (int)axis - rank_b;
    return ones > 0 ? append_unit_dims(s, n, 1, ones) : NNQ_OK;
}

/* PRelu before opset 7: a slope of C values applies per channel (axis 1) of
 * an input [N, C, ...]; PRelu-7 broadcasts numpy-style, so the slope gets
 * rank(X) - 2 trailing 1-dims. */
static nnq_status convert_prelu_slope(upgrade_state *s, int n, int version) {
    (void)version;
    const nnq_node *node = &s->model->graph.nodes[n];
    nnq_value_info scratch_x, scratch_slope;
    const nnq_value_info *x = node->n_inputs > 1 ? original_type(s, node->inputs[0], &scratch_x) : NULL;
    const nnq_value_info *slope = node->n_inputs > 1 ? original_type(s, node->inputs[1], &scratch_slope) : NULL;
    if (!x || !slope || x->rank < 0 || slope->rank < 0)
        return fail_node(node, NNQ_ERR_UNSUPPORTED, "its per-channel slope needs the ranks, which shape inference could not tell");
    bool per_channel = x->rank >= 2 && slope->rank == 1 && slope->dims[0] != 1 && slope->dims[0] == x->dims[1];
    if (per_channel && slope->dims[0] == NNQ_UNKNOWN_DIM)
        return fail_node(node, NNQ_ERR_UNSUPPORTED, "its slope length is unknown");
    return per_channel && x->rank > 2 ? append_unit_dims(s, n, 1, x->rank - 2) : NNQ_OK;
}

/* ---- BatchNormalization, Dropout ----------------------------------------- */

/* BatchNormalization-9 removed `spatial`; 7's default spatial=1 is what 9
 * computes. spatial=0 (statistics per activation, not per channel) has no
 * single-node equivalent. is_test and consumed_inputs are pre-7 leftovers. */
static nnq_status convert_batchnorm_spatial(upgrade_state *s, int n, int version) {
    (void)version;
    nnq_node *node = &s->model->graph.nodes[n];
    if (node_attr_int(node, "spatial", 1) != 1)
        return fail_node(node, NNQ_ERR_UNSUPPORTED, "spatial=0 (per-activation statistics) was removed in opset 9");
    node_remove_attr(node, "spatial");
    node_remove_attr(node, "is_test");
    node_remove_attr(node, "consumed_inputs");
    return NNQ_OK;
}

/* BatchNormalization-14 has the running-statistics outputs in training mode
 * only; nnquant's inputs are inference graphs, where 9's optional outputs
 * (mean, var, saved_mean, saved_var) are unused. */
static nnq_status convert_batchnorm_outputs(upgrade_state *s, int n, int version) {
    (void)version;
    return drop_outputs_from(s, n, 1, "its training statistics outputs are read, and opset 14 has them only in training mode");
}

/* Dropout-10's mask is bool, before it had the data's type: an unread mask is dropped. */
static nnq_status convert_dropout_mask(upgrade_state *s, int n, int version) {
    (void)version;
    return drop_outputs_from(s, n, 1, "its mask output is read, and its type changed from the data's to bool in opset 10");
}

/* ---- the conversion table ------------------------------------------------- */

typedef nnq_status (*node_conversion)(upgrade_state *s, int n, int version);

typedef struct conversion {
    const char *op_type;
    int version;          /* the opset whose definition the conversion produces */
    bool deprecated;      /* the operator is deprecated from `version`: every such node is replaced */
    bool needs_types;     /* reads the original model's inferred types/shapes */
    node_conversion convert;
} conversion;

#define LEGACY_BROADCAST_ROW(op) {op, 7, false, true, convert_legacy_broadcast}

/* In opset order, so a node goes through its versions in turn; op_type NULL matches every operator. */
static const conversion conversions[] = {
    {"Concat", 4, false, false, convert_concat_axis},
    {"Reshape", 5, false, false, move_attributes_to_inputs},
    {NULL, 6, false, false, drop_removed_attributes},
    LEGACY_BROADCAST_ROW("Add"), LEGACY_BROADCAST_ROW("Sub"), LEGACY_BROADCAST_ROW("Mul"),
    LEGACY_BROADCAST_ROW("Div"), LEGACY_BROADCAST_ROW("Pow"), LEGACY_BROADCAST_ROW("And"),
    LEGACY_BROADCAST_ROW("Or"), LEGACY_BROADCAST_ROW("Xor"), LEGACY_BROADCAST_ROW("Equal"),
    LEGACY_BROADCAST_ROW("Less"), LEGACY_BROADCAST_ROW("Greater"),
    {"PRelu", 7, false, true, convert_prelu_slope},
    {"Gemm", 7, false, false, drop_removed_attributes},
    {"BatchNormalization", 7, false, false, drop_removed_attributes},
    {"Dropout", 7, false, false, drop_removed_attributes},
    {"BatchNormalization", 9, false, false, convert_batchnorm_spatial},
    {"Dropout", 10, false, false, convert_dropout_mask},
    {"Slice", 10, false, false, move_attributes_to_inputs},
    {"Upsample", 10, true, false, convert_to_resize},
    {"Resize", 11, false, false, convert_to_resize},
    {"Clip", 11, false, true, move_attributes_to_inputs},
    {"Pad", 11, false, true, move_attributes_to_inputs},
    {"Dropout", 12, false, false, move_attributes_to_inputs},
    {"Softmax", 13, false, true, convert_coerced_2d},
    {"LogSoftmax", 13, false, true, convert_coerced_2d},
    {"Hardmax", 13, false, true, convert_coerced_2d},
    {"Squeeze", 13, false, false, move_attributes_to_inputs},
    {"Unsqueeze", 13, false, false, move_attributes_to_inputs},
    {"Split", 13, false, false, move_attributes_to_inputs},
    {"ReduceSum", 13, false, false, move_attributes_to_inputs},
    {"BatchNormalization", 14, false, false, convert_batchnorm_outputs},
};

static bool is_default_domain(const char *domain) { return !*domain || strcmp(domain, "ai.onnx") == 0; }

/* Whether conversion c rewrites a node of op_type (its type in the original model). */
static bool conversion_applies(const upgrade_state *s, const conversion *c, const char *op_type) {
    return (!c->op_type || strcmp(c->op_type, op_type) == 0) && c->version <= s->to &&
           (c->deprecated || s->from < c->version);
}

/* Shape inference on a copy of the original, when some conversion reads types. */
static nnq_status prepare_types(upgrade_state *s) {
    const nnq_graph *g = &s->model->graph;
    bool needed = false;
    for (int n = 0; n < g->n_nodes && !needed; n++)
        for (size_t c = 0; c < sizeof conversions / sizeof conversions[0]; c++)
            if (conversions[c].needs_types && is_default_domain(g->nodes[n].domain) &&
                conversion_applies(s, &conversions[c], g->nodes[n].op_type))
                needed = true;
    if (!needed) return NNQ_OK;
    NNQ_TRY(model_copy(&s->typed, s->model));
    s->has_types = true;
    /* A failure leaves what was inferred before it; conversions needing more say so. */
    (void)pass_infer_shapes(&s->typed);
    return NNQ_OK;
}

static nnq_status check_upgradable(const nnq_model *model, int from, int target) {
    if (target < OLDEST_TARGET_OPSET || target > NEWEST_TARGET_OPSET)
        return nnq_fail(NNQ_ERR_INVALID, "opset upgrade target %d is outside %d..%d", target, OLDEST_TARGET_OPSET,
                        NEWEST_TARGET_OPSET);
    if (from == 0) return nnq_fail(NNQ_ERR_INVALID, "the model imports no default-domain opset");
    if (from < OLDEST_UPGRADABLE_OPSET)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "cannot upgrade opset %d: the oldest upgradable opset is %d", from,
                        OLDEST_UPGRADABLE_OPSET);
    if (from > target)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "the model's opset %d is newer than the target %d", from, target);
    if (graph_has_subgraphs(&model->graph))
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "cannot upgrade a model with subgraphs (If, Loop, Scan)");
    for (int n = 0; n < model->graph.n_nodes; n++) {
        const nnq_node *node = &model->graph.nodes[n];
        if (is_default_domain(node->domain) && !op_registry_has("", node->op_type))
            return nnq_fail(NNQ_ERR_UNSUPPORTED,
                            "cannot upgrade node '%s': nnquant does not run %s, so its conversion is unknown",
                            node_display_name(node), node->op_type);
    }
    return NNQ_OK;
}

/* The IR version ONNX released with each target opset (ONNX's versioning
 * table: opset 13-14 came with IR 7, 15-17 with IR 8). */
static int64_t ir_version_for(int opset) { return opset >= 15 ? 8 : 7; }

static void set_default_opset(nnq_model *model, int target) {
    for (int i = 0; i < model->n_opset_imports; i++)
        if (is_default_domain(model->opset_imports[i].domain)) model->opset_imports[i].version = target;
    if (model->ir_version < ir_version_for(target)) model->ir_version = ir_version_for(target);
}

static nnq_status upgrade_nodes(upgrade_state *s, int *converted) {
    nnq_graph *g = &s->model->graph;
    int original_nodes = g->n_nodes; /* helper nodes appended at the end are already in the target form */
    for (int n = 0; n < original_nodes; n++) {
        if (!is_default_domain(g->nodes[n].domain)) continue;
        /* Upsample becomes Resize on the way: rows match the original type. */
        char *op_type = strdup(g->nodes[n].op_type);
        if (!op_type) return nnq_fail(NNQ_ERR_NOMEM, "out of memory upgrading the opset");
        bool changed = false;
        nnq_status st = NNQ_OK;
        for (size_t c = 0; st == NNQ_OK && c < sizeof conversions / sizeof conversions[0]; c++) {
            if (!conversion_applies(s, &conversions[c], op_type)) continue;
            st = conversions[c].convert(s, n, conversions[c].version);
            changed |= conversions[c].op_type != NULL; /* the every-operator clean-up alone is no conversion */
        }
        free(op_type);
        NNQ_TRY(st);
        *converted += changed;
    }
    return NNQ_OK;
}

nnq_status pass_upgrade_opset(nnq_model *model, int target_opset, int *converted) {
    *converted = 0;
    upgrade_state s = {.model = model, .from = (int)model_opset(model, ""), .to = target_opset};
    NNQ_TRY(check_upgradable(model, s.from, target_opset));
    nnq_status st = prepare_types(&s);
    if (st == NNQ_OK) st = upgrade_nodes(&s, converted);
    if (s.has_types) model_free(&s.typed);
    if (st != NNQ_OK) return nnq_fail_context(st, "upgrading opset %d to %d", s.from, target_opset);
    set_default_opset(model, target_opset);
    return *converted > 0 ? pass_sort_topologically(model) : NNQ_OK;
}
