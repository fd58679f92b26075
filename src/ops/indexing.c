/* Indexing operators: Concat, Split, Slice, Gather, GatherElements, Pad,
 * Tile and Range.
 *
 * All but Range only move elements, so they work for every stored dtype by
 * copying dtype_size bytes per element. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/movement_util.h"
#include "ops/op.h"

/* ---- shared helpers ---------------------------------------------------- */

/* A tensor seen as [outer, axis, inner] around one axis. */
typedef struct axis_split {
    int64_t outer, axis_len, inner;
} axis_split;

static axis_split split_at_axis(const int64_t *dims, int rank, int axis) {
    axis_split s = {1, dims[axis], 1};
    for (int i = 0; i < axis; i++) s.outer *= dims[i];
    for (int i = axis + 1; i < rank; i++) s.inner *= dims[i];
    return s;
}

/* Index into [0, dim) from a possibly negative index; fails when out of range. */
static nnq_status normalize_index(const nnq_op_context *ctx, int64_t index, int64_t dim, int64_t *out) {
    if (index < -dim || index >= dim)
        return op_fail(ctx, NNQ_ERR_INVALID, "index %lld is out of range for a dim of %lld",
                       (long long)index, (long long)dim);
    *out = index < 0 ? index + dim : index;
    return NNQ_OK;
}

/* ---- Concat -------------------------------------------------------------- */

static nnq_status concat_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1 << 20, 1, 1));
    const nnq_tensor *first = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    NNQ_TRY(check_movable_dtype(ctx, first));
    const nnq_attr *axis_attr = node_find_attr(ctx->node, "axis");
    if (!axis_attr) return op_fail(ctx, NNQ_ERR_INVALID, "missing 'axis' attribute");
    int rank = NNQ_UNKNOWN_RANK;
    for (int i = 0; i < ctx->n_inputs; i++) {
        const nnq_tensor *in = ctx->inputs[i];
        if (!in) return op_fail(ctx, NNQ_ERR_INVALID, "input %d is missing", i);
        if (in->dtype != first->dtype)
            return op_fail(ctx, NNQ_ERR_INVALID, "input %d is %s, input 0 is %s", i,
                           dtype_name(in->dtype), dtype_name(first->dtype));
        if (in->rank == NNQ_UNKNOWN_RANK) continue;
        if (rank != NNQ_UNKNOWN_RANK && in->rank != rank)
            return op_fail(ctx, NNQ_ERR_INVALID, "input %d has rank %d, expected %d", i, in->rank, rank);
        rank = in->rank;
    }
    if (rank == NNQ_UNKNOWN_RANK) {
        set_unknown_shape(out, first->dtype, NNQ_UNKNOWN_RANK);
        return NNQ_OK;
    }
    int axis;
    NNQ_TRY(op_normalize_axis(ctx, node_attr_int(ctx->node, "axis", 0), rank, &axis));
    set_unknown_shape(out, first->dtype, rank);
    out->dims[axis] = 0;
    for (int i = 0; i < ctx->n_inputs; i++) {
        const nnq_tensor *in = ctx->inputs[i];
        if (in->rank == NNQ_UNKNOWN_RANK) {
            out->dims[axis] = NNQ_UNKNOWN_DIM;
            continue;
        }
        for (int k = 0; k < rank; k++) {
            int64_t d = in->dims[k];
            if (k == axis) {
                if (out->dims[axis] != NNQ_UNKNOWN_DIM)
                    out->dims[axis] = d == NNQ_UNKNOWN_DIM ? NNQ_UNKNOWN_DIM : out->dims[axis] + d;
            } else if (d != NNQ_UNKNOWN_DIM) {
                if (out->dims[k] != NNQ_UNKNOWN_DIM && out->dims[k] != d)
                    return op_fail(ctx, NNQ_ERR_INVALID, "input %d has dim %lld on axis %d, expected %lld",
                                   i, (long long)d, k, (long long)out->dims[k]);
                out->dims[k] = d;
            }
        }
    }
    return NNQ_OK;
}

static nnq_status concat_run(nnq_op_context *ctx) {
    nnq_tensor *out = &ctx->outputs[0];
    int axis;
    NNQ_TRY(op_normalize_axis(ctx, node_attr_int(ctx->node, "axis", 0), out->rank, &axis));
    size_t elem = dtype_size(out->dtype);
    axis_split o = split_at_axis(out->dims, out->rank, axis);
    char *dst = out->data;
    for (int64_t outer = 0; outer < o.outer; outer++) {
        for (int i = 0; i < ctx->n_inputs; i++) {
            const nnq_tensor *in = ctx->inputs[i];
            size_t block = (size_t)(in->dims[axis] * o.inner) * elem;
            if (block == 0) continue;
            memcpy(dst, (const char *)in->data + (size_t)outer * block, block);
            dst += block;
        }
    }
    return NNQ_OK;
}

/* ---- Split --------------------------------------------------------------- */

