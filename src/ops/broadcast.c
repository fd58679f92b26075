/* The broadcasting loop driver (see broadcast.h). */
#include "ops/broadcast.h"

#include <stddef.h>

#include "base/parallel.h"
#include "ops/op.h"

/* Output elements per parallel chunk: large enough that a chunk outweighs
 * the cost of locating its first element. */
#define CHUNK_ELEMENTS ((int64_t)1 << 15)

/* The iteration space after size-1 axes are dropped and contiguous neighbours
 * merged: dims of the output and, per input, strides in elements. */
typedef struct broadcast_plan {
    int rank;
    int n_in;
    int64_t dims[NNQ_MAX_RANK];
    int64_t strides[BROADCAST_MAX_INPUTS][NNQ_MAX_RANK];
    const char *in_data[BROADCAST_MAX_INPUTS];
    size_t in_size[BROADCAST_MAX_INPUTS];
    char *out_data;
    size_t out_size;
} broadcast_plan;

/* Axis `inner` can be folded into the axis before it when, for every input,
 * stepping the outer axis once equals stepping the inner one dims[inner] times. */
static bool plan_can_merge(const broadcast_plan *plan, int64_t full[][NNQ_MAX_RANK], int inner,
                           int64_t inner_dim) {
    for (int k = 0; k < plan->n_in; k++)
        if (plan->strides[k][plan->rank - 1] != full[k][inner] * inner_dim) return false;
    return true;
}

static void plan_build(broadcast_plan *plan, nnq_tensor *out, int n_in,
                       const nnq_tensor *const *in) {
    int64_t full[BROADCAST_MAX_INPUTS][NNQ_MAX_RANK];
    plan->n_in = n_in;
    plan->rank = 0;
    plan->out_data = out->data;
    plan->out_size = dtype_size(out->dtype);
    for (int k = 0; k < n_in; k++) {
        op_broadcast_strides(in[k]->dims, in[k]->rank, out->dims, out->rank, full[k]);
        plan->in_data[k] = in[k]->data;
        plan->in_size[k] = dtype_size(in[k]->dtype);
    }
    for (int d = 0; d < out->rank; d++) {
        if (out->dims[d] == 1) continue; /* contributes nothing to any offset */
        if (plan->rank > 0 && plan_can_merge(plan, full, d, out->dims[d])) {
            plan->dims[plan->rank - 1] *= out->dims[d];
            for (int k = 0; k < n_in; k++) plan->strides[k][plan->rank - 1] = full[k][d];
            continue;
        }
        plan->dims[plan->rank] = out->dims[d];
        for (int k = 0; k < n_in; k++) plan->strides[k][plan->rank] = full[k][d];
        plan->rank++;
    }
}

/* Runs the kernel over output elements [begin, end) in row-major order, one
 * call per stretch of the innermost axis. */
static void plan_run_range(const broadcast_plan *plan, int64_t begin, int64_t end,
                           broadcast_kernel kernel, const void *arg) {
    const int last = plan->rank - 1;
    int64_t index[NNQ_MAX_RANK];
    int64_t rest = begin;
    for (int d = last; d >= 0; d--) {
        index[d] = rest % plan->dims[d];
        rest /= plan->dims[d];
    }
    int64_t step[BROADCAST_MAX_INPUTS];
    for (int k = 0; k < plan->n_in; k++) step[k] = plan->rank > 0 ? plan->strides[k][last] : 0;

    for (int64_t pos = begin; pos < end;) {
        const void *in_ptr[BROADCAST_MAX_INPUTS];
        for (int k = 0; k < plan->n_in; k++) {
            int64_t offset = 0;
            for (int d = 0; d < plan->rank; d++) offset += index[d] * plan->strides[k][d];
            in_ptr[k] = plan->in_data[k] + (size_t)offset * plan->in_size[k];
        }
        int64_t count = plan->rank > 0 ? plan->dims[last] - index[last] : 1;
        if (count > end - pos) count = end - pos;
        kernel(plan->out_data + (size_t)pos * plan->out_size, in_ptr, step, count, arg);
        pos += count;
        if (plan->rank == 0) break;
        index[last] += count;
        for (int d = last; d > 0 && index[d] == plan->dims[d]; d--) {
            index[d] = 0;
            index[d - 1]++;
        }
    }
}

void broadcast_apply(nnq_tensor *out, int n_in, const nnq_tensor *const *in,
                     broadcast_kernel kernel, const void *arg) {
    int64_t total = tensor_numel(out);
    if (total <= 0 || n_in < 1 || n_in > BROADCAST_MAX_INPUTS) return;
    broadcast_plan plan;
    plan_build(&plan, out, n_in, in);
    int64_t n_chunks = (total + CHUNK_ELEMENTS - 1) / CHUNK_ELEMENTS;
    int threads = nnq_threads_for((double)total * n_in, NNQ_GRAIN_ELEMENTS, n_chunks);
    NNQ_PARALLEL_FOR(threads, (int64_t c = 0; c < n_chunks; c++), {
        int64_t begin = c * CHUNK_ELEMENTS;
        int64_t end = begin + CHUNK_ELEMENTS < total ? begin + CHUNK_ELEMENTS : total;
        plan_run_range(&plan, begin, end, kernel, arg);
    });
}

void broadcast_view_at_axis(const nnq_tensor *src, int axis, int target_rank, nnq_tensor *view) {
    *view = *src;
    view->rank = target_rank - axis;
    for (int d = src->rank; d < view->rank; d++) view->dims[d] = 1;
}
