/* Sliding-window geometry, convolution attribute resolution and the
 * im2col / col2im transforms (see im2col.h for the layouts). */
#include "ops/im2col.h"

#include <string.h>

#include "base/parallel.h"

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

/* ---- Row walk shared by im2col and col2im ----
 *
 * Row (channel, kernel offset k) of the columns is a sequence of lines along
 * the last spatial dim, one per position of the outer dims. Column position o
 * along a dim reads image coordinate o * stride - pad_begin + k * dilation,
 * so along every dim the positions inside the image form one range [lo, hi)
 * that depends on the row only. A line reads the image iff each of its outer
 * positions is inside its range; it then reads the positions [lo, hi) of the
 * last dim, `step` image elements apart, from one offset.
 *
 * The lines are walked in blocks: one block per position of the dims before
 * the last two (a single block for 2-D), holding one line per position of
 * the second-to-last dim. Within a block the lines before lo and from hi on
 * are padding (one fill each) and the lines between read the image at
 * offsets `line_step` apart. Block positions advance like an odometer that
 * keeps the block's offset: no division or multiplication per line. */
typedef struct window_row {
    int block_rank;                   /* dims before the last two: spatial_rank - 2 (or 0) */
    int64_t width;                    /* positions per line (cols of the last dim) */
    int64_t lo, hi;                   /* positions [lo, hi) of a line read the image */
    int64_t step;                     /* image elements between consecutive positions */
    int64_t lines;                    /* lines per block (cols of the second-to-last dim) */
    int64_t line_lo, line_hi;         /* lines [line_lo, line_hi) of a block may read the image */
    int64_t line_step;                /* image elements between consecutive lines */
    int64_t offset;                   /* image element read by position lo of line 0 of the block */
    int64_t block_lo[NNQ_MAX_RANK];   /* per block dim: positions inside the image */
    int64_t block_hi[NNQ_MAX_RANK];
    int64_t block_cols[NNQ_MAX_RANK];
    int64_t block_step[NNQ_MAX_RANK]; /* image elements between consecutive positions */
    int64_t position[NNQ_MAX_RANK];   /* current block position */
} window_row;

/* Smallest o >= 0 with o * stride + first >= bound, i.e. ceil((bound - first) / stride). */
static int64_t first_position_reaching(int64_t first, int64_t bound, int64_t stride) {
    int64_t gap = bound - first;
    if (gap <= 0) return 0;
    return stride == 1 ? gap : (gap + stride - 1) / stride; /* no division for stride 1 */
}

/* Positions the walk at the first block of the row of kernel offset kernel_flat. */
static void window_row_start(const im2col_geometry *g, int64_t kernel_flat, window_row *r) {
    int last = g->spatial_rank - 1;
    r->block_rank = last >= 1 ? last - 1 : 0;
    r->lines = 1;
    r->line_lo = 0;
    r->line_hi = 1;
    r->line_step = 0;
    int64_t image_stride = 1, offset = 0;
    for (int d = last; d >= 0; d--) {
        int64_t k = kernel_flat % g->kernel[d];
        kernel_flat /= g->kernel[d];
        int64_t first = k * g->dilations[d] - g->pads[d];
        int64_t lo = first_position_reaching(first, 0, g->strides[d]);
        int64_t hi = first_position_reaching(first, g->image[d], g->strides[d]);
        lo = lo < g->cols[d] ? lo : g->cols[d];
        hi = hi < g->cols[d] ? hi : g->cols[d];
        if (hi < lo) hi = lo;
        int64_t position_step = g->strides[d] * image_stride;
        if (d == last) {
            r->width = g->cols[d];
            r->lo = lo;
            r->hi = hi;
            r->step = g->strides[d];
            offset += first + lo * g->strides[d];
        } else if (d == last - 1) {
            r->lines = g->cols[d];
            r->line_lo = lo;
            r->line_hi = hi;
            r->line_step = position_step;
            offset += first * image_stride;
        } else {
            r->block_lo[d] = lo;
            r->block_hi[d] = hi;
            r->block_cols[d] = g->cols[d];
            r->block_step[d] = position_step;
            r->position[d] = 0;
            offset += first * image_stride;
        }
        image_stride *= g->image[d];
    }
    r->offset = offset;
    if (r->hi == r->lo) r->line_lo = r->line_hi = 0; /* no line reads the image */
}

