/* gemm_f32 against gemm_f32_reference on random shapes (odd sizes, every
 * transpose combination, padded leading dimensions, alpha/beta variants),
 * with every micro-kernel this CPU supports, plus a closed-form case checking
 * the reference itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/gemm_f32.h"
#include "kernels/gemm_f32_micro.h"

/* The micro-kernel the cases run with (gemm_f32_with). */
static const gemm_f32_micro *micro;

static uint32_t rng_state = 12345u;

static float random_float(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static float *random_buffer(int64_t count) {
    float *buf = malloc(sizeof(float) * (size_t)(count > 0 ? count : 1));
    for (int64_t i = 0; i < count; i++) buf[i] = random_float();
    return buf;
}

static void check_case(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       float beta, int64_t extra_ld) {
    int64_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k;
    int64_t b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
    int64_t lda = a_cols + extra_ld, ldb = b_cols + extra_ld, ldc = n + extra_ld;
    float *a = random_buffer(a_rows * lda), *b = random_buffer(b_rows * ldb);
    float *c_fast = random_buffer(m * ldc);
    float *c_ref = malloc(sizeof(float) * (size_t)(m * ldc > 0 ? m * ldc : 1));
    memcpy(c_ref, c_fast, sizeof(float) * (size_t)(m * ldc));
    if (beta == 0.0f) /* beta == 0 must not read C: poison it with NaN */
        for (int64_t i = 0; i < m * ldc; i++) c_fast[i] = c_ref[i] = NAN;

    gemm_f32_with(micro, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c_fast, ldc);
    gemm_f32_reference(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c_ref, ldc);

    int bad = 0;
    for (int64_t i = 0; i < m && bad < 3; i++)
        for (int64_t j = 0; j < n && bad < 3; j++) {
            /* Tolerance relative to the magnitude the sum can reach. */
            double scale = fabs(alpha) * (double)(k > 0 ? k : 1) + fabs(beta) + 1.0;
            double diff = fabs((double)c_fast[i * ldc + j] - (double)c_ref[i * ldc + j]);
            if (!(diff <= 1e-5 * scale)) {
                bad++;
                CHECK_MSG(0, "%s: ta=%d tb=%d m=%lld n=%lld k=%lld alpha=%g beta=%g at (%lld,%lld): "
                          "%.9g vs %.9g", micro->name, trans_a, trans_b, (long long)m, (long long)n,
                          (long long)k, alpha, beta, (long long)i, (long long)j,
                          c_fast[i * ldc + j], c_ref[i * ldc + j]);
            }
        }
    if (!bad) CHECK(1);
    /* Padding columns of C beyond n are never touched. */
    for (int64_t i = 0; i < m && extra_ld > 0; i++)
        CHECK(memcmp(&c_fast[i * ldc + n], &c_ref[i * ldc + n], sizeof(float) * (size_t)extra_ld) == 0 ||
              beta == 0.0f);
    free(a);
    free(b);
    free(c_fast);
    free(c_ref);
}

static void test_reference_closed_form(void) {
    /* [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50]; with alpha 2, beta 1 on C = 1. */
    const float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8};
    float c[] = {1, 1, 1, 1};
    gemm_f32_reference(false, false, 2, 2, 2, 2.0f, a, 2, b, 2, 1.0f, c, 2);
    CHECK_NEAR(c[0], 39, 0);
    CHECK_NEAR(c[1], 45, 0);
    CHECK_NEAR(c[2], 87, 0);
    CHECK_NEAR(c[3], 101, 0);
    /* A^T * B^T = (B A)^T: B A = [23 34; 31 46], transposed [23 31; 34 46]. */
    float d[4];
    gemm_f32(true, true, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, d, 2);
    CHECK_NEAR(d[0], 23, 0);
    CHECK_NEAR(d[1], 31, 0);
    CHECK_NEAR(d[2], 34, 0);
    CHECK_NEAR(d[3], 46, 0);
}

/* Every case with the current micro-kernel. */
static void check_all_cases(void) {
    static const int64_t sizes[] = {0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 97};
    const int n_sizes = (int)(sizeof sizes / sizeof sizes[0]);
    for (int t = 0; t < 4; t++)
        for (int im = 0; im < n_sizes; im++)
            for (int in = 0; in < n_sizes; in += 2)
                for (int ik = 0; ik < n_sizes; ik += 3)
                    check_case(t & 1, t & 2, sizes[im], sizes[in], sizes[ik], 1.0f, 0.0f, 0);

    /* alpha / beta variants with padded leading dimensions. */
    static const float alphas[] = {1.0f, -0.5f, 0.0f}, betas[] = {0.0f, 1.0f, 0.75f};
    for (int t = 0; t < 4; t++)
        for (int ia = 0; ia < 3; ia++)
            for (int ib = 0; ib < 3; ib++)
                check_case(t & 1, t & 2, 13, 21, 9, alphas[ia], betas[ib], 3);

    /* Shapes spanning several tiles and depth slices, large enough to run threaded. */
    check_case(false, false, 200, 530, 300, 1.0f, 0.0f, 0);
    check_case(true, false, 131, 600, 517, 0.5f, 1.0f, 1);
    check_case(false, true, 250, 70, 260, 1.0f, 0.5f, 0);
    check_case(true, true, 97, 515, 257, -1.0f, 0.0f, 2);
    /* Convolution-like: few rows, long rows, shallow and deep. */
    check_case(false, false, 16, 784, 9, 1.0f, 0.0f, 0);
    check_case(false, false, 64, 49, 576, 1.0f, 0.0f, 0);
}

/* gemm_f32 called from the threads of a parallel region, as Conv calls it
 * per image: each call runs on its own thread with its own buffers. */
static void test_inside_parallel_region(void) {
    enum { M = 64, N = 300, K = 200, CALLS = 4 };
    float *a = random_buffer(M * K), *b = random_buffer(K * N);
    float *c = malloc(sizeof(float) * CALLS * M * N), *ref = malloc(sizeof(float) * M * N);
    gemm_f32_reference(false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, ref, N);
#pragma omp parallel for num_threads(2) schedule(static, 1)
    for (int call = 0; call < CALLS; call++)
        gemm_f32(false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c + call * M * N, N);
    int bad = 0;
    for (int i = 0; i < CALLS * M * N; i++)
        if (!(fabs((double)c[i] - (double)ref[i % (M * N)]) <= 1e-5 * (K + 1))) bad++;
    CHECK_MSG(bad == 0, "%d entries differ when gemm_f32 runs inside a parallel region", bad);
    free(a);
    free(b);
    free(c);
    free(ref);
}

int main(void) {
    test_reference_closed_form();
    test_inside_parallel_region();

    int count;
    const gemm_f32_micro *const *kernels = gemm_f32_micro_all(&count);
    CHECK(count >= 1 && kernels[0]->supported());
    CHECK(gemm_f32_micro_best()->supported());
    for (int i = 0; i < count; i++) {
        if (!kernels[i]->supported()) continue;
        micro = kernels[i];
        check_all_cases();
    }
    return check_summary();
}
