/* The observer: exact min/max, mean/std against a two-pass double reference,
 * the moving-average min/max against its recurrence written out, NaN/Inf
 * counted and excluded, merge equal to a single pass, and the logit reservoir
 * (in-order when small, bounded and uniform when large, mergeable). */
#include <stdlib.h>
#include <string.h>

#include "calib/observer.h"
#include "check.h"
#include "test_calib_random.h"

#define N_VALUES 30000
#define BATCH 1000

static void make_values(float *values) {
    test_rng rng = {3};
    for (int i = 0; i < N_VALUES; i++) values[i] = (float)(2.0 + 5.0 * test_gaussian(&rng) * (1.0 + i / 10000));
    values[17] = NAN;
    values[18] = NAN;
    values[1500] = INFINITY;
    values[29999] = -INFINITY;
}

static void test_statistics(const float *values, const nnq_calib_options *options) {
    nnq_observer obs;
    CHECK(observer_init(&obs, options, 0) == NNQ_OK);
    for (int b = 0; b < N_VALUES / BATCH; b++) CHECK(observer_feed(&obs, values + b * BATCH, BATCH) == NNQ_OK);
    CHECK(obs.nan_count == 2 && obs.positive_inf_count == 1 && obs.negative_inf_count == 1);
    CHECK(observer_nonfinite_count(&obs) == 4);
    CHECK(obs.finite_count == N_VALUES - 4);

    /* References: one pass for min/max/mean, a second for the variance; the EMA recurrence per batch. */
    double min = INFINITY, max = -INFINITY, sum = 0.0, squares = 0.0, ema_min = 0, ema_max = 0;
    int n = 0;
    for (int i = 0; i < N_VALUES; i++)
        if (isfinite(values[i])) min = fmin(min, values[i]), max = fmax(max, values[i]), sum += values[i], n++;
    double mean = sum / n;
    for (int i = 0; i < N_VALUES; i++)
        if (isfinite(values[i])) squares += (values[i] - mean) * (values[i] - mean);
    for (int b = 0; b < N_VALUES / BATCH; b++) {
        double bmin = INFINITY, bmax = -INFINITY;
        for (int i = b * BATCH; i < (b + 1) * BATCH; i++)
            if (isfinite(values[i])) bmin = fmin(bmin, values[i]), bmax = fmax(bmax, values[i]);
        ema_min = b == 0 ? bmin : ema_min + options->ema_constant * (bmin - ema_min);
        ema_max = b == 0 ? bmax : ema_max + options->ema_constant * (bmax - ema_max);
    }
    CHECK(obs.min == min && obs.max == max);
    CHECK_NEAR(obs.moments.mean, mean, 1e-12 * fabs(mean));
    CHECK_NEAR(moments_std(&obs.moments), sqrt(squares / n), 1e-12 * sqrt(squares / n));
    CHECK_NEAR(obs.ema_min, ema_min, 1e-9);
    CHECK_NEAR(obs.ema_max, ema_max, 1e-9);
    CHECK(obs.ema_batches == N_VALUES / BATCH);
    CHECK(obs.histogram.total == obs.finite_count);

    observer_reset(&obs);
    CHECK(obs.finite_count == 0 && obs.histogram.total == 0 && obs.moments.count == 0 && obs.nan_count == 0);
    observer_free(&obs);
}

static void test_merge(const float *values, const nnq_calib_options *options) {
    nnq_observer all, a, b;
    CHECK(observer_init(&all, options, 0) == NNQ_OK);
    CHECK(observer_init(&a, options, 0) == NNQ_OK);
    CHECK(observer_init(&b, options, 0) == NNQ_OK);
    CHECK(observer_feed(&all, values, N_VALUES) == NNQ_OK);
    int split = 12345;
    CHECK(observer_feed(&a, values, split) == NNQ_OK);
    for (int start = split; start < N_VALUES; start += 777)
        CHECK(observer_feed(&b, values + start, start + 777 <= N_VALUES ? 777 : N_VALUES - start) == NNQ_OK);
    CHECK(observer_merge(&a, &b) == NNQ_OK);
    CHECK(a.finite_count == all.finite_count && a.nan_count == all.nan_count);
    CHECK(a.positive_inf_count == all.positive_inf_count && a.negative_inf_count == all.negative_inf_count);
    CHECK(a.min == all.min && a.max == all.max);
    CHECK_NEAR(a.moments.mean, all.moments.mean, 1e-12 * fabs(all.moments.mean));
    CHECK_NEAR(a.moments.m2, all.moments.m2, 1e-11 * all.moments.m2);
    CHECK(a.histogram.width_exponent == all.histogram.width_exponent);
    CHECK(a.histogram.first_bin == all.histogram.first_bin);
    CHECK(memcmp(a.histogram.counts, all.histogram.counts, (size_t)all.histogram.n_bins * sizeof(uint64_t)) == 0);
    nnq_observer logits;
    CHECK(observer_init(&logits, options, 10) == NNQ_OK);
    CHECK(observer_merge(&a, &logits) == NNQ_ERR_INVALID);
    observer_free(&logits);
    observer_free(&all);
    observer_free(&a);
    observer_free(&b);
}

/* Vector v of `classes` floats carries its id in every entry. */
static void make_vectors(float *vectors, int first_id, int n, int classes) {
    for (int v = 0; v < n; v++)
        for (int c = 0; c < classes; c++) vectors[v * classes + c] = (float)(first_id + v);
}

