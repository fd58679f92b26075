/* Requantization of the integer path: the rounding shift and the rescale
 * application against exact long-double references, parameter derivation
 * for every mode over many scales (error bounds, brute-force optimality, the
 * >1 fallback), and weight compensation on a hand-computed layer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "intq/layer_rescale.h"
#include "intq/requantize.h"

/* Round half to even of an exactly representable long double (64-bit mantissa). */
static long double reference_round(long double v) {
    long double f = floorl(v), d = v - f;
    if (d > 0.5L || (d == 0.5L && fmodl(f, 2.0L) != 0)) f += 1;
    return f;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static int32_t random_acc(void) { return (int32_t)(next_random() >> 32) >> (int)(next_random() % 31); }

static void test_rounding_shift(void) {
    /* Hand-computed ties: half to even. */
    CHECK(intq_rounding_shift_right(5, 1) == 2);   /* 2.5 */
    CHECK(intq_rounding_shift_right(7, 1) == 4);   /* 3.5 */
    CHECK(intq_rounding_shift_right(-5, 1) == -2); /* -2.5 */
    CHECK(intq_rounding_shift_right(-7, 1) == -4);
    CHECK(intq_rounding_shift_right(-6, 2) == -2); /* -1.5 */
    CHECK(intq_rounding_shift_right(-3, 2) == -1); /* -0.75 */
    CHECK(intq_rounding_divide(7, 2) == 4 && intq_rounding_divide(5, 2) == 2 && intq_rounding_divide(-5, 2) == -2);
    CHECK(intq_rounding_divide(-7, 3) == -2 && intq_rounding_divide(10, 4) == 2 && intq_rounding_divide(-10, 4) == -2);
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        int64_t v = (int64_t)(next_random() >> 2) >> (next_random() % 60);
        if (next_random() & 1) v = -v;
        int32_t shift = 1 + (int32_t)(next_random() % 62);
        if (intq_rounding_shift_right(v, shift) != (int64_t)reference_round(ldexpl((long double)v, -shift))) bad++;
    }
    CHECK_MSG(bad == 0, "%d rounding shifts differ from the reference", bad);
}

static void test_apply(void) {
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        intq_rescale r = {(int32_t)(next_random() >> 33), (int32_t)(next_random() % 94) - 31, 0.0f, 0};
        int32_t acc = random_acc();
        long double exact = reference_round(ldexpl((long double)acc * r.multiplier, -r.shift));
        long double saturated = exact > INT32_MAX ? INT32_MAX : exact < INT32_MIN ? INT32_MIN : exact;
        if (intq_rescale_apply(acc, &r) != (int32_t)saturated) bad++;
    }
    CHECK_MSG(bad == 0, "%d fixed-point rescales differ from the reference", bad);
    intq_rescale half = {0, 0, 0.5f, 1};
    CHECK(intq_rescale_apply(5, &half) == 2 && intq_rescale_apply(7, &half) == 4 && intq_rescale_apply(-5, &half) == -2);
    intq_rescale big = {0, 0, 1e10f, 1};
    CHECK(intq_rescale_apply(1000, &big) == INT32_MAX && intq_rescale_apply(-1000, &big) == INT32_MIN);
    /* The output stage: zero point, then clamp. */
    intq_rescale quarter = {1, 2, 0.0f, 0};
    intq_requant q = {1, &quarter, -128, -100, 127};
    CHECK(intq_requant_output(&q, 3, 400) == -28); /* 100 - 128 */
    CHECK(intq_requant_output(&q, 0, -400) == -100);
    CHECK(intq_requant_output(&q, 0, 4000) == 127);
}

/* Log-uniform scales over [1e-7, 1]. */
static double random_scale(void) { return pow(10.0, -7.0 * (double)(next_random() % 1000000) / 1e6); }

