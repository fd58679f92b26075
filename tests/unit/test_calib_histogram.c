/* The growing histogram: counts after growth equal a histogram built directly
 * with the final layout (counted here by the lattice formula), the layout is
 * the minimal one, merging equals a single pass for any split, |x| folding,
 * non-finite values skipped. */
#include <stdlib.h>
#include <string.h>

#include "calib/histogram.h"
#include "check.h"
#include "test_calib_random.h"

#define N_BINS 256
#define N_VALUES 40000

/* Counts values into the layout (width_exponent, first_bin) by the definition
 * bin = floor(x / 2^e) - first_bin; returns false if one falls outside. */
static int direct_counts(const float *values, int n, int width_exponent, int64_t first_bin, uint64_t *counts) {
    memset(counts, 0, N_BINS * sizeof *counts);
    for (int i = 0; i < n; i++) {
        if (!isfinite(values[i])) continue;
        double bin = floor((double)values[i] / ldexp(1.0, width_exponent)) - (double)first_bin;
        if (bin < 0 || bin >= N_BINS) return 0;
        counts[(int)bin]++;
    }
    return 1;
}

static int same_histogram(const nnq_histogram *a, const nnq_histogram *b) {
    return a->total == b->total && a->width_exponent == b->width_exponent && a->first_bin == b->first_bin &&
           a->min == b->min && a->max == b->max && memcmp(a->counts, b->counts, N_BINS * sizeof *a->counts) == 0;
}

/* Batches whose range keeps growing, on both sides, with NaN and Inf sprinkled in. */
static void make_values(float *values, int n) {
    test_rng rng = {7};
    for (int i = 0; i < n; i++) {
        double scale = 0.01 * pow(1.0007, i); /* from 0.01 to ~1.4e10 over the data */
        if (scale > 1e4) scale = 1e4;
        values[i] = (float)(scale * (test_uniform(&rng) - 0.3));
    }
    values[100] = NAN;
    values[2000] = INFINITY;
    values[3000] = -INFINITY;
    values[5] = 0.0f;
}

static void feed_in_batches(nnq_histogram *h, const float *values, int n, int batch) {
    for (int start = 0; start < n; start += batch) histogram_add(h, values + start, start + batch <= n ? batch : n - start);
}

static void test_growth_is_exact(const float *values) {
    nnq_histogram h;
    CHECK(histogram_init(&h, N_BINS) == NNQ_OK);
    feed_in_batches(&h, values, N_VALUES, 997);
    CHECK(h.total == N_VALUES - 3);
    uint64_t reference[N_BINS];
    CHECK(direct_counts(values, N_VALUES, h.width_exponent, h.first_bin, reference));
    CHECK(memcmp(reference, h.counts, sizeof reference) == 0);
    /* Minimal layout: half the width would not hold [min, max] in N_BINS bins. */
    double w = ldexp(1.0, h.width_exponent), half = w / 2;
    CHECK(floor(h.max / half) - floor(h.min / half) > N_BINS - 1);
    CHECK(h.first_bin == (int64_t)floor(h.min / w));
    float lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < N_VALUES; i++)
        if (isfinite(values[i])) lo = fminf(lo, values[i]), hi = fmaxf(hi, values[i]);
    CHECK(h.min == lo && h.max == hi);
    histogram_free(&h);
}

static void test_merge_equals_single_pass(const float *values) {
    nnq_histogram all, first, second, empty;
    CHECK(histogram_init(&all, N_BINS) == NNQ_OK);
    histogram_add(&all, values, N_VALUES);
    int splits[] = {1, 5000, 20000, 39999};
    for (int s = 0; s < 4; s++) {
        CHECK(histogram_init(&first, N_BINS) == NNQ_OK);
        CHECK(histogram_init(&second, N_BINS) == NNQ_OK);
        /* Halves fed in different batch sizes, the second half first for odd splits. */
        feed_in_batches(&first, values, splits[s], 333);
        feed_in_batches(&second, values + splits[s], N_VALUES - splits[s], 1234);
        if (s % 2) {
            CHECK(histogram_merge(&second, &first) == NNQ_OK);
            CHECK(same_histogram(&second, &all));
        } else {
            CHECK(histogram_merge(&first, &second) == NNQ_OK);
            CHECK(same_histogram(&first, &all));
        }
        histogram_free(&first);
        histogram_free(&second);
    }
    CHECK(histogram_init(&empty, N_BINS) == NNQ_OK);
    CHECK(histogram_merge(&empty, &all) == NNQ_OK);
    CHECK(same_histogram(&empty, &all));
    nnq_histogram other_size;
    CHECK(histogram_init(&other_size, N_BINS * 2) == NNQ_OK);
    CHECK(histogram_merge(&other_size, &all) == NNQ_ERR_INVALID);
    histogram_free(&other_size);
    histogram_free(&empty);
    histogram_free(&all);
}

static void test_fold_abs(void) {
    test_rng rng = {11};
    float values[5000];
    for (int i = 0; i < 5000; i++) values[i] = (float)(test_gaussian(&rng) * 3.0 - 1.0);
    nnq_histogram h, folded;
    CHECK(histogram_init(&h, N_BINS) == NNQ_OK);
    CHECK(histogram_init(&folded, N_BINS) == NNQ_OK);
    histogram_add(&h, values, 5000);
    histogram_fold_abs(&h, &folded);
    CHECK(folded.total == 5000);
    CHECK(folded.first_bin == 0);
    CHECK(folded.width_exponent >= h.width_exponent);
    float magnitudes[5000];
    int on_negative_edge = 0;
    for (int i = 0; i < 5000; i++) {
        magnitudes[i] = fabsf(values[i]);
        double k = values[i] / ldexp(1.0, h.width_exponent);
        on_negative_edge += values[i] < 0 && k == floor(k);
    }
    uint64_t reference[N_BINS];
    CHECK(direct_counts(magnitudes, 5000, folded.width_exponent, folded.first_bin, reference));
    int differences = 0;
    for (int i = 0; i < N_BINS; i++) differences += (int)llabs((long long)reference[i] - (long long)folded.counts[i]);
    CHECK(differences <= 2 * on_negative_edge);
    histogram_free(&h);
    histogram_free(&folded);
}

static void test_constant_and_empty(void) {
    nnq_histogram h;
    CHECK(histogram_init(&h, N_BINS) == NNQ_OK);
    float nothing[3] = {NAN, INFINITY, -INFINITY};
    histogram_add(&h, nothing, 3);
    CHECK(h.total == 0);
    CHECK(histogram_quantile(&h, 0.5) == 0.0);
    float constant[4] = {3.5f, 3.5f, 3.5f, 3.5f};
    histogram_add(&h, constant, 4);
    CHECK(h.total == 4);
    CHECK(histogram_quantile(&h, 0.5) == 3.5);
    float zeros[2] = {0.0f, -0.0f};
    histogram_reset(&h);
    histogram_add(&h, zeros, 2);
    CHECK(h.total == 2);
    CHECK(histogram_quantile(&h, 0.99) == 0.0);
    histogram_free(&h);
    CHECK(histogram_init(&h, 1) == NNQ_ERR_USAGE);
}

int main(void) {
    float *values = malloc(N_VALUES * sizeof *values);
    make_values(values, N_VALUES);
    test_growth_is_exact(values);
    test_merge_equals_single_pass(values);
    test_fold_abs();
    test_constant_and_empty();
    free(values);
    return check_summary();
}
