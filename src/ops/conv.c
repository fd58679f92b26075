/* Conv and ConvTranspose (float32), N-d spatial, through im2col / col2im and
 * gemm_f32 per group.
 *
 * Conv, per image n and group g (Cg = C / group, Mg = M / group):
 *   columns [Cg * kernel_size x out_size] = im2col(X[n, g*Cg : (g+1)*Cg])
 *   Y[n, g*Mg : (g+1)*Mg] [Mg x out_size] = W_g [Mg x Cg * kernel_size] * columns
 * ConvTranspose is its adjoint (W is [C, Mg, kernel...]):
 *   columns [Mg * kernel_size x in_size] = W_g^T * X[n, g*Cg : (g+1)*Cg]
 *   Y[n, g*Mg : (g+1)*Mg] = col2im(columns) */
#include <stdlib.h>
#include <string.h>

#include "base/parallel.h"
#include "kernels/gemm_f32.h"
#include "ops/im2col.h"
#include "ops/op.h"

/* Checks the optional bias: a 1-D float tensor of `channels` entries. */
static nnq_status check_bias(const nnq_op_context *ctx, const nnq_tensor *bias, int64_t channels) {
    if (!bias) return NNQ_OK;
    NNQ_TRY(op_check_dtype(ctx, bias, "B", NNQ_FLOAT, NNQ_UNDEFINED));
    if (bias->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    if (bias->rank != 1 || (bias->dims[0] >= 0 && channels >= 0 && bias->dims[0] != channels))
        return op_fail(ctx, NNQ_ERR_INVALID, "B must be a vector of %lld output channels",
                       (long long)channels);
    return NNQ_OK;
}

/* rows x plane block of output channels: row r gets bias[r] added. */
static void add_bias(float *y, const float *bias, int64_t rows, int64_t plane) {
    if (!bias) return;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < plane; i++) y[r * plane + i] += bias[r];
}

/* The work of one convolution: images x groups independent GEMM tasks. */
typedef struct conv_job {
    int64_t batch, group;
    int64_t in_group_channels, out_group_channels;
    int64_t in_plane, out_plane;   /* spatial sizes of X and Y */
    int64_t kernel_size;
    const im2col_geometry *geom;
    const float *x, *w, *bias;
    float *y;
} conv_job;

typedef void (*conv_task_fn)(const conv_job *job, int64_t image, int64_t group, float *columns);

/* Runs task for every (image, group) with one columns buffer of
 * columns_count floats per thread (allocated once per call). Tasks are spread
 * over threads (as many as the total work deserves) unless one task alone
 * deserves more threads, in which case they run in order, each GEMM
 * threaded. Small work stays on the calling thread. */
static nnq_status run_conv_tasks(const nnq_op_context *ctx, const conv_job *job,
                                 int64_t columns_count, int64_t task_work, conv_task_fn task) {
    int64_t tasks = job->batch * job->group;
    int threads = nnq_threads_for((double)tasks * (double)task_work, NNQ_GRAIN_MACS, tasks);
    if (nnq_threads_for((double)task_work, NNQ_GRAIN_MACS, INT64_MAX) > threads) threads = 1;
    float *columns = NULL;
    if (columns_count > 0) {
        columns = malloc(sizeof(float) * (size_t)columns_count * (size_t)threads);
        if (!columns) return op_fail(ctx, NNQ_ERR_NOMEM, "cannot allocate the im2col buffer");
    }
    NNQ_PARALLEL_FOR(threads, (int64_t t = 0; t < tasks; t++), {
        size_t own = (size_t)columns_count * (size_t)nnq_thread_index(threads);
        task(job, t / job->group, t % job->group, columns ? columns + own : NULL);
    });
    free(columns);
    return NNQ_OK;
}

/* ------------------------------------------------------------------ Conv */

static nnq_status conv_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 2, 3, 1, 1));
    const nnq_tensor *x = ctx->inputs[0], *w = ctx->inputs[1];
    NNQ_TRY(op_check_dtype(ctx, x, "X", NNQ_FLOAT, NNQ_UNDEFINED));
    NNQ_TRY(op_check_dtype(ctx, w, "W", NNQ_FLOAT, NNQ_UNDEFINED));
    conv_params params;
    NNQ_TRY(conv_params_resolve(ctx, x, w, &params));
    NNQ_TRY(check_bias(ctx, op_input(ctx, 2), params.out_channels));
    ctx->outputs[0].dtype = NNQ_FLOAT;
    conv_params_output_shape(&params, &ctx->outputs[0]);
    return NNQ_OK;
}

