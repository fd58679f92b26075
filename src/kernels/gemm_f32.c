/* Single-precision GEMM: cache blocking and packing around a register-blocked
 * micro-kernel chosen for the CPU at run time (gemm_f32_micro.h).
 *
 * C is cut into tiles of tile_m x TILE_N that threads compute independently.
 * For each tile the depth K is walked in slices of DEPTH_K. The micro-kernel
 * reads panels of mr rows of A and nr columns of B. A panel of whole rows of
 * an untransposed A (and of whole columns of an untransposed B) is read where
 * it is stored, so the usual Conv and MatMul operands are not copied at all;
 * other panels (transposed operands, and the last, partial panel zero-padded
 * to full width) are packed depth-major into per-thread buffers first. */
#include "kernels/gemm_f32.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "base/parallel.h"
#include "kernels/gemm_f32_micro.h"

#define TILE_M 96   /* rounded down to a multiple of mr: A block tile_m x DEPTH_K stays in L2 */
#define TILE_N 512  /* a multiple of every nr */
#define DEPTH_K 256 /* one B panel (DEPTH_K x nr) stays in L1 */
#define MAX_BLOCK 256 /* mr * nr of the largest micro-kernel */

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

/* Writes the rows x cols corner of acc into C: the first depth slice applies
 * beta (never reading C when beta == 0), later slices accumulate. */
static void store_block(const float *acc, int nr, int64_t rows, int64_t cols, float alpha,
                        float beta, bool first_slice, float *c, int64_t ldc) {
    for (int64_t i = 0; i < rows; i++) {
        float *row = c + i * ldc;
        const float *src = acc + i * nr;
        if (!first_slice || beta == 1.0f)
            for (int64_t j = 0; j < cols; j++) row[j] += alpha * src[j];
        else if (beta == 0.0f)
            for (int64_t j = 0; j < cols; j++) row[j] = alpha * src[j];
        else
            for (int64_t j = 0; j < cols; j++) row[j] = alpha * src[j] + beta * row[j];
    }
}

typedef struct gemm_problem {
    const gemm_f32_micro *micro;
    int64_t tile_m;
    int64_t m, n, k;
    float alpha, beta;
    matrix_view a, b; /* a: m x k, b: k x n */
    float *c;
    int64_t ldc;
} gemm_problem;

static int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }

/* The panels of `count` lines (rows of A or columns of B) over one depth
 * slice: line l, depth p of the operand is src[l * line_stride + p * depth_stride].
 * The first `direct` lines (whole panels) are read in place, the rest from
 * `packed`. */
typedef struct panel_source {
    const float *src;
    int64_t line_stride, depth_stride;
    int64_t direct; /* lines read in place: a multiple of the panel width */
    const float *packed;
    int64_t depth;
    int width;
} panel_source;

/* Whole panels are read in place when `in_place` (the micro-kernel reads A
 * values one by one, so any A; B as vectors, so an untransposed B); the
 * other lines are packed into buffer. */
static void panels_prepare(panel_source *ps, const float *src, int64_t line_stride,
                           int64_t depth_stride, int64_t count, int64_t depth, int width,
                           bool in_place, float *buffer) {
    ps->src = src;
    ps->line_stride = line_stride;
    ps->depth_stride = depth_stride;
    ps->direct = in_place ? count / width * width : 0;
    ps->packed = buffer;
    ps->depth = depth;
    ps->width = width;
    if (ps->direct < count)
        pack_panels(src + ps->direct * line_stride, line_stride, depth_stride, count - ps->direct,
                    depth, width, buffer);
}

/* The panel starting at line `first`: its base, line stride and depth stride. */
static const float *panel_at(const panel_source *ps, int64_t first, int64_t *line_stride,
                             int64_t *depth_stride) {
    if (first < ps->direct) {
        *line_stride = ps->line_stride;
        *depth_stride = ps->depth_stride;
        return ps->src + first * ps->line_stride;
    }
    *line_stride = 1;
    *depth_stride = ps->width;
    return ps->packed + (first - ps->direct) / ps->width * ps->depth * ps->width;
}