/* Chunk sizes along the axis: given by the `split` attribute (before opset 13)
 * or input (from 13), else equal parts; from opset 18 `num_outputs` allows a
 * smaller last chunk. Sizes are -1 when not yet known. */
static nnq_status split_sizes(const nnq_op_context *ctx, int64_t dim, int64_t *sizes) {
    int n = ctx->n_outputs;
    const int64_t *given = NULL;
    int64_t count = 0;
    if (ctx->opset < 13) {
        given = node_attr_ints(ctx->node, "split", &count);
    } else if (op_input(ctx, 1)) {
        const nnq_tensor *t = op_input(ctx, 1);
        if (!t->data) {
            for (int i = 0; i < n; i++) sizes[i] = NNQ_UNKNOWN_DIM;
            return NNQ_OK;
        }
        if (tensor_numel(t) != n)
            return op_fail(ctx, NNQ_ERR_INVALID, "split has %lld values for %d outputs",
                           (long long)tensor_numel(t), n);
        for (int i = 0; i < n; i++) sizes[i] = tensor_get_int64(t, i);
        given = sizes; /* validated in place below */
        count = n;
    }
    if (given) {
        if (count != n)
            return op_fail(ctx, NNQ_ERR_INVALID, "split has %lld values for %d outputs",
                           (long long)count, n);
        int64_t total = 0;
        for (int i = 0; i < n; i++) {
            if (given[i] < 0 || given[i] > ((int64_t)1 << 40))
                return op_fail(ctx, NNQ_ERR_INVALID, "split value %lld is invalid", (long long)given[i]);
            sizes[i] = given[i];
            total += given[i];
        }
        if (dim != NNQ_UNKNOWN_DIM && total != dim)
            return op_fail(ctx, NNQ_ERR_INVALID, "split sums to %lld, the axis has %lld",
                           (long long)total, (long long)dim);
        return NNQ_OK;
    }
    if (ctx->opset >= 18 && node_find_attr(ctx->node, "num_outputs") &&
        node_attr_int(ctx->node, "num_outputs", 0) != n)
        return op_fail(ctx, NNQ_ERR_INVALID, "num_outputs %lld differs from %d outputs",
                       (long long)node_attr_int(ctx->node, "num_outputs", 0), n);
    for (int i = 0; i < n; i++) sizes[i] = NNQ_UNKNOWN_DIM;
    if (dim == NNQ_UNKNOWN_DIM) return NNQ_OK;
    int64_t chunk = dim / n;
    if (dim % n != 0) {
        if (ctx->opset < 18)
            return op_fail(ctx, NNQ_ERR_INVALID, "axis of %lld cannot be split into %d equal parts",
                           (long long)dim, n);
        chunk = (dim + n - 1) / n; /* opset 18: equal chunks, the last one smaller */
        if (chunk * (n - 1) > dim)
            return op_fail(ctx, NNQ_ERR_INVALID, "axis of %lld cannot be split into %d parts",
                           (long long)dim, n);
    }
    for (int i = 0; i < n; i++) sizes[i] = i < n - 1 ? chunk : dim - chunk * (n - 1);
    return NNQ_OK;
}

static nnq_status split_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, ctx->opset >= 13 ? 2 : 1, 1, 1 << 20));
    const nnq_tensor *in = ctx->inputs[0];
    NNQ_TRY(check_movable_dtype(ctx, in));
    if (in->rank == NNQ_UNKNOWN_RANK) {
        for (int i = 0; i < ctx->n_outputs; i++)
            set_unknown_shape(&ctx->outputs[i], in->dtype, NNQ_UNKNOWN_RANK);
        return NNQ_OK;
    }
    int axis;
    NNQ_TRY(op_normalize_axis(ctx, node_attr_int(ctx->node, "axis", 0), in->rank, &axis));
    int64_t *sizes = malloc(sizeof(int64_t) * (size_t)ctx->n_outputs);
    if (!sizes) return op_fail(ctx, NNQ_ERR_NOMEM, "out of memory");
    nnq_status st = split_sizes(ctx, in->dims[axis], sizes);
    for (int i = 0; st == NNQ_OK && i < ctx->n_outputs; i++) {
        op_infer_same_as(&ctx->outputs[i], in);
        ctx->outputs[i].dims[axis] = sizes[i];
    }
    free(sizes);
    return st;
}

static nnq_status split_run(nnq_op_context *ctx) {
    const nnq_tensor *in = ctx->inputs[0];
    int axis;
    NNQ_TRY(op_normalize_axis(ctx, node_attr_int(ctx->node, "axis", 0), in->rank, &axis));
    size_t elem = dtype_size(in->dtype);
    axis_split s = split_at_axis(in->dims, in->rank, axis);
    size_t in_block = (size_t)(s.axis_len * s.inner) * elem;
    size_t start = 0; /* byte offset of this output's chunk within an input block */
    for (int i = 0; i < ctx->n_outputs; i++) {
        nnq_tensor *out = &ctx->outputs[i];
        size_t block = (size_t)(out->dims[axis] * s.inner) * elem;
        for (int64_t outer = 0; block && outer < s.outer; outer++)
            memcpy((char *)out->data + (size_t)outer * block,
                   (const char *)in->data + (size_t)outer * in_block + start, block);
        start += block;
    }
    return NNQ_OK;
}

