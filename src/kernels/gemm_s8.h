/* The integer GEMM entry point every 8-bit linear operator (MatMulInteger,
 * QLinearMatMul, ConvInteger via im2col, QLinearConv) goes through.
 *
 * Operands are int16: callers widen their uint8/int8 data and subtract the
 * zero points first (any mix of uint8/int8 and per-tensor, per-row or
 * per-column zero points then becomes one case; the differences lie in
 * [-255, 255]). Every int16 x int16 product fits int32; the sums wrap
 * modulo 2^32 like the int32 accumulators of ONNX runtimes (never undefined
 * behaviour), which only matters past K of about 33000 at extreme values.
 *
 *   C[M x N] = A[M x K] * B[K x N]     (row-major, C overwritten)
 *
 * lda/ldb/ldc are row strides in elements. */
#ifndef NNQ_KERNELS_GEMM_S8_H
#define NNQ_KERNELS_GEMM_S8_H

#include <stdint.h>

void gemm_s16_s32(int64_t m, int64_t n, int64_t k, const int16_t *a, int64_t lda,
                  const int16_t *b, int64_t ldb, int32_t *c, int64_t ldc);

#endif
