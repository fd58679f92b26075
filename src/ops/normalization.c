/* Normalization: BatchNormalization (inference mode), InstanceNormalization,
 * LayerNormalization, LRN and MeanVarianceNormalization, all float32.
 *
 * Each normalizes x to (x - mean) / sqrt(var + epsilon), then scales and
 * shifts it. BatchNormalization takes mean and var as inputs (running
 * statistics); Instance- and LayerNormalization compute them over a
 * contiguous block of the input: the spatial plane of one (n, c) for
 * InstanceNormalization, the trailing dims from `axis` for LayerNormalization. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/parallel.h"
#include "ops/op.h"

/* Statistics of one contiguous block, accumulated in double (two passes:
 * the mean first, then the mean squared deviation, the population variance
 * the ONNX definitions use). */
typedef struct block_moments {
    double mean;
    double inv_std; /* 1 / sqrt(var + epsilon) */
} block_moments;

static block_moments moments_of(const float *x, int64_t n, float epsilon) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += x[i];
    double mean = n > 0 ? sum / (double)n : 0.0;
    double squares = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        squares += d * d;
    }
    double var = n > 0 ? squares / (double)n : 0.0;
    return (block_moments){mean, 1.0 / sqrt(var + (double)epsilon)};
}

/* y = x * a + b over a block: the affine form of (x - mean) * inv_std * scale + bias
 * with one scale and bias for the whole block. */
static void affine_block(const float *x, int64_t n, float a, float b, float *y) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * a + b;
}

static nnq_status check_float(const nnq_op_context *ctx, const nnq_tensor *t, const char *what) {
    return op_check_dtype(ctx, t, what, NNQ_FLOAT, NNQ_UNDEFINED);
}

/* Fails unless t is 1-D with `count` elements (count or t's dim may be unknown, -1). */
static nnq_status check_per_channel(const nnq_op_context *ctx, const nnq_tensor *t,
                                    const char *what, int64_t count) {
    NNQ_TRY(check_float(ctx, t, what));
    if (t->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    if (t->rank != 1)
        return op_fail(ctx, NNQ_ERR_INVALID, "%s must be 1-D, has rank %d", what, t->rank);
    if (count >= 0 && t->dims[0] >= 0 && t->dims[0] != count)
        return op_fail(ctx, NNQ_ERR_INVALID, "%s has %lld elements for %lld channels", what,
                       (long long)t->dims[0], (long long)count);
    return NNQ_OK;
}

static int64_t channels_of(const nnq_tensor *x) {
    return x->rank >= 2 ? x->dims[1] : NNQ_UNKNOWN_DIM;
}

static float epsilon_of(const nnq_op_context *ctx) {
    return node_attr_float(ctx->node, "epsilon", 1e-5f);
}

/* Checks X [N, C, ...] (at least `min_rank` dims) and the per-channel inputs
 * from index 1 on, and gives Y X's shape. */
static nnq_status infer_per_channel(nnq_op_context *ctx, int min_rank, const char *const *names,
                                    int n_params) {
    const nnq_tensor *x = ctx->inputs[0];
    NNQ_TRY(check_float(ctx, x, "X"));
    if (x->rank != NNQ_UNKNOWN_RANK && x->rank < min_rank)
        return op_fail(ctx, NNQ_ERR_INVALID, "X has rank %d, expected at least %d", x->rank,
                       min_rank);
    for (int i = 0; i < n_params; i++)
        NNQ_TRY(check_per_channel(ctx, ctx->inputs[1 + i], names[i], channels_of(x)));
    op_infer_same_as(&ctx->outputs[0], x);
    return NNQ_OK;
}

/* ---- BatchNormalization ---- */

static bool output_used(const nnq_op_context *ctx, int index) {
    return index < ctx->n_outputs && ctx->node->outputs[index][0] != '\0';
}

/* Only inference is implemented: opset 14+ says so with training_mode, older
 * opsets by asking for the running/saved statistics outputs. */
static nnq_status check_inference_mode(const nnq_op_context *ctx) {
    if (ctx->opset >= 14 && node_attr_int(ctx->node, "training_mode", 0) != 0)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED,
                       "training mode (training_mode=1) is not supported, only inference");
    for (int i = 1; i < ctx->n_outputs; i++)
        if (output_used(ctx, i))
            return op_fail(ctx, NNQ_ERR_UNSUPPORTED,
                           "training mode (statistics output %d requested) is not supported, "
                           "only inference", i);
    if (ctx->opset < 9 && node_attr_int(ctx->node, "spatial", 1) != 1)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "spatial=0 is not supported");
    return NNQ_OK;
}

