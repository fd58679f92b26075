/* The portable gemm_f32 micro-kernel: a 4 x 16 accumulator block in a local
 * array with a fixed-size inner loop that the compiler vectorizes for the
 * build's baseline instruction set and keeps in registers. */
#include <string.h>

#include "kernels/gemm_f32_micro.h"

#define MR 4
#define NR 16

static void micro_portable(int64_t depth, gemm_f32_panel a, gemm_f32_panel b,
                           float *restrict acc) {
    float sum[MR][NR];
    memset(sum, 0, sizeof sum);
    const float *rows[MR];
    for (int i = 0; i < MR; i++) rows[i] = a.data + i * a.line_stride;
    const float *restrict bp = b.data;
    for (int64_t p = 0; p < depth; p++, bp += b.depth_stride) {
        for (int i = 0; i < MR; i++) {
            float ai = rows[i][p * a.depth_stride];
#pragma omp simd
            for (int j = 0; j < NR; j++) sum[i][j] += ai * bp[j];
        }
    }
    memcpy(acc, sum, sizeof sum);
}

static bool always(void) { return true; }

const gemm_f32_micro gemm_f32_micro_portable = {"portable", MR, NR, micro_portable, always};
