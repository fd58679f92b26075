#include "calib/observer.h"

#include <math.h>
#include <string.h>

#include "base/status.h"

nnq_status observer_init(nnq_observer *observer, const nnq_calib_options *options, int64_t logit_classes) {
    memset(observer, 0, sizeof *observer);
    NNQ_TRY(calib_options_validate(options));
    if (logit_classes < 0) return nnq_fail(NNQ_ERR_USAGE, "negative logit class count %lld", (long long)logit_classes);
    NNQ_TRY(histogram_init(&observer->histogram, options->histogram_bins));
    if (logit_classes > 0) {
        nnq_status status = logit_reservoir_init(&observer->reservoir, logit_classes, options->xent_reservoir_size,
                                                 options->reservoir_seed);
        if (status != NNQ_OK) {
            histogram_free(&observer->histogram);
            return status;
        }
        observer->is_logits = true;
    }
    observer->ema_constant = options->ema_constant;
    observer->reservoir_seed = options->reservoir_seed;
    return NNQ_OK;
}

void observer_free(nnq_observer *observer) {
    histogram_free(&observer->histogram);
    if (observer->is_logits) logit_reservoir_free(&observer->reservoir);
    memset(observer, 0, sizeof *observer);
}

void observer_reset(nnq_observer *observer) {
    observer->finite_count = observer->nan_count = 0;
    observer->positive_inf_count = observer->negative_inf_count = 0;
    observer->min = observer->max = 0.0;
    observer->ema_min = observer->ema_max = 0.0;
    observer->ema_batches = 0;
    moments_reset(&observer->moments);
    histogram_reset(&observer->histogram);
    if (observer->is_logits) logit_reservoir_reset(&observer->reservoir, observer->reservoir_seed);
}

nnq_status observer_feed(nnq_observer *observer, const float *values, int64_t count) {
    if (count < 0) return nnq_fail(NNQ_ERR_USAGE, "negative batch size %lld", (long long)count);
    if (observer->is_logits && count % observer->reservoir.classes)
        return nnq_fail(NNQ_ERR_INVALID, "a logits batch of %lld values is not a whole number of %lld-class vectors",
                        (long long)count, (long long)observer->reservoir.classes);
    double batch_min = INFINITY, batch_max = -INFINITY;
    uint64_t finite = 0;
    for (int64_t i = 0; i < count; i++) {
        float x = values[i];
        if (isnan(x)) observer->nan_count++;
        else if (isinf(x)) {
            if (x > 0) observer->positive_inf_count++;
            else observer->negative_inf_count++;
        } else {
            batch_min = fmin(batch_min, x);
            batch_max = fmax(batch_max, x);
            finite++;
        }
    }
    if (finite) {
        if (observer->finite_count) {
            observer->min = fmin(observer->min, batch_min);
            observer->max = fmax(observer->max, batch_max);
        } else {
            observer->min = batch_min;
            observer->max = batch_max;
        }
        observer->finite_count += finite;
        if (observer->ema_batches) {
            /* PyTorch MovingAverageMinMaxObserver: min <- min + c (batch_min - min). */
            observer->ema_min += observer->ema_constant * (batch_min - observer->ema_min);
            observer->ema_max += observer->ema_constant * (batch_max - observer->ema_max);
        } else {
            observer->ema_min = batch_min;
            observer->ema_max = batch_max;
        }
        observer->ema_batches++;
        moments_add(&observer->moments, values, count);
        histogram_add(&observer->histogram, values, count);
    }
    if (observer->is_logits) logit_reservoir_add(&observer->reservoir, values, count / observer->reservoir.classes);
    return NNQ_OK;
}

nnq_status observer_merge(nnq_observer *into, const nnq_observer *from) {
    if (into->is_logits != from->is_logits)
        return nnq_fail(NNQ_ERR_INVALID, "cannot merge a logits observer with a non-logits one");
    if (into->histogram.n_bins != from->histogram.n_bins)
        return nnq_fail(NNQ_ERR_INVALID, "cannot merge observers with histograms of %d and %d bins",
                        into->histogram.n_bins, from->histogram.n_bins);
    /* The reservoir merge is the only step that can still fail: do it before changing anything else. */
    if (into->is_logits) NNQ_TRY(logit_reservoir_merge(&into->reservoir, &from->reservoir));
    NNQ_TRY(histogram_merge(&into->histogram, &from->histogram));
    into->nan_count += from->nan_count;
    into->positive_inf_count += from->positive_inf_count;
    into->negative_inf_count += from->negative_inf_count;
    if (from->finite_count) {
        if (into->finite_count) {
            into->min = fmin(into->min, from->min);
            into->max = fmax(into->max, from->max);
        } else {
            into->min = from->min;
            into->max = from->max;
        }
        into->finite_count += from->finite_count;
    }
    if (from->ema_batches) {
        /* Not mergeable exactly (order-dependent): weight each side by its batch count. */
        double a = (double)into->ema_batches, b = (double)from->ema_batches;
        into->ema_min = (into->ema_min * a + from->ema_min * b) / (a + b);
        into->ema_max = (into->ema_max * a + from->ema_max * b) / (a + b);
        into->ema_batches += from->ema_batches;
    }
    moments_merge(&into->moments, &from->moments);
    return NNQ_OK;
}

uint64_t observer_nonfinite_count(const nnq_observer *observer) {
    return observer->nan_count + observer->positive_inf_count + observer->negative_inf_count;
}