/* Computes the C tile at (row0, col0) with the packing buffers of one thread. */
static void compute_tile(const gemm_problem *pr, int64_t row0, int64_t col0, float *packed_a,
                         float *packed_b) {
    int mr = pr->micro->mr, nr = pr->micro->nr;
    int64_t rows = min64(pr->tile_m, pr->m - row0), cols = min64(TILE_N, pr->n - col0);
    alignas(64) float acc[MAX_BLOCK];
    for (int64_t p0 = 0; p0 < pr->k; p0 += DEPTH_K) {
        int64_t depth = min64(DEPTH_K, pr->k - p0);
        panel_source as, bs;
        panels_prepare(&as, pr->a.data + row0 * pr->a.row_stride + p0 * pr->a.col_stride,
                       pr->a.row_stride, pr->a.col_stride, rows, depth, mr, true, packed_a);
        panels_prepare(&bs, pr->b.data + p0 * pr->b.row_stride + col0 * pr->b.col_stride,
                       pr->b.col_stride, pr->b.row_stride, cols, depth, nr,
                       pr->b.col_stride == 1, packed_b);
        for (int64_t j = 0; j < cols; j += nr) {
            int64_t b_line, b_depth;
            const float *b_panel = panel_at(&bs, j, &b_line, &b_depth);
            for (int64_t i = 0; i < rows; i += mr) {
                int64_t a_line, a_depth;
                const float *a_panel = panel_at(&as, i, &a_line, &a_depth);
                gemm_f32_panel a_view = {a_panel, a_line, a_depth};
                gemm_f32_panel b_view = {b_panel, b_line, b_depth};
                pr->micro->run(depth, a_view, b_view, acc);
                store_block(acc, nr, min64(mr, rows - i), min64(nr, cols - j), pr->alpha,
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

/* The vector loops below are plain C; on x86-64 the compiler also builds
 * AVX2 and AVX-512 copies of them, and the loader picks the one the CPU runs
 * (GCC/Clang function multiversioning). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTOR_CLONES
#endif

/* acc[j] = sum_p x[p * x_stride] * mat(p, j0 + j), j < cols. */
VECTOR_CLONES static void vector_chunk(int64_t cols, int64_t k, const float *x, int64_t x_stride,
                                       matrix_view mat, int64_t j0, float *acc) {
    if (mat.col_stride == 1) {
        /* Rows of mat are contiguous: accumulate scaled rows. */
        memset(acc, 0, sizeof(float) * (size_t)cols);
        for (int64_t p = 0; p < k; p++) {
            const float *row = mat.data + p * mat.row_stride + j0;
            float xp = x[p * x_stride];
#pragma omp simd
            for (int64_t j = 0; j < cols; j++) acc[j] += xp * row[j];
        }
        return;
    }
    int64_t j = 0;
    if (x_stride == 1 && mat.row_stride == 1) {
        /* Contiguous columns and x: four dot products share each load of x. */
        for (; j + 4 <= cols; j += 4) {
            const float *c0 = mat.data + (j0 + j) * mat.col_stride, *c1 = c0 + mat.col_stride;
            const float *c2 = c1 + mat.col_stride, *c3 = c2 + mat.col_stride;
            float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
            for (int64_t p = 0; p < k; p++) {
                s0 += x[p] * c0[p];
                s1 += x[p] * c1[p];
                s2 += x[p] * c2[p];
                s3 += x[p] * c3[p];
            }
            acc[j] = s0;
            acc[j + 1] = s1;
            acc[j + 2] = s2;
            acc[j + 3] = s3;
        }
    }
    /* Columns of mat are contiguous (or both strided): one dot product each. */
    for (; j < cols; j++) {
        const float *column = mat.data + (j0 + j) * mat.col_stride;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int64_t p = 0; p < k; p++) sum += x[p * x_stride] * column[p * mat.row_stride];
        acc[j] = sum;
    }
}

/* y[j * y_stride] = alpha * sum_p x[p * x_stride] * mat(p, j) + beta * y[...], j < n. */
static void vector_times_matrix(int64_t n, int64_t k, float alpha, const float *x,
                                int64_t x_stride, matrix_view mat, float beta, float *y,
                                int64_t y_stride) {
    int64_t chunks = (n + VECTOR_CHUNK - 1) / VECTOR_CHUNK;
    int threads = nnq_threads_for((double)n * (double)k, NNQ_GRAIN_MACS, chunks);
    NNQ_PARALLEL_FOR(threads, (int64_t chunk = 0; chunk < chunks; chunk++), {
        int64_t j0 = chunk * VECTOR_CHUNK, cols = min64(VECTOR_CHUNK, n - j0);
        float acc[VECTOR_CHUNK];
        vector_chunk(cols, k, x, x_stride, mat, j0, acc);
        for (int64_t j = 0; j < cols; j++) {
            float *out = y + (j0 + j) * y_stride;
            *out = alpha * acc[j] + (beta == 0.0f ? 0.0f : beta * *out);
        }
    });
}

void gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc) {
    gemm_f32_with(gemm_f32_micro_best(), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta,
                  c, ldc);
}

void gemm_f32_with(const gemm_f32_micro *micro, bool trans_a, bool trans_b, int64_t m, int64_t n,
                   int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                   int64_t ldb, float beta, float *c, int64_t ldc) {
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
    int64_t tile_m = TILE_M / micro->mr * micro->mr;
    gemm_problem pr = {micro, tile_m, m, n, k, alpha, beta, av, bv, c, ldc};
    int64_t tiles_m = (m + tile_m - 1) / tile_m, tiles_n = (n + TILE_N - 1) / TILE_N;
    int64_t tiles = tiles_m * tiles_n;
    int threads = nnq_threads_for((double)m * (double)n * (double)k, NNQ_GRAIN_MACS, tiles);
    /* Packing buffers for every thread, allocated once per call. */
    size_t per_thread = (size_t)((tile_m + TILE_N) * min64(DEPTH_K, k));
    float *buffers = malloc(sizeof(float) * per_thread * (size_t)threads);
    if (!buffers) {
        gemm_f32_reference(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    NNQ_PARALLEL_FOR(threads, (int64_t t = 0; t < tiles; t++), {
        float *packed_a = buffers + per_thread * (size_t)nnq_thread_index(threads);
        float *packed_b = packed_a + tile_m * min64(DEPTH_K, k);
        compute_tile(&pr, (t % tiles_m) * tile_m, (t / tiles_m) * TILE_N, packed_a, packed_b);
    });
    free(buffers);
}
