/* "kl": entropy calibration, the variant of TensorRT (Migacz, "8-bit inference
 * with TensorRT", GTC 2017) that ONNX Runtime's Entropy calibrator and N2D2's
 * KL-Divergence mode follow.
 *
 * For a candidate window of histogram bins [i_lo, i_hi) (m bins):
 *   P: the window's counts, with the mass below folded into its first bin and
 *      the mass above into its last (the outliers the quantizer clips);
 *   Q: the window's counts without outliers merged into L groups of about m/L
 *      consecutive bins (group g = bins floor(g m / L) .. floor((g+1) m / L) - 1,
 *      so groups differ by at most one bin; TensorRT gives the remainder to the
 *      last group instead), each group's mass spread evenly over the bins of
 *      the group where P is non-zero: the distribution a quantizer with L
 *      levels on the window can represent;
 *   cost: KL(P || Q) = Σ p log(p / q) after normalizing both. A bin with P > 0
 *      but Q = 0 (an empty group receiving only outliers) gets Q = 1e-4 counts,
 *      the role ORT's smooth_distribution plays.
 * Two departures from a literal reading of TensorRT, as NVIDIA's
 * pytorch-quantization (calib/histogram.py, _compute_amax_entropy) makes too:
 *   - the bin holding 0 gets its neighbours' count. After a ReLU most values
 *     are exactly 0; 0 is on every candidate grid, so that mass carries no
 *     information about the range, but Q spreads it over the whole first
 *     group and the cost then favours the narrowest windows (measured: lenet5
 *     W8A4 picked ReLU ranges 7 to 56 times below MSE's and fell to 11% top-1);
 *   - the narrowest window is a sixteenth of the data's span (TensorRT's 128 of
 *     2048 bins; pytorch-quantization keeps start_bin = 128 at every bit
 *     width) and never fewer than L bins. With one bin per level the cost
 *     cannot see rounding at all, so at 4 bits (L = 16) windows of 16 bins
 *     looked free.
 * L = 2^(b-1) for symmetric schemes, searched on the histogram of |x| with the
 * window [0, t) (TensorRT's int8 setting: 128 levels); L = 2^b for asymmetric
 * schemes, searched over (lo, hi) on the histogram re-binned to contain 0.
 * Candidate ends come from range_search (grid then zoom) snapped to bin edges,
 * rather than TensorRT's exhaustive scan of every edge. When no window has L
 * bins (e.g. 16-bit quantization of a 2048-bin histogram) KL cannot tell ranges
 * apart and the method returns min-max. */
#include <math.h>
#include <stdlib.h>

#include "base/status.h"
#include "calib/range_finders.h"
#include "calib/range_search.h"

#define EMPTY_GROUP_COUNT 1e-4 /* Q of a P > 0 bin in an empty group (smoothing) */
#define MIN_WINDOW_FRACTION 16  /* the narrowest window: span / 16 (TensorRT: 128 of 2048 bins) */

typedef struct kl_search {
    const nnq_histogram *histogram; /* contains 0 in its range */
    const uint64_t *cumulative;     /* cumulative[i] = counts of bins < i, n_bins + 1 entries */
    int64_t levels;
    int64_t min_bins;               /* the narrowest candidate window */
} kl_search;

static int64_t edge_index(const nnq_histogram *h, double x) {
    int64_t i = llround(x / histogram_bin_width(h)) - h->first_bin;
    return i < 0 ? 0 : i > h->n_bins ? h->n_bins : i;
}