/* ---- Slice --------------------------------------------------------------- */

/* Per-axis slice: out_len elements starting at `start`, `step` apart. */
typedef struct slice_plan {
    int64_t start[NNQ_MAX_RANK];
    int64_t step[NNQ_MAX_RANK];
    int64_t len[NNQ_MAX_RANK];
} slice_plan;

/* Slice's starts/ends/axes/steps: attributes before opset 10, inputs 1..4 from
 * opset 10. *known is false when an input's value is not known yet. */
typedef struct slice_args {
    int count;
    int64_t starts[NNQ_MAX_RANK], ends[NNQ_MAX_RANK], axes[NNQ_MAX_RANK], steps[NNQ_MAX_RANK];
} slice_args;

static nnq_status slice_attr_list(const nnq_op_context *ctx, const char *name, int64_t *values, int *count) {
    int64_t n;
    const int64_t *attr = node_attr_ints(ctx->node, name, &n);
    if (n > NNQ_MAX_RANK)
        return op_fail(ctx, NNQ_ERR_INVALID, "'%s' has %lld values, more than the rank", name, (long long)n);
    if (n > 0) memcpy(values, attr, sizeof(int64_t) * (size_t)n);
    *count = (int)n;
    return NNQ_OK;
}

/* Reads one optional list from attribute (opset < 10) or input; returns -1 in
 * *count when absent. */
static nnq_status slice_list(const nnq_op_context *ctx, int input, const char *name, int64_t *values,
                             int *count, bool *known) {
    if (ctx->opset < 10) {
        if (!node_find_attr(ctx->node, name)) {
            *count = -1;
            return NNQ_OK;
        }
        return slice_attr_list(ctx, name, values, count);
    }
    const nnq_tensor *t = op_input(ctx, input);
    if (!t) {
        *count = -1;
        return NNQ_OK;
    }
    if (!t->data) {
        *known = false;
        return NNQ_OK;
    }
    return read_int_list(ctx, t, name, values, NNQ_MAX_RANK, count);
}

static nnq_status slice_read_args(const nnq_op_context *ctx, int rank, slice_args *a, bool *known) {
    int n_starts = -1, n_ends = -1, n_axes = -1, n_steps = -1;
    *known = true;
    NNQ_TRY(slice_list(ctx, 1, "starts", a->starts, &n_starts, known));
    NNQ_TRY(slice_list(ctx, 2, "ends", a->ends, &n_ends, known));
    NNQ_TRY(slice_list(ctx, 3, "axes", a->axes, &n_axes, known));
    if (ctx->opset >= 10) NNQ_TRY(slice_list(ctx, 4, "steps", a->steps, &n_steps, known));
    if (!*known) return NNQ_OK;
    if (n_starts < 0 || n_ends < 0) return op_fail(ctx, NNQ_ERR_INVALID, "starts and ends are required");
    if (n_starts != n_ends || (n_axes >= 0 && n_axes != n_starts) || (n_steps >= 0 && n_steps != n_starts))
        return op_fail(ctx, NNQ_ERR_INVALID, "starts, ends, axes and steps differ in length");
    a->count = n_starts;
    for (int i = 0; i < a->count; i++) {
        if (n_axes < 0) a->axes[i] = i; /* default axes: [0, 1, ..., count) */
        if (n_steps < 0) a->steps[i] = 1;
    }
    if (a->count > rank)
        return op_fail(ctx, NNQ_ERR_INVALID, "%d slice axes for rank %d", a->count, rank);
    return NNQ_OK;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* Clamps one axis's start and end per the Slice spec (negative values count
 * from the end; positive steps clamp to [0, dim], negative steps to
 * [0, dim-1] for start and [-1, dim-1] for end) and counts the elements. */
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *out_start,
                       int64_t *out_len) {
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    *out_start = 0;
    *out_len = 0;
    if (dim == 0) return;
    if (step > 0) {
        start = clamp64(start, 0, dim);
        end = clamp64(end, 0, dim);
        if (end > start) *out_len = 1 + (end - start - 1) / step;
    } else {
        start = clamp64(start, 0, dim - 1);
        end = clamp64(end, -1, dim - 1);
        if (start > end) *out_len = 1 + (start - end - 1) / -step;
    }
    *out_start = start;
}

