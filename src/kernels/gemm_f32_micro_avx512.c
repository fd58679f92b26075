/* The AVX-512 gemm_f32 micro-kernel: an 8 x 32 block in 16 zmm accumulators;
 * per depth step two B vectors are loaded and each A value is broadcast into
 * two fused multiply-adds. Compiled for AVX-512F by a function attribute
 * only, so it runs only when the CPU reports AVX-512F. */
#include "kernels/gemm_f32_micro.h"

#ifdef NNQ_GEMM_F32_X86_KERNELS
#include <immintrin.h>

#define MR 8
#define NR 32

/* Row i of the block: broadcast A value i into both halves. */
#define ROW(i)                                                   \
    x = _mm512_set1_ps(a##i[p * a.depth_stride]);                \
    c##i##0 = _mm512_fmadd_ps(x, b0, c##i##0);                   \
    c##i##1 = _mm512_fmadd_ps(x, b1, c##i##1)

#define STORE(i)                                  \
    _mm512_storeu_ps(acc + (i) * NR, c##i##0);    \
    _mm512_storeu_ps(acc + (i) * NR + 16, c##i##1)

__attribute__((target("avx512f"))) static void micro_avx512(int64_t depth, gemm_f32_panel a,
                                                            gemm_f32_panel b,
                                                            float *restrict acc) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    __m512 c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    const float *a0 = a.data, *a1 = a0 + a.line_stride, *a2 = a1 + a.line_stride;
    const float *a3 = a2 + a.line_stride, *a4 = a3 + a.line_stride, *a5 = a4 + a.line_stride;
    const float *a6 = a5 + a.line_stride, *a7 = a6 + a.line_stride;
    const float *bp = b.data;
    for (int64_t p = 0; p < depth; p++, bp += b.depth_stride) {
        __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16), x;
        ROW(0);
        ROW(1);
        ROW(2);
        ROW(3);
        ROW(4);
        ROW(5);
        ROW(6);
        ROW(7);
    }
    STORE(0);
    STORE(1);
    STORE(2);
    STORE(3);
    STORE(4);
    STORE(5);
    STORE(6);
    STORE(7);
}

static bool avx512_supported(void) { return __builtin_cpu_supports("avx512f"); }

const gemm_f32_micro gemm_f32_micro_avx512 = {"avx512", MR, NR, micro_avx512, avx512_supported};
#endif