static void test_fixed_point_derivation(void) {
    int bits[2] = {16, 32};
    intq_rescale_mode modes[2] = {INTQ_RESCALE_FIXED16, INTQ_RESCALE_FIXED32};
    for (int b = 0; b < 2; b++) {
        int bad = 0;
        for (int i = 0; i < 20000; i++) {
            double m = random_scale() * (i % 10 == 0 ? 1000.0 : 1.0);
            intq_rescale r = intq_rescale_derive(modes[b], m);
            bool normalized = r.multiplier >= (1 << (bits[b] - 2)) &&
                              (int64_t)r.multiplier < ((int64_t)1 << (bits[b] - 1));
            /* x rounds f 2^(B-1) with f >= 1/2: relative error at most 2^-(B-1). */
            if (!normalized || fabs(intq_rescale_value(&r) / m - 1.0) > ldexp(1.0, -(bits[b] - 1))) bad++;
        }
        CHECK_MSG(bad == 0, "fixed%d: %d scales badly approximated", bits[b], bad);
    }
    intq_rescale r = intq_rescale_derive(INTQ_RESCALE_FIXED16, 0.75); /* hand: 0.75 = 24576 2^-15 */
    CHECK(r.multiplier == 24576 && r.shift == 15);
    r = intq_rescale_derive(INTQ_RESCALE_FIXED16, 100.0); /* 100 = 25600 2^-8 */
    CHECK(r.multiplier == 25600 && r.shift == 8);
}

static void test_shift_derivation(void) {
    int bad_single = 0, bad_double = 0;
    for (int i = 0; i < 3000; i++) {
        double m = random_scale();
        intq_rescale r = intq_rescale_derive(INTQ_RESCALE_SINGLE_SHIFT, m);
        double err = fabs(intq_rescale_value(&r) - m);
        for (int n = 0; n <= 62; n++)
            if (fabs(ldexp(1.0, -n) - m) < err) bad_single++;
        if (r.multiplier != 1) bad_single++;
        r = intq_rescale_derive(INTQ_RESCALE_DOUBLE_SHIFT, m);
        err = fabs(intq_rescale_value(&r) - m);
        for (int n = 0; n <= 62; n++)
            for (int k = n + 1; k <= 62 && k - n <= 30; k++)
                if (fabs(ldexp(1.0, -n) + ldexp(1.0, -k) - m) < err) bad_double++;
        int gap = 0; /* multiplier = 2^gap + 1 */
        while (gap < 31 && ((int64_t)1 << gap) + 1 != r.multiplier) gap++;
        if (gap == 31) bad_double++;
    }
    CHECK_MSG(bad_single == 0 && bad_double == 0, "single %d, double %d better candidates", bad_single, bad_double);
    /* Hand-computed. */
    intq_rescale r = intq_rescale_derive(INTQ_RESCALE_DOUBLE_SHIFT, 0.75); /* 2^-1 + 2^-2 = 3 2^-2 */
    CHECK(r.multiplier == 3 && r.shift == 2);
    r = intq_rescale_derive(INTQ_RESCALE_SINGLE_SHIFT, 0.3); /* 0.25 is nearer than 0.5 */
    CHECK(r.multiplier == 1 && r.shift == 2);
    r = intq_rescale_derive_at_least(INTQ_RESCALE_SINGLE_SHIFT, 0.3);
    CHECK(r.multiplier == 1 && r.shift == 1);
    r = intq_rescale_derive_at_least(INTQ_RESCALE_DOUBLE_SHIFT, 0.3); /* 0.3125 = 2^-2 + 2^-4 */
    CHECK(r.multiplier == 5 && r.shift == 4);
    r = intq_rescale_derive(INTQ_RESCALE_SINGLE_SHIFT, 1.0);
    CHECK(r.multiplier == 1 && r.shift == 0);
    /* The fallback (N2D2): a scale above 1 makes the layer fixed16; exactly 1 is a shift of 0. */
    double above[3] = {0.5, 1.5, 0.1}, at_one[2] = {1.0, 0.25};
    CHECK(intq_rescale_mode_for(INTQ_RESCALE_SINGLE_SHIFT, above, 3) == INTQ_RESCALE_FIXED16);
    CHECK(intq_rescale_mode_for(INTQ_RESCALE_DOUBLE_SHIFT, above, 3) == INTQ_RESCALE_FIXED16);
    CHECK(intq_rescale_mode_for(INTQ_RESCALE_SINGLE_SHIFT, at_one, 2) == INTQ_RESCALE_SINGLE_SHIFT);
    CHECK(intq_rescale_mode_for(INTQ_RESCALE_FIXED32, above, 3) == INTQ_RESCALE_FIXED32);
    intq_rescale_mode mode;
    CHECK(intq_rescale_mode_parse("Double-shift", &mode) == NNQ_OK && mode == INTQ_RESCALE_DOUBLE_SHIFT);
    CHECK(intq_rescale_mode_parse("fixed8", &mode) == NNQ_ERR_USAGE);
}

