/* The method table and the simple methods against hand computations:
 * names, minmax, ema, meanstd (closed-form mean and std of 1..N), quantile
 * (empirical quantiles of sorted samples; closed-form exponential and |Laplace|
 * quantiles), bn (eq. 18-19 by hand), symmetric output form, and the errors:
 * empty or all-NaN observers, xent without logits, bn through an observer. */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "calib/observer.h"
#include "calib/range_bn.h"
#include "calib/range_method.h"
#include "check.h"
#include "test_calib_random.h"

static const nnq_qscheme UINT8_ASYMMETRIC = {8, false, false, false, false};
static const nnq_qscheme INT8_SYMMETRIC = {8, true, true, true, false};

static int compare_floats(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void test_names(void) {
    for (int m = 0; m < NNQ_RANGE_METHOD_COUNT; m++) {
        nnq_range_method parsed;
        CHECK(range_method_name((nnq_range_method)m) != NULL);
        CHECK(range_method_from_name(range_method_name((nnq_range_method)m), &parsed) == NNQ_OK && parsed == (nnq_range_method)m);
    }
    nnq_range_method parsed;
    CHECK(range_method_from_name("none", &parsed) == NNQ_OK && parsed == NNQ_RANGE_MINMAX);
    CHECK(range_method_from_name("mse+xent", &parsed) == NNQ_OK && parsed == NNQ_RANGE_MSE_XENT);
    CHECK(range_method_from_name("entropy", &parsed) == NNQ_ERR_USAGE);
    CHECK(strstr(nnq_last_error(), "kl") != NULL);
    CHECK(range_method_name(NNQ_RANGE_METHOD_COUNT) == NULL);
    CHECK(range_method_input(NNQ_RANGE_XENT) == NNQ_RANGE_FROM_LOGITS);
    CHECK(range_method_input(NNQ_RANGE_BN) == NNQ_RANGE_FROM_BN);
}

static void test_minmax_ema_meanstd(void) {
    nnq_calib_options options;
    calib_options_default(&options);
    options.ema_constant = 0.5;
    nnq_observer obs;
    CHECK(observer_init(&obs, &options, 0) == NNQ_OK);
    /* 1..1000 in 4 batches, with NaN and Inf that must change nothing. */
    float values[1003];
    for (int i = 0; i < 1000; i++) values[i] = (float)(i + 1);
    values[1000] = NAN, values[1001] = INFINITY, values[1002] = -INFINITY;
    CHECK(observer_feed(&obs, values, 250) == NNQ_OK);
    CHECK(observer_feed(&obs, values + 250, 250) == NNQ_OK);
    CHECK(observer_feed(&obs, values + 500, 250) == NNQ_OK);
    CHECK(observer_feed(&obs, values + 750, 253) == NNQ_OK);
    float lo, hi;
    CHECK(calib_find_range(&obs, NNQ_RANGE_MINMAX, &UINT8_ASYMMETRIC, &options, &lo, &hi) == NNQ_OK);
    CHECK(lo == 1.0f && hi == 1000.0f);
    CHECK(calib_find_range(&obs, NNQ_RANGE_MINMAX, &INT8_SYMMETRIC, &options, &lo, &hi) == NNQ_OK);
    CHECK(lo == -1000.0f && hi == 1000.0f);
    /* EMA with c = 1/2 over batch minima 1, 251, 501, 751: 1 -> 126 -> 313.5 -> 532.25. */
    CHECK(calib_find_range(&obs, NNQ_RANGE_EMA, &UINT8_ASYMMETRIC, &options, &lo, &hi) == NNQ_OK);
    CHECK_NEAR(lo, 532.25, 1e-3);
    CHECK_NEAR(hi, 781.25, 1e-3); /* maxima 250, 500, 750, 1000: 250 -> 375 -> 562.5 -> 781.25 */
    /* 1..N: mean (N+1)/2, population variance (N²-1)/12; k = 1 stays inside [1, 1000]. */
    options.meanstd_k = 1.0;
    double mean = 500.5, std = sqrt((1000.0 * 1000.0 - 1.0) / 12.0);
    CHECK(calib_find_range(&obs, NNQ_RANGE_MEANSTD, &UINT8_ASYMMETRIC, &options, &lo, &hi) == NNQ_OK);
    CHECK_NEAR(lo, mean - std, 1e-3);
    CHECK_NEAR(hi, mean + std, 1e-3);
    options.meanstd_k = 3.0; /* mean ± 3 std leaves the data: clipped to [min, max] */
    CHECK(calib_find_range(&obs, NNQ_RANGE_MEANSTD, &UINT8_ASYMMETRIC, &options, &lo, &hi) == NNQ_OK);
    CHECK(lo == 1.0f && hi == 1000.0f);
    CHECK(obs.nan_count == 1 && obs.positive_inf_count == 1 && obs.negative_inf_count == 1);
    observer_free(&obs);
}

static void test_quantile(void) {
    enum { N = 200000 };
    nnq_calib_options options;
    calib_options_default(&options);
    float *values = malloc(N * sizeof *values), *sorted = malloc(N * sizeof *sorted);
    test_rng rng = {4};
    /* Exponential(1): Q(p) = -ln(1 - p). Asymmetric: clip (1 - q)/2 at each end. */
    for (int i = 0; i < N; i++) values[i] = (float)-log(test_uniform(&rng));
    nnq_observer obs;
    CHECK(observer_init(&obs, &options, 0) == NNQ_OK);
    CHECK(observer_feed(&obs, values, N) == NNQ_OK);
    memcpy(sorted, values, N * sizeof *sorted);
    qsort(sorted, N, sizeof *sorted, compare_floats);
    double bin = histogram_bin_width(&obs.histogram);
    options.quantile = 0.99;
    float lo, hi;
    CHECK(calib_find_range(&obs, NNQ_RANGE_QUANTILE, &UINT8_ASYMMETRIC, &options, &lo, &hi) == NNQ_OK);
    CHECK_NEAR(hi, sorted[(int)(0.995 * N)], 2 * bin);
    CHECK_NEAR(lo, sorted[(int)(0.005 * N)], 2 * bin);
    CHECK_NEAR(hi, -log(0.005), 0.02 * -log(0.005));
    CHECK_NEAR(lo, -log(0.995), 0.05 * -log(0.995));
    observer_free(&obs);

    /* Laplace(1), symmetric: |x| ~ Exponential(1), threshold -ln(1 - q) at q = 0.9999 → 9.21. */
    for (int i = 0; i < N; i++) values[i] = (float)test_laplace(&rng);
    CHECK(observer_init(&obs, &options, 0) == NNQ_OK);
    CHECK(observer_feed(&obs, values, N) == NNQ_OK);
    for (int i = 0; i < N; i++) sorted[i] = fabsf(values[i]);
    qsort(sorted, N, sizeof *sorted, compare_floats);
    options.quantile = 0.9999;
    CHECK(calib_find_range(&obs, NNQ_RANGE_QUANTILE, &INT8_SYMMETRIC, &options, &lo, &hi) == NNQ_OK);
    CHECK(lo == -hi);
    CHECK_NEAR(hi, sorted[(int)(0.9999 * N) - 1], 0.5 * (sorted[(int)(0.9999 * N)] - sorted[(int)(0.9999 * N) - 2]) + 2 * histogram_bin_width(&obs.histogram));
    CHECK_NEAR(hi, -log(1e-4), 0.1 * -log(1e-4)); /* only 20 samples lie beyond: loose */
    options.quantile = 0.5; /* median of |x| = ln 2 */
    CHECK(calib_find_range(&obs, NNQ_RANGE_QUANTILE, &INT8_SYMMETRIC, &options, &lo, &hi) == NNQ_OK);
    CHECK_NEAR(hi, log(2.0), 0.01);
    observer_free(&obs);
    free(values);
    free(sorted);
}

static void test_bn(void) {
    float beta[3] = {0.5f, -1.0f, 2.0f}, gamma[3] = {1.0f, 0.25f, -0.5f};
    float lo, hi;
    /* α = 6: β - 6|γ| = -5.5, -2.5, -1 → lo = -5.5; β + 6|γ| = 6.5, 0.5, 5 → hi = 6.5. */
    CHECK(calib_bn_range(beta, gamma, 3, 6.0, false, &lo, &hi) == NNQ_OK);
    CHECK(lo == -5.5f && hi == 6.5f);
    CHECK(calib_bn_range(beta, gamma, 3, 6.0, true, &lo, &hi) == NNQ_OK);
    CHECK(lo == 0.0f && hi == 6.5f);
    /* α = 2: lo = min(-1.5, -1.5, 1) = -1.5, hi = max(2.5, -0.5, 3) = 3. */
    CHECK(calib_bn_range(beta, gamma, 3, 2.0, false, &lo, &hi) == NNQ_OK);
    CHECK(lo == -1.5f && hi == 3.0f);
    float negative_beta[1] = {-5.0f}, small_gamma[1] = {0.5f};
    CHECK(calib_bn_range(negative_beta, small_gamma, 1, 6.0, true, &lo, &hi) == NNQ_OK);
    CHECK(lo == 0.0f && hi == 0.0f); /* a ReLU after a channel that is always negative */
    gamma[1] = NAN;
    CHECK(calib_bn_range(beta, gamma, 3, 6.0, false, &lo, &hi) == NNQ_ERR_INVALID);
    CHECK(calib_bn_range(beta, gamma, 0, 6.0, false, &lo, &hi) == NNQ_ERR_INVALID);
}

static void test_errors(void) {
    nnq_calib_options options;
    calib_options_default(&options);
    nnq_observer obs;
    CHECK(observer_init(&obs, &options, 0) == NNQ_OK);
    float lo, hi;
    CHECK(calib_find_range(&obs, NNQ_RANGE_MSE, &INT8_SYMMETRIC, &options, &lo, &hi) == NNQ_ERR_INVALID);
    float nans[3] = {NAN, NAN, INFINITY};
    CHECK(observer_feed(&obs, nans, 3) == NNQ_OK);
    CHECK(calib_find_range(&obs, NNQ_RANGE_MINMAX, &INT8_SYMMETRIC, &options, &lo, &hi) == NNQ_ERR_INVALID);
    CHECK(strstr(nnq_last_error(), "2 NaN") != NULL);
    float ones[2] = {1.0f, -1.0f};
    CHECK(observer_feed(&obs, ones, 2) == NNQ_OK);
    CHECK(calib_find_range(&obs, NNQ_RANGE_XENT, &INT8_SYMMETRIC, &options, &lo, &hi) == NNQ_ERR_INVALID);
    CHECK(calib_find_range(&obs, NNQ_RANGE_BN, &INT8_SYMMETRIC, &options, &lo, &hi) == NNQ_ERR_USAGE);
    nnq_qscheme one_bit = {1, true, true, true, false};
    CHECK(calib_find_range(&obs, NNQ_RANGE_MINMAX, &one_bit, &options, &lo, &hi) == NNQ_ERR_USAGE);
    /* mse+xent on a non-logits observer is mse. */
    float mse_lo, mse_hi;
    CHECK(calib_find_range(&obs, NNQ_RANGE_MSE_XENT, &INT8_SYMMETRIC, &options, &lo, &hi) == NNQ_OK);
    CHECK(calib_find_range(&obs, NNQ_RANGE_MSE, &INT8_SYMMETRIC, &options, &mse_lo, &mse_hi) == NNQ_OK);
    CHECK(lo == mse_lo && hi == mse_hi);
    /* All zeros: every method gives [0, 0]. */
    observer_reset(&obs);
    float zeros[4] = {0};
    CHECK(observer_feed(&obs, zeros, 4) == NNQ_OK);
    nnq_range_method methods[] = {NNQ_RANGE_MINMAX, NNQ_RANGE_EMA, NNQ_RANGE_QUANTILE, NNQ_RANGE_MSE, NNQ_RANGE_KL, NNQ_RANGE_MEANSTD};
    for (int m = 0; m < 6; m++) {
        CHECK(calib_find_range(&obs, methods[m], &UINT8_ASYMMETRIC, &options, &lo, &hi) == NNQ_OK);
        CHECK(lo == 0.0f && hi == 0.0f);
    }
    observer_free(&obs);
}

int main(void) {
    test_names();
    test_minmax_ema_meanstd();
    test_quantile();
    test_bn();
    test_errors();
    return check_summary();
}