static double kl_cost(void *context, double lo, double hi) {
    const kl_search *s = context;
    const nnq_histogram *h = s->histogram;
    int64_t first = edge_index(h, lo), end = edge_index(h, hi), m = end - first;
    if (m < s->min_bins) return HUGE_VAL;
    double below = (double)s->cumulative[first], above = (double)(s->cumulative[h->n_bins] - s->cumulative[end]);
    double sum_p_log_ratio = 0.0, q_total = 0.0;
    for (int64_t g = 0; g < s->levels; g++) {
        int64_t j0 = g * m / s->levels, j1 = (g + 1) * m / s->levels;
        double group_mass = (double)(s->cumulative[first + j1] - s->cumulative[first + j0]);
        int64_t nonzero = 0;
        for (int64_t j = j0; j < j1; j++) {
            double p = (double)h->counts[first + j] + (j == 0 ? below : 0.0) + (j == m - 1 ? above : 0.0);
            nonzero += p > 0.0;
        }
        if (!nonzero) continue;
        double q_share = group_mass > 0.0 ? group_mass / (double)nonzero : EMPTY_GROUP_COUNT;
        for (int64_t j = j0; j < j1; j++) {
            double p = (double)h->counts[first + j] + (j == 0 ? below : 0.0) + (j == m - 1 ? above : 0.0);
            if (p <= 0.0) continue;
            sum_p_log_ratio += p * log(p / q_share);
            q_total += q_share;
        }
    }
    /* Σ (p/P) log((p/P) / (q/Q)) = Σ p log(p/q) / P + log(Q / P), P = all values. */
    double p_total = (double)s->cumulative[h->n_bins];
    return sum_p_log_ratio / p_total + log(q_total / p_total);
}

/* Gives the bin holding 0 the mean count of its neighbours, when that is
 * lower (the exact zeros after a ReLU; see the header). h->total is left as
 * it was: the cost reads totals from the cumulative counts. */
static void flatten_zero_bin(nnq_histogram *h) {
    int64_t zero = -h->first_bin; /* lattice bin 0 = [0, w) */
    if (zero < 0 || zero >= h->n_bins) return;
    uint64_t sum = 0, n = 0;
    if (zero > 0) sum += h->counts[zero - 1], n++;
    if (zero + 1 < h->n_bins) sum += h->counts[zero + 1], n++;
    if (n && sum / n < h->counts[zero]) h->counts[zero] = sum / n;
}

nnq_status range_find_kl(const nnq_observer *observer, const nnq_qscheme *scheme, const nnq_calib_options *options,
                         double *lo, double *hi) {
    (void)options;
    double lo_limit, hi_limit;
    range_search_limits(observer, scheme, &lo_limit, &hi_limit);
    *lo = observer->min;
    *hi = observer->max;
    if (lo_limit == 0.0 && hi_limit == 0.0) return NNQ_OK;

    nnq_histogram window_histogram;
    NNQ_TRY(histogram_init(&window_histogram, observer->histogram.n_bins));
    if (scheme->symmetric) histogram_fold_abs(&observer->histogram, &window_histogram);
    else histogram_rebin_covering(&observer->histogram, 0.0, 0.0, &window_histogram);
    flatten_zero_bin(&window_histogram);
    uint64_t *cumulative = malloc(((size_t)window_histogram.n_bins + 1) * sizeof *cumulative);
    if (!cumulative) {
        histogram_free(&window_histogram);
        return nnq_fail(NNQ_ERR_NOMEM, "cannot allocate the KL search's cumulative counts");
    }
    cumulative[0] = 0;
    for (int i = 0; i < window_histogram.n_bins; i++) cumulative[i + 1] = cumulative[i] + window_histogram.counts[i];

    int64_t levels = (int64_t)1 << (scheme->symmetric ? scheme->bits - 1 : scheme->bits);
    int64_t span = edge_index(&window_histogram, hi_limit) - edge_index(&window_histogram, lo_limit);
    int64_t min_bins = span / MIN_WINDOW_FRACTION > levels ? span / MIN_WINDOW_FRACTION : levels;
    kl_search search = {&window_histogram, cumulative, levels, min_bins};
    double best_lo, best_hi;
    double best = range_search(kl_cost, &search, lo_limit, hi_limit, &best_lo, &best_hi);
    if (best < HUGE_VAL) { /* report the window's bin edges, which the cost actually measured */
        *lo = histogram_bin_left(&window_histogram, edge_index(&window_histogram, best_lo));
        *hi = histogram_bin_left(&window_histogram, edge_index(&window_histogram, best_hi));
    }
    free(cumulative);
    histogram_free(&window_histogram);
    return NNQ_OK;
}
