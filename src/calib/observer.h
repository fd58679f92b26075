/* Everything calibration records about one tensor, fed batch after batch.
 *
 * An nnq_observer bundles the streaming statistics the range methods need,
 * all with memory independent of the number of samples:
 *   - exact min / max of the finite values;
 *   - moving-average min / max: per batch, m <- m + c·(batch_min - m), the
 *     first batch initializing it (PyTorch's MovingAverageMinMaxObserver,
 *     ORT's moving average; c = options.ema_constant);
 *   - mean and variance (moments.h);
 *   - a growing histogram with exact counts (histogram.h);
 *   - for tensors flagged as logits, a reservoir of whole logit vectors
 *     (logit_reservoir.h) for the cross-entropy method;
 *   - counts of NaN, +Inf and -Inf, which every statistic above excludes.
 *
 * Typical use (one observer per tapped tensor):
 *     nnq_observer obs;
 *     NNQ_TRY(observer_init(&obs, &options, 0));          // 0: not logits
 *     for each batch: NNQ_TRY(observer_feed(&obs, data, numel));
 *     NNQ_TRY(calib_find_range(&obs, NNQ_RANGE_MSE, &scheme, &options, &lo, &hi));
 *     if (observer_nonfinite_count(&obs)) warn ...;
 *     observer_free(&obs);
 *
 * Merging: observer_merge(a, b) makes a as if it had also seen b's batches.
 * min/max, counts, the histogram (bin for bin) are exactly those of a single
 * pass over all batches; mean/variance agree up to double rounding. Two
 * statistics are order-dependent by nature and merge approximately: the
 * moving-average min/max (batch-count-weighted average of the two) and the
 * logit reservoir (a uniform sample of the union, see logit_reservoir.h).
 *
 * An observer is not thread-safe; give each thread its own and merge. */
#ifndef NNQ_CALIB_OBSERVER_H
#define NNQ_CALIB_OBSERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "calib/calib_options.h"
#include "calib/histogram.h"
#include "calib/logit_reservoir.h"
#include "calib/moments.h"
#include "nnquant.h"

typedef struct nnq_observer {
    uint64_t finite_count;
    uint64_t nan_count, positive_inf_count, negative_inf_count;
    double min, max;         /* of the finite values; meaningless while finite_count == 0 */
    double ema_min, ema_max; /* moving-average extremes */
    uint64_t ema_batches;    /* batches that had finite values */
    double ema_constant;
    nnq_moments moments;
    nnq_histogram histogram;
    bool is_logits;          /* has a reservoir */
    nnq_logit_reservoir reservoir;
    uint64_t reservoir_seed;
} nnq_observer;

/* An empty observer. logit_classes > 0 flags the tensor as logits and sizes the
 * vectors of its reservoir (options->xent_reservoir_size of them); 0 for any
 * other tensor. Validates options. */
nnq_status observer_init(nnq_observer *observer, const nnq_calib_options *options, int64_t logit_classes);
void observer_free(nnq_observer *observer);
/* Empties the observer, keeping its buffers (for reuse on another tensor of the same kind). */
void observer_reset(nnq_observer *observer);

/* Records one batch of count values. For a logits observer the batch is
 * count / classes vectors, class axis innermost (NNQ_ERR_INVALID if count is
 * not a multiple of classes). */
nnq_status observer_feed(nnq_observer *observer, const float *values, int64_t count);

/* into += from (see above for which statistics merge exactly). The two must
 * have the same histogram size and, for logits, the same reservoir shape. */
nnq_status observer_merge(nnq_observer *into, const nnq_observer *from);

/* NaN + Inf values seen (excluded from every statistic): report them. */
uint64_t observer_nonfinite_count(const nnq_observer *observer);

#endif
