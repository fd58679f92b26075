/* Quantization operators:
 *   QuantizeLinear, DequantizeLinear  - per tensor, or per axis (opset 13+);
 *   DynamicQuantizeLinear             - uint8 with scale and zero point from the data;
 *   MatMulInteger, QLinearMatMul      - numpy matmul of 8-bit operands;
 *   ConvInteger, QLinearConv          - convolution of 8-bit operands via im2col.
 *
 * The integer linear operators share one path: operands are widened to
 * int16 with their zero points subtracted (so uint8/int8 mixes and
 * per-tensor, per-row or per-channel zero points are all the same case),
 * multiplied by gemm_s16_s32 into int32 accumulators, and - for the QLinear
 * forms - requantized with the float multiplier scale_a * scale_b / scale_y,
 * rounded half to even and saturated (quant_math.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm_s8.h"
#include "ops/im2col.h"
#include "ops/op.h"
#include "ops/quant_math.h"

/* ---- Parameter checks ---- */

static nnq_status check_8bit(const nnq_op_context *ctx, const nnq_tensor *t, const char *what) {
    return op_check_dtype(ctx, t, what, NNQ_UINT8, NNQ_INT8, NNQ_UNDEFINED);
}

/* Fails unless t has one element (per tensor) or `count` (per row / channel;
 * count -1 when unknown). */
static nnq_status check_param_count(const nnq_op_context *ctx, const nnq_tensor *t,
                                    const char *what, int64_t count, const char *per_what) {
    int64_t n = tensor_numel(t);
    if (n < 0 || n == 1 || (count < 0 && t->rank <= 1) || n == count) return NNQ_OK;
    if (count == 1)
        return op_fail(ctx, NNQ_ERR_INVALID, "%s must have one element, has %lld", what,
                       (long long)n);
    if (count < 0)
        return op_fail(ctx, NNQ_ERR_INVALID, "%s must be a scalar or 1-D, has rank %d", what,
                       t->rank);
    return op_fail(ctx, NNQ_ERR_INVALID, "%s has %lld elements, expected 1 or %lld (one per %s)",
                   what, (long long)n, (long long)count, per_what);
}

static nnq_status check_scale(const nnq_op_context *ctx, const nnq_tensor *t, const char *what,
                              int64_t count, const char *per_what) {
    NNQ_TRY(op_check_dtype(ctx, t, what, NNQ_FLOAT, NNQ_UNDEFINED));
    return check_param_count(ctx, t, what, count, per_what);
}

/* A zero point has its data's type; zero_point may be NULL (omitted: 0). */
static nnq_status check_zero_point(const nnq_op_context *ctx, const nnq_tensor *zero_point,
                                   const char *what, const nnq_tensor *data, int64_t count,
                                   const char *per_what) {
    if (!zero_point) return NNQ_OK;
    if (zero_point->dtype != data->dtype)
        return op_fail(ctx, NNQ_ERR_INVALID, "%s is %s but its data is %s", what,
                       dtype_name(zero_point->dtype), dtype_name(data->dtype));
    return check_param_count(ctx, zero_point, what, count, per_what);
}

/* 0 for a per-tensor parameter (every index reads element 0), 1 for one per index. */
static int64_t param_step(const nnq_tensor *t) {
    return t && tensor_numel(t) > 1 ? 1 : 0;
}

static float scale_at(const nnq_tensor *scale, int64_t i) {
    return ((const float *)scale->data)[i * param_step(scale)];
}

static int32_t zero_point_at(const nnq_tensor *zero_point, int64_t i) {
    if (!zero_point) return 0;
    return quant_load(zero_point->data, zero_point->dtype, i * param_step(zero_point));
}

/* malloc of count elements (an empty request still succeeds); NULL after
 * recording the failure. */
static void *alloc_elements(const nnq_op_context *ctx, int64_t count, size_t size) {
    void *p = malloc((size_t)(count > 0 ? count : 1) * size);
    if (!p) op_fail(ctx, NNQ_ERR_NOMEM, "out of memory for %lld elements", (long long)count);
    return p;
}

/* ---- QuantizeLinear / DequantizeLinear ---- */

/* x viewed as [outer, channels, inner] with one scale / zero point per
 * channel; channels = 1 for per-tensor parameters. */
typedef struct axis_layout {
    int64_t outer, channels, inner;
} axis_layout;

