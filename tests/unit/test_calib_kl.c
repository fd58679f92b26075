/* "kl" (entropy calibration): below the maximum for heavy-tailed data, at
 * about the maximum for uniform data, close to an independent exhaustive
 * TensorRT-style search written out here (2048 fixed bins over [0, max|x|],
 * every bin edge from 128 up, 128 groups of i/128 bins split evenly as
 * range_kl.c documents; TensorRT's own split, which gives the remainder bins
 * to the last group, moves the Laplace threshold from 8.3 to 11 here), a
 * sensible window after a ReLU at 4 and 8 bits, and the min-max fallback when there are fewer bins than levels. */
#include <stdlib.h>
#include <string.h>

#include "calib/observer.h"
#include "calib/range_method.h"
#include "check.h"
#include "test_calib_random.h"

#define N_SAMPLES 100000
#define REF_BINS 2048
#define REF_LEVELS 128

/* TensorRT's loop (Migacz 2017) on a plain histogram of |x|; returns the threshold. */
static double reference_kl_threshold(const float *values, int n) {
    double max_abs = 0;
    for (int i = 0; i < n; i++) max_abs = fmax(max_abs, fabs(values[i]));
    double *hist = calloc(REF_BINS, sizeof *hist), *p = malloc(REF_BINS * sizeof *p), *q = malloc(REF_BINS * sizeof *q);
    for (int i = 0; i < n; i++) {
        int bin = (int)(fabs(values[i]) / max_abs * REF_BINS);
        hist[bin < REF_BINS ? bin : REF_BINS - 1] += 1;
    }
    double best = INFINITY;
    int best_i = REF_BINS;
    for (int i = REF_LEVELS; i <= REF_BINS; i++) {
        double outliers = 0;
        for (int j = i; j < REF_BINS; j++) outliers += hist[j];
        memcpy(p, hist, i * sizeof *p);
        p[i - 1] += outliers;
        for (int g = 0; g < REF_LEVELS; g++) {
            int start = g * i / REF_LEVELS, end = (g + 1) * i / REF_LEVELS;
            double mass = 0;
            int nonzero = 0;
            for (int j = start; j < end; j++) mass += hist[j], nonzero += p[j] > 0;
            for (int j = start; j < end; j++) q[j] = p[j] > 0 ? (nonzero && mass > 0 ? mass / nonzero : 1e-4) : 0;
        }
        double p_sum = 0, q_sum = 0, kl = 0;
        for (int j = 0; j < i; j++) p_sum += p[j], q_sum += q[j];
        for (int j = 0; j < i; j++)
            if (p[j] > 0) kl += p[j] / p_sum * log((p[j] / p_sum) / (q[j] / q_sum));
        if (kl < best) best = kl, best_i = i;
    }
    free(hist);
    free(p);
    free(q);
    return max_abs * best_i / REF_BINS;
}

static void observe(nnq_observer *obs, const float *values, int n) {
    nnq_calib_options options;
    calib_options_default(&options);
    CHECK(observer_init(obs, &options, 0) == NNQ_OK);
    CHECK(observer_feed(obs, values, n) == NNQ_OK);
}

static void kl_range(const nnq_observer *obs, nnq_qscheme scheme, float *lo, float *hi) {
    nnq_calib_options options;
    calib_options_default(&options);
    CHECK(calib_find_range(obs, NNQ_RANGE_KL, &scheme, &options, lo, hi) == NNQ_OK);
}

static const nnq_qscheme INT8_SYMMETRIC = {8, true, true, true, false};

