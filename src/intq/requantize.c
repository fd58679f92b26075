#include "intq/requantize.h"

#include <math.h>
#include <string.h>

#include "base/status.h"

enum { MAX_RIGHT_SHIFT = 62, MAX_LEFT_SHIFT = 31, MAX_DOUBLE_SHIFT_GAP = 30 };

static const intq_rescale_mode_info modes[INTQ_RESCALE_MODE_COUNT] = {
    {INTQ_RESCALE_FLOAT, "float", "Floating-point", false, 0, false},
    {INTQ_RESCALE_FIXED16, "fixed16", "Fixed-point16", false, 16, false},
    {INTQ_RESCALE_FIXED32, "fixed32", "Fixed-point32", false, 32, false},
    {INTQ_RESCALE_SINGLE_SHIFT, "single-shift", "Single-shift", true, 0, true},
    {INTQ_RESCALE_DOUBLE_SHIFT, "double-shift", "Double-shift", true, 0, true},
};

const intq_rescale_mode_info *intq_rescale_mode_info_of(intq_rescale_mode mode) {
    return mode >= 0 && mode < INTQ_RESCALE_MODE_COUNT ? &modes[mode] : &modes[0];
}

const char *intq_rescale_mode_list(void) { return "float, fixed16, fixed32, single-shift, double-shift"; }

nnq_status intq_rescale_mode_parse(const char *text, intq_rescale_mode *mode) {
    for (int i = 0; i < INTQ_RESCALE_MODE_COUNT; i++)
        if (strcmp(text, modes[i].name) == 0 || strcmp(text, modes[i].n2d2_name) == 0) {
            *mode = modes[i].mode;
            return NNQ_OK;
        }
    return nnq_fail(NNQ_ERR_USAGE, "unknown rescaling mode '%s' (expected %s)", text, intq_rescale_mode_list());
}

intq_rescale_mode intq_rescale_mode_for(intq_rescale_mode mode, const double *m, int n) {
    if (!modes[mode].shift_only) return mode;
    for (int i = 0; i < n; i++)
        if (m[i] > 1.0) return INTQ_RESCALE_FIXED16;
    return mode;
}

double intq_rescale_value(const intq_rescale *r) {
    if (r->is_float) return r->real;
    return ldexp((double)r->multiplier, -r->shift);
}

static intq_rescale integer_rescale(int64_t multiplier, int shift) {
    intq_rescale r = {(int32_t)multiplier, shift, 0.0f, 0};
    r.real = (float)intq_rescale_value(&r);
    return r;
}

/* N2D2's fixed point x 2^-p with x on `bits` bits (sign included). */
static intq_rescale derive_fixed(double m, int bits) {
    if (!(m > 0)) return integer_rescale(0, 0);
    int e;
    double f = frexp(m, &e); /* m = f 2^e, f in [0.5, 1) */
    int64_t x = (int64_t)nearbyint(ldexp(f, bits - 1));
    int p = bits - 1 - e;
    if (x == (int64_t)1 << (bits - 1)) { /* f rounded up to 1 */
        x >>= 1;
        p--;
    }
    if (p > MAX_RIGHT_SHIFT) { /* below 2^-62 * x: keep the leading bits that matter */
        x = (int64_t)nearbyint(ldexp((double)x, MAX_RIGHT_SHIFT - p));
        p = MAX_RIGHT_SHIFT;
    }
    if (p < -MAX_LEFT_SHIFT) p = -MAX_LEFT_SHIFT;
    return integer_rescale(x, p);
}

static double single_shift_value(int n) { return ldexp(1.0, -n); }
static double double_shift_value(int n, int k) { return ldexp(1.0, -n) + ldexp(1.0, -k); }
static intq_rescale single_shift(int n) { return integer_rescale(1, n); }
/* 2^-n + 2^-k = (2^(k-n) + 1) 2^-k: one rounding, as the shifts-and-add form computes it. */
static intq_rescale double_shift(int n, int k) { return integer_rescale(((int64_t)1 << (k - n)) + 1, k); }

/* Enumerates the representable values of a shift-only mode; keeps the best by `better`. */
typedef bool (*candidate_order)(double candidate, double best, double m);

static bool nearer(double candidate, double best, double m) { return fabs(candidate - m) < fabs(best - m); }
static bool smallest_at_least(double candidate, double best, double m) {
    return candidate >= m && (best < m || candidate < best);
}

static intq_rescale search_shifts(intq_rescale_mode mode, double m, candidate_order better) {
    int best_n = MAX_RIGHT_SHIFT, best_k = -1;
    double best = mode == INTQ_RESCALE_SINGLE_SHIFT ? single_shift_value(best_n) : -1.0;
    for (int n = 0; n <= MAX_RIGHT_SHIFT; n++) {
        if (mode == INTQ_RESCALE_SINGLE_SHIFT) {
            double v = single_shift_value(n);
            if (better(v, best, m)) best = v, best_n = n;
            continue;
        }
        for (int k = n + 1; k <= MAX_RIGHT_SHIFT && k - n <= MAX_DOUBLE_SHIFT_GAP; k++) {
            double v = double_shift_value(n, k);
            if (best < 0 || better(v, best, m)) best = v, best_n = n, best_k = k;
        }
    }
    return mode == INTQ_RESCALE_SINGLE_SHIFT ? single_shift(best_n) : double_shift(best_n, best_k);
}

intq_rescale intq_rescale_derive(intq_rescale_mode mode, double m) {
    if (mode == INTQ_RESCALE_FLOAT) return (intq_rescale){0, 0, (float)m, 1};
    if (modes[mode].multiplier_bits) return derive_fixed(m, modes[mode].multiplier_bits);
    return search_shifts(mode, m, nearer);
}

intq_rescale intq_rescale_derive_at_least(intq_rescale_mode mode, double m) {
    if (!modes[mode].shift_only) return intq_rescale_derive(mode, m);
    return search_shifts(mode, m, smallest_at_least);
}