/* Per tensor when the scale has one element; per axis (opset 13+) when it
 * is 1-D with x.dims[axis] elements, axis an attribute defaulting to 1. */
static nnq_status resolve_axis_params(const nnq_op_context *ctx, const nnq_tensor *x,
                                      const nnq_tensor *scale, const nnq_tensor *zero_point,
                                      axis_layout *layout) {
    if (node_attr_int(ctx->node, "block_size", 0) != 0)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "blocked quantization is not supported");
    NNQ_TRY(op_check_dtype(ctx, scale, "scale", NNQ_FLOAT, NNQ_UNDEFINED));
    int64_t n = tensor_numel(scale);
    if (zero_point) {
        int64_t zn = tensor_numel(zero_point);
        if (n >= 0 && zn >= 0 && zn != n)
            return op_fail(ctx, NNQ_ERR_INVALID, "zero point has %lld elements, scale %lld",
                           (long long)zn, (long long)n);
    }
    *layout = (axis_layout){1, 1, tensor_numel(x)};
    if (n == 1 || scale->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    if (ctx->opset < 13)
        return op_fail(ctx, NNQ_ERR_INVALID, "scale must be a scalar before opset 13");
    if (scale->rank != 1)
        return op_fail(ctx, NNQ_ERR_INVALID, "scale must be a scalar or 1-D, has rank %d",
                       scale->rank);
    if (x->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    int axis;
    NNQ_TRY(op_normalize_axis(ctx, node_attr_int(ctx->node, "axis", 1), x->rank, &axis));
    if (n >= 0 && x->dims[axis] >= 0 && n != x->dims[axis])
        return op_fail(ctx, NNQ_ERR_INVALID, "scale has %lld elements for axis %d of size %lld",
                       (long long)n, axis, (long long)x->dims[axis]);
    layout->outer = dims_numel(x->dims, axis);
    layout->channels = x->dims[axis];
    layout->inner = dims_numel(x->dims + axis + 1, x->rank - axis - 1);
    return NNQ_OK;
}

static nnq_status quantize_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 2, 3, 1, 1));
    const nnq_tensor *x = ctx->inputs[0], *zero_point = op_input(ctx, 2);
    NNQ_TRY(op_check_dtype(ctx, x, "x", NNQ_FLOAT, NNQ_INT32, NNQ_UNDEFINED));
    nnq_dtype out_type = zero_point ? zero_point->dtype : NNQ_UINT8;
    quant_range range;
    if (out_type == NNQ_INT32 || !quant_range_of(out_type, &range))
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "quantizing to %s is not supported",
                       dtype_name(out_type));
    axis_layout layout;
    NNQ_TRY(resolve_axis_params(ctx, x, ctx->inputs[1], zero_point, &layout));
    op_infer_same_as(&ctx->outputs[0], x);
    ctx->outputs[0].dtype = out_type;
    return NNQ_OK;
}

/* y = saturate(round(x / y_scale) + y_zero_point), the division in float as
 * the ONNX definition computes it. */
static nnq_status quantize_run(nnq_op_context *ctx) {
    const nnq_tensor *x = ctx->inputs[0], *scale = ctx->inputs[1];
    const nnq_tensor *zero_point = op_input(ctx, 2);
    nnq_tensor *y = &ctx->outputs[0];
    axis_layout layout;
    NNQ_TRY(resolve_axis_params(ctx, x, scale, zero_point, &layout));
    quant_range range;
    quant_range_of(y->dtype, &range);
    const float *xf = x->dtype == NNQ_FLOAT ? x->data : NULL;
    const int32_t *xi = x->data;
    for (int64_t o = 0; o < layout.outer; o++)
        for (int64_t c = 0; c < layout.channels; c++) {
            float s = scale_at(scale, c);
            int32_t zp = zero_point_at(zero_point, c);
            int64_t base = (o * layout.channels + c) * layout.inner;
            for (int64_t i = base; i < base + layout.inner; i++) {
                float v = xf ? xf[i] : (float)xi[i];
                quant_store(y->data, y->dtype, i, quant_round_saturate(v / s, zp, range));
            }
        }
    return NNQ_OK;
}

