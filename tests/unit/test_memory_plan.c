/* The static memory planner (intq/memory_plan.h): on random buffer sets,
 * buffers whose lifetimes overlap never share a byte, offsets are aligned,
 * and the arena is at least the largest set of simultaneously live buffers
 * (computed here by brute force); reuse happens (a chain of buffers needs two
 * slots, not one per buffer); the peak matches brute force. On a hand-built
 * IntProgram: views share their source's offset, constants and (in the
 * export's scope) float tensors and the caller's input are not in the arena,
 * an op's output never overlaps its inputs, conv accumulators live only
 * during their conv. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "intq/memory_plan.h"

/* ---- random buffer sets ---- */

static uint32_t random_state = 12345;
static uint32_t random_next(void) {
    random_state = random_state * 1664525u + 1013904223u; /* Numerical Recipes' LCG */
    return random_state >> 8;
}
static int random_below(int n) { return (int)(random_next() % (uint32_t)n); }

/* The brute-force peak: at every step, the sum of the sizes of the buffers live there. */
static size_t brute_force_peak(const memory_buffer *b, int n) {
    size_t peak = 0;
    for (int step = -2; step < 64; step++) {
        size_t live = 0;
        for (int i = 0; i < n; i++)
            if (b[i].size && b[i].first <= step && step <= b[i].last) live += b[i].size;
        if (live > peak) peak = live;
    }
    return peak;
}

/* No two buffers with overlapping lifetimes share a byte; offsets aligned; all inside the arena. */
static bool placement_valid(const memory_buffer *b, int n, size_t alignment, size_t arena) {
    for (int i = 0; i < n; i++) {
        if (!b[i].size) continue;
        if (b[i].offset % alignment || b[i].offset + b[i].size > arena) return false;
        for (int j = i + 1; j < n; j++) {
            if (!b[j].size) continue;
            bool live_together = b[i].first <= b[j].last && b[j].first <= b[i].last;
            bool bytes_meet = b[i].offset < b[j].offset + b[j].size && b[j].offset < b[i].offset + b[i].size;
            if (live_together && bytes_meet) return false;
        }
    }
    return true;
}

static void test_random_sets(void) {
    enum { CASES = 500, MAX_BUFFERS = 40 };
    int valid = 0, bounded = 0, peaks = 0;
    for (int c = 0; c < CASES; c++) {
        memory_buffer b[MAX_BUFFERS];
        int n = 1 + random_below(MAX_BUFFERS);
        for (int i = 0; i < n; i++) {
            int first = random_below(30) - 1, length = random_below(8);
            size_t size = random_below(10) == 0 ? 0 : 1 + (size_t)random_below(c % 2 ? 5000 : 64);
            b[i] = (memory_buffer){size, first, first + length, 0};
        }
        size_t alignment = c % 3 == 0 ? 1 : 16, arena = 0;
        CHECK(memory_plan_place(b, n, alignment, &arena) == NNQ_OK);
        valid += placement_valid(b, n, alignment, arena);
        size_t peak = brute_force_peak(b, n);
        bounded += arena >= peak && arena % alignment == 0;
        int step;
        peaks += memory_plan_peak(b, n, &step) == peak;
    }
    CHECK_MSG(valid == CASES, "%d of %d placements valid", valid, CASES);
    CHECK_MSG(bounded == CASES, "%d of %d arenas at or above the peak", bounded, CASES);
    CHECK_MSG(peaks == CASES, "%d of %d peaks equal the brute force's", peaks, CASES);
}

