/* Reductions: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd,
 * ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp and ReduceSumSquare run
 * through one driver; ArgMax and ArgMin pick an index along one axis.
 *
 * The driver views the input as groups of adjacent dims that are either all
 * kept or all reduced (size-1 dims dropped, neighbours of the same kind
 * merged), walks the input once in memory order and folds every element into
 * the accumulator of its output element. The last group is the contiguous
 * row: when it is kept, each input element of the row has its own
 * accumulator (a vector update); when it is reduced, the whole row folds into
 * one accumulator. Accumulators are double, so one code path serves every
 * element type (int64 values beyond 2^53 lose precision). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

typedef enum reduce_kind {
    REDUCE_SUM,
    REDUCE_MEAN,
    REDUCE_MAX,
    REDUCE_MIN,
    REDUCE_PROD,
    REDUCE_L1,
    REDUCE_L2,
    REDUCE_LOG_SUM,
    REDUCE_LOG_SUM_EXP,
    REDUCE_SUM_SQUARE
} reduce_kind;

typedef struct reduce_op_info {
    const char *op_type;
    reduce_kind kind;
    int axes_input_since; /* opset from which axes is an input instead of an attribute */
} reduce_op_info;

static const reduce_op_info reduce_ops[] = {
    {"ReduceSum", REDUCE_SUM, 13},
    {"ReduceMean", REDUCE_MEAN, 18},
    {"ReduceMax", REDUCE_MAX, 18},
    {"ReduceMin", REDUCE_MIN, 18},
    {"ReduceProd", REDUCE_PROD, 18},
    {"ReduceL1", REDUCE_L1, 18},
    {"ReduceL2", REDUCE_L2, 18},
    {"ReduceLogSum", REDUCE_LOG_SUM, 18},
    {"ReduceLogSumExp", REDUCE_LOG_SUM_EXP, 18},
    {"ReduceSumSquare", REDUCE_SUM_SQUARE, 18},
};

static const reduce_op_info *reduce_op_of(const nnq_op_context *ctx) {
    for (size_t i = 0; i < sizeof reduce_ops / sizeof reduce_ops[0]; i++)
        if (strcmp(reduce_ops[i].op_type, ctx->node->op_type) == 0) return &reduce_ops[i];
    return NULL;
}

/* ---- Element access for every dtype the reductions accept ---- */

static nnq_status check_reduce_dtype(const nnq_op_context *ctx, const nnq_tensor *t) {
    return op_check_dtype(ctx, t, "input", NNQ_FLOAT, NNQ_DOUBLE, NNQ_INT32, NNQ_INT64,
                          NNQ_UINT8, NNQ_INT8, NNQ_UNDEFINED);
}

static inline double load_as_double(const void *data, nnq_dtype dtype, int64_t i) {
    switch (dtype) {
    case NNQ_FLOAT: return ((const float *)data)[i];
    case NNQ_DOUBLE: return ((const double *)data)[i];
    case NNQ_INT32: return ((const int32_t *)data)[i];
    case NNQ_INT64: return (double)((const int64_t *)data)[i];
    case NNQ_UINT8: return ((const uint8_t *)data)[i];
    case NNQ_INT8: return ((const int8_t *)data)[i];
    default: return 0.0;
    }
}

/* Integer results truncate toward zero (as ONNX runtimes do for integer
 * means) and saturate, so out-of-range values (e.g. -inf for an empty max)
 * never reach an undefined conversion. */
static double clamp_to(double v, double lo, double hi) {
    if (isnan(v)) return 0.0;
    return v < lo ? lo : v > hi ? hi : v;
}