static void conv_task(const conv_job *job, int64_t image, int64_t group, float *columns) {
    int64_t cg = job->in_group_channels, mg = job->out_group_channels;
    int64_t depth = cg * job->kernel_size;
    const float *x = job->x + (image * job->group + group) * cg * job->in_plane;
    float *y = job->y + (image * job->group + group) * mg * job->out_plane;
    const float *w = job->w + group * mg * depth;
    if (cg == 1 && mg == 1 && !im2col_is_identity(job->geom)) {
        /* Depthwise: im2col fused with the 1-row product (conv_run allocates no buffer). */
        memset(y, 0, sizeof(float) * (size_t)job->out_plane);
        im2col_dot_f32(job->geom, x, w, y);
        add_bias(y, job->bias ? job->bias + group : NULL, 1, job->out_plane);
        return;
    }
    /* A 1x1, stride-1, unpadded window makes the columns the image itself. */
    const float *cols = x;
    if (columns) {
        static const float zero = 0.0f;
        im2col(job->geom, cg, x, sizeof(float), &zero, columns);
        cols = columns;
    }
    gemm_f32(false, false, mg, job->out_plane, depth, 1.0f, w, depth, cols, job->out_plane, 0.0f,
             y, job->out_plane);
    add_bias(y, job->bias ? job->bias + group * mg : NULL, mg, job->out_plane);
}

static nnq_status conv_run(nnq_op_context *ctx) {
    const nnq_tensor *x = ctx->inputs[0], *w = ctx->inputs[1], *bias = op_input(ctx, 2);
    conv_params params;
    NNQ_TRY(conv_params_resolve(ctx, x, w, &params));
    conv_job job = {
        .batch = params.batch,
        .group = params.group,
        .in_group_channels = params.in_channels / params.group,
        .out_group_channels = params.out_channels / params.group,
        .in_plane = im2col_image_size(&params.geom),
        .out_plane = im2col_col_count(&params.geom),
        .kernel_size = im2col_kernel_size(&params.geom),
        .geom = &params.geom,
        .x = x->data,
        .w = w->data,
        .bias = bias ? bias->data : NULL,
        .y = ctx->outputs[0].data,
    };
    int64_t depth = job.in_group_channels * job.kernel_size;
    bool depthwise = job.in_group_channels == 1 && job.out_group_channels == 1;
    int64_t columns = im2col_is_identity(&params.geom) || depthwise ? 0 : depth * job.out_plane;
    return run_conv_tasks(ctx, &job, columns, job.out_group_channels * depth * job.out_plane,
                          conv_task);
}

/* --------------------------------------------------------- ConvTranspose */

/* Floor division for a possibly negative numerator (positive divisor). */
static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* Resolved ConvTranspose: geometry with image = Y spatial, cols = X spatial. */
typedef struct conv_transpose_params {
    int spatial_rank; /* -1 when unknown */
    int64_t batch, in_channels, out_channels, group;
    im2col_geometry geom;
} conv_transpose_params;

/* Output size and pads of one spatial dim, following the ONNX ConvTranspose spec:
 *   full = stride * (in - 1) + output_padding + (kernel - 1) * dilation + 1
 *   explicit pads:   out = full - pad_begin - pad_end
 *   output_shape or SAME_*: out given (SAME: in * stride), total = full - out is split
 *     begin = total / 2 (SAME_UPPER) or total - total / 2 (otherwise), with floor
 *     division because total is negative when out exceeds the full size. */
