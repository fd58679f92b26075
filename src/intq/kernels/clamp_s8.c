/* Relu / Clip on an int8 grid (see intq_kernels.h). */
#include "intq_kernels.h"

void clamp_s8(const int8_t *input, int32_t count, int32_t low, int32_t high, int8_t *output) {
    for (int32_t i = 0; i < count; i++) output[i] = (int8_t)(input[i] < low ? low : input[i] > high ? high : input[i]);
}
