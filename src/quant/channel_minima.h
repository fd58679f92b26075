/* Per-channel minima of layer outputs over calibration data: the empirical
 * shift of high-bias absorption (white paper eq. 24: c = max(0, min over the
 * data of W1 x + b1)). One pass observes every Conv, ConvTranspose, Gemm and
 * MatMul output along its channel axis (axis 1). */
#ifndef NNQ_QUANT_CHANNEL_MINIMA_H
#define NNQ_QUANT_CHANNEL_MINIMA_H

#include "base/name_map.h"
#include "data/dataset.h"
#include "ir/graph.h"

typedef struct channel_minima {
    int count;
    char **tensors;
    int64_t *channels;
    float **minimum;   /* minimum[k][c] */
    name_map by_tensor;
} channel_minima;

/* Runs every sample of dataset through model. */
nnq_status channel_minima_measure(const nnq_model *model, nnq_dataset *dataset, int64_t batch_size,
                                  channel_minima *out);
void channel_minima_free(channel_minima *minima);
/* Copies the minima of tensor into out[channels]; false when not measured or sized differently. */
bool channel_minima_get(const channel_minima *minima, const char *tensor, int64_t channels, float *out);

#endif