static nnq_status resolve_transpose_dim(const nnq_op_context *ctx, const conv_window_attrs *attrs,
                                        int d, int64_t in, int64_t output_padding,
                                        int64_t requested_out, im2col_geometry *g) {
    int rank = attrs->spatial_rank;
    int64_t kernel = attrs->kernel[d], stride = attrs->strides[d];
    g->cols[d] = in;
    g->pads[d] = attrs->auto_pad == CONV_AUTO_PAD_NOTSET ? attrs->pads[d] : 0;
    g->pads[rank + d] = attrs->auto_pad == CONV_AUTO_PAD_NOTSET ? attrs->pads[rank + d] : 0;
    if (in < 0 || kernel < 0) {
        g->image[d] = requested_out >= 0 ? requested_out : NNQ_UNKNOWN_DIM;
        return NNQ_OK;
    }
    if (in > CONV_SPATIAL_DIM_MAX / stride)
        return op_fail(ctx, NNQ_ERR_INVALID, "spatial dim %d of size %lld is too large", d,
                       (long long)in);
    int64_t full = stride * (in - 1) + output_padding + (kernel - 1) * attrs->dilations[d] + 1;
    bool same = attrs->auto_pad == CONV_AUTO_PAD_SAME_UPPER ||
                attrs->auto_pad == CONV_AUTO_PAD_SAME_LOWER;
    if (requested_out < 0 && same) requested_out = in * stride;
    if (requested_out >= 0) {
        int64_t total = full - requested_out;
        int64_t half = floor_div(total, 2);
        g->pads[d] = attrs->auto_pad == CONV_AUTO_PAD_SAME_UPPER ? half : total - half;
        g->pads[rank + d] = total - g->pads[d];
        g->image[d] = requested_out;
    } else {
        g->image[d] = full - g->pads[d] - g->pads[rank + d];
    }
    if (g->image[d] < 1)
        return op_fail(ctx, NNQ_ERR_INVALID, "output spatial dim %d would be %lld", d,
                       (long long)g->image[d]);
    return NNQ_OK;
}

/* Reads an optional ints attribute of `count` values (or of count + 2 when
 * allow_full_shape, keeping the last count). Absent: fills fallback. */
static nnq_status read_spatial_ints(const nnq_op_context *ctx, const char *name, int count,
                                    bool allow_full_shape, int64_t fallback, int64_t *out) {
    int64_t n = 0;
    const int64_t *values = node_attr_ints(ctx->node, name, &n);
    if (!values) {
        for (int i = 0; i < count; i++) out[i] = fallback;
        return NNQ_OK;
    }
    if (n != count && !(allow_full_shape && n == count + 2))
        return op_fail(ctx, NNQ_ERR_INVALID, "attribute %s has %lld values, expected %d", name,
                       (long long)n, count);
    for (int i = 0; i < count; i++) {
        out[i] = values[n - count + i];
        if (out[i] < 0 || out[i] > CONV_ATTR_MAX)
            return op_fail(ctx, NNQ_ERR_INVALID, "attribute %s[%d] = %lld is out of range", name,
                           i, (long long)out[i]);
    }
    return NNQ_OK;
}

static nnq_status conv_transpose_resolve(const nnq_op_context *ctx, const nnq_tensor *x,
                                         const nnq_tensor *w, conv_transpose_params *p) {
    memset(p, 0, sizeof *p);
    NNQ_TRY(conv_read_layout(ctx, x, w, &p->group, &p->spatial_rank));
    p->batch = x->rank >= 1 ? x->dims[0] : NNQ_UNKNOWN_DIM;
    p->in_channels = x->rank >= 2 ? x->dims[1] : NNQ_UNKNOWN_DIM;
    int64_t w_in = w->rank >= 2 ? w->dims[0] : NNQ_UNKNOWN_DIM;
    int64_t w_out = w->rank >= 2 ? w->dims[1] : NNQ_UNKNOWN_DIM;
    p->out_channels = w_out >= 0 ? w_out * p->group : NNQ_UNKNOWN_DIM;
    if (p->in_channels >= 0 && w_in >= 0 && p->in_channels != w_in)
        return op_fail(ctx, NNQ_ERR_INVALID, "X has %lld channels but W has %lld",
                       (long long)p->in_channels, (long long)w_in);
    if (w_in >= 0 && w_in % p->group != 0)
        return op_fail(ctx, NNQ_ERR_INVALID, "%lld input channels are not divisible by group %lld",
                       (long long)w_in, (long long)p->group);
    if (p->spatial_rank < 0) return NNQ_OK;

    int r = p->spatial_rank;
    int64_t kernel[NNQ_MAX_RANK], output_padding[NNQ_MAX_RANK], output_shape[NNQ_MAX_RANK];
    for (int d = 0; d < r; d++) kernel[d] = w->rank > 2 + d ? w->dims[2 + d] : NNQ_UNKNOWN_DIM;
    conv_window_attrs attrs;
    NNQ_TRY(conv_window_attrs_read(ctx, r, kernel, &attrs));
    NNQ_TRY(read_spatial_ints(ctx, "output_padding", r, false, 0, output_padding));
    NNQ_TRY(read_spatial_ints(ctx, "output_shape", r, true, -1, output_shape));
    p->geom.spatial_rank = r;
    for (int d = 0; d < r; d++) {
        if (output_padding[d] >= attrs.strides[d] && output_padding[d] >= attrs.dilations[d])
            return op_fail(ctx, NNQ_ERR_INVALID,
                           "output_padding[%d] = %lld must be less than stride or dilation", d,
                           (long long)output_padding[d]);
        p->geom.kernel[d] = attrs.kernel[d];
        p->geom.strides[d] = attrs.strides[d];
        p->geom.dilations[d] = attrs.dilations[d];
        int64_t in = x->rank > 2 + d ? x->dims[2 + d] : NNQ_UNKNOWN_DIM;
        NNQ_TRY(resolve_transpose_dim(ctx, &attrs, d, in, output_padding[d], output_shape[d],
                                      &p->geom));
    }
    return NNQ_OK;
}