/* A chain a -> b -> c -> d (each read by the next step): two slots suffice. */
static void test_chain_reuses(void) {
    memory_buffer b[4] = {{100, 0, 1, 0}, {100, 1, 2, 0}, {100, 2, 3, 0}, {100, 3, 4, 0}};
    size_t arena;
    CHECK(memory_plan_place(b, 4, 16, &arena) == NNQ_OK);
    CHECK_MSG(arena == 2 * 112, "arena %zu", arena);
    CHECK(b[0].offset == b[2].offset && b[1].offset == b[3].offset && b[0].offset != b[1].offset);
    int step;
    CHECK(memory_plan_peak(b, 4, &step) == 200 && step == 1);
    /* Size-0 buffers are not placed and take no room. */
    memory_buffer empty[2] = {{0, 0, 5, 0}, {0, 1, 2, 0}};
    CHECK(memory_plan_place(empty, 2, 16, &arena) == NNQ_OK && arena == 0);
    CHECK(memory_plan_peak(empty, 2, NULL) == 0);
}

/* ---- a hand-built program ----
 *   x (float input) -quantize-> q -conv-> c -clamp-> r ; v = view of r ; v + k (constant) -add-> s
 *   s -conv-> d -dequantize-> y (float output)                                                        */
enum { X, Q, C, R, V, K, S, D, Y, N_TENSORS };

static void add_tensor(intq_program *p, const char *name, intq_type type, int expected) {
    int64_t dims[4] = {1, 2, 4, 4};
    int index;
    CHECK(intq_program_add_tensor(p, name, type, 4, dims, &index) == NNQ_OK && index == expected);
}

static void add_op(intq_program *p, intq_op_kind kind, int n_inputs, const int *inputs, int output) {
    intq_op *op;
    CHECK(intq_program_add_op(p, kind, intq_op_kind_name(kind), &op) == NNQ_OK);
    op->n_inputs = n_inputs;
    memcpy(op->inputs, inputs, sizeof(int) * (size_t)n_inputs);
    op->output = output;
    if (kind == INTQ_OP_CONV) op->u.conv.window = (intq_window){.out_height = 4, .out_width = 4};
}

static void build_program(intq_program *p) {
    memset(p, 0, sizeof *p);
    const char *names[N_TENSORS] = {"x", "q", "c", "r", "v", "k", "s", "d", "y"};
    for (int t = 0; t < N_TENSORS; t++) add_tensor(p, names[t], t == X || t == Y ? INTQ_FLOAT32 : INTQ_INT8, t);
    p->tensors[V].storage = R;
    p->tensors[K].constant = calloc(32, 1);
    p->input = X;
    p->n_outputs = 1;
    p->outputs = calloc(1, sizeof *p->outputs);
    p->outputs[0] = Y;
    add_op(p, INTQ_OP_QUANTIZE, 1, (int[]){X}, Q);
    add_op(p, INTQ_OP_CONV, 1, (int[]){Q}, C);
    add_op(p, INTQ_OP_CLAMP, 1, (int[]){C}, R);
    add_op(p, INTQ_OP_ADD, 2, (int[]){V, K}, S);
    add_op(p, INTQ_OP_CONV, 1, (int[]){S}, D);
    add_op(p, INTQ_OP_DEQUANTIZE, 1, (int[]){D}, Y);
}

static bool ranges_meet(size_t a, size_t a_size, size_t b, size_t b_size) { return a < b + b_size && b < a + a_size; }

static size_t bytes_of(const intq_program *p, int t) {
    return (size_t)p->tensors[t].count * (p->tensors[t].type == INTQ_INT8 ? 1 : 4);
}

/* No op's output shares a byte with one of its inputs (both in the arena). */
static bool outputs_apart_from_inputs(const intq_program *p, const intq_memory_plan *plan) {
    for (int i = 0; i < p->n_ops; i++) {
        const intq_op *op = &p->ops[i];
        size_t out = plan->tensor_offsets[op->output];
        for (int k = 0; k < op->n_inputs; k++) {
            size_t in = plan->tensor_offsets[op->inputs[k]];
            if (out == INTQ_NOT_IN_ARENA || in == INTQ_NOT_IN_ARENA) continue;
            if (ranges_meet(out, bytes_of(p, op->output), in, bytes_of(p, op->inputs[k]))) return false;
        }
    }
    return true;
}