/* Whether the lines [line_lo, line_hi) of the current block read the image. */
static inline bool window_row_block_inside(const window_row *r) {
    for (int d = 0; d < r->block_rank; d++)
        if (r->position[d] < r->block_lo[d] || r->position[d] >= r->block_hi[d]) return false;
    return r->line_lo < r->line_hi;
}

static inline void window_row_next_block(window_row *r) {
    for (int d = r->block_rank - 1; d >= 0; d--) {
        r->offset += r->block_step[d];
        if (++r->position[d] < r->block_cols[d]) return;
        r->offset -= r->block_cols[d] * r->block_step[d];
        r->position[d] = 0;
    }
}

/* ---- im2col ---- */

/* Writes count copies of the elem_size bytes at value (zero bytes: memset). */
static inline void fill_elements(char *dst, int64_t count, const char *value, bool value_is_zero,
                                 size_t elem_size) {
    if (count <= 0) return;
    if (value_is_zero && count > 8) {
        memset(dst, 0, (size_t)count * elem_size);
        return;
    }
    for (int64_t i = 0; i < count; i++) memcpy(dst + (size_t)i * elem_size, value, elem_size);
}

/* memcpy for the short spans of one line: 16-byte moves (constant-size
 * memcpy compiles to one load and store) instead of a library call. */
static inline void copy_span(char *dst, const char *src, size_t bytes) {
    if (bytes > 256) {
        memcpy(dst, src, bytes);
        return;
    }
    size_t i = 0;
    for (; i + 16 <= bytes; i += 16) memcpy(dst + i, src + i, 16);
    for (; i < bytes; i++) dst[i] = src[i];
}

/* All blocks of one row. Inlined with a constant elem_size (see im2col_row),
 * so the element copies of strided lines and short fills become plain moves. */
static inline __attribute__((always_inline)) void
im2col_row_blocks(window_row *r, int64_t blocks, const char *image, const char *pad_value,
                  bool pad_is_zero, size_t elem_size, char *dst) {
    int64_t count = r->hi - r->lo;
    size_t line_bytes = (size_t)r->width * elem_size;
    for (int64_t block = 0; block < blocks; block++, window_row_next_block(r)) {
        char *block_dst = dst + (size_t)(block * r->lines) * line_bytes;
        if (!window_row_block_inside(r)) {
            fill_elements(block_dst, r->lines * r->width, pad_value, pad_is_zero, elem_size);
            continue;
        }
        fill_elements(block_dst, r->line_lo * r->width, pad_value, pad_is_zero, elem_size);
        const char *in_line = image + (size_t)(r->offset + r->line_lo * r->line_step) * elem_size;
        size_t in_line_bytes = (size_t)r->line_step * elem_size;
        for (int64_t line = r->line_lo; line < r->line_hi; line++, in_line += in_line_bytes) {
            char *line_dst = block_dst + (size_t)line * line_bytes;
            fill_elements(line_dst, r->lo, pad_value, pad_is_zero, elem_size);
            char *out = line_dst + (size_t)r->lo * elem_size;
            if (r->step == 1) {
                copy_span(out, in_line, (size_t)count * elem_size);
            } else {
                const char *in = in_line;
                size_t in_step = (size_t)r->step * elem_size;
                for (int64_t i = 0; i < count; i++, out += elem_size, in += in_step)
                    memcpy(out, in, elem_size);
            }
            fill_elements(line_dst + (size_t)r->hi * elem_size, r->width - r->hi, pad_value,
                          pad_is_zero, elem_size);
        }
        fill_elements(block_dst + (size_t)r->line_hi * line_bytes,
                      (r->lines - r->line_hi) * r->width, pad_value, pad_is_zero, elem_size);
    }
}

static void im2col_row(const im2col_geometry *g, const char *image, int64_t kernel_flat,
                       size_t elem_size, const char *pad_value, bool pad_is_zero, char *dst) {
    window_row r;
    window_row_start(g, kernel_flat, &r);
    int64_t blocks = im2col_col_count(g) / (r.width * r.lines);
    switch (elem_size) {
    case 1: im2col_row_blocks(&r, blocks, image, pad_value, pad_is_zero, 1, dst); break;
    case 2: im2col_row_blocks(&r, blocks, image, pad_value, pad_is_zero, 2, dst); break;
    case 4: im2col_row_blocks(&r, blocks, image, pad_value, pad_is_zero, 4, dst); break;
    case 8: im2col_row_blocks(&r, blocks, image, pad_value, pad_is_zero, 8, dst); break;
    default: im2col_row_blocks(&r, blocks, image, pad_value, pad_is_zero, elem_size, dst); break;
    }
}

