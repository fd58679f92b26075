/* Softmax, LogSoftmax and Hardmax.
 *
 * The input is viewed as [outer, n, inner] and each of the outer * inner
 * lanes of n elements (stride inner) is normalized on its own:
 *   opset >= 13: along the single axis `axis` (default -1):
 *                outer = prod(dims[:axis]), n = dims[axis], inner = prod(dims[axis+1:]);
 *   opset <  13: the input is coerced to 2D at `axis` (default 1) and each row
 *                of the trailing block is one lane:
 *                outer = prod(dims[:axis]), n = prod(dims[axis:]), inner = 1.
 * Softmax subtracts the lane's maximum before exponentiating so that exp
 * never overflows; LogSoftmax is x - max - log(sum(exp(x - max))). */
#include <math.h>
#include <string.h>

#include "base/parallel.h"
#include "ops/op.h"

typedef enum lane_mode { LANE_SOFTMAX, LANE_LOG_SOFTMAX, LANE_HARDMAX } lane_mode;

typedef struct lane_geometry {
    int64_t outer, n, inner;
} lane_geometry;

static lane_mode mode_of(const nnq_op_context *ctx) {
    if (strcmp(ctx->node->op_type, "LogSoftmax") == 0) return LANE_LOG_SOFTMAX;
    if (strcmp(ctx->node->op_type, "Hardmax") == 0) return LANE_HARDMAX;
    return LANE_SOFTMAX;
}

static int64_t product(const int64_t *dims, int from, int to) {
    int64_t p = 1;
    for (int d = from; d < to; d++) p *= dims[d];
    return p;
}

/* Validates the axis for x's rank and, when x's shape is known, fills g. */
static nnq_status lane_prepare(nnq_op_context *ctx, lane_geometry *g) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    const nnq_tensor *x = ctx->inputs[0];
    NNQ_TRY(op_check_dtype(ctx, x, "input", NNQ_FLOAT, NNQ_UNDEFINED));
    const bool single_axis = ctx->opset >= 13;
    int64_t axis_attr = node_attr_int(ctx->node, "axis", single_axis ? -1 : 1);
    *g = (lane_geometry){0, 0, 0};
    if (x->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    int axis;
    NNQ_TRY(op_normalize_axis(ctx, axis_attr, x->rank, &axis));
    if (!tensor_shape_known(x)) return NNQ_OK;
    g->outer = product(x->dims, 0, axis);
    if (single_axis) {
        g->n = x->dims[axis];
        g->inner = product(x->dims, axis + 1, x->rank);
    } else {
        g->n = product(x->dims, axis, x->rank);
        g->inner = 1;
    }
    return NNQ_OK;
}

/* One lane: n elements at x[k * stride], written to y[k * stride]. n >= 1. */
static void normalize_lane(const float *x, float *y, int64_t n, int64_t stride, lane_mode mode) {
    float max = x[0];
    int64_t argmax = 0;
    for (int64_t k = 1; k < n; k++)
        if (x[k * stride] > max) {
            max = x[k * stride];
            argmax = k;
        }
    if (mode == LANE_HARDMAX) {
        /* Hardmax: 1 at the first occurrence of the maximum, 0 elsewhere. */
        for (int64_t k = 0; k < n; k++) y[k * stride] = k == argmax ? 1.0f : 0.0f;
        return;
    }
    double sum = 0.0; /* double: long lanes (vocabularies) lose no precision */
    for (int64_t k = 0; k < n; k++) {
        float e = expf(x[k * stride] - max);
        sum += e;
        if (mode == LANE_SOFTMAX) y[k * stride] = e;
    }
    if (mode == LANE_SOFTMAX) {
        const float scale = (float)(1.0 / sum);
        for (int64_t k = 0; k < n; k++) y[k * stride] *= scale;
    } else {
        const float shift = max + (float)log(sum);
        for (int64_t k = 0; k < n; k++) y[k * stride] = x[k * stride] - shift;
    }
}

static nnq_status lane_infer(nnq_op_context *ctx) {
    lane_geometry g = {0};
    NNQ_TRY(lane_prepare(ctx, &g));
    op_infer_same_as(&ctx->outputs[0], ctx->inputs[0]);
    return NNQ_OK;
}

static nnq_status lane_run(nnq_op_context *ctx) {
    lane_geometry g = {0};
    NNQ_TRY(lane_prepare(ctx, &g));
    const lane_mode mode = mode_of(ctx);
    const float *x = ctx->inputs[0]->data;
    float *y = ctx->outputs[0].data;
    const int64_t lanes = g.outer * g.inner;
    if (g.n == 0 || lanes == 0) return NNQ_OK;
    int threads = nnq_threads_for((double)lanes * (double)g.n, NNQ_GRAIN_ELEMENTS, lanes);
    NNQ_PARALLEL_FOR(threads, (int64_t lane = 0; lane < lanes; lane++), {
        const int64_t o = lane / g.inner, j = lane % g.inner;
        const int64_t start = o * g.n * g.inner + j;
        normalize_lane(x + start, y + start, g.n, g.inner, mode);
    });
    return NNQ_OK;
}

const nnq_op_def nnq_ops_softmax[] = {
    {"Softmax", "", 1, lane_infer, lane_run},
    {"LogSoftmax", "", 1, lane_infer, lane_run},
    {"Hardmax", "", 1, lane_infer, lane_run},
    {NULL, NULL, 0, NULL, NULL},
};
