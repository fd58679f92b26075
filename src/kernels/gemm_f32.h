/* The single-precision GEMM entry point every FP32 linear operator
 * (Conv via im2col, ConvTranspose, Gemm, MatMul) goes through, so one
 * optimized kernel speeds them all up.
 *
 *   C[M x N] = alpha * op(A)[M x K] * op(B)[K x N] + beta * C
 *
 * Row-major; op(X) = X or X^T. lda/ldb/ldc are row strides in elements of
 * the matrices as stored (A is M x K when !trans_a, K x M when trans_a).
 * beta == 0 means C is written without being read (it may hold garbage). */
#ifndef NNQ_KERNELS_GEMM_F32_H
#define NNQ_KERNELS_GEMM_F32_H

#include <stdbool.h>
#include <stdint.h>

void gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc);

/* The plain triple loop with the same contract: the reference every
 * optimized gemm_f32 is tested against. */
void gemm_f32_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                        float *c, int64_t ldc);

#endif