static nnq_status batchnorm_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 5, 5, 1, 5));
    NNQ_TRY(check_inference_mode(ctx));
    static const char *const names[] = {"scale", "B", "mean", "var"};
    NNQ_TRY(infer_per_channel(ctx, 2, names, 4));
    /* Unused optional outputs still get a shape: the per-channel statistics. */
    for (int i = 1; i < ctx->n_outputs; i++) op_infer_same_as(&ctx->outputs[i], ctx->inputs[3]);
    return NNQ_OK;
}

/* Inference BatchNormalization per channel c:
 *   y = (x - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + B[c] = x * a + b,
 * a = scale[c] / sqrt(var[c] + epsilon), b = B[c] - mean[c] * a. */
static nnq_status batchnorm_run(nnq_op_context *ctx) {
    const nnq_tensor *x = ctx->inputs[0];
    const float *scale = ctx->inputs[1]->data, *bias = ctx->inputs[2]->data;
    const float *mean = ctx->inputs[3]->data, *var = ctx->inputs[4]->data;
    float epsilon = epsilon_of(ctx);
    int64_t batch = x->dims[0], channels = x->dims[1];
    int64_t plane = dims_numel(x->dims + 2, x->rank - 2);
    const float *in = x->data;
    float *out = ctx->outputs[0].data;
    int threads = nnq_threads_for((double)(batch * channels) * (double)plane, NNQ_GRAIN_ELEMENTS,
                                  batch * channels);
    NNQ_PARALLEL_FOR(threads, (int64_t nc = 0; nc < batch * channels; nc++), {
        int64_t c = nc % channels;
        float a = (float)(scale[c] / sqrt((double)var[c] + epsilon));
        float b = bias[c] - mean[c] * a;
        affine_block(in + nc * plane, plane, a, b, out + nc * plane);
    });
    return NNQ_OK;
}

/* ---- InstanceNormalization ---- */

static nnq_status instancenorm_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 3, 3, 1, 1));
    static const char *const names[] = {"scale", "B"};
    return infer_per_channel(ctx, 3, names, 2);
}

/* y = scale[c] * (x - mean) / sqrt(var + epsilon) + B[c], with mean and var
 * over the spatial plane of each (n, c). */
static nnq_status instancenorm_run(nnq_op_context *ctx) {
    const nnq_tensor *x = ctx->inputs[0];
    const float *scale = ctx->inputs[1]->data, *bias = ctx->inputs[2]->data;
    float epsilon = epsilon_of(ctx);
    int64_t batch = x->dims[0], channels = x->dims[1];
    int64_t plane = dims_numel(x->dims + 2, x->rank - 2);
    const float *in = x->data;
    float *out = ctx->outputs[0].data;
    int threads = nnq_threads_for((double)(batch * channels) * (double)plane, NNQ_GRAIN_ELEMENTS,
                                  batch * channels);
    NNQ_PARALLEL_FOR(threads, (int64_t nc = 0; nc < batch * channels; nc++), {
        int64_t c = nc % channels;
        block_moments m = moments_of(in + nc * plane, plane, epsilon);
        float a = (float)(scale[c] * m.inv_std);
        float b = (float)(bias[c] - m.mean * a);
        affine_block(in + nc * plane, plane, a, b, out + nc * plane);
    });
    return NNQ_OK;
}

/* ---- LayerNormalization ---- */

/* Fails unless the parameter (Scale or B) broadcasts to the normalized dims
 * X[axis:] (numpy rules: aligned at the end, each dim equal or 1; leading
 * dims beyond the normalized rank must be 1). */