static void test_reservoir(const nnq_calib_options *defaults) {
    enum { CLASSES = 3, CAPACITY = 500, MANY = 20000 };
    nnq_calib_options options = *defaults;
    options.xent_reservoir_size = CAPACITY;
    float *vectors = malloc(sizeof(float) * CLASSES * MANY);
    nnq_observer obs;
    CHECK(observer_init(&obs, &options, CLASSES) == NNQ_OK);
    CHECK(observer_feed(&obs, vectors, 4) == NNQ_ERR_INVALID); /* not whole vectors */

    /* Fewer vectors than the capacity: all kept, in order; a vector with a NaN is skipped. */
    make_vectors(vectors, 0, 300, CLASSES);
    vectors[5 * CLASSES + 1] = NAN;
    CHECK(observer_feed(&obs, vectors, 300 * CLASSES) == NNQ_OK);
    CHECK(obs.reservoir.kept == 299 && obs.reservoir.skipped == 1);
    int in_order = 1;
    for (int i = 0; i < 299; i++) in_order &= logit_reservoir_vector(&obs.reservoir, i)[0] == (float)(i < 5 ? i : i + 1);
    CHECK(in_order);

    /* Many vectors: bounded, distinct members of the input, mean id near the population mean. */
    observer_reset(&obs);
    make_vectors(vectors, 0, MANY, CLASSES);
    for (int b = 0; b < MANY / 100; b++) CHECK(observer_feed(&obs, vectors + b * 100 * CLASSES, 100 * CLASSES) == NNQ_OK);
    CHECK(obs.reservoir.kept == CAPACITY && obs.reservoir.seen == MANY);
    char *seen = calloc(MANY, 1);
    int distinct = 1;
    double mean_id = 0;
    for (int i = 0; i < CAPACITY; i++) {
        int id = (int)logit_reservoir_vector(&obs.reservoir, i)[0];
        if (id < 0 || id >= MANY || seen[id]) {
            distinct = 0;
            continue;
        }
        seen[id] = 1;
        mean_id += id / (double)CAPACITY;
    }
    CHECK(distinct);
    /* Uniform ids over [0, MANY): mean (MANY-1)/2, std of the sample mean ≈ MANY/sqrt(12·CAPACITY) ≈ 258. */
    CHECK_NEAR(mean_id, (MANY - 1) / 2.0, 4 * 258.0);

    /* Merge: 15000 vectors with ids >= MANY on one side, 5000 on the other: ~3/4 from the first. */
    nnq_observer other;
    CHECK(observer_init(&other, &options, CLASSES) == NNQ_OK);
    make_vectors(vectors, MANY, 15000, CLASSES);
    CHECK(observer_feed(&other, vectors, 15000 * CLASSES) == NNQ_OK);
    observer_reset(&obs);
    make_vectors(vectors, 0, 5000, CLASSES);
    CHECK(observer_feed(&obs, vectors, 5000 * CLASSES) == NNQ_OK);
    CHECK(observer_merge(&other, &obs) == NNQ_OK);
    CHECK(other.reservoir.kept == CAPACITY && other.reservoir.seen == 20000);
    int from_first = 0;
    memset(seen, 0, MANY);
    distinct = 1;
    for (int i = 0; i < CAPACITY; i++) {
        int id = (int)logit_reservoir_vector(&other.reservoir, i)[0];
        from_first += id >= MANY;
        int slot = id >= MANY ? id - MANY + 5000 : id;
        if (slot < 0 || slot >= MANY || seen[slot]) {
            distinct = 0;
            continue;
        }
        seen[slot] = 1;
    }
    CHECK(distinct);
    /* Binomial(500, 0.75): mean 375, std ≈ 9.7. */
    CHECK_NEAR(from_first, 375, 4 * 9.7);

    /* Small merge: concatenation, as a single pass would keep them. */
    observer_reset(&obs);
    observer_reset(&other);
    make_vectors(vectors, 0, 10, CLASSES);
    CHECK(observer_feed(&obs, vectors, 4 * CLASSES) == NNQ_OK);
    CHECK(observer_feed(&other, vectors + 4 * CLASSES, 6 * CLASSES) == NNQ_OK);
    CHECK(observer_merge(&obs, &other) == NNQ_OK);
    in_order = obs.reservoir.kept == 10;
    for (int i = 0; i < 10 && in_order; i++) in_order &= logit_reservoir_vector(&obs.reservoir, i)[0] == (float)i;
    CHECK(in_order);

    free(seen);
    free(vectors);
    observer_free(&other);
    observer_free(&obs);
}

static void test_bad_options(const nnq_calib_options *defaults) {
    nnq_calib_options options = *defaults;
    nnq_observer obs;
    options.histogram_bins = 3;
    CHECK(observer_init(&obs, &options, 0) == NNQ_ERR_USAGE);
    options = *defaults;
    options.ema_constant = 0.0;
    CHECK(observer_init(&obs, &options, 0) == NNQ_ERR_USAGE);
    options = *defaults;
    options.quantile = 1.5;
    CHECK(observer_init(&obs, &options, 0) == NNQ_ERR_USAGE);
    CHECK(observer_init(&obs, defaults, -1) == NNQ_ERR_USAGE);
}

int main(void) {
    nnq_calib_options options;
    calib_options_default(&options);
    options.ema_constant = 0.1;
    float *values = malloc(N_VALUES * sizeof *values);
    make_values(values);
    test_statistics(values, &options);
    test_merge(values, &options);
    test_reservoir(&options);
    test_bad_options(&options);
    free(values);
    return check_summary();
}