/* Builds the plan; lengths are -1 on axes whose input dim is unknown. */
static nnq_status slice_make_plan(const nnq_op_context *ctx, const nnq_tensor *in, const slice_args *a,
                                  slice_plan *plan) {
    bool sliced[NNQ_MAX_RANK] = {false};
    for (int k = 0; k < in->rank; k++) {
        plan->start[k] = 0;
        plan->step[k] = 1;
        plan->len[k] = in->dims[k];
    }
    for (int i = 0; i < a->count; i++) {
        int axis;
        NNQ_TRY(op_normalize_axis(ctx, a->axes[i], in->rank, &axis));
        if (sliced[axis]) return op_fail(ctx, NNQ_ERR_INVALID, "axis %d is repeated", axis);
        sliced[axis] = true;
        int64_t step = a->steps[i];
        if (step == 0) return op_fail(ctx, NNQ_ERR_INVALID, "step is 0 on axis %d", axis);
        if (step < -INT64_MAX) step = -INT64_MAX; /* keeps -step representable */
        plan->step[axis] = step;
        if (in->dims[axis] == NNQ_UNKNOWN_DIM) continue;
        slice_axis(in->dims[axis], a->starts[i], a->ends[i], step, &plan->start[axis], &plan->len[axis]);
    }
    return NNQ_OK;
}

static nnq_status slice_plan_for(const nnq_op_context *ctx, const nnq_tensor *in, slice_plan *plan,
                                 bool *known) {
    slice_args args;
    NNQ_TRY(slice_read_args(ctx, in->rank, &args, known));
    if (!*known) return NNQ_OK;
    return slice_make_plan(ctx, in, &args, plan);
}

static nnq_status slice_infer(nnq_op_context *ctx) {
    int max_inputs = ctx->opset >= 10 ? 5 : 1;
    NNQ_TRY(op_check_arity(ctx, ctx->opset >= 10 ? 3 : 1, max_inputs, 1, 1));
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    NNQ_TRY(check_movable_dtype(ctx, in));
    set_unknown_shape(out, in->dtype, in->rank);
    if (in->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    slice_plan plan;
    bool known;
    NNQ_TRY(slice_plan_for(ctx, in, &plan, &known));
    if (known) memcpy(out->dims, plan.len, sizeof(int64_t) * (size_t)in->rank);
    return NNQ_OK;
}

/* Output element i on axis k reads input index start[k] + i * step[k]: a view
 * with strides scaled by the steps. */
static nnq_status slice_run(nnq_op_context *ctx) {
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    if (tensor_numel(out) == 0) return NNQ_OK;
    slice_plan plan;
    bool known;
    NNQ_TRY(slice_plan_for(ctx, in, &plan, &known));
    int64_t strides[NNQ_MAX_RANK];
    dense_strides(in->dims, in->rank, strides);
    copy_view view = {.rank = in->rank, .offset = 0};
    for (int k = 0; k < in->rank; k++) {
        view.dims[k] = out->dims[k];
        view.strides[k] = plan.len[k] > 1 ? strides[k] * plan.step[k] : 0;
        view.offset += plan.start[k] * strides[k];
    }
    copy_view_run(out->data, in->data, &view, dtype_size(in->dtype));
    return NNQ_OK;
}

/* ---- Gather -------------------------------------------------------------- */

static nnq_status check_indices(const nnq_op_context *ctx, const nnq_tensor *indices) {
    return op_check_dtype(ctx, indices, "indices", NNQ_INT64, NNQ_INT32, NNQ_UNDEFINED);
}

static nnq_status gather_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 2, 2, 1, 1));
    const nnq_tensor *data = ctx->inputs[0], *indices = ctx->inputs[1];
    nnq_tensor *out = &ctx->outputs[0];
    NNQ_TRY(check_movable_dtype(ctx, data));
    NNQ_TRY(check_indices(ctx, indices));
    if (data->rank == NNQ_UNKNOWN_RANK || indices->rank == NNQ_UNKNOWN_RANK) {
        set_unknown_shape(out, data->dtype, NNQ_UNKNOWN_RANK);
        return NNQ_OK;
    }
    int axis;
    NNQ_TRY(op_normalize_axis(ctx, node_attr_int(ctx->node, "axis", 0), data->rank, &axis));
    /* output shape: data.dims[:axis] + indices.dims + data.dims[axis+1:] */
    int rank = data->rank - 1 + indices->rank;
    if (rank > NNQ_MAX_RANK)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "output rank %d exceeds %d", rank, NNQ_MAX_RANK);
    out->dtype = data->dtype;
    out->rank = rank;
    int k = 0;
    for (int i = 0; i < axis; i++) out->dims[k++] = data->dims[i];
    for (int i = 0; i < indices->rank; i++) out->dims[k++] = indices->dims[i];
    for (int i = axis + 1; i < data->rank; i++) out->dims[k++] = data->dims[i];
    return NNQ_OK;
}

