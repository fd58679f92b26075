/* Sliding-window geometry, convolution attribute resolution and the
 * im2col / col2im transforms (see im2col.h for the layouts). */
#include "ops/im2col.h"

#include <string.h>

/* Work (elements moved) above which the transforms use several threads. */
#define IM2COL_PARALLEL_MIN ((int64_t)1 << 18)

static int64_t product(const int64_t *dims, int rank) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    return n;
}

int64_t im2col_image_size(const im2col_geometry *g) { return product(g->image, g->spatial_rank); }
int64_t im2col_kernel_size(const im2col_geometry *g) { return product(g->kernel, g->spatial_rank); }
int64_t im2col_col_count(const im2col_geometry *g) { return product(g->cols, g->spatial_rank); }

bool im2col_is_identity(const im2col_geometry *g) {
    for (int d = 0; d < g->spatial_rank; d++)
        if (g->kernel[d] != 1 || g->strides[d] != 1 || g->pads[d] != 0 ||
            g->pads[g->spatial_rank + d] != 0 || g->cols[d] != g->image[d])
            return false;
    return true;
}

/* ---- Line decomposition shared by im2col and col2im ----
 *
 * For one kernel offset k, the columns of a row form lines along the last
 * spatial dim. Column position o along that dim reads image coordinate
 * o * stride - pad_begin + k * dilation; a line is either entirely in the
 * padding (some outer coordinate is outside the image) or has a contiguous
 * range [lo, hi) of positions inside the image. */
typedef struct window_line {
    bool inside;          /* false: every position is padding */
    int64_t lo, hi;       /* positions [lo, hi) read the image */
    int64_t image_offset; /* image element read by position lo */
    int64_t image_step;   /* image elements between consecutive positions */
} window_line;

/* Smallest o >= 0 with o * stride + first >= bound, i.e. ceil((bound - first) / stride). */
static int64_t first_position_reaching(int64_t first, int64_t bound, int64_t stride) {
    int64_t gap = bound - first;
    if (gap <= 0) return 0;
    return (gap + stride - 1) / stride;
}

/* The line of kernel offset `kernel_index` at outer column index `outer`
 * (the column position over all but the last spatial dim, row-major). */
static window_line line_at(const im2col_geometry *g, const int64_t *kernel_index, int64_t outer) {
    int last = g->spatial_rank - 1;
    window_line line = {.inside = true};
    int64_t offset = 0, image_stride = 1;
    for (int d = last; d >= 0; d--) {
        int64_t first = kernel_index[d] * g->dilations[d] - g->pads[d];
        if (d == last) {
            int64_t lo = first_position_reaching(first, 0, g->strides[d]);
            int64_t hi = first_position_reaching(first, g->image[d], g->strides[d]);
            line.lo = lo < g->cols[d] ? lo : g->cols[d];
            line.hi = hi < g->cols[d] ? hi : g->cols[d];
            if (line.hi < line.lo) line.hi = line.lo;
            offset += first + line.lo * g->strides[d];
            line.image_step = g->strides[d];
        } else {
            int64_t position = outer % g->cols[d];
            outer /= g->cols[d];
            int64_t coord = first + position * g->strides[d];
            if (coord < 0 || coord >= g->image[d]) line.inside = false;
            offset += coord * image_stride;
        }
        image_stride *= g->image[d];
    }
    line.image_offset = offset;
    if (!line.inside || line.hi == line.lo) {
        /* Nothing to read: keep the offset inside the image. */
        line.inside = false;
        line.lo = line.hi = 0;
        line.image_offset = 0;
    }
    return line;
}

static void kernel_index_of(const im2col_geometry *g, int64_t flat, int64_t *kernel_index) {
    for (int d = g->spatial_rank - 1; d >= 0; d--) {
        kernel_index[d] = flat % g->kernel[d];
        flat /= g->kernel[d];
    }
}

/* ---- im2col ---- */

/* Copies count elements of size elem_size taken every `step` elements.
 * Called with a constant elem_size so the compiler specializes the memcpy. */