static nnq_status dequantize_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 2, 3, 1, 1));
    const nnq_tensor *x = ctx->inputs[0], *zero_point = op_input(ctx, 2);
    NNQ_TRY(op_check_dtype(ctx, x, "x", NNQ_UINT8, NNQ_INT8, NNQ_UINT16, NNQ_INT16, NNQ_INT32,
                           NNQ_UNDEFINED));
    NNQ_TRY(check_zero_point(ctx, zero_point, "x_zero_point", x, -1, "axis entry"));
    axis_layout layout;
    NNQ_TRY(resolve_axis_params(ctx, x, ctx->inputs[1], zero_point, &layout));
    op_infer_same_as(&ctx->outputs[0], x);
    ctx->outputs[0].dtype = NNQ_FLOAT;
    return NNQ_OK;
}

/* y = (x - x_zero_point) * x_scale; the difference is exact in int64. */
static nnq_status dequantize_run(nnq_op_context *ctx) {
    const nnq_tensor *x = ctx->inputs[0], *scale = ctx->inputs[1];
    const nnq_tensor *zero_point = op_input(ctx, 2);
    float *y = ctx->outputs[0].data;
    axis_layout layout;
    NNQ_TRY(resolve_axis_params(ctx, x, scale, zero_point, &layout));
    for (int64_t o = 0; o < layout.outer; o++)
        for (int64_t c = 0; c < layout.channels; c++) {
            float s = scale_at(scale, c);
            int64_t zp = zero_point_at(zero_point, c);
            int64_t base = (o * layout.channels + c) * layout.inner;
            for (int64_t i = base; i < base + layout.inner; i++)
                y[i] = (float)((int64_t)quant_load(x->data, x->dtype, i) - zp) * s;
        }
    return NNQ_OK;
}

/* ---- DynamicQuantizeLinear ---- */

static nnq_status dynamic_quantize_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 3, 3));
    const nnq_tensor *x = ctx->inputs[0];
    NNQ_TRY(op_check_dtype(ctx, x, "x", NNQ_FLOAT, NNQ_UNDEFINED));
    op_infer_same_as(&ctx->outputs[0], x);
    ctx->outputs[0].dtype = NNQ_UINT8;
    tensor_set_shape(&ctx->outputs[1], NNQ_FLOAT, 0, NULL);
    tensor_set_shape(&ctx->outputs[2], NNQ_UINT8, 0, NULL);
    return NNQ_OK;
}

/* The ONNX definition (uint8, qmin = 0, qmax = 255), all in float:
 *   y_scale      = (max(0, max(x)) - min(0, min(x))) / 255
 *   y_zero_point = saturate(round(0 - min(0, min(x)) / y_scale))
 *   y            = saturate(round(x / y_scale) + y_zero_point)
 * An all-zero x gives y_scale 0; the 0/0 quotients are NaN, which
 * quant_round_saturate maps to the zero point, so y and y_zero_point are 0.
 * fminf/fmaxf skip NaN inputs. */
static nnq_status dynamic_quantize_run(nnq_op_context *ctx) {
    const nnq_tensor *x = ctx->inputs[0];
    const float *in = x->data;
    int64_t count = tensor_numel(x);
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < count; i++) {
        lo = fminf(lo, in[i]);
        hi = fmaxf(hi, in[i]);
    }
    quant_range range = {0, UINT8_MAX};
    float scale = (hi - lo) / 255.0f;
    int32_t zero_point = quant_round_saturate(0.0f - lo / scale, 0, range);
    uint8_t *y = ctx->outputs[0].data;
    for (int64_t i = 0; i < count; i++)
        y[i] = (uint8_t)quant_round_saturate(in[i] / scale, zero_point, range);
    *(float *)ctx->outputs[1].data = scale;
    *(uint8_t *)ctx->outputs[2].data = (uint8_t)zero_point;
    return NNQ_OK;
}

/* ---- Widening with zero-point subtraction ---- */

/* dst = src - zero_point as int16, with src viewed as a stack of matrices
 * [rows x cols]: the zero point is NULL (0), one value, or one per row
 * (per_column false) or per column. */
static void widen_minus_zero_point(const nnq_tensor *src, const nnq_tensor *zero_point,
                                   int64_t rows, int64_t cols, bool per_column, int16_t *dst) {
    int64_t total = tensor_numel(src);
    if (total <= 0 || rows <= 0 || cols <= 0) return;
    int64_t step = param_step(zero_point);
    for (int64_t line = 0; line < total / cols; line++) {
        int64_t row = line % rows, base = line * cols;
        int32_t row_zero = per_column ? 0 : zero_point_at(zero_point, row);
        for (int64_t c = 0; c < cols; c++) {
            int32_t zero = per_column && zero_point
                               ? quant_load(zero_point->data, zero_point->dtype, c * step)
                               : row_zero;
            dst[base + c] = (int16_t)(quant_load(src->data, src->dtype, base + c) - zero);
        }
    }
}

