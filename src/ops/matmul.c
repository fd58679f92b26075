/* Gemm and MatMul (float32) through gemm_f32. */
#include <string.h>

#include "base/parallel.h"
#include "kernels/gemm_f32.h"
#include "ops/op.h"

/* ------------------------------------------------------------------ Gemm */

typedef struct gemm_shape {
    bool trans_a, trans_b;
    int64_t m, n, k; /* -1 where unknown */
} gemm_shape;

static nnq_status gemm_resolve(const nnq_op_context *ctx, gemm_shape *s) {
    const nnq_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    s->trans_a = node_attr_int(ctx->node, "transA", 0) != 0;
    s->trans_b = node_attr_int(ctx->node, "transB", 0) != 0;
    s->m = s->n = s->k = NNQ_UNKNOWN_DIM;
    if ((a->rank != NNQ_UNKNOWN_RANK && a->rank != 2) ||
        (b->rank != NNQ_UNKNOWN_RANK && b->rank != 2))
        return op_fail(ctx, NNQ_ERR_INVALID, "A and B must be 2-D, have ranks %d and %d", a->rank,
                       b->rank);
    int64_t k_b = NNQ_UNKNOWN_DIM;
    if (a->rank == 2) {
        s->m = a->dims[s->trans_a ? 1 : 0];
        s->k = a->dims[s->trans_a ? 0 : 1];
    }
    if (b->rank == 2) {
        s->n = b->dims[s->trans_b ? 0 : 1];
        k_b = b->dims[s->trans_b ? 1 : 0];
    }
    if (s->k >= 0 && k_b >= 0 && s->k != k_b)
        return op_fail(ctx, NNQ_ERR_INVALID, "inner dimensions differ: A gives %lld, B gives %lld",
                       (long long)s->k, (long long)k_b);
    if (s->k < 0) s->k = k_b;
    return NNQ_OK;
}