static inline void copy_strided(char *dst, const char *src, int64_t count, int64_t step,
                                size_t elem_size) {
    if (step == 1) {
        memcpy(dst, src, (size_t)count * elem_size);
        return;
    }
    for (int64_t i = 0; i < count; i++)
        memcpy(dst + (size_t)i * elem_size, src + (size_t)(i * step) * elem_size, elem_size);
}

static inline void fill_elements(char *dst, int64_t count, const char *value, size_t elem_size) {
    for (int64_t i = 0; i < count; i++) memcpy(dst + (size_t)i * elem_size, value, elem_size);
}

static inline void im2col_line(char *dst, const char *image, const window_line *line,
                               int64_t width, const char *pad_value, size_t elem_size) {
    fill_elements(dst, line->lo, pad_value, elem_size);
    copy_strided(dst + (size_t)line->lo * elem_size, image + (size_t)line->image_offset * elem_size,
                 line->hi - line->lo, line->image_step, elem_size);
    fill_elements(dst + (size_t)line->hi * elem_size, width - line->hi, pad_value, elem_size);
}

static void im2col_row(const im2col_geometry *g, const char *image, int64_t kernel_flat,
                       size_t elem_size, const char *pad_value, char *row) {
    int64_t kernel_index[NNQ_MAX_RANK];
    kernel_index_of(g, kernel_flat, kernel_index);
    int64_t width = g->cols[g->spatial_rank - 1];
    int64_t lines = im2col_col_count(g) / width;
    for (int64_t outer = 0; outer < lines; outer++) {
        window_line line = line_at(g, kernel_index, outer);
        char *dst = row + (size_t)(outer * width) * elem_size;
        /* Constant sizes let the compiler turn the element copies into moves. */
        switch (elem_size) {
        case 1: im2col_line(dst, image, &line, width, pad_value, 1); break;
        case 2: im2col_line(dst, image, &line, width, pad_value, 2); break;
        case 4: im2col_line(dst, image, &line, width, pad_value, 4); break;
        case 8: im2col_line(dst, image, &line, width, pad_value, 8); break;
        default: im2col_line(dst, image, &line, width, pad_value, elem_size); break;
        }
    }
}

void im2col(const im2col_geometry *g, int64_t channels, const void *image, size_t elem_size,
            const void *pad_value, void *columns) {
    int64_t kernel_size = im2col_kernel_size(g), col_count = im2col_col_count(g);
    int64_t image_size = im2col_image_size(g);
    int64_t rows = channels * kernel_size;
    if (rows == 0 || col_count == 0) return;
#pragma omp parallel for schedule(static) if (rows * col_count > IM2COL_PARALLEL_MIN)
    for (int64_t row = 0; row < rows; row++) {
        int64_t channel = row / kernel_size;
        const char *channel_image = (const char *)image + (size_t)(channel * image_size) * elem_size;
        char *dst = (char *)columns + (size_t)(row * col_count) * elem_size;
        im2col_row(g, channel_image, row % kernel_size, elem_size, pad_value, dst);
    }
}

/* ---- col2im ---- */

static void col2im_row(const im2col_geometry *g, const float *row, int64_t kernel_flat,
                       float *image) {
    int64_t kernel_index[NNQ_MAX_RANK];
    kernel_index_of(g, kernel_flat, kernel_index);
    int64_t width = g->cols[g->spatial_rank - 1];
    int64_t lines = im2col_col_count(g) / width;
    for (int64_t outer = 0; outer < lines; outer++) {
        window_line line = line_at(g, kernel_index, outer);
        const float *src = row + outer * width;
        float *dst = image + line.image_offset;
        for (int64_t o = line.lo; o < line.hi; o++) dst[(o - line.lo) * line.image_step] += src[o];
    }
}

