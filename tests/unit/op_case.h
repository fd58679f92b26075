/* One operator node run in isolation, as the executor runs it (infer, allocate,
 * run), for tests against hand-computed values. Attribute names and tensor
 * names are borrowed string literals; inputs are created by the test. */
#ifndef NNQ_TESTS_OP_CASE_H
#define NNQ_TESTS_OP_CASE_H

#include <string.h>

#include "ops/op.h"

#define OP_CASE_MAX_OPERANDS 9
#define OP_CASE_MAX_ATTRS 8

typedef struct op_case {
    nnq_node node;
    nnq_attr attrs[OP_CASE_MAX_ATTRS];
    char *input_names[OP_CASE_MAX_OPERANDS], *output_names[OP_CASE_MAX_OPERANDS];
    nnq_tensor inputs[OP_CASE_MAX_OPERANDS], outputs[OP_CASE_MAX_OPERANDS];
    const nnq_tensor *input_ptrs[OP_CASE_MAX_OPERANDS];
} op_case;

static inline void case_init(op_case *c, const char *op_type, int n_inputs, int n_outputs) {
    memset(c, 0, sizeof *c);
    c->node.op_type = (char *)op_type;
    c->node.name = (char *)"test";
    c->node.domain = (char *)"";
    c->node.n_inputs = n_inputs;
    c->node.n_outputs = n_outputs;
    c->node.inputs = c->input_names;
    c->node.outputs = c->output_names;
    c->node.attrs = c->attrs;
    for (int i = 0; i < OP_CASE_MAX_OPERANDS; i++) {
        c->input_names[i] = (char *)"in";
        c->output_names[i] = (char *)"out";
    }
}

static inline nnq_attr *case_attr(op_case *c, const char *name, nnq_attr_type type) {
    nnq_attr *a = &c->attrs[c->node.n_attrs++];
    a->name = (char *)name;
    a->type = type;
    return a;
}

static inline void case_attr_int(op_case *c, const char *name, int64_t value) { case_attr(c, name, NNQ_ATTR_INT)->i = value; }
static inline void case_attr_float(op_case *c, const char *name, float value) { case_attr(c, name, NNQ_ATTR_FLOAT)->f = value; }

/* Input i with the given values (exactly representable in dtype). */
static inline void case_input(op_case *c, int i, nnq_dtype dtype, int rank, const int64_t *dims, const double *values) {
    tensor_create(&c->inputs[i], dtype, rank, dims);
    for (int64_t e = 0; e < tensor_numel(&c->inputs[i]); e++) tensor_set_double(&c->inputs[i], e, values[e]);
    c->input_ptrs[i] = &c->inputs[i];
}

static inline nnq_status case_run(op_case *c, int opset) {
    const nnq_op_def *def = op_registry_find("", c->node.op_type, opset);
    if (!def) return NNQ_ERR_UNSUPPORTED;
    nnq_op_context ctx = {.node = &c->node, .opset = opset, .n_inputs = c->node.n_inputs, .inputs = c->input_ptrs,
                          .n_outputs = c->node.n_outputs, .outputs = c->outputs};
    NNQ_TRY(def->infer(&ctx));
    for (int i = 0; i < c->node.n_outputs; i++) NNQ_TRY(tensor_alloc(&c->outputs[i]));
    return def->run(&ctx);
}

static inline void case_free(op_case *c) {
    for (int i = 0; i < OP_CASE_MAX_OPERANDS; i++) {
        tensor_free(&c->inputs[i]);
        tensor_free(&c->outputs[i]);
    }
}

#endif