static void store_from_double(void *data, nnq_dtype dtype, int64_t i, double v) {
    switch (dtype) {
    case NNQ_FLOAT: ((float *)data)[i] = (float)v; break;
    case NNQ_DOUBLE: ((double *)data)[i] = v; break;
    case NNQ_INT32: ((int32_t *)data)[i] = (int32_t)clamp_to(v, INT32_MIN, INT32_MAX); break;
    /* 2^63 is not representable as int64: stop just below it. */
    case NNQ_INT64: ((int64_t *)data)[i] = (int64_t)clamp_to(v, -0x1p63, 0x1.fffffffffffffp62); break;
    case NNQ_UINT8: ((uint8_t *)data)[i] = (uint8_t)clamp_to(v, 0, UINT8_MAX); break;
    case NNQ_INT8: ((int8_t *)data)[i] = (int8_t)clamp_to(v, INT8_MIN, INT8_MAX); break;
    default: break;
    }
}

/* ---- Axes ---- */

typedef struct reduce_axes {
    bool known;                  /* false when the axes input has no data yet (static inference) */
    bool noop;                   /* empty axes with noop_with_empty_axes: the output is the input */
    int64_t count;               /* axes listed (0 = all); -1 when unknown */
    bool reduced[NNQ_MAX_RANK];  /* per input axis, valid when known and the rank is known */
} reduce_axes;

/* Marks the listed axes (empty = every axis, the ONNX default). */
static nnq_status mark_axes(const nnq_op_context *ctx, const int64_t *list, int64_t count,
                            int rank, reduce_axes *axes) {
    for (int d = 0; d < rank; d++) axes->reduced[d] = count == 0;
    for (int64_t i = 0; i < count; i++) {
        int axis;
        NNQ_TRY(op_normalize_axis(ctx, list[i], rank, &axis));
        if (axes->reduced[axis])
            return op_fail(ctx, NNQ_ERR_INVALID, "axis %lld is listed twice", (long long)list[i]);
        axes->reduced[axis] = true;
    }
    return NNQ_OK;
}

/* Reads the axes from the attribute (before the op's axes_input_since opset)
 * or from input 1, and noop_with_empty_axes (which came with the input form).
 * `rank` may be NNQ_UNKNOWN_RANK: then only known/noop/count are set. */
static nnq_status read_axes(const nnq_op_context *ctx, const reduce_op_info *info, int rank,
                            reduce_axes *axes) {
    memset(axes, 0, sizeof *axes);
    axes->known = true;
    bool axes_from_input = ctx->opset >= info->axes_input_since;
    int64_t count = 0;
    const int64_t *list = NULL;
    int64_t *owned = NULL;
    if (!axes_from_input) {
        list = node_attr_ints(ctx->node, "axes", &count);
    } else {
        const nnq_tensor *t = op_input(ctx, 1);
        if (t) {
            NNQ_TRY(op_check_dtype(ctx, t, "axes", NNQ_INT64, NNQ_INT32, NNQ_UNDEFINED));
            if (t->rank > 1)
                return op_fail(ctx, NNQ_ERR_INVALID, "axes must be 1-D, has rank %d", t->rank);
            count = tensor_numel(t);
            if (!t->data && count != 0) {
                axes->known = false;
                axes->count = count; /* -1 when even the length is unknown */
                return NNQ_OK;
            }
            if (count > 0) {
                if (count > NNQ_MAX_RANK)
                    return op_fail(ctx, NNQ_ERR_INVALID, "%lld axes for rank at most %d",
                                   (long long)count, NNQ_MAX_RANK);
                owned = malloc(sizeof(int64_t) * (size_t)count);
                if (!owned) return op_fail(ctx, NNQ_ERR_NOMEM, "out of memory reading axes");
                for (int64_t i = 0; i < count; i++) owned[i] = tensor_get_int64(t, i);
                list = owned;
            }
        }
    }
    axes->count = count;
    axes->noop = count == 0 && axes_from_input &&
                 node_attr_int(ctx->node, "noop_with_empty_axes", 0) != 0;
    nnq_status status = NNQ_OK;
    if (rank != NNQ_UNKNOWN_RANK && !axes->noop) status = mark_axes(ctx, list, count, rank, axes);
    free(owned);
    return status;
}