static nnq_status gather_run(nnq_op_context *ctx) {
    const nnq_tensor *data = ctx->inputs[0], *indices = ctx->inputs[1];
    nnq_tensor *out = &ctx->outputs[0];
    int axis;
    NNQ_TRY(op_normalize_axis(ctx, node_attr_int(ctx->node, "axis", 0), data->rank, &axis));
    axis_split s = split_at_axis(data->dims, data->rank, axis);
    int64_t n_indices = tensor_numel(indices);
    /* Validate every index before touching memory. */
    for (int64_t j = 0; j < n_indices; j++) {
        int64_t index;
        NNQ_TRY(normalize_index(ctx, tensor_get_int64(indices, j), s.axis_len, &index));
    }
    size_t block = (size_t)s.inner * dtype_size(data->dtype);
    char *dst = out->data;
    for (int64_t outer = 0; outer < s.outer; outer++) {
        const char *src = (const char *)data->data + (size_t)(outer * s.axis_len) * block;
        for (int64_t j = 0; j < n_indices; j++) {
            int64_t index = tensor_get_int64(indices, j);
            if (index < 0) index += s.axis_len;
            if (block) memcpy(dst, src + (size_t)index * block, block);
            dst += block;
        }
    }
    return NNQ_OK;
}

/* ---- GatherElements ------------------------------------------------------ */

static nnq_status gather_elements_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 2, 2, 1, 1));
    const nnq_tensor *data = ctx->inputs[0], *indices = ctx->inputs[1];
    nnq_tensor *out = &ctx->outputs[0];
    NNQ_TRY(check_movable_dtype(ctx, data));
    NNQ_TRY(check_indices(ctx, indices));
    op_infer_same_as(out, indices);
    out->dtype = data->dtype;
    if (data->rank == NNQ_UNKNOWN_RANK || indices->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    if (data->rank != indices->rank || data->rank == 0)
        return op_fail(ctx, NNQ_ERR_INVALID, "data rank %d and indices rank %d must match and be >= 1",
                       data->rank, indices->rank);
    int axis;
    NNQ_TRY(op_normalize_axis(ctx, node_attr_int(ctx->node, "axis", 0), data->rank, &axis));
    for (int k = 0; k < data->rank; k++)
        if (k != axis && data->dims[k] >= 0 && indices->dims[k] > data->dims[k])
            return op_fail(ctx, NNQ_ERR_INVALID, "indices dim %lld exceeds data dim %lld on axis %d",
                           (long long)indices->dims[k], (long long)data->dims[k], k);
    return NNQ_OK;
}

/* out[i_0..i_r] = data[i_0 .. indices[i_0..i_r] (on axis) .. i_r] */
static nnq_status gather_elements_run(nnq_op_context *ctx) {
    const nnq_tensor *data = ctx->inputs[0], *indices = ctx->inputs[1];
    nnq_tensor *out = &ctx->outputs[0];
    int axis, rank = data->rank;
    NNQ_TRY(op_normalize_axis(ctx, node_attr_int(ctx->node, "axis", 0), rank, &axis));
    int64_t n = tensor_numel(out), axis_len = data->dims[axis];
    for (int64_t j = 0; j < n; j++) {
        int64_t index;
        NNQ_TRY(normalize_index(ctx, tensor_get_int64(indices, j), axis_len, &index));
    }
    int64_t strides[NNQ_MAX_RANK], pos[NNQ_MAX_RANK] = {0};
    dense_strides(data->dims, rank, strides);
    size_t elem = dtype_size(data->dtype);
    int64_t base = 0; /* data offset of pos with the axis coordinate left out */
    for (int64_t j = 0; j < n; j++) {
        int64_t index = tensor_get_int64(indices, j);
        if (index < 0) index += axis_len;
        copy_element((char *)out->data + (size_t)j * elem,
                     (const char *)data->data + (size_t)(base + index * strides[axis]) * elem, elem);
        /* Advance the row-major position over the indices' shape. */
        for (int k = rank - 1; k >= 0; k--) {
            if (k != axis) base += strides[k];
            if (++pos[k] < indices->dims[k]) break;
            if (k != axis) base -= strides[k] * pos[k];
            pos[k] = 0;
        }
    }
    return NNQ_OK;
}

/* ---- Pad ----------------------------------------------------------------- */

typedef enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } pad_mode;

static nnq_status pad_read_mode(const nnq_op_context *ctx, pad_mode *mode) {
    const char *name = node_attr_string(ctx->node, "mode", "constant");
    if (strcmp(name, "constant") == 0) *mode = PAD_CONSTANT;
    else if (strcmp(name, "reflect") == 0) *mode = PAD_REFLECT;
    else if (strcmp(name, "edge") == 0) *mode = PAD_EDGE;
    else if (strcmp(name, "wrap") == 0) *mode = PAD_WRAP;
    else return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "pad mode '%s' is not supported", name);
    return NNQ_OK;
}

/* Per-axis pads: `pads` attribute before opset 11, input 1 from 11, listing
 * all begins then all ends; from opset 18 input 3 names the axes they apply
 * to (the others get 0). */