/* C must broadcast unidirectionally to [M, N]: rank <= 2, each dim 1 or equal. */
static nnq_status check_gemm_bias(const nnq_op_context *ctx, const nnq_tensor *c,
                                  const gemm_shape *s) {
    if (!c || c->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    if (c->rank > 2) return op_fail(ctx, NNQ_ERR_INVALID, "C has rank %d, at most 2", c->rank);
    const int64_t out[2] = {s->m, s->n};
    for (int i = 0; i < c->rank; i++) {
        int64_t d = c->dims[i], target = out[2 - c->rank + i];
        if (d >= 0 && d != 1 && target >= 0 && d != target)
            return op_fail(ctx, NNQ_ERR_INVALID, "C dim %d (%lld) does not broadcast to %lld", i,
                           (long long)d, (long long)target);
    }
    return NNQ_OK;
}

static nnq_status gemm_infer(nnq_op_context *ctx) {
    /* C is required before opset 11, optional since. */
    NNQ_TRY(op_check_arity(ctx, ctx->opset < 11 ? 3 : 2, 3, 1, 1));
    for (int i = 0; i < ctx->n_inputs; i++)
        if (ctx->inputs[i])
            NNQ_TRY(op_check_dtype(ctx, ctx->inputs[i], i == 0 ? "A" : i == 1 ? "B" : "C",
                                   NNQ_FLOAT, NNQ_UNDEFINED));
    gemm_shape s;
    NNQ_TRY(gemm_resolve(ctx, &s));
    NNQ_TRY(check_gemm_bias(ctx, op_input(ctx, 2), &s));
    const int64_t dims[2] = {s.m, s.n};
    tensor_set_shape(&ctx->outputs[0], NNQ_FLOAT, 2, dims);
    return NNQ_OK;
}

/* Y[M, N] = C broadcast over rows and/or columns. */
static void fill_broadcast_bias(float *y, int64_t m, int64_t n, const nnq_tensor *c) {
    const float *src = c->data;
    int64_t rows = c->rank == 2 ? c->dims[0] : 1;
    int64_t cols = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    for (int64_t i = 0; i < m; i++) {
        const float *row = src + (rows == 1 ? 0 : i) * cols;
        for (int64_t j = 0; j < n; j++) y[i * n + j] = row[cols == 1 ? 0 : j];
    }
}

static nnq_status gemm_run(nnq_op_context *ctx) {
    const nnq_tensor *a = ctx->inputs[0], *b = ctx->inputs[1], *c = op_input(ctx, 2);
    gemm_shape s;
    NNQ_TRY(gemm_resolve(ctx, &s));
    float alpha = node_attr_float(ctx->node, "alpha", 1.0f);
    float beta = node_attr_float(ctx->node, "beta", 1.0f);
    float *y = ctx->outputs[0].data;
    if (c && beta != 0.0f) fill_broadcast_bias(y, s.m, s.n, c);
    else beta = 0.0f;
    gemm_f32(s.trans_a, s.trans_b, s.m, s.n, s.k, alpha, a->data, a->dims[1], b->data, b->dims[1],
             beta, y, s.n);
    return NNQ_OK;
}

/* ---------------------------------------------------------------- MatMul */

/* numpy matmul of A [..., M, K] and B [..., K, N]: a 1-D A is [1, K] with M
 * dropped from the result, a 1-D B is [K, 1] with N dropped; the batch dims
 * (all but the last two) broadcast. */
typedef struct matmul_shape {
    int64_t m, n, k;
    int batch_rank;
    int64_t batch[NNQ_MAX_RANK];
    int64_t a_batch_strides[NNQ_MAX_RANK]; /* in matrices; 0 where broadcast */
    int64_t b_batch_strides[NNQ_MAX_RANK];
    int out_rank;
    int64_t out_dims[NNQ_MAX_RANK];
} matmul_shape;

static nnq_status matmul_resolve(const nnq_op_context *ctx, matmul_shape *s) {
    const nnq_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    memset(s, 0, sizeof *s);
    if (a->rank == NNQ_UNKNOWN_RANK || b->rank == NNQ_UNKNOWN_RANK) {
        s->out_rank = NNQ_UNKNOWN_RANK;
        return NNQ_OK;
    }
    if (a->rank < 1 || b->rank < 1)
        return op_fail(ctx, NNQ_ERR_INVALID, "inputs must have rank >= 1, have %d and %d",
                       a->rank, b->rank);
    s->m = a->rank >= 2 ? a->dims[a->rank - 2] : 1;
    s->k = a->dims[a->rank - 1];
    int64_t k_b = b->dims[b->rank >= 2 ? b->rank - 2 : 0];
    s->n = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
    if (s->k >= 0 && k_b >= 0 && s->k != k_b)
        return op_fail(ctx, NNQ_ERR_INVALID, "inner dimensions differ: A has %lld, B has %lld",
                       (long long)s->k, (long long)k_b);
    if (s->k < 0) s->k = k_b;

    /* Batch dims: broadcast the leading dims of both (as shape-only tensors). */
    nnq_tensor a_batch = {.rank = a->rank > 2 ? a->rank - 2 : 0};
    nnq_tensor b_batch = {.rank = b->rank > 2 ? b->rank - 2 : 0};
    memcpy(a_batch.dims, a->dims, sizeof(int64_t) * (size_t)a_batch.rank);
    memcpy(b_batch.dims, b->dims, sizeof(int64_t) * (size_t)b_batch.rank);
    NNQ_TRY(op_broadcast_shape(ctx, &a_batch, &b_batch, &s->batch_rank, s->batch));
    op_broadcast_strides(a_batch.dims, a_batch.rank, s->batch, s->batch_rank, s->a_batch_strides);
    op_broadcast_strides(b_batch.dims, b_batch.rank, s->batch, s->batch_rank, s->b_batch_strides);

    s->out_rank = s->batch_rank;
    memcpy(s->out_dims, s->batch, sizeof(int64_t) * (size_t)s->batch_rank);
    if (a->rank >= 2) s->out_dims[s->out_rank++] = s->m;
    if (b->rank >= 2) s->out_dims[s->out_rank++] = s->n;
    if (s->out_rank > NNQ_MAX_RANK)
        return op_fail(ctx, NNQ_ERR_INVALID, "result rank %d exceeds %d", s->out_rank,
                       NNQ_MAX_RANK);
    return NNQ_OK;
}

static nnq_status matmul_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 2, 2, 1, 1));
    NNQ_TRY(op_check_dtype(ctx, ctx->inputs[0], "A", NNQ_FLOAT, NNQ_UNDEFINED));
    NNQ_TRY(op_check_dtype(ctx, ctx->inputs[1], "B", NNQ_FLOAT, NNQ_UNDEFINED));
    matmul_shape s;
    NNQ_TRY(matmul_resolve(ctx, &s));
    nnq_tensor *y = &ctx->outputs[0];
    y->dtype = NNQ_FLOAT;
    y->rank = s.out_rank;
    if (s.out_rank > 0) memcpy(y->dims, s.out_dims, sizeof(int64_t) * (size_t)s.out_rank);
    return NNQ_OK;
}

