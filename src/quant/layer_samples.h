/* What one layer sees over calibration data, cached for AdaRound (white
 * paper §3.4): its input x^ in the fake-quantized simulation (preceding
 * layers quantized) and its FP32 target f_a(W x + b) from the original
 * model on the same samples. Both are kept per unit - an image for a Conv,
 * a row for Gemm/MatMul - and served as GEMM columns: for a Conv, column
 * (unit, position) is the im2col patch of output position `position`. */
#ifndef NNQ_QUANT_LAYER_SAMPLES_H
#define NNQ_QUANT_LAYER_SAMPLES_H

#include "data/dataset.h"
#include "ops/im2col.h"
#include "quant/quantized_layer.h"
#include "run/simulation.h"

typedef struct layer_samples {
    int64_t units;            /* cached units */
    int64_t unit_size;        /* floats of x^ per unit: C x image (Conv) or K */
    int64_t positions;        /* columns per unit: output positions (Conv) or 1 */
    int64_t rows;             /* M */
    int64_t depth;            /* K */
    im2col_geometry geometry; /* Conv: the window over one image */
    float *inputs;            /* [units][unit_size] x^ */
    float *targets;           /* [units][M][positions] f_a(W x + b) */
} layer_samples;

/* Runs the first `images` samples of data (batches of batch_size) through
 * the FP32 model fp32 and the simulation sim - whose model is `model`, in
 * which layer was found - caching layer's input from sim and its output,
 * clamped to f_a, from fp32. Group convolutions are not supported. */
nnq_status layer_samples_collect(const nnq_model *fp32, nnq_simulation *sim, const nnq_model *model,
                                 const quantized_layer *layer, nnq_dataset *data, int64_t images, int64_t batch_size,
                                 layer_samples *out);
void layer_samples_free(layer_samples *samples);

/* Total columns: units x positions. */
int64_t layer_samples_columns(const layer_samples *samples);

/* Writes column `column` (in [0, layer_samples_columns)) as column j of
 * inputs [K x n] and targets [M x n]. */
void layer_samples_gather(const layer_samples *samples, int64_t column, int64_t j, int64_t n, float *inputs,
                          float *targets);

#endif