void col2im_f32(const im2col_geometry *g, int64_t channels, const float *columns, float *image) {
    int64_t kernel_size = im2col_kernel_size(g), col_count = im2col_col_count(g);
    int64_t image_size = im2col_image_size(g);
    if (channels == 0 || kernel_size == 0 || col_count == 0) return;
    /* Rows of one channel add into the same image plane, so threads split channels. */
#pragma omp parallel for schedule(static) if (channels * kernel_size * col_count > IM2COL_PARALLEL_MIN)
    for (int64_t channel = 0; channel < channels; channel++)
        for (int64_t k = 0; k < kernel_size; k++)
            col2im_row(g, columns + (channel * kernel_size + k) * col_count, k,
                       image + channel * image_size);
}

/* ---- Attributes ---- */

/* Reads an ints attribute that must have `count` entries in [min, CONV_ATTR_MAX];
 * fills `fallback` when absent. Returns whether it was present via *present. */
static nnq_status read_ints(const nnq_op_context *ctx, const char *name, int count,
                            int64_t fallback, int64_t min, int64_t *out, bool *present) {
    int64_t n = 0;
    const int64_t *values = node_attr_ints(ctx->node, name, &n);
    if (present) *present = values != NULL;
    if (!values) {
        for (int i = 0; i < count; i++) out[i] = fallback;
        return NNQ_OK;
    }
    if (n != count)
        return op_fail(ctx, NNQ_ERR_INVALID, "attribute %s has %lld values, expected %d", name,
                       (long long)n, count);
    for (int i = 0; i < count; i++) {
        if (values[i] < min || values[i] > CONV_ATTR_MAX)
            return op_fail(ctx, NNQ_ERR_INVALID, "attribute %s[%d] = %lld is out of range", name,
                           i, (long long)values[i]);
        out[i] = values[i];
    }
    return NNQ_OK;
}

static nnq_status read_auto_pad(const nnq_op_context *ctx, conv_auto_pad *out) {
    const char *text = node_attr_string(ctx->node, "auto_pad", "NOTSET");
    if (!strcmp(text, "NOTSET") || !text[0]) *out = CONV_AUTO_PAD_NOTSET;
    else if (!strcmp(text, "SAME_UPPER")) *out = CONV_AUTO_PAD_SAME_UPPER;
    else if (!strcmp(text, "SAME_LOWER")) *out = CONV_AUTO_PAD_SAME_LOWER;
    else if (!strcmp(text, "VALID")) *out = CONV_AUTO_PAD_VALID;
    else return op_fail(ctx, NNQ_ERR_INVALID, "unknown auto_pad '%s'", text);
    return NNQ_OK;
}

nnq_status conv_window_attrs_read(const nnq_op_context *ctx, int spatial_rank,
                                  const int64_t *kernel_from_weights, conv_window_attrs *attrs) {
    if (spatial_rank < 1 || spatial_rank > NNQ_MAX_RANK - 2)
        return op_fail(ctx, NNQ_ERR_INVALID, "%d spatial dims are not supported", spatial_rank);
    memset(attrs, 0, sizeof *attrs);
    attrs->spatial_rank = spatial_rank;
    bool has_kernel_shape;
    NNQ_TRY(read_ints(ctx, "kernel_shape", spatial_rank, -1, 1, attrs->kernel, &has_kernel_shape));
    if (!kernel_from_weights && !has_kernel_shape)
        return op_fail(ctx, NNQ_ERR_INVALID, "attribute kernel_shape is required");
    for (int d = 0; kernel_from_weights && d < spatial_rank; d++) {
        int64_t from_weights = kernel_from_weights[d];
        if (from_weights < 0) continue; /* unknown: keep kernel_shape (or -1) */
        if (from_weights == 0)
            return op_fail(ctx, NNQ_ERR_INVALID, "W has an empty kernel dim %d", d);
        if (has_kernel_shape && attrs->kernel[d] != from_weights)
            return op_fail(ctx, NNQ_ERR_INVALID, "kernel_shape[%d] = %lld disagrees with W (%lld)",
                           d, (long long)attrs->kernel[d], (long long)from_weights);
        if (from_weights > CONV_ATTR_MAX)
            return op_fail(ctx, NNQ_ERR_INVALID, "kernel dim %lld is too large",
                           (long long)from_weights);
        attrs->kernel[d] = from_weights;
    }
    NNQ_TRY(read_ints(ctx, "strides", spatial_rank, 1, 1, attrs->strides, NULL));
    NNQ_TRY(read_ints(ctx, "dilations", spatial_rank, 1, 1, attrs->dilations, NULL));
    NNQ_TRY(read_ints(ctx, "pads", 2 * spatial_rank, 0, 0, attrs->pads, NULL));
    return read_auto_pad(ctx, &attrs->auto_pad);
}

