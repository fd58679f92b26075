/* How many OpenMP threads a loop deserves, from the size of its work.
 *
 * Starting a parallel region costs microseconds (tens of them when the
 * threads sleep, OMP_WAIT_POLICY=passive, or the machine is loaded), which
 * is more than small layers take in total. Every parallel loop of the
 * operators and kernels therefore asks nnq_threads_for() and runs
 *
 *     int threads = nnq_threads_for(work, NNQ_GRAIN_...);
 *     #pragma omp parallel for if (threads > 1) num_threads(threads)
 *
 * so each thread gets at least one grain of work and small work runs on the
 * calling thread alone. The grains below are the only parallel thresholds.
 *
 * A parallel region that its if clause turns off still costs a call into
 * the OpenMP runtime and a futex wake-up per region (measured: thousands per
 * MobileNetV2 inference, each convolution group calling im2col and the GEMM),
 * so loops use NNQ_PARALLEL_FOR, which enters OpenMP only for 2+ threads. */
#ifndef NNQ_BASE_PARALLEL_H
#define NNQ_BASE_PARALLEL_H

#include <omp.h>
#include <stdint.h>

/* Memory-bound work: elements read or written (copies, elementwise
 * arithmetic, pooling windows, normalization). */
#define NNQ_GRAIN_ELEMENTS 131072.0
/* Compute-bound work: multiply-adds of a GEMM or convolution. */
#define NNQ_GRAIN_MACS 4194304.0

/* Threads for `work` units of the given grain, at most max_tasks (the number
 * of independent pieces the loop has) and at most omp_get_max_threads();
 * 1 inside an active parallel region, where nested regions would not help. */
static inline int nnq_threads_for(double work, double grain, int64_t max_tasks) {
    if (work < 2.0 * grain || max_tasks < 2 || omp_in_parallel()) return 1;
    int max_threads = omp_get_max_threads();
    double by_work = work / grain;
    int threads = by_work < (double)max_threads ? (int)by_work : max_threads;
    if ((int64_t)threads > max_tasks) threads = (int)max_tasks;
    return threads < 1 ? 1 : threads;
}

/* The calling thread's index in [0, threads) inside the body of an
 * NNQ_PARALLEL_FOR run with `threads` threads, for per-thread buffers: 0 on
 * the single-thread path, even within an enclosing parallel region (whose
 * thread number omp_get_thread_num() would give). */
static inline int nnq_thread_index(int threads) { return threads > 1 ? omp_get_thread_num() : 0; }

/* for header body, on `thread_count` threads (static schedule) when it is
 * above 1, else as a plain loop on the calling thread:
 *     NNQ_PARALLEL_FOR(threads, (int64_t i = 0; i < n; i++), { ... });
 * The header is parenthesized; the body is compiled twice, once per path. */
#define NNQ_PARALLEL_FOR(thread_count, header, ...)                               \
    do {                                                                          \
        int nnq_threads_ = (thread_count);                                        \
        if (nnq_threads_ > 1) {                                                   \
            _Pragma("omp parallel for schedule(static) num_threads(nnq_threads_)") \
            for header __VA_ARGS__                                                \
        } else {                                                                  \
            for header __VA_ARGS__                                                \
        }                                                                         \
    } while (0)

#endif
