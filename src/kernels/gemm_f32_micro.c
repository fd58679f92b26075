/* Run-time choice among the compiled-in gemm_f32 micro-kernels. */
#include "kernels/gemm_f32_micro.h"

#include <stddef.h>

static const gemm_f32_micro *const all_kernels[] = {
    &gemm_f32_micro_portable,
#ifdef NNQ_GEMM_F32_X86_KERNELS
    &gemm_f32_micro_avx2,
    &gemm_f32_micro_avx512,
#endif
};

const gemm_f32_micro *const *gemm_f32_micro_all(int *count) {
    *count = (int)(sizeof all_kernels / sizeof all_kernels[0]);
    return all_kernels;
}

/* The last supported kernel of the list, which is ordered by preference. */
static const gemm_f32_micro *choose(void) {
    int count;
    const gemm_f32_micro *const *kernels = gemm_f32_micro_all(&count);
    const gemm_f32_micro *best = kernels[0];
    for (int i = 1; i < count; i++)
        if (kernels[i]->supported()) best = kernels[i];
    return best;
}

const gemm_f32_micro *gemm_f32_micro_best(void) {
    /* Benign race: every thread computes the same pointer. */
    static const gemm_f32_micro *_Atomic chosen = NULL;
    const gemm_f32_micro *k = chosen;
    if (!k) chosen = k = choose();
    return k;
}