static nnq_status pad_read_pads(const nnq_op_context *ctx, int rank, int64_t *begin, int64_t *end,
                                bool *known) {
    int64_t pads[2 * NNQ_MAX_RANK], axes[NNQ_MAX_RANK];
    int n_pads, n_axes = rank;
    bool has_axes = false;
    *known = true;
    if (ctx->opset < 11) {
        int64_t n;
        const int64_t *attr = node_attr_ints(ctx->node, "pads", &n);
        if (!attr || n > 2 * NNQ_MAX_RANK) return op_fail(ctx, NNQ_ERR_INVALID, "invalid 'pads' attribute");
        memcpy(pads, attr, sizeof(int64_t) * (size_t)n);
        n_pads = (int)n;
    } else {
        const nnq_tensor *t = ctx->inputs[1];
        const nnq_tensor *axes_t = ctx->opset >= 18 ? op_input(ctx, 3) : NULL;
        if (!t->data || (axes_t && !axes_t->data)) {
            *known = false;
            return NNQ_OK;
        }
        NNQ_TRY(read_int_list(ctx, t, "pads", pads, 2 * NNQ_MAX_RANK, &n_pads));
        if (axes_t) NNQ_TRY(read_int_list(ctx, axes_t, "axes", axes, NNQ_MAX_RANK, &n_axes));
        has_axes = axes_t != NULL;
    }
    if (!has_axes)
        for (int i = 0; i < rank; i++) axes[i] = i;
    if (n_pads != 2 * n_axes)
        return op_fail(ctx, NNQ_ERR_INVALID, "%d pads for %d axes", n_pads, n_axes);
    for (int i = 0; i < rank; i++) begin[i] = end[i] = 0;
    for (int i = 0; i < n_axes; i++) {
        int axis;
        NNQ_TRY(op_normalize_axis(ctx, axes[i], rank, &axis));
        begin[axis] = pads[i];
        end[axis] = pads[i + n_axes];
    }
    return NNQ_OK;
}

static nnq_status pad_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, ctx->opset >= 11 ? 2 : 1, ctx->opset >= 18 ? 4 : (ctx->opset >= 11 ? 3 : 1),
                           1, 1));
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    NNQ_TRY(check_movable_dtype(ctx, in));
    pad_mode mode;
    NNQ_TRY(pad_read_mode(ctx, &mode));
    const nnq_tensor *value = op_input(ctx, 2);
    if (ctx->opset >= 11 && value && value->dtype != in->dtype)
        return op_fail(ctx, NNQ_ERR_INVALID, "constant_value is %s, data is %s", dtype_name(value->dtype),
                       dtype_name(in->dtype));
    set_unknown_shape(out, in->dtype, in->rank);
    if (in->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    int64_t begin[NNQ_MAX_RANK], end[NNQ_MAX_RANK];
    bool known;
    NNQ_TRY(pad_read_pads(ctx, in->rank, begin, end, &known));
    if (!known) return NNQ_OK;
    for (int k = 0; k < in->rank; k++) {
        int64_t d = in->dims[k];
        if (d == NNQ_UNKNOWN_DIM) continue;
        const int64_t limit = (int64_t)1 << 40;
        if (begin[k] > limit || end[k] > limit || begin[k] < -d || end[k] < -d || d + begin[k] + end[k] < 0)
            return op_fail(ctx, NNQ_ERR_INVALID, "pads %lld, %lld are invalid for a dim of %lld on axis %d",
                           (long long)begin[k], (long long)end[k], (long long)d, k);
        if (mode != PAD_CONSTANT && d == 0 && (begin[k] > 0 || end[k] > 0))
            return op_fail(ctx, NNQ_ERR_INVALID, "cannot pad an empty axis %d in this mode", k);
        out->dims[k] = d + begin[k] + end[k];
    }
    return NNQ_OK;
}

/* Input index read by position x (= output index - begin pad) on an axis of
 * size dim, or -1 for the constant value. reflect mirrors without repeating
 * the edge (numpy 'reflect', period 2*(dim-1)); edge repeats the border
 * element; wrap repeats the axis periodically. */
static int64_t pad_source_index(pad_mode mode, int64_t x, int64_t dim) {
    if (x >= 0 && x < dim) return x;
    switch (mode) {
    case PAD_CONSTANT: return -1;
    case PAD_EDGE: return x < 0 ? 0 : dim - 1;
    case PAD_WRAP: return ((x % dim) + dim) % dim;
    case PAD_REFLECT: {
        if (dim == 1) return 0;
        int64_t period = 2 * (dim - 1);
        int64_t m = ((x % period) + period) % period;
        return m < dim ? m : period - m;
    }
    }
    return -1;
}

/* The value padded in constant mode, as one element of the data type:
 * constant_value input from opset 11 (default 0), `value` attribute before. */
static void pad_constant_bytes(const nnq_op_context *ctx, const nnq_tensor *in, char *bytes) {
    size_t elem = dtype_size(in->dtype);
    memset(bytes, 0, elem);
    if (ctx->opset >= 11) {
        const nnq_tensor *value = op_input(ctx, 2);
        if (value && value->data && tensor_numel(value) >= 1) memcpy(bytes, value->data, elem);
        return;
    }
    nnq_tensor scratch = {.dtype = in->dtype, .rank = 0, .data = bytes};
    tensor_set_double(&scratch, 0, node_attr_float(ctx->node, "value", 0.0f));
}

