#include "calib/weight_range.h"

#include <stdlib.h>

#include "base/status.h"
#include "calib/observer.h"

int64_t calib_weight_range_count(const nnq_tensor *weights, int axis) {
    if (!tensor_shape_known(weights) || axis >= weights->rank) return -1;
    return axis < 0 ? 1 : weights->dims[axis];
}

nnq_status calib_weight_ranges(const nnq_tensor *weights, int axis, nnq_range_method method, const nnq_qscheme *scheme,
                               const nnq_calib_options *options, float *lo, float *hi) {
    const char *name = weights->name ? weights->name : "(unnamed)";
    if (range_method_input(method) != NNQ_RANGE_FROM_STATISTICS)
        return nnq_fail(NNQ_ERR_USAGE, "weights of '%s': range method '%s' is not computed from values alone", name,
                        range_method_name(method) ? range_method_name(method) : "?");
    if (weights->dtype != NNQ_FLOAT || !weights->data)
        return nnq_fail(NNQ_ERR_INVALID, "weights of '%s': need float data", name);
    int64_t channels = calib_weight_range_count(weights, axis);
    if (channels < 0)
        return nnq_fail(NNQ_ERR_INVALID, "weights of '%s': axis %d for rank %d", name, axis, weights->rank);
    int64_t numel = tensor_numel(weights);
    /* Channel c of [outer, channels, inner] is outer runs of `inner` values, `channels * inner` apart. */
    int64_t inner = axis < 0 ? numel : dims_numel(weights->dims + axis + 1, weights->rank - axis - 1);
    int64_t outer = axis < 0 ? 1 : dims_numel(weights->dims, axis);
    int64_t channel_size = outer * inner;
    if (channels == 0 || channel_size == 0) return NNQ_OK;

    nnq_observer observer;
    NNQ_TRY(observer_init(&observer, options, 0));
    const float *data = weights->data;
    float *gathered = NULL;
    if (axis >= 0 && outer > 1) {
        gathered = malloc((size_t)channel_size * sizeof *gathered);
        if (!gathered) {
            observer_free(&observer);
            return nnq_fail(NNQ_ERR_NOMEM, "weights of '%s': cannot allocate a channel of %lld values", name,
                            (long long)channel_size);
        }
    }
    nnq_status status = NNQ_OK;
    for (int64_t c = 0; c < channels && status == NNQ_OK; c++) {
        const float *values = data + c * inner;
        if (gathered) {
            for (int64_t o = 0; o < outer; o++)
                for (int64_t i = 0; i < inner; i++) gathered[o * inner + i] = data[(o * channels + c) * inner + i];
            values = gathered;
        }
        observer_reset(&observer);
        status = observer_feed(&observer, values, channel_size);
        if (status == NNQ_OK) status = calib_find_range(&observer, method, scheme, options, &lo[c], &hi[c]);
        if (status != NNQ_OK) status = nnq_fail_context(status, "weights of '%s', channel %lld", name, (long long)c);
    }
    free(gathered);
    observer_free(&observer);
    return status;
}