static nnq_status reduce_infer(nnq_op_context *ctx) {
    const reduce_op_info *info = reduce_op_of(ctx);
    if (!info) return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "not a reduction");
    NNQ_TRY(op_check_arity(ctx, 1, ctx->opset >= info->axes_input_since ? 2 : 1, 1, 1));
    const nnq_tensor *data = ctx->inputs[0];
    NNQ_TRY(check_reduce_dtype(ctx, data));
    nnq_tensor *out = &ctx->outputs[0];
    bool keepdims = node_attr_int(ctx->node, "keepdims", 1) != 0;
    reduce_axes axes;
    NNQ_TRY(read_axes(ctx, info, data->rank, &axes));
    out->dtype = data->dtype;
    if (axes.noop) {
        op_infer_same_as(out, data);
        return NNQ_OK;
    }
    if (data->rank == NNQ_UNKNOWN_RANK) {
        out->rank = NNQ_UNKNOWN_RANK;
        return NNQ_OK;
    }
    if (!axes.known) {
        /* Which axes go is unknown: with keepdims only the rank is certain. */
        if (keepdims) {
            out->rank = data->rank;
            for (int d = 0; d < data->rank; d++)
                out->dims[d] = data->dims[d] == 1 ? 1 : NNQ_UNKNOWN_DIM;
        } else if (axes.count >= 0 && axes.count <= data->rank) {
            out->rank = data->rank - (int)axes.count;
            for (int d = 0; d < out->rank; d++) out->dims[d] = NNQ_UNKNOWN_DIM;
        } else {
            out->rank = NNQ_UNKNOWN_RANK;
        }
        return NNQ_OK;
    }
    int rank = 0;
    for (int d = 0; d < data->rank; d++) {
        if (!axes.reduced[d]) out->dims[rank++] = data->dims[d];
        else if (keepdims) out->dims[rank++] = 1;
    }
    out->rank = rank;
    return NNQ_OK;
}

/* ---- The driver ---- */

/* Adjacent dims of one kind merged; out_stride is 0 for reduced groups. */
typedef struct reduce_plan {
    int n_groups;
    int64_t extent[NNQ_MAX_RANK];
    bool reduced[NNQ_MAX_RANK];
    int64_t out_stride[NNQ_MAX_RANK];
    int64_t reduced_count; /* input elements folded into each output element */
} reduce_plan;

static void plan_reduction(const nnq_tensor *data, const reduce_axes *axes, reduce_plan *plan) {
    memset(plan, 0, sizeof *plan);
    plan->reduced_count = 1;
    for (int d = 0; d < data->rank; d++) {
        if (axes->reduced[d]) plan->reduced_count *= data->dims[d];
        if (data->dims[d] == 1) continue; /* moves no offset either way */
        int last = plan->n_groups - 1;
        if (last >= 0 && plan->reduced[last] == axes->reduced[d]) {
            plan->extent[last] *= data->dims[d];
            continue;
        }
        plan->extent[plan->n_groups] = data->dims[d];
        plan->reduced[plan->n_groups++] = axes->reduced[d];
    }
    if (plan->n_groups == 0) { /* a single element */
        plan->extent[0] = 1;
        plan->n_groups = 1;
    }
    int64_t stride = 1;
    for (int g = plan->n_groups - 1; g >= 0; g--) {
        plan->out_stride[g] = plan->reduced[g] ? 0 : stride;
        if (!plan->reduced[g]) stride *= plan->extent[g];
    }
}

static double reduce_identity(reduce_kind kind) {
    switch (kind) {
    case REDUCE_PROD: return 1.0;
    case REDUCE_MAX: return -INFINITY;
    case REDUCE_MIN: return INFINITY;
    default: return 0.0;
    }
}

/* One fold step; `shift` is the row maximum for LogSumExp (the usual
 * log(sum(exp(x - m))) + m form, which cannot overflow). Max and Min
 * propagate NaN as numpy does. */
static inline double reduce_step(reduce_kind kind, double acc, double x, double shift) {
    switch (kind) {
    case REDUCE_SUM:
    case REDUCE_MEAN:
    case REDUCE_LOG_SUM: return acc + x;
    case REDUCE_L1: return acc + fabs(x);
    case REDUCE_L2:
    case REDUCE_SUM_SQUARE: return acc + x * x;
    case REDUCE_LOG_SUM_EXP: return acc + exp(x - shift);
    case REDUCE_PROD: return acc * x;
    case REDUCE_MAX: return (x > acc || isnan(x)) ? x : acc;
    case REDUCE_MIN: return (x < acc || isnan(x)) ? x : acc;
    }
    return acc;
}

