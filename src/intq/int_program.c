#include "intq/int_program.h"

#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "intq/memory_plan.h"

static const char *const op_kind_names[INTQ_OP_KIND_COUNT] = {
    [INTQ_OP_QUANTIZE] = "quantize",   [INTQ_OP_DEQUANTIZE] = "dequantize",
    [INTQ_OP_CONV] = "conv",           [INTQ_OP_FULLY_CONNECTED] = "fully_connected",
    [INTQ_OP_ADD] = "add",             [INTQ_OP_CONCAT] = "concat",
    [INTQ_OP_MAXPOOL] = "maxpool",     [INTQ_OP_AVGPOOL] = "avgpool",
    [INTQ_OP_RESCALE] = "rescale",     [INTQ_OP_CLAMP] = "clamp",
    [INTQ_OP_LOOKUP] = "lookup",       [INTQ_OP_FLOAT_NODE] = "float_node",
};

const char *intq_op_kind_name(intq_op_kind kind) {
    return kind >= 0 && kind < INTQ_OP_KIND_COUNT ? op_kind_names[kind] : "?";
}

static void output_stage_free(intq_output_stage *stage) {
    free(stage->rescales);
    memset(stage, 0, sizeof *stage);
}

static void op_free(intq_op *op) {
    free(op->node_name);
    output_stage_free(&op->stage);
    switch (op->kind) {
    case INTQ_OP_CONV:
        free(op->u.conv.weights);
        free(op->u.conv.bias);
        break;
    case INTQ_OP_FULLY_CONNECTED:
        free(op->u.fully_connected.weights);
        free(op->u.fully_connected.bias);
        break;
    case INTQ_OP_CONCAT:
        if (op->u.concat.parts)
            for (int i = 0; i < op->n_inputs; i++) output_stage_free(&op->u.concat.parts[i]);
        free(op->u.concat.parts);
        break;
    case INTQ_OP_FLOAT_NODE:
        if (op->u.float_node.constants)
            for (int i = 0; i < op->u.float_node.node.n_inputs; i++) tensor_free(&op->u.float_node.constants[i]);
        free(op->u.float_node.constants);
        node_free(&op->u.float_node.node);
        free(op->u.float_node.reason);
        break;
    default: break;
    }
}

void intq_program_free(intq_program *p) {
    for (int i = 0; i < p->n_tensors; i++) {
        free(p->tensors[i].name);
        free(p->tensors[i].constant);
    }
    for (int i = 0; i < p->n_ops; i++) op_free(&p->ops[i]);
    free(p->tensors);
    free(p->ops);
    free(p->outputs);
    memset(p, 0, sizeof *p);
}

nnq_status intq_program_add_tensor(intq_program *p, const char *name, intq_type type, int rank, const int64_t *dims,
                                   int *index) {
    if (p->n_tensors == p->tensor_capacity) {
        int capacity = p->tensor_capacity ? 2 * p->tensor_capacity : 32;
        intq_tensor *grown = realloc(p->tensors, sizeof *grown * (size_t)capacity);
        if (!grown) return nnq_fail(NNQ_ERR_NOMEM, "out of memory lowering tensor '%s'", name);
        p->tensors = grown;
        p->tensor_capacity = capacity;
    }
    intq_tensor *t = &p->tensors[p->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = nnq_strdup(name);
    if (!t->name) return nnq_fail(NNQ_ERR_NOMEM, "out of memory lowering tensor '%s'", name);
    t->type = type;
    t->rank = rank;
    int64_t count = 1;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        count *= dims[i];
    }
    if (count < 0 || count > INT32_MAX) {
        free(t->name);
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "tensor '%s': %lld elements per sample do not fit the int32 sizes of "
                        "the integer kernels", name, (long long)count);
    }
    t->count = (int32_t)count;
    t->scale = 1.0f;
    t->storage = p->n_tensors;
    *index = p->n_tensors++;
    return NNQ_OK;
}

