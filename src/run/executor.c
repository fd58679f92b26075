#include "run/executor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/name_map.h"
#include "base/status.h"
#include "ir/graph_order.h"
#include "run/node_eval.h"

/* Every tensor name in the graph is a slot; a step is one node with its
 * inputs and outputs resolved to slots. */
typedef struct step {
    const nnq_node *node;
    const nnq_op_def *op;
    int opset;
    int *input_slots;   /* -1 for omitted optional inputs */
    int *output_slots;
} step;

typedef struct slot {
    const char *name;
    const nnq_tensor *constant; /* initializer, never freed by a run */
    nnq_tensor value;           /* produced during a run */
    int last_use;               /* index of the last step reading it; graph outputs: n_steps */
} slot;

struct nnq_executor {
    const nnq_model *model;
    name_map slot_of;
    slot *slots;
    int n_slots;
    step *steps;
    int n_steps;
    int *graph_output_slots;
    nnq_tap *taps;
    int n_taps;
    int max_inputs;
};

int executor_list_unsupported(const nnq_model *model, char *buf, size_t size) {
    int count = 0;
    size_t used = 0;
    if (size) buf[0] = '\0';
    const nnq_graph *g = &model->graph;
    for (int i = 0; i < g->n_nodes; i++) {
        const nnq_node *node = &g->nodes[i];
        const nnq_op_def *op;
        int opset;
        if (node_find_op(model, node, &op, &opset) == NNQ_OK) continue;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(g->nodes[j].op_type, node->op_type) == 0 && strcmp(g->nodes[j].domain, node->domain) == 0;
        if (seen) continue;
        count++;
        if (used < size)
            used += (size_t)snprintf(buf + used, size - used, "%s%s%s%s", count > 1 ? ", " : "",
                                     node->domain, *node->domain ? ":" : "", node->op_type);
    }
    return count;
}

static nnq_status slot_for(nnq_executor *ex, const char *name, int *out) {
    int index = name_map_get(&ex->slot_of, name);
    if (index < 0) {
        index = ex->n_slots++;
        ex->slots[index].name = name;
        ex->slots[index].last_use = -1;
        NNQ_TRY(name_map_put(&ex->slot_of, name, index));
    }
    *out = index;
    return NNQ_OK;
}

static size_t count_names(const nnq_graph *g) {
    size_t n = (size_t)g->n_initializers + (size_t)g->n_inputs + (size_t)g->n_outputs;
    for (int i = 0; i < g->n_nodes; i++) n += (size_t)g->nodes[i].n_inputs + (size_t)g->nodes[i].n_outputs;
    return n;
}

static nnq_status build_steps(nnq_executor *ex, const int *order) {
    const nnq_graph *g = &ex->model->graph;
    for (int s = 0; s < g->n_nodes; s++) {
        step *st = &ex->steps[s];
        st->node = &g->nodes[order[s]];
        NNQ_TRY(node_find_op(ex->model, st->node, &st->op, &st->opset));
        st->input_slots = malloc(sizeof(int) * (size_t)(st->node->n_inputs + 1));
        st->output_slots = malloc(sizeof(int) * (size_t)(st->node->n_outputs + 1));
        if (!st->input_slots || !st->output_slots) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        ex->n_steps = s + 1;
        if (st->node->n_inputs > ex->max_inputs) ex->max_inputs = st->node->n_inputs;
        for (int i = 0; i < st->node->n_inputs; i++) {
            st->input_slots[i] = -1;
            if (!*st->node->inputs[i]) continue;
            NNQ_TRY(slot_for(ex, st->node->inputs[i], &st->input_slots[i]));
            ex->slots[st->input_slots[i]].last_use = s;
        }
        for (int o = 0; o < st->node->n_outputs; o++) {
            /* Unused optional outputs get a private anonymous slot. */
            if (!*st->node->outputs[o]) {
                st->output_slots[o] = ex->n_slots++;
                ex->slots[st->output_slots[o]].name = "";
                ex->slots[st->output_slots[o]].last_use = s;
                continue;
            }
            NNQ_TRY(slot_for(ex, st->node->outputs[o], &st->output_slots[o]));
        }
    }
    return NNQ_OK;
}