static nnq_status conv_transpose_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 2, 3, 1, 1));
    const nnq_tensor *x = ctx->inputs[0], *w = ctx->inputs[1];
    NNQ_TRY(op_check_dtype(ctx, x, "X", NNQ_FLOAT, NNQ_UNDEFINED));
    NNQ_TRY(op_check_dtype(ctx, w, "W", NNQ_FLOAT, NNQ_UNDEFINED));
    conv_transpose_params p;
    NNQ_TRY(conv_transpose_resolve(ctx, x, w, &p));
    NNQ_TRY(check_bias(ctx, op_input(ctx, 2), p.out_channels));
    nnq_tensor *y = &ctx->outputs[0];
    y->dtype = NNQ_FLOAT;
    if (p.spatial_rank < 0) {
        y->rank = NNQ_UNKNOWN_RANK;
        return NNQ_OK;
    }
    y->rank = p.spatial_rank + 2;
    y->dims[0] = p.batch;
    y->dims[1] = p.out_channels;
    for (int d = 0; d < p.spatial_rank; d++) y->dims[2 + d] = p.geom.image[d];
    return NNQ_OK;
}

static void conv_transpose_task(const conv_job *job, int64_t image, int64_t group,
                                float *columns) {
    int64_t cg = job->in_group_channels, mg = job->out_group_channels;
    int64_t rows = mg * job->kernel_size;
    const float *x = job->x + (image * job->group + group) * cg * job->in_plane;
    float *y = job->y + (image * job->group + group) * mg * job->out_plane;
    const float *w = job->w + group * cg * rows;
    if (columns) {
        gemm_f32(true, false, rows, job->in_plane, cg, 1.0f, w, rows, x, job->in_plane, 0.0f,
                 columns, job->in_plane);
        memset(y, 0, sizeof(float) * (size_t)(mg * job->out_plane));
        col2im_f32(job->geom, mg, columns, y);
    } else {
        /* 1x1, stride 1, unpadded: the columns are the output itself. */
        gemm_f32(true, false, rows, job->in_plane, cg, 1.0f, w, rows, x, job->in_plane, 0.0f, y,
                 job->in_plane);
    }
    add_bias(y, job->bias ? job->bias + group * mg : NULL, mg, job->out_plane);
}

static nnq_status conv_transpose_run(nnq_op_context *ctx) {
    const nnq_tensor *x = ctx->inputs[0], *w = ctx->inputs[1], *bias = op_input(ctx, 2);
    conv_transpose_params p;
    NNQ_TRY(conv_transpose_resolve(ctx, x, w, &p));
    conv_job job = {
        .batch = p.batch,
        .group = p.group,
        .in_group_channels = p.in_channels / p.group,
        .out_group_channels = p.out_channels / p.group,
        .in_plane = im2col_col_count(&p.geom),
        .out_plane = im2col_image_size(&p.geom),
        .kernel_size = im2col_kernel_size(&p.geom),
        .geom = &p.geom,
        .x = x->data,
        .w = w->data,
        .bias = bias ? bias->data : NULL,
        .y = ctx->outputs[0].data,
    };
    int64_t rows = job.out_group_channels * job.kernel_size;
    int64_t columns = im2col_is_identity(&p.geom) ? 0 : rows * job.in_plane;
    return run_conv_tasks(ctx, &job, columns, rows * job.in_group_channels * job.in_plane,
                          conv_transpose_task);
}

const nnq_op_def nnq_ops_conv[] = {
    {"Conv", "", 1, conv_infer, conv_run},
    {"ConvTranspose", "", 1, conv_transpose_infer, conv_transpose_run},
    {NULL, NULL, 0, NULL, NULL},
};