static bool bytes_are_zero(const char *bytes, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (bytes[i]) return false;
    return true;
}

void im2col(const im2col_geometry *g, int64_t channels, const void *image, size_t elem_size,
            const void *pad_value, void *columns) {
    int64_t kernel_size = im2col_kernel_size(g), col_count = im2col_col_count(g);
    int64_t image_size = im2col_image_size(g);
    int64_t rows = channels * kernel_size;
    if (rows == 0 || col_count == 0) return;
    if (im2col_is_identity(g)) {
        /* One row per channel, equal to the channel's image. */
        memcpy(columns, image, (size_t)(rows * col_count) * elem_size);
        return;
    }
    bool pad_is_zero = bytes_are_zero(pad_value, elem_size);
    int threads = nnq_threads_for((double)rows * (double)col_count, NNQ_GRAIN_ELEMENTS, rows);
    NNQ_PARALLEL_FOR(threads, (int64_t row = 0; row < rows; row++), {
        int64_t channel = row / kernel_size;
        const char *channel_image = (const char *)image + (size_t)(channel * image_size) * elem_size;
        char *dst = (char *)columns + (size_t)(row * col_count) * elem_size;
        im2col_row(g, channel_image, row % kernel_size, elem_size, pad_value, pad_is_zero, dst);
    });
}

/* ---- im2col fused with a one-row product ---- */

void im2col_dot_f32(const im2col_geometry *g, const float *image, const float *weights,
                    float *out) {
    int64_t kernel_size = im2col_kernel_size(g), col_count = im2col_col_count(g);
    if (col_count == 0) return;
    for (int64_t k = 0; k < kernel_size; k++) {
        float weight = weights[k];
        window_row r;
        window_row_start(g, k, &r);
        int64_t blocks = col_count / (r.width * r.lines), count = r.hi - r.lo;
        for (int64_t block = 0; block < blocks; block++, window_row_next_block(&r)) {
            if (!window_row_block_inside(&r)) continue;
            float *block_out = out + block * r.lines * r.width + r.lo;
            for (int64_t line = r.line_lo; line < r.line_hi; line++) {
                const float *src = image + r.offset + line * r.line_step;
                float *dst = block_out + line * r.width;
                if (r.step == 1) {
#pragma omp simd
                    for (int64_t i = 0; i < count; i++) dst[i] += weight * src[i];
                } else {
                    for (int64_t i = 0; i < count; i++) dst[i] += weight * src[i * r.step];
                }
            }
        }
    }
}

/* ---- col2im ---- */

static void col2im_row(const im2col_geometry *g, const float *row, int64_t kernel_flat,
                       float *image) {
    window_row r;
    window_row_start(g, kernel_flat, &r);
    int64_t blocks = im2col_col_count(g) / (r.width * r.lines);
    for (int64_t block = 0; block < blocks; block++, window_row_next_block(&r)) {
        if (!window_row_block_inside(&r)) continue;
        const float *block_row = row + block * r.lines * r.width;
        for (int64_t line = r.line_lo; line < r.line_hi; line++) {
            const float *src = block_row + line * r.width;
            float *dst = image + r.offset + line * r.line_step;
            for (int64_t o = r.lo; o < r.hi; o++) dst[(o - r.lo) * r.step] += src[o];
        }
    }
}

void col2im_f32(const im2col_geometry *g, int64_t channels, const float *columns, float *image) {
    int64_t kernel_size = im2col_kernel_size(g), col_count = im2col_col_count(g);
    int64_t image_size = im2col_image_size(g);
    if (channels == 0 || kernel_size == 0 || col_count == 0) return;
    /* Rows of one channel add into the same image plane, so threads split channels. */
    int threads = nnq_threads_for((double)channels * (double)kernel_size * (double)col_count,
                                  NNQ_GRAIN_ELEMENTS, channels);
    NNQ_PARALLEL_FOR(threads, (int64_t channel = 0; channel < channels; channel++), {
        for (int64_t k = 0; k < kernel_size; k++)
            col2im_row(g, columns + (channel * kernel_size + k) * col_count, k,
                       image + channel * image_size);
    });
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
