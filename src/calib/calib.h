/* nnquant calibration: observers and range setting (src/calib/).
 *
 * The module turns FP32 tensors seen during calibration (or weights, or
 * BatchNorm parameters) into real ranges [lo, hi]; quant/qscheme.h turns a
 * range into scale and zero point. It never touches the graph.
 *
 *   calib_options.h   options and their defaults (quantile 0.9999, k = 3, α = 6,
 *                     2048 bins, EMA constant 0.01, 1024 logit vectors)
 *   observer.h        nnq_observer: streaming statistics of one tensor (min/max,
 *                     moving-average min/max, mean/std, growing exact histogram,
 *                     logit reservoir, NaN/Inf counts); feed, merge, reset
 *     histogram.h       the power-of-two-width histogram (exact growth and merge)
 *     moments.h         mean / variance (Chan-Welford)
 *     logit_reservoir.h reservoir sampling of logit vectors
 *   range_method.h    the method table (minmax, ema, quantile, mse, kl, meanstd,
 *                     xent, mse+xent, bn) and calib_find_range(observer, ...)
 *     range_mse.h       the exact per-bin quantization-error model behind mse
 *     range_search.h    the grid-and-zoom search shared by mse, kl and xent
 *   range_bn.h        calib_bn_range: data-free range from BN β, γ (eq. 18-19)
 *   weight_range.h    calib_weight_ranges: per-tensor / per-channel weight ranges
 *
 * Integration sketch: one observer per tapped activation (logit_classes > 0
 * for the logits feeding the final softmax/argmax), observer_feed on every
 * batch, observer_merge across threads or MPI ranks, then calib_find_range per
 * tensor with its nnq_qscheme; calib_weight_ranges for weights; calib_bn_range
 * when calibrating without data. Adding a method: one file range_<name>.c with
 * a range_finder_fn (range_finders.h), one enum value, one table row. */
#ifndef NNQ_CALIB_CALIB_H
#define NNQ_CALIB_CALIB_H

#include "calib/calib_options.h"
#include "calib/observer.h"
#include "calib/range_bn.h"
#include "calib/range_method.h"
#include "calib/weight_range.h"

#endif
