/* Helpers shared by operator implementations: arity and dtype checks,
 * axis normalization and numpy-style broadcasting. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ops/op.h"

nnq_status op_fail(const nnq_op_context *ctx, nnq_status code, const char *fmt, ...) {
    char detail[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(detail, sizeof detail, fmt, args);
    va_end(args);
    return nnq_fail(code, "node '%s' (%s): %s", node_display_name(ctx->node), ctx->node->op_type,
                    detail);
}

const nnq_tensor *op_input(const nnq_op_context *ctx, int index) {
    if (index < 0 || index >= ctx->n_inputs) return NULL;
    return ctx->inputs[index];
}

nnq_status op_check_arity(const nnq_op_context *ctx, int min_inputs, int max_inputs,
                          int min_outputs, int max_outputs) {
    if (ctx->n_inputs < min_inputs || ctx->n_inputs > max_inputs)
        return op_fail(ctx, NNQ_ERR_INVALID, "expects %d to %d inputs, has %d", min_inputs,
                       max_inputs, ctx->n_inputs);
    if (ctx->n_outputs < min_outputs || ctx->n_outputs > max_outputs)
        return op_fail(ctx, NNQ_ERR_INVALID, "expects %d to %d outputs, has %d", min_outputs,
                       max_outputs, ctx->n_outputs);
    for (int i = 0; i < min_inputs; i++)
        if (!ctx->inputs[i])
            return op_fail(ctx, NNQ_ERR_INVALID, "required input %d is missing", i);
    return NNQ_OK;
}

nnq_status op_check_dtype(const nnq_op_context *ctx, const nnq_tensor *t, const char *what, ...) {
    va_list args;
    va_start(args, what);
    for (;;) {
        int allowed = va_arg(args, int);
        if (allowed == NNQ_UNDEFINED) break;
        if ((int)t->dtype == allowed) {
            va_end(args);
            return NNQ_OK;
        }
    }
    va_end(args);
    return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "%s has unsupported element type %s", what,
                   dtype_name(t->dtype));
}

nnq_status op_normalize_axis(const nnq_op_context *ctx, int64_t axis, int rank, int *out) {
    if (axis < -(int64_t)rank || axis >= rank)
        return op_fail(ctx, NNQ_ERR_INVALID, "axis %lld is out of range for rank %d",
                       (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return NNQ_OK;
}

nnq_status op_broadcast_shape(const nnq_op_context *ctx, const nnq_tensor *a, const nnq_tensor *b,
                              int *out_rank, int64_t *out_dims) {
    if (a->rank == NNQ_UNKNOWN_RANK || b->rank == NNQ_UNKNOWN_RANK) {
        *out_rank = NNQ_UNKNOWN_RANK;
        return NNQ_OK;
    }
    int rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < rank; i++) {
        int ia = i - (rank - a->rank), ib = i - (rank - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        int64_t d;
        if (da == db) d = da;
        else if (da == 1) d = db;
        else if (db == 1) d = da;
        else if (da == NNQ_UNKNOWN_DIM) d = db;  /* a must broadcast to db at run time */
        else if (db == NNQ_UNKNOWN_DIM) d = da;
        else {
            char sa[96], sb[96];
            return op_fail(ctx, NNQ_ERR_INVALID, "shapes %s and %s cannot be broadcast",
                           dims_format(a->dims, a->rank, sa, sizeof sa),
                           dims_format(b->dims, b->rank, sb, sizeof sb));
        }
        out_dims[i] = d;
    }
    *out_rank = rank;
    return NNQ_OK;
}

void op_broadcast_strides(const int64_t *dims, int rank, const int64_t *out_dims, int out_rank,
                          int64_t *strides) {
    int64_t stride = 1;
    for (int i = out_rank - 1; i >= 0; i--) {
        int src = i - (out_rank - rank);
        if (src < 0) {
            strides[i] = 0;
            continue;
        }
        strides[i] = (dims[src] == 1 && out_dims[i] != 1) ? 0 : stride;
        stride *= dims[src];
    }
}

void op_infer_same_as(nnq_tensor *out, const nnq_tensor *src) {
    out->dtype = src->dtype;
    out->rank = src->rank;
    if (src->rank > 0) memcpy(out->dims, src->dims, sizeof(int64_t) * (size_t)src->rank);
}