static nnq_status pad_run(nnq_op_context *ctx) {
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    int rank = in->rank;
    if (tensor_numel(out) == 0) return NNQ_OK;
    pad_mode mode;
    NNQ_TRY(pad_read_mode(ctx, &mode));
    int64_t begin[NNQ_MAX_RANK], end[NNQ_MAX_RANK];
    bool known;
    NNQ_TRY(pad_read_pads(ctx, rank, begin, end, &known));
    size_t elem = dtype_size(in->dtype);
    char fill[16];
    pad_constant_bytes(ctx, in, fill);
    if (rank == 0) {
        memcpy(out->data, in->data, elem);
        return NNQ_OK;
    }
    /* Source index of every output position, axis by axis, in one buffer. */
    int64_t total = 0;
    for (int k = 0; k < rank; k++) total += out->dims[k];
    int64_t *maps = malloc(sizeof(int64_t) * (size_t)total);
    if (!maps) return op_fail(ctx, NNQ_ERR_NOMEM, "out of memory");
    int64_t *map[NNQ_MAX_RANK];
    int64_t used = 0;
    for (int k = 0; k < rank; k++) {
        map[k] = maps + used;
        for (int64_t o = 0; o < out->dims[k]; o++)
            map[k][o] = pad_source_index(mode, o - begin[k], in->dims[k]);
        used += out->dims[k];
    }
    int64_t strides[NNQ_MAX_RANK], pos[NNQ_MAX_RANK] = {0};
    dense_strides(in->dims, rank, strides);
    int64_t row_len = out->dims[rank - 1], rows = tensor_numel(out) / row_len;
    const int64_t *row_map = map[rank - 1];
    char *dst = out->data;
    for (int64_t r = 0; r < rows; r++, dst += (size_t)row_len * elem) {
        /* Offset of the row in the input, or -1 if the row lies in constant padding. */
        int64_t offset = 0;
        for (int k = 0; k < rank - 1 && offset >= 0; k++) {
            int64_t src = map[k][pos[k]];
            offset = src < 0 ? -1 : offset + src * strides[k];
        }
        const char *src_row = (const char *)in->data + (offset >= 0 ? (size_t)offset * elem : 0);
        for (int64_t j = 0; j < row_len; j++) {
            int64_t s = row_map[j];
            copy_element(dst + (size_t)j * elem,
                         offset < 0 || s < 0 ? fill : src_row + (size_t)s * elem, elem);
        }
        for (int k = rank - 2; k >= 0; k--) {
            if (++pos[k] < out->dims[k]) break;
            pos[k] = 0;
        }
    }
    free(maps);
    return NNQ_OK;
}

/* ---- Tile ---------------------------------------------------------------- */

static nnq_status tile_read_repeats(const nnq_op_context *ctx, const nnq_tensor *in, int64_t *repeats) {
    int count;
    NNQ_TRY(read_int_list(ctx, ctx->inputs[1], "repeats", repeats, NNQ_MAX_RANK, &count));
    if (count != in->rank)
        return op_fail(ctx, NNQ_ERR_INVALID, "%d repeats for rank %d", count, in->rank);
    for (int k = 0; k < count; k++)
        if (repeats[k] < 0 || repeats[k] > ((int64_t)1 << 40))
            return op_fail(ctx, NNQ_ERR_INVALID, "repeat %lld is invalid", (long long)repeats[k]);
    return NNQ_OK;
}

static nnq_status tile_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 2, 2, 1, 1));
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    NNQ_TRY(check_movable_dtype(ctx, in));
    set_unknown_shape(out, in->dtype, in->rank);
    if (in->rank == NNQ_UNKNOWN_RANK || !ctx->inputs[1]->data) return NNQ_OK;
    int64_t repeats[NNQ_MAX_RANK];
    NNQ_TRY(tile_read_repeats(ctx, in, repeats));
    for (int k = 0; k < in->rank; k++)
        if (in->dims[k] != NNQ_UNKNOWN_DIM) out->dims[k] = in->dims[k] * repeats[k];
    return NNQ_OK;
}

/* Output index on axis k is rep * dim_k + i with rep < repeats[k]: viewing
 * each output axis as the pair (rep, i) makes Tile a strided copy whose rep
 * axes have stride 0. */
static nnq_status tile_run(nnq_op_context *ctx) {
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    int64_t repeats[NNQ_MAX_RANK], strides[NNQ_MAX_RANK];
    NNQ_TRY(tile_read_repeats(ctx, in, repeats));
    dense_strides(in->dims, in->rank, strides);
    copy_view view = {.rank = 2 * in->rank, .offset = 0};
    for (int k = 0; k < in->rank; k++) {
        view.dims[2 * k] = repeats[k];
        view.strides[2 * k] = 0;
        view.dims[2 * k + 1] = in->dims[k];
        view.strides[2 * k + 1] = strides[k];
    }
    copy_view_run(out->data, in->data, &view, dtype_size(in->dtype));
    return NNQ_OK;
}

