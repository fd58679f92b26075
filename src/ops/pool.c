/* MaxPool (with optional Indices), AveragePool, GlobalAveragePool and
 * GlobalMaxPool over N-d spatial dims of X [N, C, spatial...].
 *
 * Windows follow the ONNX pooling rules (shape formulas in im2col.c
 * window_resolve): output position o covers image coordinates
 * o * stride - pad_begin + j * dilation for j in [0, kernel); coordinates
 * outside the image are padding and never contribute a value. */
#include <stdlib.h>
#include <string.h>

#include "base/parallel.h"
#include "ops/im2col.h"
#include "ops/op.h"

typedef enum pool_kind { POOL_MAX, POOL_AVERAGE } pool_kind;

/* Running reduction over the elements of one window. */
typedef struct pool_reduction {
    double best;          /* max so far */
    int64_t best_offset;  /* plane offset of the max, -1 before any element */
    double sum;
    int64_t count;        /* elements seen */
} pool_reduction;

static inline double load_as_double(const void *data, nnq_dtype dtype, int64_t i) {
    switch (dtype) {
    case NNQ_FLOAT: return ((const float *)data)[i];
    case NNQ_DOUBLE: return ((const double *)data)[i];
    case NNQ_UINT8: return ((const uint8_t *)data)[i];
    case NNQ_INT8: return ((const int8_t *)data)[i];
    default: return 0.0;
    }
}

/* Folds `count` elements of plane, starting at offset, every `step`, into r.
 * Called with a constant dtype so each element load is a plain typed read. */
static inline void reduce_line_as(nnq_dtype dtype, const void *plane, pool_kind kind,
                                  int64_t offset, int64_t count, int64_t step,
                                  pool_reduction *r) {
    r->count += count;
    if (kind == POOL_AVERAGE) {
        double sum = r->sum;
        for (int64_t i = 0; i < count; i++) sum += load_as_double(plane, dtype, offset + i * step);
        r->sum = sum;
        return;
    }
    int64_t i = 0;
    if (r->best_offset < 0 && count > 0) {
        /* The first element is the maximum so far, whatever its value (NaN included). */
        r->best = load_as_double(plane, dtype, offset);
        r->best_offset = offset;
        i = 1;
    }
    double best = r->best;
    int64_t best_offset = r->best_offset;
    for (; i < count; i++) {
        int64_t at = offset + i * step;
        double v = load_as_double(plane, dtype, at);
        if (v > best) {
            best = v;
            best_offset = at;
        }
    }
    r->best = best;
    r->best_offset = best_offset;
}

static void reduce_line(const void *plane, nnq_dtype dtype, pool_kind kind, int64_t offset,
                        int64_t count, int64_t step, pool_reduction *r) {
    switch (dtype) {
    case NNQ_FLOAT: reduce_line_as(NNQ_FLOAT, plane, kind, offset, count, step, r); break;
    case NNQ_DOUBLE: reduce_line_as(NNQ_DOUBLE, plane, kind, offset, count, step, r); break;
    case NNQ_UINT8: reduce_line_as(NNQ_UINT8, plane, kind, offset, count, step, r); break;
    case NNQ_INT8: reduce_line_as(NNQ_INT8, plane, kind, offset, count, step, r); break;
    default: break;
    }
}

/* Element i of y = v; inlined with a constant dtype, float and double are plain stores. */
static inline void store_as(nnq_dtype dtype, nnq_tensor *y, int64_t i, double v) {
    switch (dtype) {
    case NNQ_FLOAT: ((float *)y->data)[i] = (float)v; break;
    case NNQ_DOUBLE: ((double *)y->data)[i] = v; break;
    default: tensor_set_double(y, i, v); break;
    }
}

/* ---------------------------------------------------------------- Window */

typedef struct pool_params {
    int spatial_rank;      /* -1 when unknown */
    int64_t batch, channels;
    im2col_geometry geom;  /* image = X spatial, cols = Y spatial */
    bool count_include_pad;
    bool column_major_indices; /* MaxPool storage_order = 1 */
} pool_params;

