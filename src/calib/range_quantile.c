/* "quantile": clip a fixed fraction of the values (N2D2's Quantile mode,
 * -act-quantile-value 0.9999; the slides' "ignore the last x%"). */
#include <math.h>

#include "base/status.h"
#include "calib/range_finders.h"

nnq_status range_find_quantile(const nnq_observer *observer, const nnq_qscheme *scheme,
                               const nnq_calib_options *options, double *lo, double *hi) {
    double kept = options->quantile;
    if (scheme->symmetric) {
        /* One threshold for both signs: the kept-quantile of |x|. */
        nnq_histogram magnitudes;
        NNQ_TRY(histogram_init(&magnitudes, observer->histogram.n_bins));
        histogram_fold_abs(&observer->histogram, &magnitudes);
        double threshold = histogram_quantile(&magnitudes, kept);
        histogram_free(&magnitudes);
        *lo = -threshold;
        *hi = threshold;
        return NNQ_OK;
    }
    /* Asymmetric: the clipped fraction 1 - q is split evenly between both tails. */
    double tail = 0.5 * (1.0 - kept);
    *lo = histogram_quantile(&observer->histogram, tail);
    *hi = histogram_quantile(&observer->histogram, 1.0 - tail);
    return NNQ_OK;
}