static nnq_status check_layernorm_param(const nnq_op_context *ctx, const nnq_tensor *t,
                                        const char *what, const nnq_tensor *x, int axis) {
    NNQ_TRY(check_float(ctx, t, what));
    if (t->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    int norm_rank = x->rank - axis;
    for (int i = 0; i < t->rank; i++) {
        int xd = i - t->rank + x->rank; /* X dim this parameter dim aligns with */
        int64_t d = t->dims[i];
        bool ok = xd >= axis ? (d == 1 || d < 0 || x->dims[xd] < 0 || d == x->dims[xd]) : d == 1;
        if (!ok)
            return op_fail(ctx, NNQ_ERR_INVALID,
                           "%s dim %d (%lld) does not broadcast to the %d normalized dims of X",
                           what, i, (long long)d, norm_rank);
    }
    return NNQ_OK;
}

static nnq_status layernorm_axis(const nnq_op_context *ctx, const nnq_tensor *x, int *axis) {
    return op_normalize_axis(ctx, node_attr_int(ctx->node, "axis", -1), x->rank, axis);
}

static nnq_status layernorm_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 2, 3, 1, 3));
    const nnq_tensor *x = ctx->inputs[0];
    NNQ_TRY(check_float(ctx, x, "X"));
    int64_t stash_type = node_attr_int(ctx->node, "stash_type", NNQ_FLOAT);
    if (stash_type != NNQ_FLOAT && stash_type != NNQ_DOUBLE)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "stash_type %lld is not supported",
                       (long long)stash_type);
    op_infer_same_as(&ctx->outputs[0], x);
    /* Mean and InvStdDev: X's dims before axis, 1 for the normalized dims. */
    for (int i = 1; i < ctx->n_outputs; i++) {
        ctx->outputs[i].dtype = NNQ_FLOAT;
        ctx->outputs[i].rank = x->rank;
    }
    if (x->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    if (x->rank == 0) return op_fail(ctx, NNQ_ERR_INVALID, "X must have at least one dim");
    int axis;
    NNQ_TRY(layernorm_axis(ctx, x, &axis));
    NNQ_TRY(check_layernorm_param(ctx, ctx->inputs[1], "Scale", x, axis));
    if (op_input(ctx, 2)) NNQ_TRY(check_layernorm_param(ctx, ctx->inputs[2], "B", x, axis));
    for (int i = 1; i < ctx->n_outputs; i++)
        for (int d = 0; d < x->rank; d++) ctx->outputs[i].dims[d] = d < axis ? x->dims[d] : 1;
    return NNQ_OK;
}

/* The parameter expanded to the full normalized block (size count): a
 * pointer into t when it already has every element, else `scratch` filled
 * through broadcast strides. NULL t (omitted B) gives NULL. */
static const float *expand_param(const nnq_tensor *t, const nnq_tensor *x, int axis,
                                 float *scratch) {
    if (!t) return NULL;
    int norm_rank = x->rank - axis;
    const int64_t *norm_dims = x->dims + axis;
    int64_t count = dims_numel(norm_dims, norm_rank);
    if (tensor_numel(t) == count) return t->data;
    /* Leading dims of t beyond the normalized rank are 1 (checked in infer). */
    int rank = t->rank < norm_rank ? t->rank : norm_rank;
    int64_t strides[NNQ_MAX_RANK];
    op_broadcast_strides(t->dims + (t->rank - rank), rank, norm_dims, norm_rank, strides);
    const float *src = t->data;
    for (int64_t i = 0; i < count; i++) {
        int64_t rest = i, offset = 0;
        for (int d = norm_rank - 1; d >= 0; d--) {
            offset += (rest % norm_dims[d]) * strides[d];
            rest /= norm_dims[d];
        }
        scratch[i] = src[offset];
    }
    return scratch;
}

/* Per row r of X viewed as [outer, count] (count = product of X[axis:]):
 *   Y = (X - mean) * inv_std * Scale + B, Mean[r] = mean, InvStdDev[r] = inv_std,
 * inv_std = 1 / sqrt(var + epsilon), statistics in double (at least the
 * float stash_type precision). */
