/* "xent": the clipping range of the final logits minimizing the mean
 * cross-entropy between softmax of the FP logits and softmax of the
 * fake-quantized logits (white paper eq. 17), over the logit vectors kept in
 * the observer's reservoir.
 *
 * Cost of a range, per vector v with p = softmax(v) and integer codes k_i of
 * the quantized logits q_i = s (k_i - z), K = max k_i:
 *   H(p, softmax(q)) = logsumexp(q) - Σ p_i q_i           (Σ p_i = 1)
 *                    = s (K - z) + log Σ exp(s (k_i - K)) - s Σ p_i (k_i - z);
 * exp(s d) for the at most 2^b differences d = k_i - K is tabulated once per
 * candidate, so a candidate costs one quantization per logit and no exp.
 *
 * Search: first the min-max range scaled by α in (0, 1] (symmetric schemes:
 * ±α·max|x|, and that is all); then, for asymmetric schemes, coordinate
 * descent: lo over [min(min, 0), 0) with hi fixed, hi over (0, max(max, 0)]
 * with lo fixed, twice. Logits often have a long tail on one side only, which
 * a common scale factor cannot clip. (range_search's full 2-D grid would cost
 * ~800 passes over the reservoir; this costs ~380.) */
#include <math.h>
#include <stdlib.h>

#include "base/status.h"
#include "calib/range_finders.h"
#include "calib/range_search.h"

enum {
    XENT_COARSE_POINTS = 48,     /* the α scan: each candidate is a pass over the reservoir */
    DESCENT_COARSE_POINTS = 24,  /* each coordinate scan */
    DESCENT_ROUNDS = 2
};

typedef struct xent_search {
    const nnq_logit_reservoir *reservoir;
    const double *probabilities; /* softmax of each kept vector, kept × classes */
    const nnq_qscheme *scheme;
    int32_t q_min, q_max;
    double *exp_table;           /* exp(s d), d = 0 .. -(q_max - q_min), indexed by -d */
    int32_t *codes;              /* scratch: one quantized vector */
    double lo_limit, hi_limit;   /* search bounds */
    double lo, hi;               /* the current range (coordinate descent) */
} xent_search;

static void softmax(const float *logits, int64_t n, double *probabilities) {
    double max = logits[0], sum = 0.0;
    for (int64_t i = 1; i < n; i++) max = fmax(max, logits[i]);
    for (int64_t i = 0; i < n; i++) sum += probabilities[i] = exp(logits[i] - max);
    for (int64_t i = 0; i < n; i++) probabilities[i] /= sum;
}

/* Mean over the reservoir of H(softmax(v), softmax(fake_quantize(v))) for the range [lo, hi]. */
static double mean_cross_entropy(const xent_search *s, double lo, double hi) {
    float scale;
    int32_t zero_point;
    qscheme_params(s->scheme, (float)lo, (float)hi, &scale, &zero_point);
    for (int32_t d = 0; d <= s->q_max - s->q_min; d++) s->exp_table[d] = exp(-(double)scale * d);
    int64_t classes = s->reservoir->classes;
    double total = 0.0;
    for (int v = 0; v < s->reservoir->kept; v++) {
        const float *logits = logit_reservoir_vector(s->reservoir, v);
        const double *p = s->probabilities + (size_t)v * (size_t)classes;
        int32_t max_code = s->q_min;
        double expected_code = 0.0, sum = 0.0;
        for (int64_t i = 0; i < classes; i++) {
            int32_t k = s->codes[i] = quantize_value(logits[i], scale, zero_point, s->q_min, s->q_max);
            if (k > max_code) max_code = k;
            expected_code += p[i] * (k - zero_point);
        }
        for (int64_t i = 0; i < classes; i++) sum += s->exp_table[max_code - s->codes[i]];
        total += scale * (double)(max_code - zero_point) + log(sum) - scale * expected_code;
    }
    return total / s->reservoir->kept;
}

static double scaled_range_cost(void *context, double fraction) {
    const xent_search *s = context;
    return mean_cross_entropy(s, s->lo_limit * fraction, s->hi_limit * fraction);
}

static double lo_cost(void *context, double fraction) {
    const xent_search *s = context;
    return mean_cross_entropy(s, s->lo_limit * fraction, s->hi);
}

static double hi_cost(void *context, double fraction) {
    const xent_search *s = context;
    return mean_cross_entropy(s, s->lo, s->hi_limit * fraction);
}

static void search_ranges(xent_search *s) {
    double best;
    double fraction = search_minimize_fraction(scaled_range_cost, s, XENT_COARSE_POINTS, &best);
    s->lo = s->lo_limit * fraction;
    s->hi = s->hi_limit * fraction;
    if (s->scheme->symmetric) return;
    for (int round = 0; round < DESCENT_ROUNDS; round++) {
        double cost;
        if (s->lo_limit < 0.0) {
            fraction = search_minimize_fraction(lo_cost, s, DESCENT_COARSE_POINTS, &cost);
            if (cost < best) best = cost, s->lo = s->lo_limit * fraction;
        }
        if (s->hi_limit > 0.0) {
            fraction = search_minimize_fraction(hi_cost, s, DESCENT_COARSE_POINTS, &cost);
            if (cost < best) best = cost, s->hi = s->hi_limit * fraction;
        }
    }
}

nnq_status range_find_xent(const nnq_observer *observer, const nnq_qscheme *scheme, const nnq_calib_options *options,
                           double *lo, double *hi) {
    (void)options;
    if (!observer->is_logits)
        return nnq_fail(NNQ_ERR_INVALID, "range method 'xent' needs logit vectors: create the observer with "
                                         "logit_classes > 0 for the logits tensor");
    const nnq_logit_reservoir *reservoir = &observer->reservoir;
    if (!reservoir->kept) return nnq_fail(NNQ_ERR_INVALID, "range method 'xent': no finite logit vector was observed");
    xent_search s = {.reservoir = reservoir, .scheme = scheme};
    qscheme_grid(scheme, &s.q_min, &s.q_max);
    range_search_limits(observer, scheme, &s.lo_limit, &s.hi_limit);
    if (scheme->symmetric) s.lo_limit = -s.hi_limit;
    if (s.lo_limit == 0.0 && s.hi_limit == 0.0) {
        *lo = *hi = 0.0;
        return NNQ_OK;
    }
    size_t classes = (size_t)reservoir->classes, levels = (size_t)(s.q_max - s.q_min) + 1;
    double *probabilities = malloc(((size_t)reservoir->kept * classes + levels) * sizeof *probabilities);
    s.codes = malloc(classes * sizeof *s.codes);
    if (!probabilities || !s.codes) {
        free(probabilities);
        free(s.codes);
        return nnq_fail(NNQ_ERR_NOMEM, "cannot allocate the 'xent' search buffers");
    }
    for (int v = 0; v < reservoir->kept; v++)
        softmax(logit_reservoir_vector(reservoir, v), reservoir->classes, probabilities + (size_t)v * classes);
    s.probabilities = probabilities;
    s.exp_table = probabilities + (size_t)reservoir->kept * classes;
    search_ranges(&s);
    *lo = s.lo;
    *hi = s.hi;
    free(probabilities);
    free(s.codes);
    return NNQ_OK;
}