/* ---- MatMulInteger / QLinearMatMul ---- */

/* numpy matmul of A [..., M, K] and B [..., K, N]: a 1-D A is [1, K] and a
 * 1-D B is [K, 1], the added dim dropped from Y; batch dims broadcast. */
typedef struct matmul_shape {
    int64_t m, n, k;                        /* -1 when unknown */
    int batch_rank;
    int64_t batch[NNQ_MAX_RANK];
    int64_t a_batch_stride[NNQ_MAX_RANK];   /* in matrices; 0 along broadcast dims */
    int64_t b_batch_stride[NNQ_MAX_RANK];
    int out_rank;                           /* NNQ_UNKNOWN_RANK when unknown */
    int64_t out_dims[NNQ_MAX_RANK];
} matmul_shape;

/* The batch dims of a matmul operand as a tensor shape (rank 0 for 1-D / 2-D operands). */
static nnq_tensor batch_part(const nnq_tensor *t) {
    nnq_tensor batch = {0};
    batch.rank = t->rank > 2 ? t->rank - 2 : 0;
    memcpy(batch.dims, t->dims, sizeof(int64_t) * (size_t)batch.rank);
    return batch;
}

static nnq_status matmul_shape_resolve(const nnq_op_context *ctx, const nnq_tensor *a,
                                       const nnq_tensor *b, matmul_shape *s) {
    memset(s, 0, sizeof *s);
    s->m = s->n = s->k = NNQ_UNKNOWN_DIM;
    s->out_rank = NNQ_UNKNOWN_RANK;
    if (a->rank == NNQ_UNKNOWN_RANK || b->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    if (a->rank == 0 || b->rank == 0)
        return op_fail(ctx, NNQ_ERR_INVALID, "matmul operands must have at least one dim");
    bool a_vector = a->rank == 1, b_vector = b->rank == 1;
    int64_t ka = a->dims[a->rank - 1];
    int64_t kb = b_vector ? b->dims[0] : b->dims[b->rank - 2];
    if (ka >= 0 && kb >= 0 && ka != kb)
        return op_fail(ctx, NNQ_ERR_INVALID, "inner dims differ: A has %lld, B has %lld",
                       (long long)ka, (long long)kb);
    s->k = ka >= 0 ? ka : kb;
    s->m = a_vector ? 1 : a->dims[a->rank - 2];
    s->n = b_vector ? 1 : b->dims[b->rank - 1];
    nnq_tensor a_batch = batch_part(a), b_batch = batch_part(b);
    NNQ_TRY(op_broadcast_shape(ctx, &a_batch, &b_batch, &s->batch_rank, s->batch));
    op_broadcast_strides(a_batch.dims, a_batch.rank, s->batch, s->batch_rank, s->a_batch_stride);
    op_broadcast_strides(b_batch.dims, b_batch.rank, s->batch, s->batch_rank, s->b_batch_stride);
    int rank = s->batch_rank;
    memcpy(s->out_dims, s->batch, sizeof(int64_t) * (size_t)rank);
    if (!a_vector) s->out_dims[rank++] = s->m;
    if (!b_vector) s->out_dims[rank++] = s->n;
    s->out_rank = rank;
    return NNQ_OK;
}

static void matmul_output_shape(const matmul_shape *s, nnq_dtype dtype, nnq_tensor *out) {
    out->dtype = dtype;
    out->rank = s->out_rank;
    if (s->out_rank > 0) memcpy(out->dims, s->out_dims, sizeof(int64_t) * (size_t)s->out_rank);
}

/* acc [batch..., M, N] = (A - a_zero_point) x (B - b_zero_point) with
 * per-row A and per-column B zero points. */
static nnq_status integer_matmul(const nnq_op_context *ctx, const matmul_shape *s,
                                 const nnq_tensor *a, const nnq_tensor *a_zero_point,
                                 const nnq_tensor *b, const nnq_tensor *b_zero_point,
                                 int32_t *acc) {
    int16_t *wide_a = alloc_elements(ctx, tensor_numel(a), sizeof(int16_t));
    int16_t *wide_b = wide_a ? alloc_elements(ctx, tensor_numel(b), sizeof(int16_t)) : NULL;
    if (!wide_b) {
        free(wide_a);
        return NNQ_ERR_NOMEM;
    }
    widen_minus_zero_point(a, a_zero_point, s->m, s->k, false, wide_a);
    widen_minus_zero_point(b, b_zero_point, s->k, s->n, true, wide_b);
    int64_t batches = dims_numel(s->batch, s->batch_rank);
    for (int64_t bi = 0; bi < batches; bi++) {
        int64_t a_matrix = 0, b_matrix = 0, rest = bi;
        for (int d = s->batch_rank - 1; d >= 0; d--) {
            int64_t index = rest % s->batch[d];
            rest /= s->batch[d];
            a_matrix += index * s->a_batch_stride[d];
            b_matrix += index * s->b_batch_stride[d];
        }
        gemm_s16_s32(s->m, s->n, s->k, wide_a + a_matrix * s->m * s->k, s->k,
                     wide_b + b_matrix * s->k * s->n, s->n,
                     acc + bi * s->m * s->n, s->n);
    }
    free(wide_a);
    free(wide_b);
    return NNQ_OK;
}

static nnq_status matmul_integer_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 2, 4, 1, 1));
    const nnq_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    NNQ_TRY(check_8bit(ctx, a, "A"));
    NNQ_TRY(check_8bit(ctx, b, "B"));
    matmul_shape s;
    NNQ_TRY(matmul_shape_resolve(ctx, a, b, &s));
    NNQ_TRY(check_zero_point(ctx, op_input(ctx, 2), "a_zero_point", a, s.m, "row of A"));
    NNQ_TRY(check_zero_point(ctx, op_input(ctx, 3), "b_zero_point", b, s.n, "column of B"));
    matmul_output_shape(&s, NNQ_INT32, &ctx->outputs[0]);
    return NNQ_OK;
}