static nnq_status layernorm_run(nnq_op_context *ctx) {
    const nnq_tensor *x = ctx->inputs[0];
    int axis;
    NNQ_TRY(layernorm_axis(ctx, x, &axis));
    int64_t outer = dims_numel(x->dims, axis);
    int64_t count = dims_numel(x->dims + axis, x->rank - axis);
    float *scratch = NULL;
    if (tensor_numel(ctx->inputs[1]) != count ||
        (op_input(ctx, 2) && tensor_numel(ctx->inputs[2]) != count)) {
        scratch = malloc(sizeof(float) * (size_t)(2 * count > 0 ? 2 * count : 1));
        if (!scratch) return op_fail(ctx, NNQ_ERR_NOMEM, "out of memory expanding Scale/B");
    }
    const float *scale = expand_param(ctx->inputs[1], x, axis, scratch);
    const float *bias = expand_param(op_input(ctx, 2), x, axis, scratch ? scratch + count : NULL);
    float epsilon = epsilon_of(ctx);
    float *mean_out = output_used(ctx, 1) ? ctx->outputs[1].data : NULL;
    float *inv_std_out = output_used(ctx, 2) ? ctx->outputs[2].data : NULL;
    const float *in = x->data;
    float *out = ctx->outputs[0].data;
    int threads = nnq_threads_for((double)outer * (double)count, NNQ_GRAIN_ELEMENTS, outer);
    NNQ_PARALLEL_FOR(threads, (int64_t r = 0; r < outer; r++), {
        const float *row = in + r * count;
        float *y = out + r * count;
        block_moments m = moments_of(row, count, epsilon);
        for (int64_t i = 0; i < count; i++) {
            float normalized = (float)((row[i] - m.mean) * m.inv_std);
            y[i] = normalized * scale[i] + (bias ? bias[i] : 0.0f);
        }
        if (mean_out) mean_out[r] = (float)m.mean;
        if (inv_std_out) inv_std_out[r] = (float)m.inv_std;
    });
    free(scratch);
    return NNQ_OK;
}

/* ---- LRN ---- */

static nnq_status lrn_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    int64_t size = node_attr_int(ctx->node, "size", 0);
    if (size < 1 || size > (1 << 20))
        return op_fail(ctx, NNQ_ERR_INVALID, "attribute size must be a positive count, is %lld",
                       (long long)size);
    return infer_per_channel(ctx, 3, NULL, 0);
}

/* Local response normalization across channels (ONNX LRN):
 *   square_sum[n, c, ...] = sum of x[n, i, ...]^2 for i in
 *       [max(0, c - floor((size - 1) / 2)), min(C - 1, c + ceil((size - 1) / 2))]
 *   y = x / (bias + alpha / size * square_sum)^beta */
static nnq_status lrn_run(nnq_op_context *ctx) {
    const nnq_tensor *x = ctx->inputs[0];
    int64_t size = node_attr_int(ctx->node, "size", 1);
    double alpha = node_attr_float(ctx->node, "alpha", 1e-4f);
    double beta = node_attr_float(ctx->node, "beta", 0.75f);
    double bias = node_attr_float(ctx->node, "bias", 1.0f);
    int64_t batch = x->dims[0], channels = x->dims[1];
    int64_t plane = dims_numel(x->dims + 2, x->rank - 2);
    int64_t before = (size - 1) / 2, after = size - 1 - before;
    const float *in = x->data;
    float *out = ctx->outputs[0].data;
    int threads = nnq_threads_for((double)(batch * channels) * (double)(plane * size),
                                  NNQ_GRAIN_ELEMENTS, batch * channels);
    NNQ_PARALLEL_FOR(threads, (int64_t nc = 0; nc < batch * channels; nc++), {
        int64_t n = nc / channels, c = nc % channels;
        int64_t first = c - before < 0 ? 0 : c - before;
        int64_t last = c + after > channels - 1 ? channels - 1 : c + after;
        for (int64_t e = 0; e < plane; e++) {
            double square_sum = 0.0;
            for (int64_t i = first; i <= last; i++) {
                double v = in[(n * channels + i) * plane + e];
                square_sum += v * v;
            }
            out[nc * plane + e] =
                (float)(in[nc * plane + e] / pow(bias + alpha / (double)size * square_sum, beta));
        }
    });
    return NNQ_OK;
}

/* ---- MeanVarianceNormalization ---- */

/* For MeanVarianceNormalization's `axes` (default [0, 2, 3]): the strides
 * of each X dim into the table of statistics, which has one entry per
 * combination of the kept (not normalized) dims and 0 stride along normalized
 * ones. Returns the table size via *stats. */
