/* The table of range-setting methods and the dispatcher; the methods without
 * real logic (minmax, ema, meanstd) live here too, the others in range_*.c. */
#include "calib/range_method.h"

#include <math.h>
#include <string.h>

#include "base/status.h"
#include "calib/range_finders.h"

/* White paper eq. 14-15. */
nnq_status range_find_minmax(const nnq_observer *observer, const nnq_qscheme *scheme, const nnq_calib_options *options,
                             double *lo, double *hi) {
    (void)scheme, (void)options;
    *lo = observer->min;
    *hi = observer->max;
    return NNQ_OK;
}

nnq_status range_find_ema(const nnq_observer *observer, const nnq_qscheme *scheme, const nnq_calib_options *options,
                          double *lo, double *hi) {
    (void)scheme, (void)options;
    *lo = observer->ema_min;
    *hi = observer->ema_max;
    return NNQ_OK;
}

/* mean ± k·std (seed 002, "assuming normal distribution"), never wider than the data. */
nnq_status range_find_meanstd(const nnq_observer *observer, const nnq_qscheme *scheme,
                              const nnq_calib_options *options, double *lo, double *hi) {
    (void)scheme;
    double mean = observer->moments.mean, spread = options->meanstd_k * moments_std(&observer->moments);
    *lo = fmax(observer->min, mean - spread);
    *hi = fmin(observer->max, mean + spread);
    return NNQ_OK;
}

/* "mse+xent": cross-entropy for the logits, MSE for everything else (white paper Table 2). */
static nnq_status range_find_mse_or_xent(const nnq_observer *observer, const nnq_qscheme *scheme,
                                         const nnq_calib_options *options, double *lo, double *hi) {
    return observer->is_logits ? range_find_xent(observer, scheme, options, lo, hi)
                               : range_find_mse(observer, scheme, options, lo, hi);
}

void range_search_limits(const nnq_observer *observer, const nnq_qscheme *scheme, double *lo_limit, double *hi_limit) {
    if (scheme->symmetric) {
        *lo_limit = 0.0;
        *hi_limit = fmax(fabs(observer->min), fabs(observer->max));
    } else {
        *lo_limit = fmin(observer->min, 0.0);
        *hi_limit = fmax(observer->max, 0.0);
    }
}

typedef struct range_method_row {
    nnq_range_method method;
    const char *name;
    nnq_range_input input;
    range_finder_fn find; /* NULL: not computed from an observer */
} range_method_row;

static const range_method_row METHODS[NNQ_RANGE_METHOD_COUNT] = {
    {NNQ_RANGE_MINMAX, "minmax", NNQ_RANGE_FROM_STATISTICS, range_find_minmax},
    {NNQ_RANGE_EMA, "ema", NNQ_RANGE_FROM_BATCHES, range_find_ema},
    {NNQ_RANGE_QUANTILE, "quantile", NNQ_RANGE_FROM_STATISTICS, range_find_quantile},
    {NNQ_RANGE_MSE, "mse", NNQ_RANGE_FROM_STATISTICS, range_find_mse},
    {NNQ_RANGE_KL, "kl", NNQ_RANGE_FROM_STATISTICS, range_find_kl},
    {NNQ_RANGE_MEANSTD, "meanstd", NNQ_RANGE_FROM_STATISTICS, range_find_meanstd},
    {NNQ_RANGE_XENT, "xent", NNQ_RANGE_FROM_LOGITS, range_find_xent},
    {NNQ_RANGE_MSE_XENT, "mse+xent", NNQ_RANGE_FROM_LOGITS, range_find_mse_or_xent},
    {NNQ_RANGE_BN, "bn", NNQ_RANGE_FROM_BN, NULL},
};

static const range_method_row *row_of(nnq_range_method method) {
    if ((int)method < 0 || method >= NNQ_RANGE_METHOD_COUNT) return NULL;
    return &METHODS[method];
}

const char *range_method_name(nnq_range_method method) {
    const range_method_row *row = row_of(method);
    return row ? row->name : NULL;
}

nnq_range_input range_method_input(nnq_range_method method) {
    const range_method_row *row = row_of(method);
    return row ? row->input : NNQ_RANGE_FROM_STATISTICS;
}

nnq_status range_method_from_name(const char *name, nnq_range_method *method) {
    if (name && strcmp(name, "none") == 0) name = "minmax"; /* N2D2's name for no clipping */
    for (int i = 0; name && i < NNQ_RANGE_METHOD_COUNT; i++) {
        if (strcmp(METHODS[i].name, name) == 0) {
            *method = METHODS[i].method;
            return NNQ_OK;
        }
    }
    char valid[256] = "";
    for (int i = 0; i < NNQ_RANGE_METHOD_COUNT; i++) {
        if (i) strncat(valid, ", ", sizeof valid - strlen(valid) - 1);
        strncat(valid, METHODS[i].name, sizeof valid - strlen(valid) - 1);
    }
    return nnq_fail(NNQ_ERR_USAGE, "unknown range method '%s' (valid: %s)", name ? name : "(null)", valid);
}

nnq_status calib_find_range(const nnq_observer *observer, nnq_range_method method, const nnq_qscheme *scheme,
                            const nnq_calib_options *options, float *lo, float *hi) {
    const range_method_row *row = row_of(method);
    if (!row) return nnq_fail(NNQ_ERR_USAGE, "range method %d does not exist", (int)method);
    if (!row->find)
        return nnq_fail(NNQ_ERR_USAGE, "range method '%s' is data-free: use calib_bn_range, not an observer", row->name);
    if (scheme->bits < NNQ_MIN_BITS || scheme->bits > NNQ_MAX_BITS)
        return nnq_fail(NNQ_ERR_USAGE, "%d-bit quantization is outside %d..%d bits", scheme->bits, NNQ_MIN_BITS,
                        NNQ_MAX_BITS);
    NNQ_TRY(calib_options_validate(options));
    if (!observer->finite_count)
        return nnq_fail(NNQ_ERR_INVALID,
                        "no finite value observed (%llu NaN, %llu +Inf, %llu -Inf): cannot set a range with '%s'",
                        (unsigned long long)observer->nan_count, (unsigned long long)observer->positive_inf_count,
                        (unsigned long long)observer->negative_inf_count, row->name);
    double range_lo = 0.0, range_hi = 0.0;
    NNQ_TRY(row->find(observer, scheme, options, &range_lo, &range_hi));
    if (scheme->symmetric) {
        double threshold = fmax(fabs(range_lo), fabs(range_hi));
        range_lo = -threshold;
        range_hi = threshold;
    }
    if (range_lo > range_hi) range_lo = range_hi = 0.5 * (range_lo + range_hi);
    *lo = (float)range_lo;
    *hi = (float)range_hi;
    return NNQ_OK;
}