/* ---- Range --------------------------------------------------------------- */

static bool is_float_type(nnq_dtype t) { return t == NNQ_FLOAT || t == NNQ_DOUBLE; }

/* Number of elements: max(ceil((limit - start) / delta), 0). */
static nnq_status range_count(const nnq_op_context *ctx, const nnq_tensor *start, const nnq_tensor *limit,
                              const nnq_tensor *delta, int64_t *count) {
    if (is_float_type(start->dtype)) {
        double s = tensor_get_double(start, 0), l = tensor_get_double(limit, 0),
               d = tensor_get_double(delta, 0);
        if (d == 0.0 || isnan(s) || isnan(l) || isnan(d))
            return op_fail(ctx, NNQ_ERR_INVALID, "delta is 0 or a value is NaN");
        double n = ceil((l - s) / d);
        if (n > (double)((int64_t)1 << 40)) return op_fail(ctx, NNQ_ERR_INVALID, "range is too long");
        *count = n > 0 ? (int64_t)n : 0;
        return NNQ_OK;
    }
    int64_t s = tensor_get_int64(start, 0), l = tensor_get_int64(limit, 0), d = tensor_get_int64(delta, 0);
    int64_t diff;
    if (d == 0) return op_fail(ctx, NNQ_ERR_INVALID, "delta is 0");
    if (__builtin_sub_overflow(l, s, &diff) || d == INT64_MIN)
        return op_fail(ctx, NNQ_ERR_INVALID, "range is too long");
    if ((diff > 0) != (d > 0) || diff == 0) *count = 0;
    else *count = 1 + ((diff > 0 ? diff : -diff) - 1) / (d > 0 ? d : -d);
    return NNQ_OK;
}

static nnq_status range_check_inputs(const nnq_op_context *ctx) {
    for (int i = 0; i < 3; i++) {
        const nnq_tensor *t = ctx->inputs[i];
        NNQ_TRY(op_check_dtype(ctx, t, "input", NNQ_FLOAT, NNQ_DOUBLE, NNQ_INT16, NNQ_INT32, NNQ_INT64,
                               NNQ_UNDEFINED));
        if (t->dtype != ctx->inputs[0]->dtype)
            return op_fail(ctx, NNQ_ERR_INVALID, "start, limit and delta must share a type");
        if (t->rank > 0 && tensor_numel(t) != 1)
            return op_fail(ctx, NNQ_ERR_INVALID, "start, limit and delta must be scalars");
    }
    return NNQ_OK;
}

static nnq_status range_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 3, 3, 1, 1));
    NNQ_TRY(range_check_inputs(ctx));
    nnq_tensor *out = &ctx->outputs[0];
    set_unknown_shape(out, ctx->inputs[0]->dtype, 1);
    for (int i = 0; i < 3; i++)
        if (!ctx->inputs[i]->data) return NNQ_OK;
    return range_count(ctx, ctx->inputs[0], ctx->inputs[1], ctx->inputs[2], &out->dims[0]);
}

/* output[i] = start + i * delta */
static nnq_status range_run(nnq_op_context *ctx) {
    const nnq_tensor *start = ctx->inputs[0], *delta = ctx->inputs[2];
    nnq_tensor *out = &ctx->outputs[0];
    int64_t n = out->dims[0];
    if (is_float_type(out->dtype)) {
        double s = tensor_get_double(start, 0), d = tensor_get_double(delta, 0);
        for (int64_t i = 0; i < n; i++) tensor_set_double(out, i, s + (double)i * d);
        return NNQ_OK;
    }
    int64_t s = tensor_get_int64(start, 0), d = tensor_get_int64(delta, 0);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = s + i * d; /* within [start, limit) so no overflow */
        switch (out->dtype) {
        case NNQ_INT16: ((int16_t *)out->data)[i] = (int16_t)v; break;
        case NNQ_INT32: ((int32_t *)out->data)[i] = (int32_t)v; break;
        default: ((int64_t *)out->data)[i] = v; break;
        }
    }
    return NNQ_OK;
}

const nnq_op_def nnq_ops_indexing[] = {
    {"Concat", "", 1, concat_infer, concat_run},
    {"Split", "", 1, split_infer, split_run},
    {"Slice", "", 1, slice_infer, slice_run},
    {"Gather", "", 1, gather_infer, gather_run},
    {"GatherElements", "", 11, gather_elements_infer, gather_elements_run},
    {"Pad", "", 1, pad_infer, pad_run},
    {"Tile", "", 6, tile_infer, tile_run},
    {"Range", "", 11, range_infer, range_run},
    {NULL, NULL, 0, NULL, NULL},
};
