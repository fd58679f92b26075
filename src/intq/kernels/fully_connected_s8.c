/* Fully connected layer, int8 in/out, int8 weights, int32 accumulation (see intq_kernels.h). */
#include "intq_kernels.h"

void fully_connected_s8(int32_t rows, int32_t in_features, int32_t out_features, const int8_t *input,
                        const int8_t *weights, const int32_t *bias, const intq_requant *requant, int8_t *output) {
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *x = input + r * in_features;
        for (int32_t o = 0; o < out_features; o++) {
            const int8_t *w = weights + o * in_features;
            int32_t acc = bias[o];
            for (int32_t k = 0; k < in_features; k++) acc += (int32_t)w[k] * x[k];
            output[r * out_features + o] = (int8_t)intq_requant_output(requant, o, acc);
        }
    }
}