static nnq_status matmul_integer_run(nnq_op_context *ctx) {
    matmul_shape s;
    NNQ_TRY(matmul_shape_resolve(ctx, ctx->inputs[0], ctx->inputs[1], &s));
    return integer_matmul(ctx, &s, ctx->inputs[0], op_input(ctx, 2), ctx->inputs[1],
                          op_input(ctx, 3), ctx->outputs[0].data);
}

/* QLinearMatMul inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point. */
static nnq_status qlinear_matmul_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 8, 8, 1, 1));
    const nnq_tensor *const *in = ctx->inputs;
    NNQ_TRY(check_8bit(ctx, in[0], "a"));
    NNQ_TRY(check_8bit(ctx, in[3], "b"));
    NNQ_TRY(check_8bit(ctx, in[7], "y_zero_point"));
    matmul_shape s;
    NNQ_TRY(matmul_shape_resolve(ctx, in[0], in[3], &s));
    NNQ_TRY(check_scale(ctx, in[1], "a_scale", s.m, "row of a"));
    NNQ_TRY(check_zero_point(ctx, in[2], "a_zero_point", in[0], s.m, "row of a"));
    NNQ_TRY(check_scale(ctx, in[4], "b_scale", s.n, "column of b"));
    NNQ_TRY(check_zero_point(ctx, in[5], "b_zero_point", in[3], s.n, "column of b"));
    NNQ_TRY(check_scale(ctx, in[6], "y_scale", 1, "tensor"));
    NNQ_TRY(check_param_count(ctx, in[7], "y_zero_point", 1, "tensor"));
    matmul_output_shape(&s, in[7]->dtype, &ctx->outputs[0]);
    return NNQ_OK;
}

