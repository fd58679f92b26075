/* The micro-kernels of gemm_f32 and their run-time selection.
 *
 * A micro-kernel computes one mr x nr block of A * B over `depth` from a
 * panel of mr rows of A and a panel of nr columns of B, and writes the block
 * row-major, nr floats a row, to acc. gemm_f32.c passes the operands where
 * they are stored when it can, else packed copies (depth-major, one group of
 * mr or nr values per depth step). The portable kernel
 * is plain C that any compiler vectorizes for the build's baseline; on x86-64
 * AVX2+FMA and AVX-512 kernels are compiled with function-level target
 * attributes (the rest of the build stays portable) and chosen at run time
 * when the CPU supports them. */
#ifndef NNQ_KERNELS_GEMM_F32_MICRO_H
#define NNQ_KERNELS_GEMM_F32_MICRO_H

#include <stdbool.h>
#include <stdint.h>

/* Element (line l, depth p) of a panel is data[l * line_stride + p * depth_stride];
 * the lines are A rows or B columns. B panels always have line_stride 1. */
typedef struct gemm_f32_panel {
    const float *data;
    int64_t line_stride, depth_stride;
} gemm_f32_panel;

typedef void (*gemm_f32_micro_fn)(int64_t depth, gemm_f32_panel a, gemm_f32_panel b, float *acc);

typedef struct gemm_f32_micro {
    const char *name;
    int mr, nr;            /* block rows (A panel width) and columns (B panel width) */
    gemm_f32_micro_fn run;
    bool (*supported)(void); /* whether this CPU can run it */
} gemm_f32_micro;

/* Every kernel compiled in, the portable one first. */
extern const gemm_f32_micro gemm_f32_micro_portable;
#if defined(__x86_64__) && defined(__GNUC__)
#define NNQ_GEMM_F32_X86_KERNELS 1
extern const gemm_f32_micro gemm_f32_micro_avx2;
extern const gemm_f32_micro gemm_f32_micro_avx512;
#endif

/* The compiled-in kernels (*count of them), the portable one first. */
const gemm_f32_micro *const *gemm_f32_micro_all(int *count);

/* The fastest kernel this CPU supports (decided once). */
const gemm_f32_micro *gemm_f32_micro_best(void);

/* gemm_f32 (same contract, see gemm_f32.h) with the given micro-kernel, which
 * the CPU must support: lets the tests check every kernel. */
void gemm_f32_with(const gemm_f32_micro *micro, bool trans_a, bool trans_b, int64_t m, int64_t n,
                   int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                   int64_t ldb, float beta, float *c, int64_t ldc);

#endif
