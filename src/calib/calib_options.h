/* Options shared by the observers and the range-setting methods.
 *
 * Fill with calib_options_default() and override fields; every method reads
 * only the fields it needs. Defaults and where they come from:
 *   quantile            0.9999  fraction of the values kept (N2D2 -act-quantile-value)
 *   meanstd_k           3       mean ± k·std (calibration slides, seed 002)
 *   bn_alpha            6       β ± α·γ (white paper eq. 18-19, after Nagel et al. 2019)
 *   histogram_bins      2048    bins of each observer's histogram (TensorRT / ORT's default size)
 *   ema_constant        0.01    weight of the new batch in the moving-average min/max
 *                               (PyTorch MovingAverageMinMaxObserver's averaging_constant, ORT's too)
 *   xent_reservoir_size 1024    logit vectors kept for the cross-entropy method (eq. 17)
 *   reservoir_seed      fixed   seed of the reservoir sampling, so calibration is reproducible */
#ifndef NNQ_CALIB_OPTIONS_H
#define NNQ_CALIB_OPTIONS_H

#include <stdint.h>

#include "nnquant.h"

typedef struct nnq_calib_options {
    double quantile;         /* (0, 1]: fraction of the values kept unclipped by "quantile" */
    double meanstd_k;        /* > 0 */
    double bn_alpha;         /* > 0 */
    int histogram_bins;      /* CALIB_MIN_HISTOGRAM_BINS .. CALIB_MAX_HISTOGRAM_BINS */
    double ema_constant;     /* (0, 1] */
    int xent_reservoir_size; /* >= 1: logit vectors kept per logits tensor */
    uint64_t reservoir_seed;
} nnq_calib_options;

#define CALIB_MIN_HISTOGRAM_BINS 16
#define CALIB_MAX_HISTOGRAM_BINS (1 << 24)

void calib_options_default(nnq_calib_options *options);

/* NNQ_ERR_USAGE with the offending field named when a value is out of range. */
nnq_status calib_options_validate(const nnq_calib_options *options);

#endif
