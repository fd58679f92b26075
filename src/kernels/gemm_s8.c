/* Integer GEMM: int16 operands, int32 (wrapping) accumulation. See gemm_s8.h.
 *
 * Each row of C is accumulated as a sum of rows of B scaled by A[i][p]
 * (the i-p-j order), so the inner loop runs over contiguous B and C and
 * vectorizes. Columns are processed in blocks so the slice of B a block
 * touches stays in cache while every row of A passes over it. */
#include "kernels/gemm_s8.h"

#include <string.h>

#define GEMM_S8_COLUMN_BLOCK 512
/* Multiply-adds above which rows of C are split across threads. */
#define GEMM_S8_PARALLEL_MIN ((int64_t)1 << 20)

/* c[0..n) += a * b[0..n), in uint32 so overflow wraps instead of being
 * undefined. Both factors are int16, so the compiler can use 16 x 16 -> 32
 * bit widening multiplies. */
static inline void axpy_wrapping(int64_t n, int16_t a, const int16_t *b, uint32_t *c) {
    for (int64_t j = 0; j < n; j++) c[j] += (uint32_t)((int32_t)a * (int32_t)b[j]);
}

void gemm_s16_s32(int64_t m, int64_t n, int64_t k, const int16_t *a, int64_t lda,
                  const int16_t *b, int64_t ldb, int32_t *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    for (int64_t j0 = 0; j0 < n; j0 += GEMM_S8_COLUMN_BLOCK) {
        int64_t width = n - j0 < GEMM_S8_COLUMN_BLOCK ? n - j0 : GEMM_S8_COLUMN_BLOCK;
#pragma omp parallel for schedule(static) if (m * width * k > GEMM_S8_PARALLEL_MIN)
        for (int64_t i = 0; i < m; i++) {
            /* int32 and uint32 may alias: the wrapping sums land in C's bits directly. */
            uint32_t *c_row = (uint32_t *)(c + i * ldc + j0);
            memset(c_row, 0, sizeof(uint32_t) * (size_t)width);
            for (int64_t p = 0; p < k; p++) {
                int16_t a_ip = a[i * lda + p];
                if (a_ip != 0) axpy_wrapping(width, a_ip, b + p * ldb + j0, c_row);
            }
        }
    }
}