static nnq_status mvn_stat_strides(const nnq_op_context *ctx, const nnq_tensor *x,
                                   int64_t *strides, int64_t *stats) {
    static const int64_t default_axes[3] = {0, 2, 3};
    int64_t count;
    const int64_t *axes = node_attr_ints(ctx->node, "axes", &count);
    if (!axes) {
        axes = default_axes;
        count = 3;
    }
    bool normalized[NNQ_MAX_RANK] = {false};
    for (int64_t i = 0; i < count; i++) {
        int axis;
        NNQ_TRY(op_normalize_axis(ctx, axes[i], x->rank, &axis));
        normalized[axis] = true;
    }
    *stats = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        strides[d] = normalized[d] ? 0 : *stats;
        if (!normalized[d]) *stats *= x->dims[d];
    }
    return NNQ_OK;
}

static nnq_status mvn_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    const nnq_tensor *x = ctx->inputs[0];
    if (x->rank != NNQ_UNKNOWN_RANK) {
        int64_t strides[NNQ_MAX_RANK], stats;
        NNQ_TRY(mvn_stat_strides(ctx, x, strides, &stats));
    }
    return infer_per_channel(ctx, 0, NULL, 0);
}

/* Walks X's elements in memory order, tracking the statistics entry of the
 * current element (an odometer over X's dims). */
typedef struct stat_cursor {
    const nnq_tensor *x;
    const int64_t *strides;
    int64_t index[NNQ_MAX_RANK];
    int64_t stat;
} stat_cursor;

static void stat_cursor_advance(stat_cursor *c) {
    for (int d = c->x->rank - 1; d >= 0; d--) {
        c->stat += c->strides[d];
        if (++c->index[d] < c->x->dims[d]) return;
        c->stat -= c->x->dims[d] * c->strides[d];
        c->index[d] = 0;
    }
}

/* The ONNX function body: mean = E[X], var = E[X^2] - mean^2 over the axes,
 * Y = (X - mean) / (sqrt(var) + 1e-9) (epsilon outside the square root). */
static nnq_status mvn_run(nnq_op_context *ctx) {
    const nnq_tensor *x = ctx->inputs[0];
    int64_t strides[NNQ_MAX_RANK], stats;
    NNQ_TRY(mvn_stat_strides(ctx, x, strides, &stats));
    int64_t numel = tensor_numel(x);
    if (numel == 0) return NNQ_OK;
    double *sums = calloc((size_t)(2 * stats), sizeof(double));
    if (!sums) return op_fail(ctx, NNQ_ERR_NOMEM, "out of memory for statistics");
    double *squares = sums + stats;
    double per_stat = (double)(numel / stats);
    const float *in = x->data;
    float *out = ctx->outputs[0].data;
    stat_cursor c = {.x = x, .strides = strides};
    for (int64_t e = 0; e < numel; e++, stat_cursor_advance(&c)) {
        sums[c.stat] += in[e];
        squares[c.stat] += (double)in[e] * in[e];
    }
    for (int64_t s = 0; s < stats; s++) {
        double mean = sums[s] / per_stat, var = squares[s] / per_stat - mean * mean;
        sums[s] = mean;
        squares[s] = 1.0 / (sqrt(var > 0.0 ? var : 0.0) + 1e-9);
    }
    c = (stat_cursor){.x = x, .strides = strides};
    for (int64_t e = 0; e < numel; e++, stat_cursor_advance(&c))
        out[e] = (float)((in[e] - sums[c.stat]) * squares[c.stat]);
    free(sums);
    return NNQ_OK;
}

const nnq_op_def nnq_ops_normalization[] = {
    {"BatchNormalization", "", 1, batchnorm_infer, batchnorm_run},
    {"InstanceNormalization", "", 1, instancenorm_infer, instancenorm_run},
    {"LayerNormalization", "", 17, layernorm_infer, layernorm_run},
    {"LRN", "", 1, lrn_infer, lrn_run},
    {"MeanVarianceNormalization", "", 9, mvn_infer, mvn_run},
    {NULL, NULL, 0, NULL, NULL},
};
