#include "intq/engine.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "run/node_eval.h"

/* One worker's memory: the arena of activations and the conv accumulators. */
enum { MAX_OUTPUTS = 64 };

typedef struct engine_memory {
    unsigned char *arena;
    int32_t *scratch;
} engine_memory;

struct nnq_int_engine {
    const intq_program *program;
    int n_workers;
    engine_memory *workers;
};

/* ---- one op on one sample ---- */

typedef struct op_run {
    const intq_program *program;
    const intq_op *op;
    engine_memory *memory;
} op_run;

static void *tensor_data(const op_run *r, int index) {
    const intq_tensor *t = &r->program->tensors[index];
    return t->constant ? t->constant : r->memory->arena + t->offset;
}
static const intq_tensor *tensor_info(const op_run *r, int index) { return &r->program->tensors[index]; }
static int8_t *int8_at(const op_run *r, int index) { return tensor_data(r, index); }
static float *float_at(const op_run *r, int index) { return tensor_data(r, index); }

static nnq_status run_quantize(const op_run *r) {
    const intq_tensor *y = tensor_info(r, r->op->output);
    quantize_f32_s8(float_at(r, r->op->inputs[0]), y->count, y->scale, y->zero_point, y->q_min, y->q_max,
                    int8_at(r, r->op->output));
    return NNQ_OK;
}

static nnq_status run_dequantize(const op_run *r) {
    const intq_tensor *x = tensor_info(r, r->op->inputs[0]);
    dequantize_s8_f32(int8_at(r, r->op->inputs[0]), x->count, x->scale, x->zero_point, float_at(r, r->op->output));
    return NNQ_OK;
}

static nnq_status run_conv(const op_run *r) {
    const intq_op *op = r->op;
    conv_s8(&op->u.conv.window, int8_at(r, op->inputs[0]), tensor_info(r, op->inputs[0])->zero_point,
            op->u.conv.weights, op->u.conv.bias, &op->stage.requant, r->memory->scratch, int8_at(r, op->output));
    return NNQ_OK;
}

static nnq_status run_fully_connected(const op_run *r) {
    const intq_op *op = r->op;
    fully_connected_s8(op->u.fully_connected.rows, op->u.fully_connected.in_features,
                       op->u.fully_connected.out_features, int8_at(r, op->inputs[0]), op->u.fully_connected.weights,
                       op->u.fully_connected.bias, &op->stage.requant, int8_at(r, op->output));
    return NNQ_OK;
}

static nnq_status run_add(const op_run *r) {
    const intq_op *op = r->op;
    const int8_t *inputs[INTQ_MAX_OP_INPUTS];
    int32_t zero_points[INTQ_MAX_OP_INPUTS];
    for (int i = 0; i < op->n_inputs; i++) {
        inputs[i] = int8_at(r, op->inputs[i]);
        zero_points[i] = tensor_info(r, op->inputs[i])->zero_point;
    }
    add_s8(op->n_inputs, inputs, zero_points, op->u.add.input_rescales, op->u.add.left_shift,
           tensor_info(r, op->output)->count, &op->stage.requant, int8_at(r, op->output));
    return NNQ_OK;
}

/* Output block o holds, for each input in turn, its inner[i] values of outer index o. */
static nnq_status run_concat(const op_run *r) {
    const intq_op *op = r->op;
    int8_t *out = int8_at(r, op->output);
    for (int32_t o = 0; o < op->u.concat.outer; o++)
        for (int i = 0; i < op->n_inputs; i++) {
            int32_t inner = op->u.concat.inner[i];
            rescale_s8(int8_at(r, op->inputs[i]) + o * inner, inner, tensor_info(r, op->inputs[i])->zero_point,
                       &op->u.concat.parts[i].requant, out);
            out += inner;
        }
    return NNQ_OK;
}

static nnq_status run_maxpool(const op_run *r) {
    maxpool_s8(&r->op->u.pool.window, int8_at(r, r->op->inputs[0]), int8_at(r, r->op->output));
    return NNQ_OK;
}

static nnq_status run_avgpool(const op_run *r) {
    const intq_op *op = r->op;
    avgpool_s8(&op->u.pool.window, int8_at(r, op->inputs[0]), tensor_info(r, op->inputs[0])->zero_point,
               op->u.pool.count_include_pad, op->u.pool.fraction_bits, &op->stage.requant, int8_at(r, op->output));
    return NNQ_OK;
}

static nnq_status run_rescale(const op_run *r) {
    const intq_tensor *x = tensor_info(r, r->op->inputs[0]);
    rescale_s8(int8_at(r, r->op->inputs[0]), x->count, x->zero_point, &r->op->stage.requant, int8_at(r, r->op->output));
    return NNQ_OK;
}

