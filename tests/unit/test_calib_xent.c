/* "xent" on synthetic logits (10 classes, the true class 4 above the rest,
 * rare large negative outliers that stretch the min-max range): at 4 bits the
 * chosen range keeps nearly every argmax, more than halves min-max's excess
 * cross-entropy H(p, q) - H(p, p), and is within 1% of the best range of a
 * brute-force 2-D grid over (lo, hi) (softmax cross-entropy written out
 * directly on every vector). */
#include <stdlib.h>

#include "calib/observer.h"
#include "calib/range_method.h"
#include "check.h"
#include "test_calib_random.h"

enum { CLASSES = 10, VECTORS = 1000, GRID = 30 };

static const nnq_qscheme UINT4_ASYMMETRIC = {4, false, false, false, false};

static void make_logits(float *logits) {
    test_rng rng = {12};
    for (int v = 0; v < VECTORS; v++) {
        int label = v % CLASSES;
        for (int c = 0; c < CLASSES; c++) {
            double x = test_gaussian(&rng) + (c == label ? 4.0 : 0.0);
            if (c != label && test_uniform(&rng) < 0.02) x = -40.0 - 10.0 * test_uniform(&rng);
            logits[v * CLASSES + c] = (float)x;
        }
    }
}

typedef struct quality {
    double cross_entropy; /* mean H(softmax(v), softmax(q(v))) */
    double entropy;       /* mean H(softmax(v)), the least cross-entropy possible */
    double argmax_kept;   /* fraction of vectors whose argmax survives */
} quality;

static int argmax(const double *x) {
    int best = 0;
    for (int c = 1; c < CLASSES; c++)
        if (x[c] > x[best]) best = c;
    return best;
}

static quality evaluate(const float *logits, double lo, double hi) {
    int32_t q_min, q_max, zero_point;
    float scale;
    qscheme_grid(&UINT4_ASYMMETRIC, &q_min, &q_max);
    qscheme_params(&UINT4_ASYMMETRIC, (float)lo, (float)hi, &scale, &zero_point);
    quality result = {0, 0, 0};
    for (int v = 0; v < VECTORS; v++) {
        double x[CLASSES], q[CLASSES], p[CLASSES], x_max = -INFINITY, q_max_value = -INFINITY, p_sum = 0, q_sum = 0;
        for (int c = 0; c < CLASSES; c++) {
            x[c] = logits[v * CLASSES + c];
            q[c] = fake_quantize_value(logits[v * CLASSES + c], scale, zero_point, q_min, q_max);
            x_max = fmax(x_max, x[c]);
            q_max_value = fmax(q_max_value, q[c]);
        }
        for (int c = 0; c < CLASSES; c++) p_sum += p[c] = exp(x[c] - x_max), q_sum += exp(q[c] - q_max_value);
        double h = 0, entropy = 0;
        for (int c = 0; c < CLASSES; c++) {
            h -= p[c] / p_sum * (q[c] - q_max_value - log(q_sum));
            entropy -= p[c] / p_sum * (x[c] - x_max - log(p_sum));
        }
        result.cross_entropy += h / VECTORS;
        result.entropy += entropy / VECTORS;
        result.argmax_kept += (argmax(x) == argmax(q)) / (double)VECTORS;
    }
    return result;
}

static void run(int reservoir_size, const float *logits) {
    nnq_calib_options options;
    calib_options_default(&options);
    options.xent_reservoir_size = reservoir_size;
    nnq_observer obs;
    CHECK(observer_init(&obs, &options, CLASSES) == NNQ_OK);
    for (int b = 0; b < VECTORS / 100; b++) CHECK(observer_feed(&obs, logits + b * 100 * CLASSES, 100 * CLASSES) == NNQ_OK);
    float lo, hi, mse_lo, mse_hi;
    double t0 = test_seconds();
    CHECK(calib_find_range(&obs, NNQ_RANGE_XENT, &UINT4_ASYMMETRIC, &options, &lo, &hi) == NNQ_OK);
    double elapsed = test_seconds() - t0;
    quality found = evaluate(logits, lo, hi), minmax = evaluate(logits, obs.min, obs.max);
    /* Brute force over a 2-D grid of ranges [a·min, b·max]. */
    double best = INFINITY, best_lo = 0, best_hi = 0;
    for (int a = 0; a <= GRID; a++) {
        for (int b = 1; b <= GRID; b++) {
            double l = obs.min * a / GRID, h = obs.max * b / GRID, e = evaluate(logits, l, h).cross_entropy;
            if (e < best) best = e, best_lo = l, best_hi = h;
        }
    }
    printf("reservoir %4d: xent range [%.2f, %.2f] (%.1f ms): H %.4f, argmax kept %.4f; min-max [%.1f, %.1f]: H %.4f, "
           "argmax kept %.4f; brute force [%.2f, %.2f]: H %.4f; H(p) %.4f\n",
           reservoir_size, lo, hi, 1e3 * elapsed, found.cross_entropy, found.argmax_kept, obs.min, obs.max,
           minmax.cross_entropy, minmax.argmax_kept, best_lo, best_hi, best, found.entropy);
    CHECK(found.argmax_kept >= 0.98);
    CHECK(found.cross_entropy - found.entropy < 0.5 * (minmax.cross_entropy - minmax.entropy));
    if (reservoir_size >= VECTORS) CHECK(found.cross_entropy <= 1.01 * best);
    else CHECK(found.cross_entropy <= 1.05 * best);
    /* mse+xent uses xent for a logits observer. */
    CHECK(calib_find_range(&obs, NNQ_RANGE_MSE_XENT, &UINT4_ASYMMETRIC, &options, &mse_lo, &mse_hi) == NNQ_OK);
    CHECK(mse_lo == lo && mse_hi == hi);
    observer_free(&obs);
}

int main(void) {
    float *logits = malloc(sizeof(float) * CLASSES * VECTORS);
    make_logits(logits);
    run(VECTORS, logits);
    run(256, logits);
    free(logits);
    return check_summary();
}
