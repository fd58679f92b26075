/* Ranges of a weight tensor, computed directly from its values.
 *
 * Per tensor (axis < 0: one range) or per channel along `axis` (dims[axis]
 * ranges, e.g. axis 0 for Conv weights [M, C/group, kH, kW], each channel's
 * range found from its own values only). Each channel's values go through an
 * observer and calib_find_range, so the methods are exactly the activation
 * ones: "minmax" (N2D2's "None"), "mse", "kl", and also "quantile" and
 * "meanstd". Methods needing batches, logits or BN (ema, xent, mse+xent, bn)
 * are refused with NNQ_ERR_USAGE. NaN/Inf weights are excluded; a channel
 * with no finite weight fails with NNQ_ERR_INVALID naming the channel.
 * Memory: one observer and one channel-sized buffer, whatever the channel count. */
#ifndef NNQ_CALIB_WEIGHT_RANGE_H
#define NNQ_CALIB_WEIGHT_RANGE_H

#include "calib/calib_options.h"
#include "calib/range_method.h"
#include "ir/tensor.h"
#include "nnquant.h"
#include "quant/qscheme.h"

/* The number of ranges calib_weight_ranges writes: 1 for axis < 0, dims[axis]
 * otherwise; -1 if axis >= rank or the shape is unknown. */
int64_t calib_weight_range_count(const nnq_tensor *weights, int axis);

/* Writes calib_weight_range_count(weights, axis) ranges to lo[] and hi[].
 * weights: NNQ_FLOAT with data. */
nnq_status calib_weight_ranges(const nnq_tensor *weights, int axis, nnq_range_method method, const nnq_qscheme *scheme,
                               const nnq_calib_options *options, float *lo, float *hi);

#endif