static double reduce_finish(reduce_kind kind, double acc, int64_t count, double shift) {
    switch (kind) {
    case REDUCE_MEAN: return acc / (double)count; /* an empty mean is 0/0 = NaN */
    case REDUCE_L2: return sqrt(acc);
    case REDUCE_LOG_SUM: return log(acc);
    case REDUCE_LOG_SUM_EXP: return log(acc) + shift;
    default: return acc;
    }
}

typedef struct reduce_job {
    reduce_kind kind;
    const void *x;
    nnq_dtype dtype;
    double *acc;          /* one per output element */
    const double *shift;  /* per output element, LogSumExp only */
} reduce_job;

static void accumulate_row(const reduce_job *job, int64_t in_offset, int64_t out_offset,
                           int64_t length, bool row_reduced) {
    int64_t step = row_reduced ? 0 : 1;
    for (int64_t j = 0; j < length; j++) {
        int64_t o = out_offset + j * step;
        double shift = job->shift ? job->shift[o] : 0.0;
        job->acc[o] = reduce_step(job->kind, job->acc[o],
                                  load_as_double(job->x, job->dtype, in_offset + j), shift);
    }
}

/* Walks the input in memory order, one row (the last group) at a time,
 * tracking the output offset of each row with an odometer over the other groups. */
static void reduce_walk(const reduce_plan *plan, const reduce_job *job, int64_t numel) {
    int last = plan->n_groups - 1;
    int64_t row_length = plan->extent[last];
    int64_t index[NNQ_MAX_RANK] = {0};
    int64_t out_offset = 0;
    for (int64_t in_offset = 0; in_offset < numel; in_offset += row_length) {
        accumulate_row(job, in_offset, out_offset, row_length, plan->reduced[last]);
        for (int g = last - 1; g >= 0; g--) {
            out_offset += plan->out_stride[g];
            if (++index[g] < plan->extent[g]) break;
            out_offset -= plan->extent[g] * plan->out_stride[g];
            index[g] = 0;
        }
    }
}

static void fill(double *values, int64_t count, double value) {
    for (int64_t i = 0; i < count; i++) values[i] = value;
}

static nnq_status reduce_run(nnq_op_context *ctx) {
    const reduce_op_info *info = reduce_op_of(ctx);
    const nnq_tensor *data = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    reduce_axes axes;
    NNQ_TRY(read_axes(ctx, info, data->rank, &axes));
    if (!axes.known) return op_fail(ctx, NNQ_ERR_INVALID, "axes input has no data");
    int64_t numel = tensor_numel(data), out_numel = tensor_numel(out);
    if (axes.noop) {
        if (numel > 0) memcpy(out->data, data->data, (size_t)numel * dtype_size(data->dtype));
        return NNQ_OK;
    }
    if (out_numel == 0) return NNQ_OK;
    reduce_plan plan;
    plan_reduction(data, &axes, &plan);

    /* LogSumExp needs each output's maximum first: acc holds it, then moves to shift. */
    bool needs_shift = info->kind == REDUCE_LOG_SUM_EXP;
    double *acc = malloc(sizeof(double) * (size_t)out_numel * (needs_shift ? 2 : 1));
    if (!acc) return op_fail(ctx, NNQ_ERR_NOMEM, "out of memory for %lld accumulators",
                             (long long)out_numel);
    double *shift = needs_shift ? acc + out_numel : NULL;
    reduce_job job = {.kind = info->kind, .x = data->data, .dtype = data->dtype, .acc = acc};
    if (needs_shift) {
        job.kind = REDUCE_MAX;
        fill(acc, out_numel, reduce_identity(REDUCE_MAX));
        if (numel > 0) reduce_walk(&plan, &job, numel);
        for (int64_t i = 0; i < out_numel; i++) shift[i] = isfinite(acc[i]) ? acc[i] : 0.0;
        job.kind = info->kind;
        job.shift = shift;
    }
    fill(acc, out_numel, reduce_identity(info->kind));
    if (numel > 0) reduce_walk(&plan, &job, numel);
    for (int64_t i = 0; i < out_numel; i++)
        store_from_double(out->data, out->dtype, i,
                          reduce_finish(info->kind, acc[i], plan.reduced_count,
                                        shift ? shift[i] : 0.0));
    free(acc);
    return NNQ_OK;
}