static nnq_status run_clamp(const op_run *r) {
    clamp_s8(int8_at(r, r->op->inputs[0]), tensor_info(r, r->op->inputs[0])->count, r->op->u.clamp.low,
             r->op->u.clamp.high, int8_at(r, r->op->output));
    return NNQ_OK;
}

static nnq_status run_lookup(const op_run *r) {
    lookup_s8(int8_at(r, r->op->inputs[0]), tensor_info(r, r->op->inputs[0])->count, r->op->u.lookup.table,
              int8_at(r, r->op->output));
    return NNQ_OK;
}

/* A node in float: the FP32 operator on arena tensors (borrowed, never freed here). */
static nnq_status run_float_node(const op_run *r) {
    const intq_op *op = r->op;
    const nnq_node *node = &op->u.float_node.node;
    nnq_tensor views[INTQ_MAX_OP_INPUTS], outputs[INTQ_MAX_OP_INPUTS];
    const nnq_tensor *inputs[INTQ_MAX_OP_INPUTS];
    memset(outputs, 0, sizeof outputs);
    for (int i = 0; i < node->n_inputs; i++) {
        inputs[i] = NULL;
        if (op->u.float_node.constants[i].data) inputs[i] = &op->u.float_node.constants[i];
        else if (op->inputs[i] >= 0) {
            const intq_tensor *t = tensor_info(r, op->inputs[i]);
            views[i] = (nnq_tensor){NULL, NNQ_FLOAT, t->rank, {0}, float_at(r, op->inputs[i])};
            memcpy(views[i].dims, t->dims, sizeof t->dims);
            inputs[i] = &views[i];
        }
    }
    NNQ_TRY(node_evaluate(op->u.float_node.def, op->u.float_node.opset, node, inputs, outputs));
    nnq_status st = NNQ_OK;
    for (int o = 0; o < node->n_outputs; o++) {
        int index = op->u.float_node.outputs[o];
        if (index < 0) continue;
        const intq_tensor *t = tensor_info(r, index);
        if (outputs[o].dtype != NNQ_FLOAT || tensor_numel(&outputs[o]) != t->count)
            st = nnq_fail(NNQ_ERR_INVALID, "node '%s': output '%s' is not the float tensor of %d values the lowering "
                          "expected", op->node_name, t->name, t->count);
        else memcpy(float_at(r, index), outputs[o].data, sizeof(float) * (size_t)t->count);
    }
    for (int o = 0; o < node->n_outputs; o++) tensor_free(&outputs[o]);
    return st;
}

typedef nnq_status (*op_runner)(const op_run *r);

static const op_runner runners[INTQ_OP_KIND_COUNT] = {
    [INTQ_OP_QUANTIZE] = run_quantize,   [INTQ_OP_DEQUANTIZE] = run_dequantize,
    [INTQ_OP_CONV] = run_conv,           [INTQ_OP_FULLY_CONNECTED] = run_fully_connected,
    [INTQ_OP_ADD] = run_add,             [INTQ_OP_CONCAT] = run_concat,
    [INTQ_OP_MAXPOOL] = run_maxpool,     [INTQ_OP_AVGPOOL] = run_avgpool,
    [INTQ_OP_RESCALE] = run_rescale,     [INTQ_OP_CLAMP] = run_clamp,
    [INTQ_OP_LOOKUP] = run_lookup,       [INTQ_OP_FLOAT_NODE] = run_float_node,
};

/* ---- samples and batches ---- */

static nnq_status run_sample(const intq_program *p, engine_memory *memory, const float *input, float *const *outputs) {
    op_run r = {p, NULL, memory};
    memcpy(float_at(&r, p->input), input, sizeof(float) * (size_t)p->tensors[p->input].count);
    for (int i = 0; i < p->n_ops; i++) {
        r.op = &p->ops[i];
        nnq_status st = runners[r.op->kind](&r);
        if (st != NNQ_OK) return nnq_fail_context(st, "integer engine, step %d (%s)", i, intq_op_kind_name(r.op->kind));
    }
    for (int o = 0; o < p->n_outputs; o++)
        memcpy(outputs[o], float_at(&r, p->outputs[o]), sizeof(float) * (size_t)p->tensors[p->outputs[o]].count);
    return NNQ_OK;
}

nnq_status int_engine_create(const intq_program *program, nnq_int_engine **out) {
    *out = NULL;
    nnq_int_engine *e = calloc(1, sizeof *e);
    if (!e) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (program->n_outputs > MAX_OUTPUTS) {
        free(e);
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "the integer engine handles at most %d outputs", MAX_OUTPUTS);
    }
    e->program = program;
    e->n_workers = program->n_float_nodes ? 1 : omp_get_max_threads();
    e->workers = calloc((size_t)e->n_workers, sizeof *e->workers);
    if (!e->workers) {
        free(e);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    }
    for (int w = 0; w < e->n_workers; w++) {
        e->workers[w].arena = malloc(program->arena_size + 1);
        e->workers[w].scratch = malloc(program->scratch_size + sizeof(int32_t));
        if (!e->workers[w].arena || !e->workers[w].scratch) {
            int_engine_free(e);
            return nnq_fail(NNQ_ERR_NOMEM, "out of memory for the integer engine's arena (%zu bytes)",
                            program->arena_size);
        }
    }
    *out = e;
    return NNQ_OK;
}