nnq_status intq_program_add_op(intq_program *p, intq_op_kind kind, const char *node_name, intq_op **out) {
    if (p->n_ops == p->op_capacity) {
        int capacity = p->op_capacity ? 2 * p->op_capacity : 32;
        intq_op *grown = realloc(p->ops, sizeof *grown * (size_t)capacity);
        if (!grown) return nnq_fail(NNQ_ERR_NOMEM, "out of memory lowering node '%s'", node_name);
        p->ops = grown;
        p->op_capacity = capacity;
    }
    intq_op *op = &p->ops[p->n_ops];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->node_name = nnq_strdup(node_name);
    if (!op->node_name) return nnq_fail(NNQ_ERR_NOMEM, "out of memory lowering node '%s'", node_name);
    p->n_ops++;
    *out = op;
    return NNQ_OK;
}

nnq_status intq_output_stage_init(intq_output_stage *stage, int n) {
    stage->rescales = calloc((size_t)n, sizeof *stage->rescales);
    if (!stage->rescales) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    stage->n_rescales = n;
    stage->requant.n_channels = n;
    stage->requant.rescales = stage->rescales;
    return NNQ_OK;
}

/* The engine's arena: laid out by tensor liveness with reuse (memory_plan.h).
 * Should planning run out of memory, one region per stored tensor - larger,
 * but just as correct. */
void intq_program_plan_memory(intq_program *p) {
    intq_memory_scope scope = intq_memory_scope_engine();
    intq_memory_plan plan;
    if (intq_memory_plan_build(p, &scope, &plan) == NNQ_OK) {
        for (int i = 0; i < p->n_tensors; i++)
            p->tensors[i].offset = plan.tensor_offsets[i] == INTQ_NOT_IN_ARENA ? 0 : plan.tensor_offsets[i];
        p->arena_size = plan.arena_size;
        intq_memory_plan_free(&plan);
        return;
    }
    size_t offset = 0;
    for (int i = 0; i < p->n_tensors; i++) {
        intq_tensor *t = &p->tensors[i];
        if (t->storage != i || t->constant) continue;
        t->offset = offset;
        size_t bytes = (size_t)t->count * (t->type == INTQ_INT8 ? 1 : 4);
        offset += (bytes + INTQ_ARENA_ALIGNMENT - 1) / INTQ_ARENA_ALIGNMENT * INTQ_ARENA_ALIGNMENT;
    }
    p->arena_size = offset;
    for (int i = 0; i < p->n_tensors; i++) p->tensors[i].offset = p->tensors[p->tensors[i].storage].offset;
}

static void describe_stage(const intq_output_stage *s, FILE *out) {
    if (!s->n_rescales) return;
    const intq_rescale *r = &s->rescales[0];
    fprintf(out, " requant %s x%d [m0 %.6g = %d * 2^-%d] out z %d clamp [%d, %d]",
            intq_rescale_mode_info_of(s->mode)->name, s->n_rescales, intq_rescale_value(r), r->multiplier, r->shift,
            s->requant.output_zero_point, s->requant.output_min, s->requant.output_max);
}

void intq_program_describe(const intq_program *p, FILE *out) {
    static const char *const type_names[] = {"int8", "int32", "float"};
    for (int i = 0; i < p->n_ops; i++) {
        const intq_op *op = &p->ops[i];
        const intq_tensor *y = &p->tensors[op->output];
        fprintf(out, "%3d %-15s %-28s ->%s %s", i, intq_op_kind_name(op->kind), op->node_name, y->name,
                type_names[y->type]);
        if (y->type == INTQ_INT8) fprintf(out, " (s %.6g z %d)", y->scale, y->zero_point);
        describe_stage(&op->stage, out);
        if (op->kind == INTQ_OP_LOOKUP) { /* the table's ends: f at the input grid's lowest and highest values */
            const intq_tensor *x = &p->tensors[op->inputs[0]];
            fprintf(out, " table [%d .. %d]", op->u.lookup.table[x->q_min + 128], op->u.lookup.table[x->q_max + 128]);
        }
        fputc('\n', out);
    }
}
