/* Single-precision GEMM: a cache-blocked, register-blocked portable C kernel.
 *
 * C is cut into tiles of TILE_M x TILE_N that threads compute independently.
 * For each tile the depth K is walked in slices of DEPTH_K; per slice the
 * A block (TILE_M x DEPTH_K) is packed into panels of MICRO_M rows and the
 * B block (DEPTH_K x TILE_N) into panels of MICRO_N columns, both stored
 * depth-major and zero-padded to whole panels, so the micro-kernel reads
 * both operands contiguously and needs no edge cases. The micro-kernel keeps
 * a MICRO_M x MICRO_N accumulator block in a local array with a fixed-size
 * inner loop that the compiler vectorizes and keeps in registers. */
#include "kernels/gemm_f32.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define MICRO_M 4
#define MICRO_N 16
#define TILE_M 96   /* multiple of MICRO_M: A block TILE_M x DEPTH_K stays in L2 */
#define TILE_N 512  /* multiple of MICRO_N */
#define DEPTH_K 256 /* one B panel (DEPTH_K x MICRO_N) stays in L1 */

/* m * n * k above which the tiles are shared among OpenMP threads. */
#define GEMM_PARALLEL_MIN_WORK 1000000.0

void gemm_f32_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                        float *c, int64_t ldc) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float sum = 0.0f;
            for (int64_t p = 0; p < k; p++)
                sum += (trans_a ? a[p * lda + i] : a[i * lda + p]) *
                       (trans_b ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * ldc + j] = alpha * sum + (beta == 0.0f ? 0.0f : beta * c[i * ldc + j]);
        }
}

/* A matrix as stored, seen through its transpose flag: element (r, col) is
 * data[r * row_stride + col * col_stride]. */
typedef struct matrix_view {
    const float *data;
    int64_t row_stride, col_stride;
} matrix_view;

static matrix_view view_of(const float *data, int64_t ld, bool transposed) {
    matrix_view v = {data, transposed ? 1 : ld, transposed ? ld : 1};
    return v;
}

/* Packs `count` lines of `depth` elements into panels of `width` lines,
 * depth-major: dst[panel][p][line]. Line l, depth p of the source is
 * src[l * line_stride + p * depth_stride]; lines past count are zero. */
static void pack_panels(const float *src, int64_t line_stride, int64_t depth_stride, int64_t count,
                        int64_t depth, int width, float *dst) {
    for (int64_t first = 0; first < count; first += width) {
        int64_t lines = count - first < width ? count - first : width;
        const float *panel = src + first * line_stride;
        if (lines < width) memset(dst, 0, sizeof(float) * (size_t)(depth * width));
        if (depth_stride == 1) {
            /* Source lines are contiguous along depth: read them in order. */
            for (int64_t l = 0; l < lines; l++)
                for (int64_t p = 0; p < depth; p++) dst[p * width + l] = panel[l * line_stride + p];
        } else {
            for (int64_t p = 0; p < depth; p++)
                for (int64_t l = 0; l < lines; l++)
                    dst[p * width + l] = panel[l * line_stride + p * depth_stride];
        }
        dst += depth * width;
    }
}

/* acc = packed A panel (depth x MICRO_M) ^T * packed B panel (depth x MICRO_N). */
static void micro_kernel(int64_t depth, const float *restrict a, const float *restrict b,
                         float acc[restrict MICRO_M * MICRO_N]) {
    float sum[MICRO_M][MICRO_N];
    memset(sum, 0, sizeof sum);
    for (int64_t p = 0; p < depth; p++) {
        const float *ap = a + p * MICRO_M, *bp = b + p * MICRO_N;
        for (int i = 0; i < MICRO_M; i++)
#pragma omp simd
            for (int j = 0; j < MICRO_N; j++) sum[i][j] += ap[i] * bp[j];
    }
    memcpy(acc, sum, sizeof sum);
}

/* Writes the rows x cols corner of acc into C: the first depth slice applies
 * beta (never reading C when beta == 0), later slices accumulate. */
static void store_block(const float *acc, int64_t rows, int64_t cols, float alpha, float beta,
                        bool first_slice, float *c, int64_t ldc) {
    for (int64_t i = 0; i < rows; i++) {
        float *row = c + i * ldc;
        const float *src = acc + i * MICRO_N;
        if (!first_slice || beta == 1.0f)
            for (int64_t j = 0; j < cols; j++) row[j] += alpha * src[j];
        else if (beta == 0.0f)
            for (int64_t j = 0; j < cols; j++) row[j] = alpha * src[j];
        else
            for (int64_t j = 0; j < cols; j++) row[j] = alpha * src[j] + beta * row[j];
    }
}

typedef struct gemm_problem {
    int64_t m, n, k;
    float alpha, beta;
    matrix_view a, b; /* a: m x k, b: k x n */
    float *c;
    int64_t ldc;
} gemm_problem;

static int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }

/* Computes the C tile at (row0, col0) with the packing buffers of one thread. */
static void compute_tile(const gemm_problem *pr, int64_t row0, int64_t col0, float *packed_a,
                         float *packed_b) {
    int64_t rows = min64(TILE_M, pr->m - row0), cols = min64(TILE_N, pr->n - col0);
    float acc[MICRO_M * MICRO_N];
    for (int64_t p0 = 0; p0 < pr->k; p0 += DEPTH_K) {
        int64_t depth = min64(DEPTH_K, pr->k - p0);
        pack_panels(pr->a.data + row0 * pr->a.row_stride + p0 * pr->a.col_stride,
                    pr->a.row_stride, pr->a.col_stride, rows, depth, MICRO_M, packed_a);
        pack_panels(pr->b.data + p0 * pr->b.row_stride + col0 * pr->b.col_stride,
                    pr->b.col_stride, pr->b.row_stride, cols, depth, MICRO_N, packed_b);
        for (int64_t j = 0; j < cols; j += MICRO_N) {
            const float *b_panel = packed_b + (j / MICRO_N) * depth * MICRO_N;
            for (int64_t i = 0; i < rows; i += MICRO_M) {
                micro_kernel(depth, packed_a + (i / MICRO_M) * depth * MICRO_M, b_panel, acc);
                store_block(acc, min64(MICRO_M, rows - i), min64(MICRO_N, cols - j), pr->alpha,
                            pr->beta, p0 == 0, pr->c + (row0 + i) * pr->ldc + col0 + j, pr->ldc);
            }
        }
    }
}

/* C = beta * C for the degenerate products (k == 0 or alpha == 0). */
static void scale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

/* ---- Vector x matrix: the m == 1 or n == 1 products (fully connected layers
 * with batch 1, matrix-vector MatMul) that a packed tile would mostly waste. */

#define VECTOR_CHUNK 256 /* columns accumulated at once in a local array */

/* y[j * y_stride] = alpha * sum_p x[p * x_stride] * mat(p, j) + beta * y[...], j < n. */
static void vector_times_matrix(int64_t n, int64_t k, float alpha, const float *x,
                                int64_t x_stride, matrix_view mat, float beta, float *y,
                                int64_t y_stride) {
    int64_t chunks = (n + VECTOR_CHUNK - 1) / VECTOR_CHUNK;
    bool parallel = (double)n * (double)k > GEMM_PARALLEL_MIN_WORK && chunks > 1;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t chunk = 0; chunk < chunks; chunk++) {
        int64_t j0 = chunk * VECTOR_CHUNK, cols = min64(VECTOR_CHUNK, n - j0);
        float acc[VECTOR_CHUNK];
        if (mat.col_stride == 1) {
            /* Rows of mat are contiguous: accumulate scaled rows. */
            memset(acc, 0, sizeof acc);
            for (int64_t p = 0; p < k; p++) {
                const float *row = mat.data + p * mat.row_stride + j0;
                float xp = x[p * x_stride];
#pragma omp simd
                for (int64_t j = 0; j < cols; j++) acc[j] += xp * row[j];
            }
        } else {
            /* Columns of mat are contiguous (or both strided): one dot product each. */
            for (int64_t j = 0; j < cols; j++) {
                const float *column = mat.data + (j0 + j) * mat.col_stride;
                float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
                for (int64_t p = 0; p < k; p++) sum += x[p * x_stride] * column[p * mat.row_stride];
                acc[j] = sum;
            }
        }
        for (int64_t j = 0; j < cols; j++) {
            float *out = y + (j0 + j) * y_stride;
            *out = alpha * acc[j] + (beta == 0.0f ? 0.0f : beta * *out);
        }
    }
}

void gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0.0f) {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    matrix_view av = view_of(a, lda, trans_a), bv = view_of(b, ldb, trans_b);
    if (m == 1) {
        /* c row = a row (k) x B (k x n). */
        vector_times_matrix(n, k, alpha, a, av.col_stride, bv, beta, c, 1);
        return;
    }
    if (n == 1) {
        /* c column = (b column)^T (k) x A^T (k x m). */
        matrix_view at = {a, av.col_stride, av.row_stride};
        vector_times_matrix(m, k, alpha, b, bv.row_stride, at, beta, c, ldc);
        return;
    }
    gemm_problem pr = {m, n, k, alpha, beta, av, bv, c, ldc};
    int64_t tiles_m = (m + TILE_M - 1) / TILE_M, tiles_n = (n + TILE_N - 1) / TILE_N;
    int64_t tiles = tiles_m * tiles_n;
    bool parallel = (double)m * (double)n * (double)k > GEMM_PARALLEL_MIN_WORK && tiles > 1;
    int threads = parallel ? omp_get_max_threads() : 1;
    /* Packing buffers for every thread, allocated once per call. */
    size_t per_thread = (size_t)((TILE_M + TILE_N) * min64(DEPTH_K, k));
    float *buffers = malloc(sizeof(float) * per_thread * (size_t)threads);
    if (!buffers) {
        gemm_f32_reference(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#pragma omp parallel num_threads(threads) if (parallel)
    {
        float *packed_a = buffers + per_thread * (size_t)omp_get_thread_num();
        float *packed_b = packed_a + TILE_M * min64(DEPTH_K, k);
#pragma omp for schedule(dynamic)
        for (int64_t t = 0; t < tiles; t++)
            compute_tile(&pr, (t % tiles_m) * TILE_M, (t / tiles_m) * TILE_N, packed_a, packed_b);
    }
    free(buffers);
}