/* The valid part of one window along every spatial dim. */
typedef struct pool_window {
    int64_t first[NNQ_MAX_RANK];  /* image coordinate of the first valid element */
    int64_t count[NNQ_MAX_RANK];  /* number of valid elements */
    int64_t padded_size;          /* positions inside image + pads (count_include_pad divisor) */
    int64_t outer_padded_size;    /* the product without the last dim */
} pool_window;

/* Number of j in [0, kernel) with lo <= start + j * dilation < hi, and the first such coordinate. */
static int64_t positions_within(int64_t start, int64_t dilation, int64_t kernel, int64_t lo,
                                int64_t hi, int64_t *first) {
    int64_t j_lo = start >= lo ? 0 : (lo - start + dilation - 1) / dilation;
    int64_t j_hi = start >= hi ? 0 : (hi - start + dilation - 1) / dilation;
    if (j_hi > kernel) j_hi = kernel;
    if (first) *first = start + j_lo * dilation;
    return j_hi > j_lo ? j_hi - j_lo : 0;
}

/* Windows along each dim, tabulated once per run: for output position o of
 * dim d, entry offset[d] + o of first / count / padded. */
typedef struct pool_tables {
    int64_t offset[NNQ_MAX_RANK];
    int64_t image_strides[NNQ_MAX_RANK];
    int64_t *first, *count, *padded; /* one allocation, owned by first */
} pool_tables;

static nnq_status pool_tables_build(const nnq_op_context *ctx, const im2col_geometry *g,
                                    pool_tables *t) {
    int rank = g->spatial_rank;
    int64_t total = 0, stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        t->image_strides[d] = stride;
        stride *= g->image[d];
    }
    for (int d = 0; d < rank; d++) {
        t->offset[d] = total;
        total += g->cols[d];
    }
    t->first = malloc(sizeof(int64_t) * (size_t)(3 * total + 1));
    if (!t->first) return op_fail(ctx, NNQ_ERR_NOMEM, "cannot allocate pooling tables");
    t->count = t->first + total;
    t->padded = t->count + total;
    for (int d = 0; d < rank; d++)
        for (int64_t o = 0; o < g->cols[d]; o++) {
            int64_t start = o * g->strides[d] - g->pads[d], at = t->offset[d] + o;
            t->count[at] = positions_within(start, g->dilations[d], g->kernel[d], 0, g->image[d],
                                            &t->first[at]);
            /* count_include_pad counts padding positions but not the part of a
             * ceil_mode window that hangs past the end padding. */
            t->padded[at] = positions_within(start, g->dilations[d], g->kernel[d], -g->pads[d],
                                             g->image[d] + g->pads[rank + d], NULL);
        }
    return NNQ_OK;
}

/* The window of dims [0, rank) at out_index; padded_size covers those dims
 * only (see pool_window_set_last). */
static void window_at(const pool_tables *t, int rank, const int64_t *out_index, pool_window *w) {
    w->padded_size = 1;
    for (int d = 0; d < rank; d++) {
        int64_t at = t->offset[d] + out_index[d];
        w->first[d] = t->first[at];
        w->count[d] = t->count[at];
        w->padded_size *= t->padded[at];
    }
    w->outer_padded_size = w->padded_size;
}

/* Completes a window of the dims before `last` (window_at(t, last, ...)) with
 * output position o of dim last. */
static inline void pool_window_set_last(const pool_tables *t, int last, int64_t o,
                                        pool_window *w) {
    int64_t at = t->offset[last] + o;
    w->first[last] = t->first[at];
    w->count[last] = t->count[at];
    w->padded_size = w->outer_padded_size * t->padded[at];
}