/* One spatial dim of a window sweep, following the ONNX Conv / pooling shape rules:
 *   explicit pads: out = floor_or_ceil((in + pad_begin + pad_end - effective_kernel) / stride) + 1
 *     with effective_kernel = (kernel - 1) * dilation + 1; in ceil mode a window that
 *     would start in the end padding (start >= in + pad_begin) is dropped;
 *   VALID:        the same with no pads;
 *   SAME_*:       out = ceil(in / stride), total pad = max(0, (out - 1) * stride +
 *                 effective_kernel - in), the odd unit going to the end (UPPER) or begin (LOWER). */
static nnq_status resolve_dim(const nnq_op_context *ctx, const conv_window_attrs *attrs, int d,
                              bool ceil_mode, im2col_geometry *g) {
    int rank = attrs->spatial_rank;
    int64_t in = g->image[d], kernel = attrs->kernel[d], stride = attrs->strides[d];
    int64_t *pad_begin = &g->pads[d], *pad_end = &g->pads[rank + d];
    *pad_begin = attrs->auto_pad == CONV_AUTO_PAD_NOTSET ? attrs->pads[d] : 0;
    *pad_end = attrs->auto_pad == CONV_AUTO_PAD_NOTSET ? attrs->pads[rank + d] : 0;
    if (in < 0 || kernel < 0) {
        g->cols[d] = NNQ_UNKNOWN_DIM;
        return NNQ_OK;
    }
    if (in > CONV_SPATIAL_DIM_MAX)
        return op_fail(ctx, NNQ_ERR_INVALID, "spatial dim %d of size %lld is too large", d,
                       (long long)in);
    int64_t effective_kernel = (kernel - 1) * attrs->dilations[d] + 1;
    if (attrs->auto_pad == CONV_AUTO_PAD_SAME_UPPER || attrs->auto_pad == CONV_AUTO_PAD_SAME_LOWER) {
        int64_t out = (in + stride - 1) / stride;
        int64_t total = (out - 1) * stride + effective_kernel - in;
        if (total < 0) total = 0;
        *pad_begin = attrs->auto_pad == CONV_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        *pad_end = total - *pad_begin;
        g->cols[d] = out;
        return NNQ_OK;
    }
    int64_t span = in + *pad_begin + *pad_end - effective_kernel;
    if (span < 0)
        return op_fail(ctx, NNQ_ERR_INVALID,
                       "window of %lld (kernel %lld, dilation %lld) does not fit spatial dim %d "
                       "of size %lld with pads %lld+%lld",
                       (long long)effective_kernel, (long long)kernel,
                       (long long)attrs->dilations[d], d, (long long)in, (long long)*pad_begin,
                       (long long)*pad_end);
    int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    if (ceil_mode && (out - 1) * stride >= in + *pad_begin) out--;
    g->cols[d] = out;
    return NNQ_OK;
}

nnq_status window_resolve(const nnq_op_context *ctx, const conv_window_attrs *attrs,
                          const int64_t *in_spatial, bool ceil_mode, im2col_geometry *g) {
    memset(g, 0, sizeof *g);
    g->spatial_rank = attrs->spatial_rank;
    for (int d = 0; d < attrs->spatial_rank; d++) {
        g->image[d] = in_spatial[d];
        g->kernel[d] = attrs->kernel[d];
        g->strides[d] = attrs->strides[d];
        g->dilations[d] = attrs->dilations[d];
        NNQ_TRY(resolve_dim(ctx, attrs, d, ceil_mode, g));
    }
    return NNQ_OK;
}

