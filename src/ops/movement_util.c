/* Strided-view copies and small integer inputs for the data movement
 * operators (see movement_util.h). */
#include "ops/movement_util.h"

#include <string.h>

#include "base/parallel.h"

void dense_strides(const int64_t *dims, int rank, int64_t *strides) {
    int64_t stride = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = stride;
        stride *= dims[i];
    }
}

/* Drops unit axes and merges neighbours that are contiguous in the source
 * (stride[k] == stride[k+1] * dims[k+1]), so the innermost loop is as long as
 * possible. The element order of the view does not change. */
static void simplify_view(copy_view *v) {
    int rank = 0;
    for (int k = 0; k < v->rank; k++) {
        if (v->dims[k] == 1) continue;
        if (rank > 0 && v->strides[rank - 1] == v->strides[k] * v->dims[k]) {
            v->dims[rank - 1] *= v->dims[k];
            v->strides[rank - 1] = v->strides[k];
            continue;
        }
        v->dims[rank] = v->dims[k];
        v->strides[rank] = v->strides[k];
        rank++;
    }
    v->rank = rank;
}

/* Copies count elements spaced stride apart in src to consecutive slots in dst. */
static void copy_row(char *dst, const char *src, int64_t count, int64_t stride, size_t elem_size) {
    if (stride == 1) {
        memcpy(dst, src, (size_t)count * elem_size);
        return;
    }
    /* Fixed-size memcpy calls compile to single moves. */
    switch (elem_size) {
    case 1:
        for (int64_t i = 0; i < count; i++) dst[i] = src[i * stride];
        break;
    case 2:
        for (int64_t i = 0; i < count; i++) memcpy(dst + 2 * i, src + 2 * i * stride, 2);
        break;
    case 4:
        for (int64_t i = 0; i < count; i++) memcpy(dst + 4 * i, src + 4 * i * stride, 4);
        break;
    case 8:
        for (int64_t i = 0; i < count; i++) memcpy(dst + 8 * i, src + 8 * i * stride, 8);
        break;
    default:
        for (int64_t i = 0; i < count; i++)
            memcpy(dst + elem_size * (size_t)i, src + (int64_t)elem_size * i * stride, elem_size);
        break;
    }
}

/* Side of the square tiles a transposing copy moves at a time. */
#define TILE 32

/* An axis other than the innermost whose source stride is 1, or -1. */
static int contiguous_source_axis(const copy_view *v) {
    for (int k = 0; k < v->rank - 1; k++)
        if (v->strides[k] == 1) return k;
    return -1;
}

/* Source and destination offsets of outer block o, where o counts (row-major)
 * over every axis except `rows` and the innermost. */
static void outer_offsets(const copy_view *v, const int64_t *dst_strides, int rows, int64_t o,
                          int64_t *src_offset, int64_t *dst_offset) {
    *src_offset = *dst_offset = 0;
    for (int k = v->rank - 2; k >= 0; k--) {
        if (k == rows) continue;
        int64_t i = o % v->dims[k];
        o /= v->dims[k];
        *src_offset += i * v->strides[k];
        *dst_offset += i * dst_strides[k];
    }
}

/* A transpose: the source is contiguous along axis `rows` while the innermost
 * output axis strides through it. Copying TILE x TILE blocks of (rows,
 * innermost) lets both the reads and the writes use whole cache lines. */