/* ---- ArgMax / ArgMin ---- */

static nnq_status arg_axis(const nnq_op_context *ctx, const nnq_tensor *data, int *axis) {
    return op_normalize_axis(ctx, node_attr_int(ctx->node, "axis", 0), data->rank, axis);
}

static nnq_status arg_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    const nnq_tensor *data = ctx->inputs[0];
    NNQ_TRY(check_reduce_dtype(ctx, data));
    nnq_tensor *out = &ctx->outputs[0];
    out->dtype = NNQ_INT64;
    if (data->rank == NNQ_UNKNOWN_RANK) {
        out->rank = NNQ_UNKNOWN_RANK;
        return NNQ_OK;
    }
    int axis;
    NNQ_TRY(arg_axis(ctx, data, &axis));
    if (data->dims[axis] == 0)
        return op_fail(ctx, NNQ_ERR_INVALID, "cannot take an index along empty axis %d", axis);
    bool keepdims = node_attr_int(ctx->node, "keepdims", 1) != 0;
    int rank = 0;
    for (int d = 0; d < data->rank; d++) {
        if (d != axis) out->dims[rank++] = data->dims[d];
        else if (keepdims) out->dims[rank++] = 1;
    }
    out->rank = rank;
    return NNQ_OK;
}

/* Index of the largest (want_max) or smallest element along the axis; ties
 * go to the first index, or the last with select_last_index (opset 12). */
static nnq_status arg_run(nnq_op_context *ctx) {
    const nnq_tensor *data = ctx->inputs[0];
    int64_t *out = ctx->outputs[0].data;
    bool want_max = strcmp(ctx->node->op_type, "ArgMax") == 0;
    bool last_on_tie = node_attr_int(ctx->node, "select_last_index", 0) != 0;
    int axis;
    NNQ_TRY(arg_axis(ctx, data, &axis));
    int64_t outer = dims_numel(data->dims, axis), extent = data->dims[axis];
    int64_t inner = dims_numel(data->dims + axis + 1, data->rank - axis - 1);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * extent * inner + i, best = 0;
            double best_value = load_as_double(data->data, data->dtype, base);
            for (int64_t r = 1; r < extent; r++) {
                double v = load_as_double(data->data, data->dtype, base + r * inner);
                bool better = want_max ? v > best_value : v < best_value;
                if (better || (last_on_tie && v == best_value)) {
                    best = r;
                    best_value = v;
                }
            }
            out[o * inner + i] = best;
        }
    return NNQ_OK;
}

const nnq_op_def nnq_ops_reduce[] = {
    {"ReduceSum", "", 1, reduce_infer, reduce_run},
    {"ReduceMean", "", 1, reduce_infer, reduce_run},
    {"ReduceMax", "", 1, reduce_infer, reduce_run},
    {"ReduceMin", "", 1, reduce_infer, reduce_run},
    {"ReduceProd", "", 1, reduce_infer, reduce_run},
    {"ReduceL1", "", 1, reduce_infer, reduce_run},
    {"ReduceL2", "", 1, reduce_infer, reduce_run},
    {"ReduceLogSum", "", 1, reduce_infer, reduce_run},
    {"ReduceLogSumExp", "", 1, reduce_infer, reduce_run},
    {"ReduceSumSquare", "", 1, reduce_infer, reduce_run},
    {"ArgMax", "", 1, arg_infer, arg_run},
    {"ArgMin", "", 1, arg_infer, arg_run},
    {NULL, NULL, 0, NULL, NULL},
};