/* Offset (in matrices) of output batch index t in an operand with these batch strides. */
static int64_t batch_offset(const matmul_shape *s, const int64_t *strides, int64_t t) {
    int64_t offset = 0;
    for (int d = s->batch_rank - 1; d >= 0; d--) {
        offset += (t % s->batch[d]) * strides[d];
        t /= s->batch[d];
    }
    return offset;
}

static bool all_zero(const int64_t *v, int n) {
    for (int i = 0; i < n; i++)
        if (v[i]) return false;
    return true;
}

static nnq_status matmul_run(nnq_op_context *ctx) {
    const float *a = ctx->inputs[0]->data, *b = ctx->inputs[1]->data;
    float *y = ctx->outputs[0].data;
    matmul_shape s;
    NNQ_TRY(matmul_resolve(ctx, &s));
    int64_t batches = dims_numel(s.batch, s.batch_rank);
    if (batches == 0) return NNQ_OK;
    int64_t a_matrix = s.m * s.k, b_matrix = s.k * s.n, y_matrix = s.m * s.n;

    /* B shared by all batches and A not broadcast: the batches of A stack into
     * one tall matrix [batches * M, K] (A and Y are contiguous). */
    if (all_zero(s.b_batch_strides, s.batch_rank) &&
        batch_offset(&s, s.a_batch_strides, batches - 1) == batches - 1) {
        gemm_f32(false, false, batches * s.m, s.n, s.k, 1.0f, a, s.k, b, s.n, 0.0f, y, s.n);
        return NNQ_OK;
    }
    /* Threads take whole products (as many as the total work deserves) unless
     * one product alone deserves more threads inside gemm_f32. */
    double product_work = (double)s.m * (double)s.n * (double)s.k;
    int threads = nnq_threads_for(product_work * (double)batches, NNQ_GRAIN_MACS, batches);
    if (nnq_threads_for(product_work, NNQ_GRAIN_MACS, INT64_MAX) > threads) threads = 1;
    NNQ_PARALLEL_FOR(threads, (int64_t t = 0; t < batches; t++), {
        const float *a_t = a + batch_offset(&s, s.a_batch_strides, t) * a_matrix;
        const float *b_t = b + batch_offset(&s, s.b_batch_strides, t) * b_matrix;
        gemm_f32(false, false, s.m, s.n, s.k, 1.0f, a_t, s.k, b_t, s.n, 0.0f, y + t * y_matrix,
                 s.n);
    });
    return NNQ_OK;
}

const nnq_op_def nnq_ops_matmul[] = {
    {"Gemm", "", 1, gemm_infer, gemm_run},
    {"MatMul", "", 1, matmul_infer, matmul_run},
    {NULL, NULL, 0, NULL, NULL},
};