static void test_program_engine_scope(void) {
    intq_program p;
    build_program(&p);
    intq_memory_scope scope = intq_memory_scope_engine();
    intq_memory_plan plan;
    CHECK(intq_memory_plan_build(&p, &scope, &plan) == NNQ_OK);
    CHECK(plan.tensor_offsets[V] == plan.tensor_offsets[R]);
    CHECK(plan.tensor_offsets[K] == INTQ_NOT_IN_ARENA);
    CHECK(plan.tensor_offsets[X] != INTQ_NOT_IN_ARENA && plan.tensor_offsets[Y] != INTQ_NOT_IN_ARENA);
    CHECK(plan.accumulator_offsets[1] == INTQ_NOT_IN_ARENA);
    CHECK(outputs_apart_from_inputs(&p, &plan));
    /* x (128 bytes) is written before op 0 and read by op 0: it meets q there. Peak: x + q, or s + d, or d + y. */
    CHECK_MSG(plan.peak_bytes == 128 + 32, "peak %zu", plan.peak_bytes);
    CHECK(plan.arena_size >= plan.peak_bytes && plan.arena_size < plan.unshared_bytes);
    /* The engine's layout is this plan. */
    intq_program_plan_memory(&p);
    CHECK(p.arena_size == plan.arena_size);
    for (int t = 0; t < N_TENSORS; t++)
        if (plan.tensor_offsets[t] != INTQ_NOT_IN_ARENA) CHECK(p.tensors[t].offset == plan.tensor_offsets[t]);
    intq_memory_plan_free(&plan);
    intq_program_free(&p);
}

static void test_program_export_scope(void) {
    intq_program p;
    build_program(&p);
    intq_memory_scope scope = {.float_tensors = false, .external_storage = Q, .conv_accumulators = true};
    intq_memory_plan plan;
    CHECK(intq_memory_plan_build(&p, &scope, &plan) == NNQ_OK);
    CHECK(plan.tensor_offsets[X] == INTQ_NOT_IN_ARENA && plan.tensor_offsets[Y] == INTQ_NOT_IN_ARENA);
    CHECK(plan.tensor_offsets[Q] == INTQ_NOT_IN_ARENA && plan.tensor_offsets[K] == INTQ_NOT_IN_ARENA);
    CHECK(outputs_apart_from_inputs(&p, &plan));
    /* Accumulators: the convs' only (16 int32 each), apart from the conv's input and output. */
    CHECK(plan.accumulator_offsets[0] == INTQ_NOT_IN_ARENA && plan.accumulator_offsets[2] == INTQ_NOT_IN_ARENA);
    size_t acc1 = plan.accumulator_offsets[1], acc4 = plan.accumulator_offsets[4];
    CHECK(acc1 != INTQ_NOT_IN_ARENA && acc4 != INTQ_NOT_IN_ARENA);
    CHECK(!ranges_meet(acc1, 64, plan.tensor_offsets[C], 32));
    CHECK(!ranges_meet(acc4, 64, plan.tensor_offsets[S], 32) && !ranges_meet(acc4, 64, plan.tensor_offsets[D], 32));
    /* The accumulators of step 1 are dead once step 1 is done: step 4's may reuse them. */
    CHECK(acc1 % 16 == 0 && acc4 % 16 == 0);
    /* Peak: at the second conv, its input s and output d (32 bytes each) and its accumulators (64). */
    CHECK_MSG(plan.peak_bytes == 128 && plan.peak_step == 4, "peak %zu at %d", plan.peak_bytes, plan.peak_step);
    CHECK_MSG(plan.arena_size == 128, "arena %zu", plan.arena_size);
    CHECK(plan.unshared_bytes == 4 * 32 + 2 * 64);
    intq_memory_plan_free(&plan);
    intq_program_free(&p);
}

int main(void) {
    test_random_sets();
    test_chain_reuses();
    test_program_engine_scope();
    test_program_export_scope();
    return check_summary();
}
