#include "calib/calib_options.h"

#include "base/status.h"

void calib_options_default(nnq_calib_options *options) {
    options->quantile = 0.9999;
    options->meanstd_k = 3.0;
    options->bn_alpha = 6.0;
    options->histogram_bins = 2048;
    options->ema_constant = 0.01;
    options->xent_reservoir_size = 1024;
    options->reservoir_seed = 0x6e6e7175616e74ULL; /* "nnquant" */
}

nnq_status calib_options_validate(const nnq_calib_options *options) {
    if (!(options->quantile > 0.0 && options->quantile <= 1.0))
        return nnq_fail(NNQ_ERR_USAGE, "calibration quantile %g is not in (0, 1]", options->quantile);
    if (!(options->meanstd_k > 0.0))
        return nnq_fail(NNQ_ERR_USAGE, "mean/std multiplier k = %g must be positive", options->meanstd_k);
    if (!(options->bn_alpha > 0.0))
        return nnq_fail(NNQ_ERR_USAGE, "BN range alpha = %g must be positive", options->bn_alpha);
    if (options->histogram_bins < CALIB_MIN_HISTOGRAM_BINS || options->histogram_bins > CALIB_MAX_HISTOGRAM_BINS)
        return nnq_fail(NNQ_ERR_USAGE, "histogram bins %d not in [%d, %d]", options->histogram_bins,
                        CALIB_MIN_HISTOGRAM_BINS, CALIB_MAX_HISTOGRAM_BINS);
    if (!(options->ema_constant > 0.0 && options->ema_constant <= 1.0))
        return nnq_fail(NNQ_ERR_USAGE, "moving-average constant %g is not in (0, 1]", options->ema_constant);
    if (options->xent_reservoir_size < 1)
        return nnq_fail(NNQ_ERR_USAGE, "logit reservoir size %d must be at least 1", options->xent_reservoir_size);
    return NNQ_OK;
}