void int_engine_free(nnq_int_engine *e) {
    if (!e) return;
    for (int w = 0; w < e->n_workers; w++) {
        free(e->workers[w].arena);
        free(e->workers[w].scratch);
    }
    free(e->workers);
    free(e);
}

static nnq_status create_outputs(const intq_program *p, int64_t batch, nnq_tensor *outputs) {
    for (int o = 0; o < p->n_outputs; o++) {
        const intq_tensor *t = &p->tensors[p->outputs[o]];
        int64_t dims[NNQ_MAX_RANK];
        memcpy(dims, t->dims, sizeof dims);
        int rank = t->rank;
        if (rank >= 1 && dims[0] == 1) dims[0] = batch;
        else return nnq_fail(NNQ_ERR_UNSUPPORTED, "output '%s' has no batch dimension", t->name);
        memset(&outputs[o], 0, sizeof outputs[o]);
        NNQ_TRY(tensor_create(&outputs[o], NNQ_FLOAT, rank, dims));
        outputs[o].name = nnq_strdup(t->name);
        if (!outputs[o].name) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    }
    return NNQ_OK;
}

nnq_status int_engine_run(nnq_int_engine *e, const nnq_tensor *input, nnq_tensor *outputs) {
    const intq_program *p = e->program;
    const intq_tensor *in = &p->tensors[p->input];
    int64_t batch = input->rank >= 1 ? input->dims[0] : 0;
    if (input->dtype != NNQ_FLOAT || batch < 1 || tensor_numel(input) != batch * in->count)
        return nnq_fail(NNQ_ERR_INVALID, "input '%s': the integer engine expects float samples of %d values", in->name,
                        in->count);
    nnq_status st = create_outputs(p, batch, outputs);
    if (st != NNQ_OK) {
        for (int o = 0; o < p->n_outputs; o++) tensor_free(&outputs[o]);
        return st;
    }
    if (e->n_workers == 1) {
        for (int64_t b = 0; st == NNQ_OK && b < batch; b++) {
            float *sample_outputs[MAX_OUTPUTS];
            for (int o = 0; o < p->n_outputs; o++)
                sample_outputs[o] = (float *)outputs[o].data + b * p->tensors[p->outputs[o]].count;
            st = run_sample(p, &e->workers[0], (const float *)input->data + b * in->count, sample_outputs);
        }
    } else { /* integer-only: nothing can fail */
#pragma omp parallel for num_threads(e->n_workers) schedule(dynamic, 1)
        for (int64_t b = 0; b < batch; b++) {
            float *sample_outputs[MAX_OUTPUTS];
            for (int o = 0; o < p->n_outputs; o++)
                sample_outputs[o] = (float *)outputs[o].data + b * p->tensors[p->outputs[o]].count;
            run_sample(p, &e->workers[omp_get_thread_num()], (const float *)input->data + b * in->count,
                       sample_outputs);
        }
    }
    if (st != NNQ_OK)
        for (int o = 0; o < p->n_outputs; o++) tensor_free(&outputs[o]);
    return st;
}

nnq_status int_engine_run_callback(void *engine, const nnq_tensor *inputs, int n_inputs, nnq_tensor *outputs) {
    if (n_inputs != 1) return nnq_fail(NNQ_ERR_USAGE, "the integer engine takes exactly one input");
    return int_engine_run(engine, inputs, outputs);
}

nnq_status int_engine_run_int8(nnq_int_engine *e, const intq_int8_interface *io, const int8_t *input,
                               int8_t *const *outputs) {
    const intq_program *p = e->program;
    op_run r = {p, NULL, &e->workers[0]};
    for (int i = 0; i < p->n_ops; i++) {
        r.op = &p->ops[i];
        if (i == io->input_op) { /* the caller's int8 input instead of quantizing a float one */
            memcpy(int8_at(&r, r.op->output), input, (size_t)tensor_info(&r, r.op->output)->count);
            continue;
        }
        if (r.op->kind == INTQ_OP_DEQUANTIZE) { /* an output's int8 values, taken where they would be dequantized */
            for (int o = 0; o < io->n_outputs; o++)
                if (io->output_ops[o] == i)
                    memcpy(outputs[o], int8_at(&r, io->outputs[o]), (size_t)tensor_info(&r, io->outputs[o])->count);
            continue;
        }
        nnq_status st = runners[r.op->kind](&r);
        if (st != NNQ_OK) return nnq_fail_context(st, "integer engine, step %d (%s)", i, intq_op_kind_name(r.op->kind));
    }
    return NNQ_OK;
}