/* Reduces the valid elements of window w of plane; inlined with a constant dtype. */
static inline void reduce_window(const im2col_geometry *g, const pool_tables *t,
                                 const pool_window *w, const void *plane, nnq_dtype dtype,
                                 pool_kind kind, pool_reduction *r) {
    int rank = g->spatial_rank, last = rank - 1;
    int64_t index[NNQ_MAX_RANK] = {0};
    for (int d = 0; d < rank; d++)
        if (w->count[d] == 0) return; /* the window lies entirely in the padding */
    /* Odometer over the outer dims; the last dim is one strided line. */
    for (;;) {
        int64_t offset = 0;
        for (int d = 0; d < rank; d++)
            offset += (w->first[d] + index[d] * g->dilations[d]) * t->image_strides[d];
        reduce_line_as(dtype, plane, kind, offset, w->count[last], g->dilations[last], r);
        int d = last - 1;
        while (d >= 0 && ++index[d] == w->count[d]) index[d--] = 0;
        if (d < 0) return;
    }
}

/* Advances a row-major multi-index over dims. */
static void next_index(int64_t *index, const int64_t *dims, int rank) {
    for (int d = rank - 1; d >= 0; d--) {
        if (++index[d] < dims[d]) return;
        index[d] = 0;
    }
}

/* Storage-order-aware spatial index of a plane offset for MaxPool's Indices:
 * row-major is the offset itself, column-major reverses the dim order. */
static int64_t spatial_index(const im2col_geometry *g, int64_t offset, bool column_major) {
    if (!column_major) return offset;
    int64_t index = 0, stride = 1;
    int64_t coords[NNQ_MAX_RANK];
    for (int d = g->spatial_rank - 1; d >= 0; d--) {
        coords[d] = offset % g->image[d];
        offset /= g->image[d];
    }
    for (int d = 0; d < g->spatial_rank; d++) {
        index += coords[d] * stride;
        stride *= g->image[d];
    }
    return index;
}

/* ----------------------------------------------------------- Attributes */

static nnq_status pool_check_input(const nnq_op_context *ctx, const nnq_tensor *x,
                                   bool integer_ok) {
    if (integer_ok)
        NNQ_TRY(op_check_dtype(ctx, x, "X", NNQ_FLOAT, NNQ_DOUBLE, NNQ_UINT8, NNQ_INT8,
                               NNQ_UNDEFINED));
    else
        NNQ_TRY(op_check_dtype(ctx, x, "X", NNQ_FLOAT, NNQ_DOUBLE, NNQ_UNDEFINED));
    if (x->rank != NNQ_UNKNOWN_RANK && (x->rank < 3 || x->rank > NNQ_MAX_RANK))
        return op_fail(ctx, NNQ_ERR_INVALID, "X has rank %d, expected 3 to %d", x->rank,
                       NNQ_MAX_RANK);
    return NNQ_OK;
}

static nnq_status pool_resolve(const nnq_op_context *ctx, const nnq_tensor *x, pool_params *p) {
    memset(p, 0, sizeof *p);
    p->spatial_rank = x->rank == NNQ_UNKNOWN_RANK ? -1 : x->rank - 2;
    p->batch = x->rank >= 1 ? x->dims[0] : NNQ_UNKNOWN_DIM;
    p->channels = x->rank >= 2 ? x->dims[1] : NNQ_UNKNOWN_DIM;
    p->count_include_pad = node_attr_int(ctx->node, "count_include_pad", 0) != 0;
    int64_t storage_order = node_attr_int(ctx->node, "storage_order", 0);
    if (storage_order != 0 && storage_order != 1)
        return op_fail(ctx, NNQ_ERR_INVALID, "storage_order must be 0 or 1, is %lld",
                       (long long)storage_order);
    p->column_major_indices = storage_order == 1;
    int64_t ceil_mode = node_attr_int(ctx->node, "ceil_mode", 0);
    if (p->spatial_rank < 0) return NNQ_OK;
    conv_window_attrs attrs;
    NNQ_TRY(conv_window_attrs_read(ctx, p->spatial_rank, NULL, &attrs));
    return window_resolve(ctx, &attrs, x->dims + 2, ceil_mode != 0, &p->geom);
}