static void test_weight_compensation(void) {
    /* Channel 0: max |w| 127, m 0.003: the smallest power of two >= 0.003 is 2^-8, r = 0.768.
     * Channel 1: max |w| 50, m 0.003: safe 0.003 * 50 / 127 = 0.00118 -> 2^-9, r = 1.536. */
    int8_t weights[6] = {127, -64, 10, 50, -20, 3};
    int32_t bias[2] = {1000, -1000};
    double m[2] = {0.003, 0.003};
    intq_layer layer = {2, 3, weights, bias, -127, 127, m};
    intq_output_stage stage = {0};
    CHECK(intq_layer_rescale(&layer, INTQ_RESCALE_SINGLE_SHIFT, true, &stage) == NNQ_OK);
    CHECK(stage.n_rescales == 2 && stage.rescales[0].shift == 8 && stage.rescales[1].shift == 9);
    int8_t expected[6] = {98, -49, 8, 77, -31, 5}; /* round(w r): 97.536, -49.152, 7.68; 76.8, -30.72, 4.608 */
    CHECK(memcmp(weights, expected, sizeof expected) == 0);
    CHECK(bias[0] == 768 && bias[1] == -1536);
    free(stage.rescales);

    /* Per layer over per-channel multipliers (float mode): one multiplier, ratios in the weights. */
    int8_t w2[4] = {100, -100, 100, -100};
    int32_t b2[2] = {0, 0};
    double m2[2] = {0.004, 0.002};
    intq_layer per_layer = {2, 2, w2, b2, -127, 127, m2};
    memset(&stage, 0, sizeof stage);
    CHECK(intq_layer_rescale(&per_layer, INTQ_RESCALE_FLOAT, false, &stage) == NNQ_OK);
    /* safe = max(0.004, 0.002) * 100 / 127 = 0.0031496; r = (1.27, 0.635) */
    CHECK(stage.n_rescales == 1 && fabs(stage.rescales[0].real - 0.0031496063) < 1e-9);
    CHECK(w2[0] == 127 && w2[1] == -127 && w2[2] == 64 && w2[3] == -64); /* 63.5 -> 64 (even) */
    free(stage.rescales);

    /* Fixed32 per output: no compensation, weights untouched. */
    int8_t w3[2] = {7, -9};
    int32_t b3[1] = {5};
    double m3[1] = {0.01};
    intq_layer plain = {1, 2, w3, b3, -127, 127, m3};
    memset(&stage, 0, sizeof stage);
    CHECK(intq_layer_rescale(&plain, INTQ_RESCALE_FIXED32, true, &stage) == NNQ_OK);
    CHECK(w3[0] == 7 && w3[1] == -9 && b3[0] == 5 && stage.mode == INTQ_RESCALE_FIXED32);
    free(stage.rescales);

    /* A single-shift layer with a scale above 1 falls back to fixed16 without compensation. */
    double m4[1] = {3.0};
    intq_layer above = {1, 2, w3, b3, -127, 127, m4};
    memset(&stage, 0, sizeof stage);
    CHECK(intq_layer_rescale(&above, INTQ_RESCALE_SINGLE_SHIFT, true, &stage) == NNQ_OK);
    CHECK(stage.mode == INTQ_RESCALE_FIXED16 && w3[0] == 7 && fabs(intq_rescale_value(&stage.rescales[0]) - 3.0) < 1e-4);
    free(stage.rescales);
}

int main(void) {
    test_rounding_shift();
    test_apply();
    test_fixed_point_derivation();
    test_shift_derivation();
    test_weight_compensation();
    return check_summary();
}