static void copy_tiled(char *dst, const char *base, const copy_view *v, int rows, size_t elem) {
    int last = v->rank - 1;
    int64_t dst_strides[COPY_VIEW_MAX_RANK];
    dense_strides(v->dims, v->rank, dst_strides);
    int64_t n_rows = v->dims[rows], n_cols = v->dims[last], col_stride = v->strides[last];
    int64_t outer = 1;
    for (int k = 0; k < last; k++)
        if (k != rows) outer *= v->dims[k];
    int64_t row_tiles = (n_rows + TILE - 1) / TILE, col_tiles = (n_cols + TILE - 1) / TILE;
    int64_t blocks = outer * row_tiles * col_tiles;
    int threads = nnq_threads_for((double)outer * (double)n_rows * (double)n_cols, NNQ_GRAIN_ELEMENTS, blocks);
    NNQ_PARALLEL_FOR(threads, (int64_t b = 0; b < blocks; b++), {
        int64_t tile = b % (row_tiles * col_tiles);
        int64_t i0 = tile / col_tiles * TILE, j0 = tile % col_tiles * TILE;
        int64_t i1 = i0 + TILE < n_rows ? i0 + TILE : n_rows, j1 = j0 + TILE < n_cols ? j0 + TILE : n_cols;
        int64_t src_offset, dst_offset;
        outer_offsets(v, dst_strides, rows, b / (row_tiles * col_tiles), &src_offset, &dst_offset);
        /* Read along the contiguous source axis; large power-of-two column
         * strides would make the reads of one row collide in the cache. */
        for (int64_t j = j0; j < j1; j++) {
            char *d = dst + (size_t)(dst_offset + j) * elem;
            const char *s = base + (src_offset + j * col_stride) * (int64_t)elem;
            for (int64_t i = i0; i < i1; i++)
                copy_element(d + (size_t)(i * dst_strides[rows]) * elem, s + i * (int64_t)elem, elem);
        }
    });
}

void copy_view_run(void *dst, const void *src, const copy_view *view, size_t elem_size) {
    copy_view v = *view;
    for (int k = 0; k < v.rank; k++)
        if (v.dims[k] == 0) return;
    simplify_view(&v);
    const char *base = (const char *)src + v.offset * (int64_t)elem_size;
    if (v.rank == 0) {
        memcpy(dst, base, elem_size);
        return;
    }
    int64_t row_len = v.dims[v.rank - 1], row_stride = v.strides[v.rank - 1];
    if (row_stride != 1) {
        int contiguous = contiguous_source_axis(&v);
        if (contiguous >= 0 && v.dims[contiguous] >= 8 && row_len >= 8) {
            copy_tiled(dst, base, &v, contiguous, elem_size);
            return;
        }
    }
    int64_t rows = 1;
    for (int k = 0; k < v.rank - 1; k++) rows *= v.dims[k];
    /* Each row finds its source start from its own index, so rows are independent. */
    int threads = nnq_threads_for((double)rows * (double)row_len, NNQ_GRAIN_ELEMENTS, rows);
    NNQ_PARALLEL_FOR(threads, (int64_t r = 0; r < rows; r++), {
        int64_t rest = r, offset = 0;
        for (int k = v.rank - 2; k >= 0; k--) {
            offset += (rest % v.dims[k]) * v.strides[k];
            rest /= v.dims[k];
        }
        copy_row((char *)dst + r * row_len * (int64_t)elem_size,
                 base + offset * (int64_t)elem_size, row_len, row_stride, elem_size);
    });
}

nnq_status check_movable_dtype(const nnq_op_context *ctx, const nnq_tensor *t) {
    if (t->dtype != NNQ_UNDEFINED && dtype_size(t->dtype) == 0)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "element type %s is not supported",
                       dtype_name(t->dtype));
    return NNQ_OK;
}

void set_unknown_shape(nnq_tensor *out, nnq_dtype dtype, int rank) {
    out->dtype = dtype;
    out->rank = rank;
    for (int i = 0; i < rank; i++) out->dims[i] = NNQ_UNKNOWN_DIM;
}

nnq_status read_int_list(const nnq_op_context *ctx, const nnq_tensor *t, const char *what,
                         int64_t *values, int max, int *count) {
    if (t->dtype != NNQ_INT64 && t->dtype != NNQ_INT32)
        return op_fail(ctx, NNQ_ERR_INVALID, "%s must be int64 or int32, not %s", what,
                       dtype_name(t->dtype));
    if (t->rank > 1)
        return op_fail(ctx, NNQ_ERR_INVALID, "%s must be 1-D, has rank %d", what, t->rank);
    int64_t n = tensor_numel(t);
    if (n < 0 || !t->data)
        return op_fail(ctx, NNQ_ERR_INVALID, "%s has no known value", what);
    if (n > max)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "%s has %lld values, at most %d are supported",
                       what, (long long)n, max);
    for (int64_t i = 0; i < n; i++) values[i] = tensor_get_int64(t, i);
    *count = (int)n;
    return NNQ_OK;
}
