/* The static memory plan of an integer program: one arena for the tensors a
 * run computes, laid out by tensor liveness with buffer reuse. The integer
 * engine and the C export both use it (with different scopes, below).
 *
 * A buffer lives from the step that first writes it to the step that last
 * reads it, both included; two buffers may share bytes only when their
 * lifetimes are disjoint. As an op's inputs are read at the op's own step and
 * its output is written there, an op's output never overlaps its inputs (no
 * kernel works in place). Views share their source's storage (one buffer);
 * constants are not in the arena.
 *
 * Placement is "greedy by size" (TensorFlow Lite Micro's planner; Pisarchyk
 * and Lee, "Efficient memory management for deep neural net inference", 2020):
 * the largest buffer first, each at the lowest aligned offset that no placed
 * buffer with an overlapping lifetime uses. (Largest size x lifetime first and
 * program order were tried too: never smaller on the bundled models.) No
 * layout can use less than the
 * largest sum of simultaneously live buffers (the peak), which is reported as
 * the lower bound. */
#ifndef NNQ_INTQ_MEMORY_PLAN_H
#define NNQ_INTQ_MEMORY_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "intq/int_program.h"

/* Every buffer's offset is a multiple of this (int32 accumulators, and
 * vector loads in later kernels). */
enum { INTQ_ARENA_ALIGNMENT = 16 };

/* Offset meaning "not in the arena". */
#define INTQ_NOT_IN_ARENA ((size_t)-1)

/* ---- buffers with lifetimes (the layout problem itself) ---- */

typedef struct memory_buffer {
    size_t size;        /* bytes; 0: never placed */
    int first, last;    /* lifetime: first write .. last read, steps included (first <= last) */
    size_t offset;      /* set by memory_plan_place */
} memory_buffer;

/* Sets every buffer's offset (a multiple of alignment, a power of two) so
 * that buffers with overlapping lifetimes never share a byte; *arena_size is
 * the end of the highest buffer, rounded up to alignment. */
nnq_status memory_plan_place(memory_buffer *buffers, int n, size_t alignment, size_t *arena_size);

/* The largest sum of the sizes of buffers live at one step (the lower bound
 * of any placement) and the first step where it occurs (*step; may be NULL). */
size_t memory_plan_peak(const memory_buffer *buffers, int n, int *step);

/* ---- the arena of a program ---- */

typedef struct intq_memory_scope {
    /* Float tensors are in the arena (the engine's float input and outputs).
     * Without it (the C export) only integer tensors are, and the float
     * boundary - the input's quantize step, the outputs' dequantize steps -
     * is the caller's business. */
    bool float_tensors;
    /* A storage held by the caller rather than the arena (the C export's
     * quantized input), -1 for none. */
    int external_storage;
    /* Each conv's int32 accumulators are an arena buffer live during the
     * conv only (the C export); otherwise the caller provides them
     * (program->scratch_size bytes, the engine). */
    bool conv_accumulators;
} intq_memory_scope;

typedef struct intq_memory_plan {
    int n_tensors, n_ops;
    size_t *tensor_offsets;      /* per tensor: its storage's offset, or INTQ_NOT_IN_ARENA */
    size_t *accumulator_offsets; /* per op: the conv accumulators' offset, or INTQ_NOT_IN_ARENA */
    size_t arena_size;           /* bytes */
    size_t peak_bytes;           /* lower bound: the largest set of simultaneously live buffers */
    size_t unshared_bytes;       /* without reuse: one aligned region per buffer */
    int peak_step;               /* an op where the peak occurs (-1: before the first op) */
} intq_memory_plan;

/* The engine's scope: every non-constant tensor; accumulators outside. */
intq_memory_scope intq_memory_scope_engine(void);

/* Plans the arena of program p for scope. Lifetimes: a storage lives from
 * the first op writing it to the last op reading it; in the engine's scope
 * the program input is written before op 0 and the float outputs are read
 * after the last op. */
nnq_status intq_memory_plan_build(const intq_program *p, const intq_memory_scope *scope, intq_memory_plan *out);
void intq_memory_plan_free(intq_memory_plan *plan);

#endif