static void set_pool_output_shape(nnq_tensor *y, nnq_dtype dtype, const pool_params *p) {
    y->dtype = dtype;
    y->rank = p->spatial_rank < 0 ? NNQ_UNKNOWN_RANK : p->spatial_rank + 2;
    if (p->spatial_rank < 0) return;
    y->dims[0] = p->batch;
    y->dims[1] = p->channels;
    for (int d = 0; d < p->spatial_rank; d++) y->dims[2 + d] = p->geom.cols[d];
}

/* ------------------------------------------------------- MaxPool / AveragePool */

static nnq_status max_pool_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 2));
    const nnq_tensor *x = ctx->inputs[0];
    /* int8 / uint8 since opset 12. */
    NNQ_TRY(pool_check_input(ctx, x, ctx->opset >= 12));
    pool_params p;
    NNQ_TRY(pool_resolve(ctx, x, &p));
    set_pool_output_shape(&ctx->outputs[0], x->dtype, &p);
    if (ctx->n_outputs > 1) set_pool_output_shape(&ctx->outputs[1], NNQ_INT64, &p);
    return NNQ_OK;
}

static nnq_status average_pool_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    const nnq_tensor *x = ctx->inputs[0];
    NNQ_TRY(pool_check_input(ctx, x, false));
    pool_params p;
    NNQ_TRY(pool_resolve(ctx, x, &p));
    set_pool_output_shape(&ctx->outputs[0], x->dtype, &p);
    return NNQ_OK;
}

/* Pools one (image, channel) plane of x into y (and indices for MaxPool).
 * Inlined with a constant dtype (see pool_planes), so loads and stores are
 * plain typed accesses. */
static inline __attribute__((always_inline)) void
pool_plane_as(nnq_dtype dtype, const pool_params *p, const pool_tables *t, pool_kind kind,
              const char *src, int64_t plane, nnq_tensor *y, int64_t *indices) {
    const im2col_geometry *g = &p->geom;
    int rank = g->spatial_rank, last = rank - 1;
    int64_t in_plane = im2col_image_size(g), out_plane = im2col_col_count(g);
    int64_t width = g->cols[last];
    /* Output lines along the last dim share the window of the outer dims. */
    int64_t line_index[NNQ_MAX_RANK] = {0};
    pool_window w;
    memset(&w, 0, sizeof w);
    int64_t along = 0; /* output position along the last dim */
    for (int64_t o = 0; o < out_plane; o++, along++) {
        if (along == width) {
            along = 0;
            next_index(line_index, g->cols, last);
        }
        if (along == 0) window_at(t, last, line_index, &w);
        pool_window_set_last(t, last, along, &w);
        pool_reduction r = {0.0, -1, 0.0, 0};
        reduce_window(g, t, &w, src, dtype, kind, &r);
        int64_t out = plane * out_plane + o;
        double value;
        if (kind == POOL_MAX) {
            /* A window entirely in the padding has no maximum: write 0. */
            value = r.best_offset >= 0 ? r.best : 0.0;
            if (indices)
                indices[out] = r.best_offset < 0 ? 0
                               : plane * in_plane +
                                     spatial_index(g, r.best_offset, p->column_major_indices);
        } else {
            int64_t divisor = p->count_include_pad ? w.padded_size : r.count;
            value = divisor > 0 ? r.sum / (double)divisor : 0.0;
        }
        store_as(dtype, y, out, value);
    }
}

