/* The integer kernels against float references computed here in double
 * (the real-valued operation on dequantized values, then rounding to the
 * output grid): exact for float-mode requantization of exact products, within
 * one step of the grid where the integer path takes a finer intermediate
 * grid (Add, average pools). */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "intq/kernels/intq_kernels.h"

static uint32_t rng = 12345u;
static int32_t random_int(int32_t lo, int32_t hi) {
    rng = rng * 1664525u + 1013904223u;
    return lo + (int32_t)((rng >> 8) % (uint32_t)(hi - lo + 1));
}

/* The reference's rounding onto the grid: half to even, then clamp. */
static int32_t to_grid(double v, int32_t zero_point, int32_t lo, int32_t hi) {
    double q = nearbyint(v) + zero_point;
    return q < lo ? lo : q > hi ? hi : (int32_t)q;
}

static void test_conv(void) {
    /* 2 groups, 4 -> 4 channels, 5x6 input, 3x3 kernel, stride 2x1, pads 1, dilation 1x2. */
    intq_window w = {4, 5, 6, 4, 3, 4, 3, 3, 2, 1, 1, 1, 1, 2, 2};
    int8_t x[4 * 5 * 6], weights[4 * 2 * 9], y[4 * 3 * 4];
    int32_t bias[4], scratch[12], z_x = -7;
    for (int i = 0; i < (int)sizeof x; i++) x[i] = (int8_t)random_int(-128, 127);
    for (int i = 0; i < (int)sizeof weights; i++) weights[i] = (int8_t)random_int(-127, 127);
    for (int c = 0; c < 4; c++) bias[c] = random_int(-5000, 5000);
    /* The kernel takes the bias with -z_x sum w folded in (eq. 13). */
    int32_t folded[4];
    for (int c = 0; c < 4; c++) {
        folded[c] = bias[c];
        for (int k = 0; k < 18; k++) folded[c] -= z_x * weights[c * 18 + k];
    }
    intq_rescale rescales[4] = {{0, 0, 0.01f, 1}, {0, 0, 0.003f, 1}, {0, 0, 0.02f, 1}, {0, 0, 0.005f, 1}};
    intq_requant requant = {4, rescales, 3, -128, 127};
    conv_s8(&w, x, z_x, weights, folded, &requant, scratch, y);
    int bad = 0;
    for (int oc = 0; oc < 4; oc++)
        for (int oy = 0; oy < 3; oy++)
            for (int ox = 0; ox < 4; ox++) {
                double sum = bias[oc]; /* real value / (s_x s_w): sum over the window of w (x - z_x), padding 0 */
                for (int ic = 0; ic < 2; ic++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy * 2 - 1 + ky, ix = ox - 1 + kx * 2, c = (oc / 2) * 2 + ic;
                            if (iy < 0 || iy >= 5 || ix < 0 || ix >= 6) continue;
                            sum += weights[(oc * 2 + ic) * 9 + ky * 3 + kx] * (double)(x[(c * 5 + iy) * 6 + ix] - z_x);
                        }
                int32_t expected = to_grid((double)(float)((float)sum * rescales[oc].real), 3, -128, 127);
                if (y[(oc * 3 + oy) * 4 + ox] != expected) bad++;
            }
    CHECK_MSG(bad == 0, "%d conv outputs differ", bad);
}

static void test_fully_connected(void) {
    int8_t x[2 * 5] = {1, -2, 3, 127, -128, 0, 5, 5, -5, 9}, w[3 * 5], y[6];
    int32_t bias[3] = {100, -200, 0};
    for (int i = 0; i < 15; i++) w[i] = (int8_t)random_int(-127, 127);
    intq_rescale r = {1, 6, 0, 0}; /* 2^-6 */
    intq_requant requant = {1, &r, -10, -128, 127};
    fully_connected_s8(2, 5, 3, x, w, bias, &requant, y);
    for (int row = 0; row < 2; row++)
        for (int o = 0; o < 3; o++) {
            double sum = bias[o];
            for (int k = 0; k < 5; k++) sum += (double)w[o * 5 + k] * x[row * 5 + k];
            CHECK(y[row * 3 + o] == to_grid(sum / 64.0, -10, -128, 127));
        }
}

