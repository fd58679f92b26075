#include "run/simulation.h"

#include <stdlib.h>
#include <string.h>

#include "base/name_map.h"
#include "base/status.h"
#include "ir/graph_order.h"
#include "ir/model_copy.h"
#include "quant/quantize_tensor.h"

struct nnq_simulation {
    nnq_model model;
    const nnq_plan *plan;
    name_map activation_quantizers; /* tensor name -> index in plan */
    bool rounding;
    nnq_executor *executor;
};

static nnq_status fake_quantize_activation(void *user, const nnq_node *node, const char *name, nnq_tensor *value) {
    (void)node;
    nnq_simulation *sim = user;
    int index = name_map_get(&sim->activation_quantizers, name);
    if (index < 0) return NNQ_OK;
    const nnq_quantizer *q = &sim->plan->quantizers[index];
    NNQ_TRY(quantizer_check_tensor(q, value));
    quantizer_fake_quantize(q, value, sim->rounding);
    return NNQ_OK;
}

/* A plan made for another graph would quietly simulate nothing: every
 * activation it names must be computed by a node or fed as an input. */
static nnq_status check_activation_exists(const nnq_model *model, const name_map *producers, const nnq_quantizer *q) {
    if (name_map_get(producers, q->tensor) >= 0 || graph_is_input(&model->graph, q->tensor) ||
        graph_find_initializer(&model->graph, q->tensor))
        return NNQ_OK;
    return nnq_fail(NNQ_ERR_INVALID, "the plan quantizes tensor '%s', which this model does not have", q->tensor);
}

/* Weights and biases are constants: quantize-dequantize them once in the copy. */
static nnq_status fake_quantize_constants(nnq_simulation *sim) {
    name_map producers;
    NNQ_TRY(graph_map_producers(&sim->model.graph, &producers));
    nnq_status st = NNQ_OK;
    for (int i = 0; st == NNQ_OK && i < sim->plan->n_quantizers; i++)
        if (sim->plan->quantizers[i].role == NNQ_ROLE_ACTIVATION)
            st = check_activation_exists(&sim->model, &producers, &sim->plan->quantizers[i]);
    name_map_free(&producers);
    NNQ_TRY(st);
    for (int i = 0; i < sim->plan->n_quantizers; i++) {
        const nnq_quantizer *q = &sim->plan->quantizers[i];
        int index = graph_find_initializer_index(&sim->model.graph, q->tensor);
        if (q->role == NNQ_ROLE_ACTIVATION) {
            NNQ_TRY(name_map_put(&sim->activation_quantizers, q->tensor, i));
            if (index < 0) continue;
        }
        if (index < 0)
            return nnq_fail(NNQ_ERR_INVALID, "plan quantizes '%s' as a %s, but the model has no such initializer",
                            q->tensor, q->role == NNQ_ROLE_BIAS ? "bias" : "weight");
        nnq_tensor *t = &sim->model.graph.initializers[index];
        NNQ_TRY(quantizer_check_tensor(q, t));
        quantizer_fake_quantize(q, t, sim->rounding);
    }
    return NNQ_OK;
}

nnq_status simulation_create(const nnq_model *model, const nnq_plan *plan, bool rounding, nnq_simulation **out) {
    *out = NULL;
    nnq_simulation *sim = calloc(1, sizeof *sim);
    if (!sim) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    sim->plan = plan;
    sim->rounding = rounding;
    nnq_status st = model_copy(&sim->model, model);
    if (st == NNQ_OK) st = name_map_init(&sim->activation_quantizers, (size_t)plan->n_quantizers);
    if (st == NNQ_OK) st = fake_quantize_constants(sim);
    if (st == NNQ_OK) st = executor_create(&sim->model, &sim->executor);
    if (st == NNQ_OK) st = executor_add_tap(sim->executor, (nnq_tap){fake_quantize_activation, sim});
    if (st != NNQ_OK) {
        simulation_free(sim);
        return st;
    }
    *out = sim;
    return NNQ_OK;
}

void simulation_free(nnq_simulation *sim) {
    if (!sim) return;
    executor_free(sim->executor);
    name_map_free(&sim->activation_quantizers);
    model_free(&sim->model);
    free(sim);
}

nnq_executor *simulation_executor(nnq_simulation *sim) { return sim->executor; }
const nnq_model *simulation_model(const nnq_simulation *sim) { return &sim->model; }
