/* The AVX2 + FMA gemm_f32 micro-kernel: a 6 x 16 block in 12 ymm
 * accumulators; per depth step two B vectors are loaded and each A value is
 * broadcast into two fused multiply-adds. Compiled for AVX2 by a function
 * attribute only, so it runs only when the CPU reports AVX2 and FMA. */
#include "kernels/gemm_f32_micro.h"

#ifdef NNQ_GEMM_F32_X86_KERNELS
#include <immintrin.h>

#define MR 6
#define NR 16

/* Row i of the block: broadcast A value i into both halves. */
#define ROW(i)                                                   \
    x = _mm256_broadcast_ss(a##i + p * a.depth_stride);          \
    c##i##0 = _mm256_fmadd_ps(x, b0, c##i##0);                   \
    c##i##1 = _mm256_fmadd_ps(x, b1, c##i##1)

#define STORE(i)                                 \
    _mm256_storeu_ps(acc + (i) * NR, c##i##0);   \
    _mm256_storeu_ps(acc + (i) * NR + 8, c##i##1)

__attribute__((target("avx2,fma"))) static void micro_avx2(int64_t depth, gemm_f32_panel a,
                                                           gemm_f32_panel b,
                                                           float *restrict acc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *a0 = a.data, *a1 = a0 + a.line_stride, *a2 = a1 + a.line_stride;
    const float *a3 = a2 + a.line_stride, *a4 = a3 + a.line_stride, *a5 = a4 + a.line_stride;
    const float *bp = b.data;
    for (int64_t p = 0; p < depth; p++, bp += b.depth_stride) {
        __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8), x;
        ROW(0);
        ROW(1);
        ROW(2);
        ROW(3);
        ROW(4);
        ROW(5);
    }
    STORE(0);
    STORE(1);
    STORE(2);
    STORE(3);
    STORE(4);
    STORE(5);
}

static bool avx2_supported(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const gemm_f32_micro gemm_f32_micro_avx2 = {"avx2", MR, NR, micro_avx2, avx2_supported};
#endif