static void test_add(void) {
    /* a on (0.05, 3), b on (0.02, -10), out on (0.06, 1): out = round((0.05 (a - 3) + 0.02 (b + 10)) / 0.06) + 1. */
    enum { N = 500, SHIFT = 30 - 8 - 1 };
    int8_t a[N], b[N], y[N];
    for (int i = 0; i < N; i++) a[i] = (int8_t)random_int(-128, 127), b[i] = (int8_t)random_int(-128, 127);
    const int8_t *inputs[2] = {a, b};
    int32_t zero_points[2] = {3, -10};
    /* m_i = s_i / max s; the common grid is max s / 2^SHIFT, then rescaled by (0.05 / 2^SHIFT) / 0.06. */
    intq_rescale input_rescales[2] = {{0, 0, 1.0f, 1}, {0, 0, (float)(0.02 / 0.05), 1}};
    intq_rescale out = {0, 0, (float)(ldexp(0.05, -SHIFT) / 0.06), 1};
    intq_requant requant = {1, &out, 1, -128, 127};
    add_s8(2, inputs, zero_points, input_rescales, SHIFT, N, &requant, y);
    int far = 0, off_away_from_ties = 0;
    for (int i = 0; i < N; i++) {
        double v = (0.05 * (a[i] - 3) + 0.02 * (b[i] + 10)) / 0.06;
        int32_t expected = to_grid(v, 1, -128, 127);
        far += abs(y[i] - expected) > 1;
        /* These scales make exact ties common; the integer path may round those either way. */
        bool near_tie = fabs(fabs(v - floor(v)) - 0.5) < 1e-4;
        off_away_from_ties += y[i] != expected && !near_tie;
    }
    CHECK_MSG(far == 0 && off_away_from_ties == 0, "%d off by more than 1, %d off away from ties", far,
              off_away_from_ties);
}

static void test_pools(void) {
    /* 2 channels 4x5, 3x3 window, stride 2, pad 1. */
    intq_window w = {2, 4, 5, 2, 2, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1};
    int8_t x[40], max_y[12], avg_y[12];
    for (int i = 0; i < 40; i++) x[i] = (int8_t)random_int(-128, 127);
    maxpool_s8(&w, x, max_y);
    enum { FRACTION = 22 };
    intq_rescale r = {0, 0, (float)(ldexp(0.1, -FRACTION) / 0.07), 1}; /* s_x 0.1 -> s_y 0.07 */
    intq_requant requant = {1, &r, -20, -128, 127};
    for (int include_pad = 0; include_pad < 2; include_pad++) {
        avgpool_s8(&w, x, 5, include_pad, FRACTION, &requant, avg_y);
        for (int c = 0; c < 2; c++)
            for (int oy = 0; oy < 2; oy++)
                for (int ox = 0; ox < 3; ox++) {
                    int best = -129, inside = 0;
                    double sum = 0;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
                            if (iy < 0 || iy >= 4 || ix < 0 || ix >= 5) continue;
                            int v = x[(c * 4 + iy) * 5 + ix];
                            best = v > best ? v : best;
                            sum += 0.1 * (v - 5);
                            inside++;
                        }
                    int o = (c * 2 + oy) * 3 + ox;
                    if (!include_pad) CHECK(max_y[o] == best);
                    int32_t expected = to_grid(sum / (include_pad ? 9 : inside) / 0.07, -20, -128, 127);
                    CHECK_MSG(abs(avg_y[o] - expected) <= 1, "avgpool %d vs %d", avg_y[o], expected);
                }
    }
}

static void test_elementwise(void) {
    int8_t x[6] = {-128, -50, 0, 10, 100, 127}, y[6];
    clamp_s8(x, 6, -40, 90, y);
    int8_t clamped[6] = {-40, -40, 0, 10, 90, 90};
    CHECK(memcmp(y, clamped, 6) == 0);
    intq_rescale r = {0, 0, 0.5f, 1}; /* s_in / s_out = 0.5 */
    intq_requant requant = {1, &r, 4, -128, 127};
    rescale_s8(x, 6, -2, &requant, y);
    for (int i = 0; i < 6; i++) CHECK(y[i] == to_grid(0.5 * (x[i] + 2), 4, -128, 127));
    float f[5] = {-1.0f, 0.0f, 0.125f, 0.3f, 5.0f}, back[5];
    int8_t q[5];
    quantize_f32_s8(f, 5, 0.25f, -3, -128, 127, q);
    int8_t expected_q[5] = {-7, -3, -3, -2, 17}; /* 0.5 -> 0 (even), 1.2 -> 1 */
    CHECK(memcmp(q, expected_q, 5) == 0);
    dequantize_s8_f32(q, 5, 0.25f, -3, back);
    CHECK(back[0] == -1.0f && back[2] == 0.0f && back[3] == 0.25f && back[4] == 5.0f);
}

/* lookup_s8 reads entry in + 128 for every int8 value, the extremes included. */
static void test_lookup(void) {
    int8_t table[256], x[256 + 3], y[256 + 3];
    for (int i = 0; i < 256; i++) table[i] = (int8_t)(127 - i); /* out = -1 - in */
    for (int i = 0; i < 256; i++) x[i] = (int8_t)(i - 128);
    x[256] = -128;
    x[257] = 127;
    x[258] = 0;
    lookup_s8(x, 256 + 3, table, y);
    int wrong = 0;
    for (int i = 0; i < 256 + 3; i++) wrong += y[i] != -1 - x[i];
    CHECK_MSG(wrong == 0, "lookup_s8: %d of %d entries wrong", wrong, 256 + 3);
}

int main(void) {
    test_conv();
    test_fully_connected();
    test_add();
    test_pools();
    test_elementwise();
    test_lookup();
    return check_summary();
}
