#include "intq/memory_plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"

/* ---- placement ---- */

static bool lifetimes_overlap(const memory_buffer *a, const memory_buffer *b) {
    return a->first <= b->last && b->first <= a->last;
}

static size_t align_up(size_t value, size_t alignment) { return (value + alignment - 1) & ~(alignment - 1); }

/* A buffer in placement order: largest first; ties by first use, then by
 * index, so plans are deterministic. */
typedef struct placement_key {
    size_t size;
    int first, index;
} placement_key;

static int compare_placement_order(const void *a, const void *b) {
    const placement_key *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return x->index - y->index;
}

/* The bytes [offset, end) a placed buffer occupies. */
typedef struct occupied_range {
    size_t offset, end;
} occupied_range;

static int compare_offsets(const void *a, const void *b) {
    const occupied_range *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

nnq_status memory_plan_place(memory_buffer *buffers, int n, size_t alignment, size_t *arena_size) {
    *arena_size = 0;
    placement_key *order = malloc(sizeof *order * ((size_t)n + 1));
    occupied_range *taken = malloc(sizeof *taken * ((size_t)n + 1));
    if (!order || !taken) {
        free(order);
        free(taken);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory planning the arena of %d buffers", n);
    }
    int n_order = 0;
    for (int i = 0; i < n; i++) {
        buffers[i].offset = 0;
        if (buffers[i].size) order[n_order++] = (placement_key){buffers[i].size, buffers[i].first, i};
    }
    qsort(order, (size_t)n_order, sizeof *order, compare_placement_order);
    size_t end = 0;
    for (int k = 0; k < n_order; k++) {
        memory_buffer *b = &buffers[order[k].index];
        /* The ranges of the placed buffers b's lifetime meets, by offset: b goes in the first gap that holds it. */
        int n_taken = 0;
        for (int j = 0; j < k; j++) {
            const memory_buffer *other = &buffers[order[j].index];
            if (lifetimes_overlap(b, other)) taken[n_taken++] = (occupied_range){other->offset, other->offset + other->size};
        }
        qsort(taken, (size_t)n_taken, sizeof *taken, compare_offsets);
        size_t offset = 0;
        for (int j = 0; j < n_taken; j++) {
            if (taken[j].offset >= offset + b->size) break; /* the gap before this range holds b */
            size_t after = align_up(taken[j].end, alignment);
            if (after > offset) offset = after;
        }
        b->offset = offset;
        if (offset + b->size > end) end = offset + b->size;
    }
    free(order);
    free(taken);
    *arena_size = align_up(end, alignment);
    return NNQ_OK;
}

size_t memory_plan_peak(const memory_buffer *buffers, int n, int *step) {
    int first = INT32_MAX, last = INT32_MIN;
    for (int i = 0; i < n; i++)
        if (buffers[i].size) {
            if (buffers[i].first < first) first = buffers[i].first;
            if (buffers[i].last > last) last = buffers[i].last;
        }
    size_t peak = 0;
    if (step) *step = first == INT32_MAX ? 0 : first;
    for (int s = first; s <= last; s++) {
        size_t live = 0;
        for (int i = 0; i < n; i++)
            if (buffers[i].size && buffers[i].first <= s && s <= buffers[i].last) live += buffers[i].size;
        if (live > peak) {
            peak = live;
            if (step) *step = s;
        }
    }
    return peak;
}

/* ---- the arena of a program ---- */

intq_memory_scope intq_memory_scope_engine(void) {
    return (intq_memory_scope){.float_tensors = true, .external_storage = -1, .conv_accumulators = false};
}

static size_t element_size(intq_type type) { return type == INTQ_INT8 ? 1 : 4; }

/* Extends storage s's lifetime to include step. */
static void touch(memory_buffer *b, int step) {
    if (b->first > b->last) b->first = b->last = step; /* first touch */
    else {
        if (step < b->first) b->first = step;
        if (step > b->last) b->last = step;
    }
}

static void touch_tensor(const intq_program *p, memory_buffer *storages, int tensor, int step) {
    if (tensor >= 0 && tensor < p->n_tensors) touch(&storages[p->tensors[tensor].storage], step);
}

static bool in_arena(const intq_program *p, const intq_memory_scope *scope, int storage) {
    const intq_tensor *t = &p->tensors[storage];
    if (t->constant || storage == scope->external_storage) return false;
    return scope->float_tensors || t->type != INTQ_FLOAT32;
}

/* Buffers 0 .. n_tensors-1: one per storage (views and constants get size 0);
 * then, in the accumulators scope, one per op (size 0 except for convs). */
static void collect_lifetimes(const intq_program *p, const intq_memory_scope *scope, memory_buffer *buffers) {
    memory_buffer *storages = buffers, *accumulators = buffers + p->n_tensors;
    for (int i = 0; i < p->n_tensors; i++) storages[i] = (memory_buffer){0, 0, -1, 0}; /* untouched: first > last */
    if (scope->float_tensors) touch_tensor(p, storages, p->input, -1);
    for (int i = 0; i < p->n_ops; i++) {
        const intq_op *op = &p->ops[i];
        for (int k = 0; k < op->n_inputs; k++) touch_tensor(p, storages, op->inputs[k], i);
        touch_tensor(p, storages, op->output, i);
        if (op->kind == INTQ_OP_FLOAT_NODE)
            for (int o = 0; o < op->u.float_node.node.n_outputs && o < INTQ_MAX_OP_INPUTS; o++)
                touch_tensor(p, storages, op->u.float_node.outputs[o], i);
    }
    if (scope->float_tensors)
        for (int o = 0; o < p->n_outputs; o++) touch_tensor(p, storages, p->outputs[o], p->n_ops);
    for (int i = 0; i < p->n_tensors; i++) {
        const intq_tensor *t = &p->tensors[i];
        bool placed = t->storage == i && in_arena(p, scope, i) && storages[i].first <= storages[i].last;
        storages[i].size = placed ? (size_t)t->count * element_size(t->type) : 0;
        if (!placed) storages[i].first = storages[i].last = 0;
    }
    if (!scope->conv_accumulators) return;
    for (int i = 0; i < p->n_ops; i++) {
        const intq_op *op = &p->ops[i];
        size_t size = op->kind == INTQ_OP_CONV ? (size_t)op->u.conv.window.out_height *
                                                     (size_t)op->u.conv.window.out_width * sizeof(int32_t)
                                               : 0;
        accumulators[i] = (memory_buffer){size, i, i, 0};
    }
}

nnq_status intq_memory_plan_build(const intq_program *p, const intq_memory_scope *scope, intq_memory_plan *out) {
    memset(out, 0, sizeof *out);
    int n_buffers = p->n_tensors + (scope->conv_accumulators ? p->n_ops : 0);
    memory_buffer *buffers = calloc((size_t)n_buffers + 1, sizeof *buffers);
    out->tensor_offsets = malloc(sizeof *out->tensor_offsets * ((size_t)p->n_tensors + 1));
    out->accumulator_offsets = malloc(sizeof *out->accumulator_offsets * ((size_t)p->n_ops + 1));
    if (!buffers || !out->tensor_offsets || !out->accumulator_offsets) {
        free(buffers);
        intq_memory_plan_free(out);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory planning the arena");
    }
    out->n_tensors = p->n_tensors;
    out->n_ops = p->n_ops;
    collect_lifetimes(p, scope, buffers);
    nnq_status st = memory_plan_place(buffers, n_buffers, INTQ_ARENA_ALIGNMENT, &out->arena_size);
    if (st != NNQ_OK) {
        free(buffers);
        intq_memory_plan_free(out);
        return st;
    }
    out->peak_bytes = memory_plan_peak(buffers, n_buffers, &out->peak_step);
    for (int i = 0; i < n_buffers; i++) out->unshared_bytes += align_up(buffers[i].size, INTQ_ARENA_ALIGNMENT);
    for (int i = 0; i < p->n_tensors; i++) {
        int s = p->tensors[i].storage;
        out->tensor_offsets[i] = buffers[s].size ? buffers[s].offset : INTQ_NOT_IN_ARENA;
    }
    for (int i = 0; i < p->n_ops; i++) {
        const memory_buffer *acc = scope->conv_accumulators ? &buffers[p->n_tensors + i] : NULL;
        out->accumulator_offsets[i] = acc && acc->size ? acc->offset : INTQ_NOT_IN_ARENA;
    }
    free(buffers);
    return NNQ_OK;
}

void intq_memory_plan_free(intq_memory_plan *plan) {
    free(plan->tensor_offsets);
    free(plan->accumulator_offsets);
    memset(plan, 0, sizeof *plan);
}
