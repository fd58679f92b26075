/* Shared by the test_calib_*.c tests: a seeded generator for the synthetic
 * distributions and the brute-force references computed on raw samples with
 * qscheme's own quantize→dequantize (never with src/calib code). */
#ifndef NNQ_TESTS_CALIB_RANDOM_H
#define NNQ_TESTS_CALIB_RANDOM_H

#include <math.h>
#include <stdint.h>
#include <time.h>

#include "quant/qscheme.h"

typedef struct test_rng {
    uint64_t state;
} test_rng;

static inline uint64_t test_rng_next(test_rng *rng) { /* splitmix64 */
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static inline double test_uniform(test_rng *rng) { return ((double)(test_rng_next(rng) >> 11) + 0.5) * 0x1p-53; }

static inline double test_gaussian(test_rng *rng) { /* Box-Muller */
    return sqrt(-2.0 * log(test_uniform(rng))) * cos(2.0 * M_PI * test_uniform(rng));
}

static inline double test_laplace(test_rng *rng) { /* inverse CDF, scale 1 */
    double u = test_uniform(rng) - 0.5;
    return u < 0 ? log(1.0 + 2.0 * u) : -log(1.0 - 2.0 * u);
}

/* Mean squared error of fake-quantizing the raw values with the grid of [lo, hi]. */
static inline double raw_quantization_mse(const float *values, int64_t n, const nnq_qscheme *scheme, double lo,
                                          double hi) {
    int32_t q_min, q_max, zero_point;
    float scale;
    qscheme_grid(scheme, &q_min, &q_max);
    qscheme_params(scheme, (float)lo, (float)hi, &scale, &zero_point);
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double e = values[i] - fake_quantize_value(values[i], scale, zero_point, q_min, q_max);
        sum += e * e;
    }
    return sum / (double)n;
}

/* Brute force: the symmetric threshold in (0, max_abs] with the least raw MSE,
 * on a uniform grid of `steps` points then a finer one around the best. */
static inline double brute_force_mse_threshold(const float *values, int64_t n, const nnq_qscheme *scheme,
                                               double max_abs, int steps) {
    double best_t = max_abs, best = raw_quantization_mse(values, n, scheme, -max_abs, max_abs);
    for (int k = 1; k < steps; k++) {
        double t = max_abs * k / steps, e = raw_quantization_mse(values, n, scheme, -t, t);
        if (e < best) best = e, best_t = t;
    }
    double centre = best_t, step = max_abs / steps / steps;
    for (int k = -steps; k <= steps; k++) {
        double t = centre + k * step;
        if (t <= 0 || t > max_abs) continue;
        double e = raw_quantization_mse(values, n, scheme, -t, t);
        if (e < best) best = e, best_t = t;
    }
    return best_t;
}

static inline double test_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
