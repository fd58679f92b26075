#include "calib/range_bn.h"

#include <math.h>

#include "base/status.h"

nnq_status calib_bn_range(const float *beta, const float *gamma, int64_t channels, double alpha, bool relu_follows,
                          float *lo, float *hi) {
    if (channels < 1) return nnq_fail(NNQ_ERR_INVALID, "BN range needs at least one channel");
    if (!(alpha > 0.0)) return nnq_fail(NNQ_ERR_INVALID, "BN range alpha = %g must be positive", alpha);
    double range_lo = INFINITY, range_hi = -INFINITY;
    for (int64_t c = 0; c < channels; c++) {
        if (!isfinite(beta[c]) || !isfinite(gamma[c]))
            return nnq_fail(NNQ_ERR_INVALID, "BN channel %lld has a non-finite beta or gamma", (long long)c);
        double spread = alpha * fabs((double)gamma[c]);
        range_lo = fmin(range_lo, beta[c] - spread); /* eq. 18 */
        range_hi = fmax(range_hi, beta[c] + spread); /* eq. 19 */
    }
    if (relu_follows) {
        range_lo = fmax(range_lo, 0.0);
        range_hi = fmax(range_hi, 0.0);
    }
    *lo = (float)range_lo;
    *hi = (float)range_hi;
    return NNQ_OK;
}