/* Pools every (image, channel) plane of x into y (and indices for MaxPool). */
static void pool_planes(const pool_params *p, const pool_tables *t, pool_kind kind,
                        const nnq_tensor *x, nnq_tensor *y, int64_t *indices) {
    const im2col_geometry *g = &p->geom;
    int64_t planes = p->batch * p->channels;
    int64_t in_plane = im2col_image_size(g), out_plane = im2col_col_count(g);
    size_t elem = dtype_size(x->dtype);
    int threads = nnq_threads_for((double)planes * (double)out_plane * (double)im2col_kernel_size(g),
                                  NNQ_GRAIN_ELEMENTS, planes);
    NNQ_PARALLEL_FOR(threads, (int64_t plane = 0; plane < planes; plane++), {
        const char *src = (const char *)x->data + (size_t)(plane * in_plane) * elem;
        switch (x->dtype) {
        case NNQ_FLOAT: pool_plane_as(NNQ_FLOAT, p, t, kind, src, plane, y, indices); break;
        case NNQ_DOUBLE: pool_plane_as(NNQ_DOUBLE, p, t, kind, src, plane, y, indices); break;
        case NNQ_UINT8: pool_plane_as(NNQ_UINT8, p, t, kind, src, plane, y, indices); break;
        case NNQ_INT8: pool_plane_as(NNQ_INT8, p, t, kind, src, plane, y, indices); break;
        default: break;
        }
    });
}

static nnq_status pool_run(nnq_op_context *ctx, pool_kind kind) {
    const nnq_tensor *x = ctx->inputs[0];
    pool_params p;
    NNQ_TRY(pool_resolve(ctx, x, &p));
    pool_tables tables;
    NNQ_TRY(pool_tables_build(ctx, &p.geom, &tables));
    int64_t *indices = kind == POOL_MAX && ctx->n_outputs > 1 ? ctx->outputs[1].data : NULL;
    pool_planes(&p, &tables, kind, x, &ctx->outputs[0], indices);
    free(tables.first);
    return NNQ_OK;
}

static nnq_status max_pool_run(nnq_op_context *ctx) { return pool_run(ctx, POOL_MAX); }
static nnq_status average_pool_run(nnq_op_context *ctx) { return pool_run(ctx, POOL_AVERAGE); }

/* ------------------------------------------------------------ Global pools */

static nnq_status global_pool_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    const nnq_tensor *x = ctx->inputs[0];
    NNQ_TRY(pool_check_input(ctx, x, false));
    nnq_tensor *y = &ctx->outputs[0];
    op_infer_same_as(y, x);
    for (int d = 2; d < y->rank; d++) y->dims[d] = 1;
    return NNQ_OK;
}

static nnq_status global_pool_run(nnq_op_context *ctx, pool_kind kind) {
    const nnq_tensor *x = ctx->inputs[0];
    nnq_tensor *y = &ctx->outputs[0];
    int64_t planes = x->dims[0] * x->dims[1];
    int64_t plane_size = dims_numel(x->dims + 2, x->rank - 2);
    size_t elem = dtype_size(x->dtype);
    int threads = nnq_threads_for((double)planes * (double)plane_size, NNQ_GRAIN_ELEMENTS, planes);
    NNQ_PARALLEL_FOR(threads, (int64_t plane = 0; plane < planes; plane++), {
        pool_reduction r = {0.0, -1, 0.0, 0};
        reduce_line((const char *)x->data + (size_t)(plane * plane_size) * elem, x->dtype, kind,
                    0, plane_size, 1, &r);
        double value = kind == POOL_MAX ? (r.best_offset >= 0 ? r.best : 0.0)
                                        : (r.count > 0 ? r.sum / (double)r.count : 0.0);
        tensor_set_double(y, plane, value);
    });
    return NNQ_OK;
}

static nnq_status global_max_pool_run(nnq_op_context *ctx) { return global_pool_run(ctx, POOL_MAX); }
static nnq_status global_average_pool_run(nnq_op_context *ctx) {
    return global_pool_run(ctx, POOL_AVERAGE);
}

const nnq_op_def nnq_ops_pool[] = {
    {"MaxPool", "", 1, max_pool_infer, max_pool_run},
    {"AveragePool", "", 1, average_pool_infer, average_pool_run},
    {"GlobalMaxPool", "", 1, global_pool_infer, global_max_pool_run},
    {"GlobalAveragePool", "", 1, global_pool_infer, global_average_pool_run},
    {NULL, NULL, 0, NULL, NULL},
};