nnq_status conv_window_resolve(const nnq_op_context *ctx, const conv_window_attrs *attrs,
                               const int64_t *in_spatial, im2col_geometry *g) {
    return window_resolve(ctx, attrs, in_spatial, false, g);
}

/* ---- Conv-like nodes ---- */

static int64_t dim_or_unknown(const nnq_tensor *t, int axis) {
    return t->rank > axis ? t->dims[axis] : NNQ_UNKNOWN_DIM;
}

nnq_status conv_read_layout(const nnq_op_context *ctx, const nnq_tensor *x, const nnq_tensor *w,
                            int64_t *group, int *spatial_rank) {
    *group = node_attr_int(ctx->node, "group", 1);
    if (*group < 1 || *group > CONV_ATTR_MAX)
        return op_fail(ctx, NNQ_ERR_INVALID, "group %lld is out of range", (long long)*group);
    if (x->rank != NNQ_UNKNOWN_RANK && x->rank < 3)
        return op_fail(ctx, NNQ_ERR_INVALID, "X has rank %d, expected at least 3", x->rank);
    if (w->rank != NNQ_UNKNOWN_RANK && w->rank < 3)
        return op_fail(ctx, NNQ_ERR_INVALID, "W has rank %d, expected at least 3", w->rank);
    if (x->rank != NNQ_UNKNOWN_RANK && w->rank != NNQ_UNKNOWN_RANK && x->rank != w->rank)
        return op_fail(ctx, NNQ_ERR_INVALID, "X has rank %d but W has rank %d", x->rank, w->rank);
    int rank = x->rank != NNQ_UNKNOWN_RANK ? x->rank : w->rank;
    *spatial_rank = rank == NNQ_UNKNOWN_RANK ? -1 : rank - 2;
    return NNQ_OK;
}

nnq_status conv_params_resolve(const nnq_op_context *ctx, const nnq_tensor *x,
                               const nnq_tensor *w, conv_params *params) {
    memset(params, 0, sizeof *params);
    NNQ_TRY(conv_read_layout(ctx, x, w, &params->group, &params->spatial_rank));
    params->batch = dim_or_unknown(x, 0);
    params->in_channels = dim_or_unknown(x, 1);
    params->out_channels = dim_or_unknown(w, 0);
    if (params->spatial_rank < 0) return NNQ_OK;

    int64_t w_channels = dim_or_unknown(w, 1);
    if (params->in_channels >= 0 && w_channels >= 0 &&
        params->in_channels != w_channels * params->group)
        return op_fail(ctx, NNQ_ERR_INVALID, "X has %lld channels but W expects %lld x group %lld",
                       (long long)params->in_channels, (long long)w_channels,
                       (long long)params->group);
    if (params->out_channels >= 0 && params->out_channels % params->group != 0)
        return op_fail(ctx, NNQ_ERR_INVALID, "%lld output channels are not divisible by group %lld",
                       (long long)params->out_channels, (long long)params->group);

    int64_t kernel[NNQ_MAX_RANK], in_spatial[NNQ_MAX_RANK];
    for (int d = 0; d < params->spatial_rank; d++) {
        kernel[d] = dim_or_unknown(w, 2 + d);
        in_spatial[d] = dim_or_unknown(x, 2 + d);
    }
    conv_window_attrs attrs;
    NNQ_TRY(conv_window_attrs_read(ctx, params->spatial_rank, kernel, &attrs));
    return conv_window_resolve(ctx, &attrs, in_spatial, &params->geom);
}

void conv_params_output_shape(const conv_params *params, nnq_tensor *out) {
    if (params->spatial_rank < 0) {
        out->rank = NNQ_UNKNOWN_RANK;
        return;
    }
    out->rank = params->spatial_rank + 2;
    out->dims[0] = params->batch;
    out->dims[1] = params->out_channels;
    for (int d = 0; d < params->spatial_rank; d++) out->dims[2 + d] = params->geom.cols[d];
}