/* y = saturate(round(acc * (a_scale[i] * b_scale[j] / y_scale)) + y_zero_point). */
static nnq_status qlinear_matmul_run(nnq_op_context *ctx) {
    const nnq_tensor *const *in = ctx->inputs;
    nnq_tensor *y = &ctx->outputs[0];
    matmul_shape s;
    NNQ_TRY(matmul_shape_resolve(ctx, in[0], in[3], &s));
    int64_t count = tensor_numel(y);
    int32_t *acc = alloc_elements(ctx, count, sizeof(int32_t));
    if (!acc) return NNQ_ERR_NOMEM;
    nnq_status status = integer_matmul(ctx, &s, in[0], in[2], in[3], in[5], acc);
    if (status == NNQ_OK && count > 0) {
        quant_range range;
        quant_range_of(y->dtype, &range);
        float y_scale = scale_at(in[6], 0);
        int32_t y_zero = zero_point_at(in[7], 0);
        const float *b_scales = in[4]->data;
        int64_t b_step = param_step(in[4]);
        for (int64_t row = 0; row < count / s.n; row++) {
            float a_scale = scale_at(in[1], row % s.m);
            for (int64_t j = 0, e = row * s.n; j < s.n; j++, e++) {
                float multiplier = a_scale * b_scales[j * b_step] / y_scale;
                quant_store(y->data, y->dtype, e,
                            quant_round_saturate((float)acc[e] * multiplier, y_zero, range));
            }
        }
    }
    free(acc);
    return status;
}

/* ---- ConvInteger / QLinearConv ---- */

/* acc [N, M, output spatial] = conv(X - x_zero_point, W - w_zero_point),
 * per group: columns = im2col(X_group) and acc_group = W_group x columns.
 * Padding is 0 after the zero-point shift, i.e. the zero point before it. */
static nnq_status integer_conv(const nnq_op_context *ctx, const conv_params *p,
                               const nnq_tensor *x, const nnq_tensor *x_zero_point,
                               const nnq_tensor *w, const nnq_tensor *w_zero_point, int32_t *acc) {
    const im2col_geometry *g = &p->geom;
    int64_t channels = p->in_channels / p->group, maps = p->out_channels / p->group;
    int64_t kernel_size = im2col_kernel_size(g), image_size = im2col_image_size(g);
    int64_t col_count = im2col_col_count(g), rows = channels * kernel_size;
    bool direct = im2col_is_identity(g);
    int16_t *wide_x = alloc_elements(ctx, tensor_numel(x), sizeof(int16_t));
    int16_t *wide_w = wide_x ? alloc_elements(ctx, tensor_numel(w), sizeof(int16_t)) : NULL;
    int16_t *columns = NULL;
    if (wide_w && !direct) columns = alloc_elements(ctx, rows * col_count, sizeof(int16_t));
    if (!wide_w || (!direct && !columns)) {
        free(wide_x);
        free(wide_w);
        return NNQ_ERR_NOMEM;
    }
    /* x_zero_point is per tensor: x is one long row. */
    widen_minus_zero_point(x, x_zero_point, 1, tensor_numel(x), false, wide_x);
    widen_minus_zero_point(w, w_zero_point, p->out_channels, rows, false, wide_w);
    const int16_t zero = 0;
    for (int64_t n = 0; n < p->batch; n++)
        for (int64_t group = 0; group < p->group; group++) {
            const int16_t *image = wide_x + (n * p->in_channels + group * channels) * image_size;
            if (!direct) im2col(g, channels, image, sizeof(int16_t), &zero, columns);
            gemm_s16_s32(maps, col_count, rows, wide_w + group * maps * rows,
                         rows, direct ? image : columns, col_count,
                         acc + (n * p->out_channels + group * maps) * col_count, col_count);
        }
    free(wide_x);
    free(wide_w);
    free(columns);
    return NNQ_OK;
}

static nnq_status conv_integer_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 2, 4, 1, 1));
    const nnq_tensor *x = ctx->inputs[0], *w = ctx->inputs[1];
    NNQ_TRY(check_8bit(ctx, x, "x"));
    NNQ_TRY(check_8bit(ctx, w, "w"));
    conv_params p;
    NNQ_TRY(conv_params_resolve(ctx, x, w, &p));
    NNQ_TRY(check_zero_point(ctx, op_input(ctx, 2), "x_zero_point", x, 1, "tensor"));
    NNQ_TRY(check_zero_point(ctx, op_input(ctx, 3), "w_zero_point", w, p.out_channels,
                             "output channel"));
    conv_params_output_shape(&p, &ctx->outputs[0]);
    ctx->outputs[0].dtype = NNQ_INT32;
    return NNQ_OK;
}

static nnq_status conv_integer_run(nnq_op_context *ctx) {
    conv_params p;
    NNQ_TRY(conv_params_resolve(ctx, ctx->inputs[0], ctx->inputs[1], &p));
    return integer_conv(ctx, &p, ctx->inputs[0], op_input(ctx, 2), ctx->inputs[1],
                        op_input(ctx, 3), ctx->outputs[0].data);
}