nnq_status executor_create(const nnq_model *model, nnq_executor **out) {
    *out = NULL;
    const nnq_graph *g = &model->graph;
    nnq_executor *ex = calloc(1, sizeof *ex);
    if (!ex) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    ex->model = model;
    size_t capacity = count_names(g) + 1;
    int *order = malloc(sizeof(int) * ((size_t)g->n_nodes + 1));
    ex->slots = calloc(capacity, sizeof *ex->slots);
    ex->steps = calloc((size_t)g->n_nodes + 1, sizeof *ex->steps);
    ex->graph_output_slots = calloc((size_t)g->n_outputs + 1, sizeof(int));
    nnq_status st = NNQ_OK;
    if (!order || !ex->slots || !ex->steps || !ex->graph_output_slots)
        st = nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st == NNQ_OK) st = name_map_init(&ex->slot_of, capacity);
    for (int i = 0; st == NNQ_OK && i < g->n_initializers; i++) {
        int index;
        st = slot_for(ex, g->initializers[i].name, &index);
        if (st == NNQ_OK) ex->slots[index].constant = &g->initializers[i];
    }
    if (st == NNQ_OK) st = graph_topological_order(g, order);
    if (st == NNQ_OK) st = build_steps(ex, order);
    for (int i = 0; st == NNQ_OK && i < g->n_outputs; i++) {
        int index = name_map_get(&ex->slot_of, g->outputs[i].name);
        if (index < 0 && !graph_is_runtime_input(g, g->outputs[i].name))
            st = nnq_fail(NNQ_ERR_INVALID, "graph output '%s' is produced by no node", g->outputs[i].name);
        else if (index < 0) st = slot_for(ex, g->outputs[i].name, &index);
        if (st == NNQ_OK) {
            ex->graph_output_slots[i] = index;
            ex->slots[index].last_use = ex->n_steps;
        }
    }
    free(order);
    if (st != NNQ_OK) {
        executor_free(ex);
        return st;
    }
    *out = ex;
    return NNQ_OK;
}

static void release_values(nnq_executor *ex) {
    for (int i = 0; i < ex->n_slots; i++) tensor_free(&ex->slots[i].value);
}

void executor_free(nnq_executor *ex) {
    if (!ex) return;
    if (ex->slots) release_values(ex);
    for (int s = 0; s < ex->n_steps; s++) {
        free(ex->steps[s].input_slots);
        free(ex->steps[s].output_slots);
    }
    free(ex->steps);
    free(ex->slots);
    free(ex->graph_output_slots);
    free(ex->taps);
    name_map_free(&ex->slot_of);
    free(ex);
}

nnq_status executor_add_tap(nnq_executor *ex, nnq_tap tap) {
    nnq_tap *grown = realloc(ex->taps, sizeof *grown * (size_t)(ex->n_taps + 1));
    if (!grown) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    ex->taps = grown;
    ex->taps[ex->n_taps++] = tap;
    return NNQ_OK;
}

/* Checks a provided input against the graph's declaration: same element type
 * (float16 inputs are carried as float32) and equal dims where declared. */
static nnq_status check_input(const nnq_value_info *declared, const nnq_tensor *given) {
    nnq_dtype want = declared->dtype == NNQ_FLOAT16 ? NNQ_FLOAT : declared->dtype;
    if (want != NNQ_UNDEFINED && given->dtype != want)
        return nnq_fail(NNQ_ERR_INVALID, "input '%s': expected element type %s, got %s", declared->name,
                        dtype_name(want), dtype_name(given->dtype));
    if (declared->rank < 0) return NNQ_OK;
    char want_dims[160], got_dims[160];
    bool match = declared->rank == given->rank;
    for (int i = 0; match && i < given->rank; i++)
        match = declared->dims[i] < 0 || declared->dims[i] == given->dims[i];
    if (!match)
        return nnq_fail(NNQ_ERR_INVALID, "input '%s': expected shape %s, got %s", declared->name,
                        dims_format(declared->dims, declared->rank, want_dims, sizeof want_dims),
                        dims_format(given->dims, given->rank, got_dims, sizeof got_dims));
    return NNQ_OK;
}

