#include "intq/layer_rescale.h"

#include <math.h>
#include <stdlib.h>

static int32_t channel_max_abs(const intq_layer *layer, int c) {
    int32_t max = 0;
    for (int32_t k = 0; k < layer->per_channel; k++) {
        int32_t v = abs(layer->weights[(int64_t)c * layer->per_channel + k]);
        if (v > max) max = v;
    }
    return max;
}

/* The multiplier that, after compensation, leaves channel c's weights within the grid: m_c max|w| / q_max. */
static double smallest_safe_multiplier(const intq_layer *layer, int c) {
    int32_t max = channel_max_abs(layer, c);
    return max == 0 ? 0.0 : layer->multipliers[c] * (double)max / (double)layer->weight_max;
}

static bool multipliers_equal(const intq_layer *layer) {
    for (int c = 1; c < layer->channels; c++)
        if (layer->multipliers[c] != layer->multipliers[0]) return false;
    return true;
}

static intq_rescale compensated_rescale(intq_rescale_mode mode, double safe) {
    /* A channel of zeros imposes nothing: any positive multiplier will do. */
    return intq_rescale_derive_at_least(mode, safe > 0 ? safe : 1e-9);
}

/* Re-quantizes channel c's weights and bias by r (round half to even, saturating). */
static void fold_ratio(intq_layer *layer, int c, double r) {
    for (int32_t k = 0; k < layer->per_channel; k++) {
        int8_t *w = &layer->weights[(int64_t)c * layer->per_channel + k];
        double v = nearbyint(*w * r);
        *w = (int8_t)(v < layer->weight_min ? layer->weight_min : v > layer->weight_max ? layer->weight_max : v);
    }
    double b = nearbyint(layer->bias[c] * r);
    layer->bias[c] = b > INT32_MAX ? INT32_MAX : b < INT32_MIN ? INT32_MIN : (int32_t)b;
}

nnq_status intq_layer_rescale(intq_layer *layer, intq_rescale_mode requested, bool per_output,
                              intq_output_stage *stage) {
    int n = per_output ? layer->channels : 1;
    NNQ_TRY(intq_output_stage_init(stage, n));
    intq_rescale_mode mode = intq_rescale_mode_for(requested, layer->multipliers, layer->channels);
    stage->mode = mode;
    bool compensate = intq_rescale_mode_info_of(mode)->compensate_in_weights || (!per_output && !multipliers_equal(layer));
    if (!compensate) {
        for (int i = 0; i < n; i++) stage->rescales[i] = intq_rescale_derive(mode, layer->multipliers[i]);
        return NNQ_OK;
    }
    if (per_output) {
        for (int c = 0; c < n; c++) stage->rescales[c] = compensated_rescale(mode, smallest_safe_multiplier(layer, c));
    } else {
        double safe = 0.0;
        for (int c = 0; c < layer->channels; c++) safe = fmax(safe, smallest_safe_multiplier(layer, c));
        stage->rescales[0] = compensated_rescale(mode, safe);
    }
    for (int c = 0; c < layer->channels; c++) {
        double realized = intq_rescale_value(&stage->rescales[per_output ? c : 0]);
        fold_ratio(layer, c, layer->multipliers[c] / realized);
    }
    return NNQ_OK;
}
