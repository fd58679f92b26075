/* The IntProgram: a quantized graph lowered to integer operations with all
 * their fixed parameters (int8 weights, int32 biases with eq. 13's zero-point
 * terms folded in, requantization multipliers/shifts, clamp bounds). The
 * integer engine interprets it; the C exporter prints it, with the same
 * kernels (kernels/intq_kernels.h), so both compute the same bits.
 *
 * A program runs ONE sample (batch 1; callers loop over the batch). Tensors
 * are int8 (8-bit grids; uint8 grids stored shifted by -128), int32, or float
 * (the program's input and outputs, and the tensors around float steps).
 * Ops run in order; views (Reshape, Flatten, ...) are no ops at all: the view
 * shares its source's storage.
 *
 * Unary elementwise ops (Tanh, Sigmoid, Exp, ...) whose input and output the
 * plan puts on 8-bit grids become INTQ_OP_LOOKUP tables (lowering.h). Parts
 * the plan leaves in float (Softmax, an elementwise op with a side that is
 * unquantized or wider than 8 bits, ...) - and nodes whose integer form is not
 * supported (Mul, broadcasting Add, asymmetric weights, ...) - become
 * INTQ_OP_FLOAT_NODE steps that run the FP32 operator on dequantized inputs
 * and quantize its outputs when the plan quantizes them: exactly what the
 * fake-quantized simulation does. Such a program is not integer-only
 * (n_float_nodes > 0); the C exporter will refuse it. */
#ifndef NNQ_INTQ_INT_PROGRAM_H
#define NNQ_INTQ_INT_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "intq/kernels/intq_kernels.h"
#include "intq/requantize.h"
#include "ir/graph.h"
#include "ops/op.h"

typedef enum intq_type { INTQ_INT8 = 0, INTQ_INT32, INTQ_FLOAT32 } intq_type;

typedef struct intq_tensor {
    char *name;             /* the graph tensor it holds */
    intq_type type;
    int rank;
    int64_t dims[NNQ_MAX_RANK]; /* one sample: the batch dimension is 1 */
    int32_t count;          /* elements */
    /* The grid of an integer tensor, in its stored form: real = scale (q - zero_point). */
    float scale;
    int32_t zero_point, q_min, q_max;
    int storage;            /* the tensor whose memory it uses: itself, or a view's source */
    size_t offset;          /* byte offset of the storage in the engine's arena (storage == itself) */
    void *constant;         /* owned data of a constant tensor (never in the arena), else NULL */
} intq_tensor;

typedef enum intq_op_kind {
    INTQ_OP_QUANTIZE = 0,   /* float -> int8 on the output's grid */
    INTQ_OP_DEQUANTIZE,     /* int8 -> float */
    INTQ_OP_CONV,
    INTQ_OP_FULLY_CONNECTED,
    INTQ_OP_ADD,
    INTQ_OP_CONCAT,
    INTQ_OP_MAXPOOL,
    INTQ_OP_AVGPOOL,
    INTQ_OP_RESCALE,        /* int8 -> int8 on another grid */
    INTQ_OP_CLAMP,          /* standalone Relu / Clip */
    INTQ_OP_LOOKUP,         /* a unary elementwise op (Tanh, Sigmoid, ...) as a 256-entry table */
    INTQ_OP_FLOAT_NODE,     /* a graph node run by the FP32 operator */
    INTQ_OP_KIND_COUNT
} intq_op_kind;

enum { INTQ_MAX_OP_INPUTS = 16 };

/* The requantization of an op's output: rescales per channel and the output stage. */
typedef struct intq_output_stage {
    intq_rescale_mode mode;     /* as applied: the requested mode, or fixed16 after the fallback */
    int n_rescales;
    intq_rescale *rescales;     /* owned */
    intq_requant requant;       /* points into rescales */
} intq_output_stage;

typedef struct intq_op {
    intq_op_kind kind;
    char *node_name;            /* the graph node it lowers (errors, reports) */
    int n_inputs;
    int inputs[INTQ_MAX_OP_INPUTS]; /* tensor indices */
    int output;
    intq_output_stage stage;    /* conv, fully connected, add, avgpool, rescale; concat: one per input in parts */
    union {
        struct { intq_window window; int8_t *weights; int32_t *bias; } conv;
        struct { int32_t rows, in_features, out_features; int8_t *weights; int32_t *bias; } fully_connected;
        struct { intq_rescale input_rescales[INTQ_MAX_OP_INPUTS]; intq_rescale_mode mode; int32_t left_shift; } add;
        struct { int32_t outer, inner[INTQ_MAX_OP_INPUTS]; intq_output_stage *parts; } concat;
        struct { intq_window window; int32_t count_include_pad, fraction_bits; } pool;
        struct { int32_t low, high; } clamp;
        struct { int8_t table[256]; } lookup; /* output for stored input q at table[q + 128] */
        struct {
            nnq_node node;              /* a copy of the graph node */
            const nnq_op_def *def;
            int opset;
            nnq_tensor *constants;      /* per input: a constant's (fake-quantized) value, else empty */
            int outputs[INTQ_MAX_OP_INPUTS]; /* float tensors, -1 for omitted outputs */
            char *reason;               /* why it is not lowered to integers */
        } float_node;
    } u;
} intq_op;

typedef struct intq_program {
    int n_tensors, tensor_capacity;
    intq_tensor *tensors;
    int n_ops, op_capacity;
    intq_op *ops;
    int input;                   /* the float input tensor */
    int n_outputs;
    int *outputs;                /* float output tensors, in graph output order */
    size_t arena_size;           /* bytes of activation memory one run needs */
    size_t scratch_size;         /* bytes of int32 accumulators (conv) */
    intq_rescale_mode mode;
    bool rescale_per_output;
    int n_float_nodes;           /* 0: integer-only */
} intq_program;

void intq_program_free(intq_program *program);

/* Adds a tensor (name copied; storage itself) and returns its index in *index. */
nnq_status intq_program_add_tensor(intq_program *program, const char *name, intq_type type, int rank,
                                   const int64_t *dims, int *index);
/* Appends a zeroed op of kind for node_name and returns it (valid until the next append). */
nnq_status intq_program_add_op(intq_program *program, intq_op_kind kind, const char *node_name, intq_op **out);
/* Allocates the output stage's rescales (n of them) and links its requant. */
nnq_status intq_output_stage_init(intq_output_stage *stage, int n);

/* Lays out the arena of the stored (non-view, non-constant) tensors by liveness (memory_plan.h). */
void intq_program_plan_memory(intq_program *program);

/* The op kind's name ("conv", "add", ...). */
const char *intq_op_kind_name(intq_op_kind kind);

/* Writes a human-readable listing (one line per op: kind, node, tensors,
 * grids, requantization) - for reports and debugging. */
void intq_program_describe(const intq_program *program, FILE *out);

#endif
