/* Weight ranges: per-tensor and per-channel along axis 0 and 1 with min-max
 * checked value by value; per-channel MSE against a brute-force search on each
 * channel's own values; KL per channel below the channel maximum for a
 * heavy-tailed channel; refused methods; NaN weights. */
#include <stdlib.h>
#include <string.h>

#include "calib/weight_range.h"
#include "check.h"
#include "test_calib_random.h"

static const nnq_qscheme INT4_SYMMETRIC = {4, true, true, true, false};
static const nnq_qscheme INT8_SYMMETRIC = {8, true, true, true, false};

static void set_weights(nnq_tensor *t, int rank, const int64_t *dims, float *data) {
    memset(t, 0, sizeof *t);
    t->name = (char *)"w";
    tensor_set_shape(t, NNQ_FLOAT, rank, dims);
    t->data = data;
}

static void test_minmax_axes(void) {
    /* [3, 2, 2]: value = (o + 1) * (c == 0 ? 1 : -2) * (i + 1) for index (o, c, i). */
    int64_t dims[3] = {3, 2, 2};
    float data[12];
    for (int o = 0; o < 3; o++)
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 2; i++) data[(o * 2 + c) * 2 + i] = (float)((o + 1) * (c == 0 ? 1 : -2) * (i + 1));
    nnq_tensor w;
    set_weights(&w, 3, dims, data);
    nnq_calib_options options;
    calib_options_default(&options);
    nnq_qscheme asymmetric = {8, true, false, false, false};
    float lo[3], hi[3];
    CHECK(calib_weight_range_count(&w, 0) == 3 && calib_weight_range_count(&w, 1) == 2);
    CHECK(calib_weight_range_count(&w, -1) == 1 && calib_weight_range_count(&w, 3) == -1);
    CHECK(calib_weight_ranges(&w, 0, NNQ_RANGE_MINMAX, &asymmetric, &options, lo, hi) == NNQ_OK);
    for (int o = 0; o < 3; o++) CHECK(lo[o] == -4.0f * (o + 1) && hi[o] == 2.0f * (o + 1));
    CHECK(calib_weight_ranges(&w, 1, NNQ_RANGE_MINMAX, &asymmetric, &options, lo, hi) == NNQ_OK);
    CHECK(lo[0] == 1.0f && hi[0] == 6.0f && lo[1] == -12.0f && hi[1] == -2.0f);
    CHECK(calib_weight_ranges(&w, -1, NNQ_RANGE_MINMAX, &INT8_SYMMETRIC, &options, lo, hi) == NNQ_OK);
    CHECK(lo[0] == -12.0f && hi[0] == 12.0f);
    CHECK(calib_weight_ranges(&w, 0, NNQ_RANGE_EMA, &asymmetric, &options, lo, hi) == NNQ_ERR_USAGE);
    CHECK(calib_weight_ranges(&w, 0, NNQ_RANGE_XENT, &asymmetric, &options, lo, hi) == NNQ_ERR_USAGE);
    CHECK(calib_weight_ranges(&w, 3, NNQ_RANGE_MINMAX, &asymmetric, &options, lo, hi) == NNQ_ERR_INVALID);
    data[4] = NAN; /* (o=1, c=0, i=0): excluded */
    CHECK(calib_weight_ranges(&w, 0, NNQ_RANGE_MINMAX, &asymmetric, &options, lo, hi) == NNQ_OK);
    CHECK(lo[1] == -8.0f && hi[1] == 4.0f);
    data[5] = data[6] = data[7] = NAN; /* channel 1 of axis 0 is now all NaN */
    CHECK(calib_weight_ranges(&w, 0, NNQ_RANGE_MINMAX, &asymmetric, &options, lo, hi) == NNQ_ERR_INVALID);
}

/* Conv-like [4, 16, 3, 3] weights, channel o Gaussian with σ = 0.1 (o + 1), or Laplace for o = 3. */
static void test_mse_and_kl_per_channel(void) {
    enum { OUT = 4, PER_CHANNEL = 16 * 3 * 3 };
    int64_t dims[4] = {OUT, 16, 3, 3};
    float *data = malloc(sizeof(float) * OUT * PER_CHANNEL);
    test_rng rng = {9};
    for (int o = 0; o < OUT; o++)
        for (int i = 0; i < PER_CHANNEL; i++)
            data[o * PER_CHANNEL + i] = (float)(0.1 * (o + 1) * (o == 3 ? test_laplace(&rng) : test_gaussian(&rng)));
    nnq_tensor w;
    set_weights(&w, 4, dims, data);
    nnq_calib_options options;
    calib_options_default(&options);
    float lo[OUT], hi[OUT];
    CHECK(calib_weight_ranges(&w, 0, NNQ_RANGE_MSE, &INT4_SYMMETRIC, &options, lo, hi) == NNQ_OK);
    for (int o = 0; o < OUT; o++) {
        const float *channel = data + o * PER_CHANNEL;
        double max_abs = 0;
        for (int i = 0; i < PER_CHANNEL; i++) max_abs = fmax(max_abs, fabs(channel[i]));
        double best_t = brute_force_mse_threshold(channel, PER_CHANNEL, &INT4_SYMMETRIC, max_abs, 200);
        double found = raw_quantization_mse(channel, PER_CHANNEL, &INT4_SYMMETRIC, lo[o], hi[o]);
        double best = raw_quantization_mse(channel, PER_CHANNEL, &INT4_SYMMETRIC, -best_t, best_t);
        printf("channel %d: mse t = %.4f, brute force %.4f, max %.4f, error ratio %.4f\n", o, hi[o], best_t, max_abs,
               found / best);
        /* 144 values: the histogram's uniform-within-bin model is an approximation, allow 3%. */
        CHECK_MSG(found <= 1.03 * best, "channel %d: %g vs %g", o, found, best);
        CHECK(hi[o] < max_abs && lo[o] == -hi[o]);
    }
    CHECK(calib_weight_ranges(&w, 0, NNQ_RANGE_KL, &INT4_SYMMETRIC, &options, lo, hi) == NNQ_OK);
    double laplace_max = 0;
    for (int i = 0; i < PER_CHANNEL; i++) laplace_max = fmax(laplace_max, fabs(data[3 * PER_CHANNEL + i]));
    printf("kl per channel: %.4f %.4f %.4f %.4f (Laplace channel max %.4f)\n", hi[0], hi[1], hi[2], hi[3], laplace_max);
    CHECK(hi[3] < laplace_max && hi[3] > 0.1 * laplace_max);
    CHECK(hi[0] < hi[1] && hi[1] < hi[2]); /* ranges follow the channels' scales */
    free(data);
}

int main(void) {
    test_minmax_axes();
    test_mse_and_kl_per_channel();
    return check_summary();
}
