#include "intq/int8_interface.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"

enum { MESSAGE_BYTES = 1024 };

/* "Tanh '/Tanh' (reason), ..." for the float steps (the first ones that fit). */
static void list_float_steps(const intq_program *p, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < p->n_ops && used < size; i++) {
        const intq_op *op = &p->ops[i];
        if (op->kind != INTQ_OP_FLOAT_NODE) continue;
        used += (size_t)snprintf(buf + used, size - used, "%s%s '%s' (%s)", used ? ", " : "",
                                 op->u.float_node.node.op_type, op->node_name,
                                 op->u.float_node.reason ? op->u.float_node.reason : "not lowered");
    }
}

static nnq_status find_input(const intq_program *p, intq_int8_interface *io) {
    io->input_op = -1;
    int input_storage = p->tensors[p->input].storage;
    for (int i = 0; i < p->n_ops; i++) {
        const intq_op *op = &p->ops[i];
        if (op->kind != INTQ_OP_QUANTIZE) continue;
        if (p->tensors[op->inputs[0]].storage != input_storage)
            return nnq_fail(NNQ_ERR_UNSUPPORTED, "step %d quantizes '%s', which is not the program input '%s'", i,
                            p->tensors[op->inputs[0]].name, p->tensors[p->input].name);
        if (io->input_op >= 0)
            return nnq_fail(NNQ_ERR_UNSUPPORTED, "the input '%s' is quantized twice (steps %d and %d)",
                            p->tensors[p->input].name, io->input_op, i);
        io->input_op = i;
        io->input = op->output;
    }
    if (io->input_op < 0)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "the input '%s' is never quantized (the plan gives it no 8-bit grid)",
                        p->tensors[p->input].name);
    return NNQ_OK;
}

static nnq_status find_outputs(const intq_program *p, intq_int8_interface *io) {
    for (int o = 0; o < p->n_outputs; o++) {
        io->output_ops[o] = -1;
        for (int i = 0; i < p->n_ops; i++)
            if (p->ops[i].kind == INTQ_OP_DEQUANTIZE && p->ops[i].output == p->outputs[o]) io->output_ops[o] = i;
        if (io->output_ops[o] < 0)
            return nnq_fail(NNQ_ERR_UNSUPPORTED, "output '%s' is not dequantized from an int8 tensor",
                            p->tensors[p->outputs[o]].name);
        io->outputs[o] = p->ops[io->output_ops[o]].inputs[0];
    }
    return NNQ_OK;
}

nnq_status intq_int8_interface_find(const intq_program *p, intq_int8_interface *out) {
    memset(out, 0, sizeof *out);
    if (p->n_float_nodes > 0) {
        char steps[MESSAGE_BYTES];
        list_float_steps(p, steps, sizeof steps);
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "the integer program is not integer-only: %d node%s run%s in float: %s",
                        p->n_float_nodes, p->n_float_nodes == 1 ? "" : "s", p->n_float_nodes == 1 ? "s" : "", steps);
    }
    out->n_outputs = p->n_outputs;
    out->output_ops = calloc((size_t)p->n_outputs + 1, sizeof *out->output_ops);
    out->outputs = calloc((size_t)p->n_outputs + 1, sizeof *out->outputs);
    nnq_status st = out->output_ops && out->outputs ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st == NNQ_OK) st = find_input(p, out);
    if (st == NNQ_OK) st = find_outputs(p, out);
    if (st != NNQ_OK) intq_int8_interface_free(out);
    return st;
}

void intq_int8_interface_free(intq_int8_interface *io) {
    free(io->output_ops);
    free(io->outputs);
    memset(io, 0, sizeof *io);
}