/* QLinearConv inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point,
 * y_scale, y_zero_point, optional B (int32, one per output channel). */
static nnq_status qlinear_conv_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 8, 9, 1, 1));
    const nnq_tensor *const *in = ctx->inputs;
    NNQ_TRY(check_8bit(ctx, in[0], "x"));
    NNQ_TRY(check_8bit(ctx, in[3], "w"));
    NNQ_TRY(check_8bit(ctx, in[7], "y_zero_point"));
    conv_params p;
    NNQ_TRY(conv_params_resolve(ctx, in[0], in[3], &p));
    NNQ_TRY(check_scale(ctx, in[1], "x_scale", 1, "tensor"));
    NNQ_TRY(check_zero_point(ctx, in[2], "x_zero_point", in[0], 1, "tensor"));
    NNQ_TRY(check_scale(ctx, in[4], "w_scale", p.out_channels, "output channel"));
    NNQ_TRY(check_zero_point(ctx, in[5], "w_zero_point", in[3], p.out_channels,
                             "output channel"));
    NNQ_TRY(check_scale(ctx, in[6], "y_scale", 1, "tensor"));
    NNQ_TRY(check_param_count(ctx, in[7], "y_zero_point", 1, "tensor"));
    const nnq_tensor *bias = op_input(ctx, 8);
    if (bias) {
        NNQ_TRY(op_check_dtype(ctx, bias, "B", NNQ_INT32, NNQ_UNDEFINED));
        int64_t n = tensor_numel(bias);
        if (bias->rank != NNQ_UNKNOWN_RANK &&
            (bias->rank != 1 || (n >= 0 && p.out_channels >= 0 && n != p.out_channels)))
            return op_fail(ctx, NNQ_ERR_INVALID, "B must be 1-D with one value per output channel");
    }
    conv_params_output_shape(&p, &ctx->outputs[0]);
    ctx->outputs[0].dtype = in[7]->dtype;
    return NNQ_OK;
}

/* y = saturate(round((acc + B[m]) * (x_scale * w_scale[m] / y_scale)) + y_zero_point). */
static nnq_status qlinear_conv_run(nnq_op_context *ctx) {
    const nnq_tensor *const *in = ctx->inputs;
    const nnq_tensor *bias = op_input(ctx, 8);
    nnq_tensor *y = &ctx->outputs[0];
    conv_params p;
    NNQ_TRY(conv_params_resolve(ctx, in[0], in[3], &p));
    int64_t count = tensor_numel(y), plane = im2col_col_count(&p.geom);
    int32_t *acc = alloc_elements(ctx, count, sizeof(int32_t));
    if (!acc) return NNQ_ERR_NOMEM;
    nnq_status status = integer_conv(ctx, &p, in[0], in[2], in[3], in[5], acc);
    if (status == NNQ_OK && plane > 0) {
        quant_range range;
        quant_range_of(y->dtype, &range);
        float x_scale = scale_at(in[1], 0), y_scale = scale_at(in[6], 0);
        int32_t y_zero = zero_point_at(in[7], 0);
        for (int64_t nm = 0; nm < count / plane; nm++) {
            int64_t m = nm % p.out_channels;
            float multiplier = x_scale * scale_at(in[4], m) / y_scale;
            int64_t b = bias ? ((const int32_t *)bias->data)[m] : 0;
            for (int64_t e = nm * plane; e < (nm + 1) * plane; e++)
                quant_store(y->data, y->dtype, e,
                            quant_round_saturate((float)(acc[e] + b) * multiplier, y_zero,
                                                 range));
        }
    }
    free(acc);
    return status;
}

const nnq_op_def nnq_ops_quantize[] = {
    {"QuantizeLinear", "", 10, quantize_infer, quantize_run},
    {"DequantizeLinear", "", 10, dequantize_infer, dequantize_run},
    {"DynamicQuantizeLinear", "", 11, dynamic_quantize_infer, dynamic_quantize_run},
    {"MatMulInteger", "", 10, matmul_integer_infer, matmul_integer_run},
    {"QLinearMatMul", "", 10, qlinear_matmul_infer, qlinear_matmul_run},
    {"ConvInteger", "", 10, conv_integer_infer, conv_integer_run},
    {"QLinearConv", "", 10, qlinear_conv_infer, qlinear_conv_run},
    {NULL, NULL, 0, NULL, NULL},
};
