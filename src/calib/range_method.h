/* Range setting: from an observer to the real range [lo, hi] a tensor is
 * quantized with (white paper §3.1; N2D2 PTQ; ORT / TensorRT calibrators).
 *
 * Methods (one row each in range_method.c's table; name in parentheses):
 *   NNQ_RANGE_MINMAX   ("minmax")   observed min and max, no clipping (eq. 14-15).
 *   NNQ_RANGE_EMA      ("ema")      moving-average min and max over batches.
 *   NNQ_RANGE_QUANTILE ("quantile") keeps options.quantile of the values: symmetric
 *                      schemes clip |x| at its q-quantile; asymmetric ones clip
 *                      (1-q)/2 of the mass on each side. Quantiles interpolate
 *                      inside histogram bins (N2D2's Quantile mode).
 *   NNQ_RANGE_MSE      ("mse")      minimizes the expected squared error of
 *                      quantize→dequantize (eq. 16) over the histogram, clipping
 *                      and rounding error integrated exactly within each bin
 *                      (values uniform inside a bin). Symmetric: 1-D search over
 *                      the threshold; asymmetric: 2-D over (lo, hi). range_mse.c.
 *   NNQ_RANGE_KL       ("kl")       entropy calibration (TensorRT, ORT's Entropy
 *                      calibrator, N2D2's KL-Divergence): minimizes KL(P || Q)
 *                      between the clipped histogram and its quantized version.
 *                      range_kl.c documents the variant.
 *   NNQ_RANGE_MEANSTD  ("meanstd")  mean ± k·std, clipped to [min, max].
 *   NNQ_RANGE_XENT     ("xent")     for logits: minimizes the cross-entropy between
 *                      softmax of FP and of quantized logit vectors (eq. 17), over
 *                      the observer's logit reservoir. range_xent.c.
 *   NNQ_RANGE_MSE_XENT ("mse+xent") xent for observers created as logits, mse for
 *                      all others (white paper Table 2's "MSE + Xent").
 *   NNQ_RANGE_BN       ("bn")       data-free, from the preceding BatchNorm (eq. 18-19):
 *                      not computed from an observer, call calib_bn_range (range_bn.h).
 *
 * Returned ranges: for symmetric schemes [-t, t]; otherwise [lo, hi] with
 * lo <= hi, which may exclude 0 (qscheme_params widens it to contain 0). Feed
 * them to qscheme_params to get scale and zero point. */
#ifndef NNQ_CALIB_RANGE_METHOD_H
#define NNQ_CALIB_RANGE_METHOD_H

#include <stdbool.h>

#include "calib/calib_options.h"
#include "calib/observer.h"
#include "nnquant.h"
#include "quant/qscheme.h"

typedef enum nnq_range_method {
    NNQ_RANGE_MINMAX,
    NNQ_RANGE_EMA,
    NNQ_RANGE_QUANTILE,
    NNQ_RANGE_MSE,
    NNQ_RANGE_KL,
    NNQ_RANGE_MEANSTD,
    NNQ_RANGE_XENT,
    NNQ_RANGE_MSE_XENT,
    NNQ_RANGE_BN,
    NNQ_RANGE_METHOD_COUNT
} nnq_range_method;

/* What a method computes its range from. */
typedef enum nnq_range_input {
    NNQ_RANGE_FROM_STATISTICS, /* min/max, moments or histogram of the observer */
    NNQ_RANGE_FROM_BATCHES,    /* order of the batches (ema): not for weights */
    NNQ_RANGE_FROM_LOGITS,     /* logit vectors: observer created with logit_classes > 0 */
    NNQ_RANGE_FROM_BN          /* BatchNorm parameters, no data: calib_bn_range */
} nnq_range_input;

/* "minmax", "mse", ...; NULL for an out-of-range value. */
const char *range_method_name(nnq_range_method method);
/* The method named name (case-sensitive; "none" is accepted for "minmax", as
 * N2D2 calls no clipping). NNQ_ERR_USAGE listing the valid names otherwise. */
nnq_status range_method_from_name(const char *name, nnq_range_method *method);
nnq_range_input range_method_input(nnq_range_method method);

/* The range of the observed tensor for scheme with method. Fails with
 * NNQ_ERR_INVALID when the observer holds no finite value (message gives the
 * NaN/Inf counts) or lacks what the method needs (xent without a logit
 * reservoir), NNQ_ERR_USAGE for NNQ_RANGE_BN or a bad scheme/options. */
nnq_status calib_find_range(const nnq_observer *observer, nnq_range_method method, const nnq_qscheme *scheme,
                            const nnq_calib_options *options, float *lo, float *hi);

#endif