static void test_heavy_tail(void) {
    float *values = malloc(N_SAMPLES * sizeof *values);
    test_rng rng = {1};
    /* Laplace with a few large outliers, as activations often look. */
    for (int i = 0; i < N_SAMPLES; i++) values[i] = (float)test_laplace(&rng);
    for (int i = 0; i < 20; i++) values[i * 997] = (float)(40.0 + i);
    nnq_observer obs;
    observe(&obs, values, N_SAMPLES);
    float lo, hi;
    double t0 = test_seconds();
    kl_range(&obs, INT8_SYMMETRIC, &lo, &hi);
    double elapsed = test_seconds() - t0;
    double reference = reference_kl_threshold(values, N_SAMPLES);
    printf("Laplace + outliers, int8 sym: kl t = %.3f, exhaustive reference %.3f, max %.1f (%.1f ms)\n", hi, reference,
           obs.max, 1e3 * elapsed);
    CHECK(lo == -hi);
    CHECK(hi < 0.5 * obs.max);
    CHECK_NEAR(hi, reference, 0.1 * reference);

    /* Asymmetric, non-negative data (ReLU of the same): one-sided search with 256 levels. */
    for (int i = 0; i < N_SAMPLES; i++) values[i] = fmaxf(values[i], 0.0f);
    nnq_observer relu;
    observe(&relu, values, N_SAMPLES);
    kl_range(&relu, (nnq_qscheme){8, false, false, false, false}, &lo, &hi);
    printf("ReLU(Laplace + outliers), uint8 asym: kl [%.3f, %.3f]\n", lo, hi);
    CHECK(lo == 0.0f);
    CHECK(hi > 1.0 && hi < 0.5 * relu.max);

    /* Asymmetric mixed-sign data: a 2-D search, clipping the far tail. */
    t0 = test_seconds();
    kl_range(&obs, (nnq_qscheme){8, false, false, false, false}, &lo, &hi);
    elapsed = test_seconds() - t0;
    printf("Laplace + outliers, uint8 asym: kl [%.3f, %.3f] (%.1f ms)\n", lo, hi, 1e3 * elapsed);
    CHECK(lo < -1.0 && lo >= obs.min - histogram_bin_width(&obs.histogram));
    CHECK(hi > 1.0 && hi < 0.5 * obs.max);
    observer_free(&relu);
    observer_free(&obs);
    free(values);
}

static void test_uniform_data(void) {
    float *values = malloc(N_SAMPLES * sizeof *values);
    test_rng rng = {2};
    for (int i = 0; i < N_SAMPLES; i++) values[i] = (float)(6.0 * test_uniform(&rng) - 3.0);
    nnq_observer obs;
    observe(&obs, values, N_SAMPLES);
    float lo, hi;
    kl_range(&obs, INT8_SYMMETRIC, &lo, &hi);
    double reference = reference_kl_threshold(values, N_SAMPLES);
    printf("uniform [-3, 3], int8 sym: kl t = %.3f, exhaustive reference %.3f\n", hi, reference);
    CHECK(hi >= 0.95 * obs.max);
    CHECK_NEAR(hi, reference, 0.05 * reference);
    observer_free(&obs);
    free(values);
}

/* After a ReLU about half the values are exactly 0. That mass sits on every
 * grid and must not drive the range: at 4 bits (16 levels) the KL window must
 * stay near the one with the least quantization error (brute force on the raw
 * values), as at 8 bits. Before the zero bin was flattened and the narrowest
 * window set to a sixteenth of the span, it picked about a tenth of it. */
static void test_relu_zeros(void) {
    float *values = malloc(N_SAMPLES * sizeof *values);
    test_rng rng = {4};
    for (int i = 0; i < N_SAMPLES; i++) values[i] = fmaxf((float)test_gaussian(&rng), 0.0f);
    nnq_observer obs;
    observe(&obs, values, N_SAMPLES);
    for (int bits = 4; bits <= 8; bits += 4) {
        nnq_qscheme scheme = {bits, false, false, false, false};
        float lo, hi;
        kl_range(&obs, scheme, &lo, &hi);
        /* The least-error window [0, t]: the raw MSE over a grid of t. */
        double best_t = obs.max, best = INFINITY;
        for (int k = 1; k <= 400; k++) {
            double t = obs.max * k / 400, e = raw_quantization_mse(values, N_SAMPLES, &scheme, 0.0, t);
            if (e < best) best = e, best_t = t;
        }
        double kl_error = raw_quantization_mse(values, N_SAMPLES, &scheme, lo, hi);
        printf("ReLU(Gaussian), %d-bit asym: kl [%.3f, %.3f] (MSE %.2e), least-error [0, %.3f] (MSE %.2e)\n", bits, lo,
               hi, kl_error, best_t, best);
        CHECK(lo == 0.0f);
        CHECK(hi > 0.6 * best_t);
        CHECK(kl_error < 2.0 * best);
    }
    observer_free(&obs);
    free(values);
}

/* 16 bits: 32768 levels, more than the histogram's bins: KL cannot compare, min-max is returned. */
static void test_too_many_levels(void) {
    float values[1000];
    test_rng rng = {3};
    for (int i = 0; i < 1000; i++) values[i] = (float)test_gaussian(&rng);
    nnq_observer obs;
    observe(&obs, values, 1000);
    float lo, hi;
    kl_range(&obs, (nnq_qscheme){16, true, true, true, false}, &lo, &hi);
    CHECK(hi == (float)fmax(-obs.min, obs.max) && lo == -hi);
    observer_free(&obs);
}

int main(void) {
    test_heavy_tail();
    test_uniform_data();
    test_relu_zeros();
    test_too_many_levels();
    return check_summary();
}