static nnq_status bind_inputs(nnq_executor *ex, const nnq_tensor *inputs, int n_inputs) {
    const nnq_graph *g = &ex->model->graph;
    for (int i = 0; i < n_inputs; i++) {
        int index = inputs[i].name ? name_map_get(&ex->slot_of, inputs[i].name) : -1;
        const nnq_value_info *declared = NULL;
        for (int k = 0; k < g->n_inputs && !declared; k++)
            if (inputs[i].name && strcmp(g->inputs[k].name, inputs[i].name) == 0) declared = &g->inputs[k];
        if (!declared)
            return nnq_fail(NNQ_ERR_INVALID, "the model has no input named '%s'",
                            inputs[i].name ? inputs[i].name : "");
        NNQ_TRY(check_input(declared, &inputs[i]));
        if (index < 0) continue; /* an input no node reads */
        tensor_free(&ex->slots[index].value);
        NNQ_TRY(tensor_copy(&ex->slots[index].value, &inputs[i]));
        for (int t = 0; t < ex->n_taps; t++)
            NNQ_TRY(ex->taps[t].on_tensor(ex->taps[t].user, NULL, ex->slots[index].name, &ex->slots[index].value));
    }
    for (int k = 0; k < g->n_inputs; k++) {
        int index = name_map_get(&ex->slot_of, g->inputs[k].name);
        if (index < 0 || ex->slots[index].value.data) continue;
        if (!ex->slots[index].constant) /* inputs that are also initializers default to their value */
            return nnq_fail(NNQ_ERR_INVALID, "input '%s' was not given", g->inputs[k].name);
    }
    return NNQ_OK;
}

static const nnq_tensor *slot_value(const nnq_executor *ex, int index) {
    const slot *s = &ex->slots[index];
    if (s->value.data) return &s->value;
    return s->constant;
}

static nnq_status run_step(nnq_executor *ex, int s, const nnq_tensor **inputs) {
    step *st = &ex->steps[s];
    const nnq_node *node = st->node;
    for (int i = 0; i < node->n_inputs; i++) {
        inputs[i] = st->input_slots[i] < 0 ? NULL : slot_value(ex, st->input_slots[i]);
        if (st->input_slots[i] >= 0 && !inputs[i])
            return nnq_fail(NNQ_ERR_INVALID, "node '%s' (%s): input '%s' has no value", node_display_name(node),
                            node->op_type, node->inputs[i]);
    }
    nnq_tensor *outputs = calloc((size_t)node->n_outputs + 1, sizeof *outputs);
    if (!outputs) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    nnq_status status = node_evaluate(st->op, st->opset, node, inputs, outputs);
    for (int o = 0; o < node->n_outputs; o++) {
        slot *out = &ex->slots[st->output_slots[o]];
        if (status == NNQ_OK) {
            tensor_free(&out->value);
            out->value = outputs[o];
            for (int t = 0; t < ex->n_taps && status == NNQ_OK && *out->name; t++)
                status = ex->taps[t].on_tensor(ex->taps[t].user, node, out->name, &out->value);
        } else {
            tensor_free(&outputs[o]);
        }
    }
    free(outputs);
    return status;
}

/* Frees values whose last reader was step s, so memory follows liveness. */
static void release_dead(nnq_executor *ex, int s) {
    const step *st = &ex->steps[s];
    for (int i = 0; i < st->node->n_inputs; i++) {
        int index = st->input_slots[i];
        if (index >= 0 && ex->slots[index].last_use == s) tensor_free(&ex->slots[index].value);
    }
    for (int o = 0; o < st->node->n_outputs; o++) {
        int index = st->output_slots[o];
        if (ex->slots[index].last_use <= s) tensor_free(&ex->slots[index].value);
    }
}

nnq_status executor_run(nnq_executor *ex, const nnq_tensor *inputs, int n_inputs, nnq_tensor *outputs) {
    const nnq_graph *g = &ex->model->graph;
    for (int i = 0; i < g->n_outputs; i++) memset(&outputs[i], 0, sizeof outputs[i]);
    const nnq_tensor **step_inputs = calloc((size_t)ex->max_inputs + 1, sizeof *step_inputs);
    if (!step_inputs) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    nnq_status st = bind_inputs(ex, inputs, n_inputs);
    for (int s = 0; st == NNQ_OK && s < ex->n_steps; s++) {
        st = run_step(ex, s, step_inputs);
        if (st == NNQ_OK) release_dead(ex, s);
    }
    for (int i = 0; st == NNQ_OK && i < g->n_outputs; i++) {
        const nnq_tensor *value = slot_value(ex, ex->graph_output_slots[i]);
        if (!value) st = nnq_fail(NNQ_ERR_INVALID, "graph output '%s' was not computed", g->outputs[i].name);
        else st = tensor_copy(&outputs[i], value);
        if (st == NNQ_OK) {
            free(outputs[i].name);
            if (!(outputs[i].name = nnq_strdup(g->outputs[i].name))) st = nnq_fail(NNQ_ERR_NOMEM, "out of memory");
        }
    }
    if (st != NNQ_OK)
        for (int i = 0; i < g->n_outputs; i++) tensor_free(&outputs[i]);
    release_values(ex);
    free(step_inputs);
    return st;
}
