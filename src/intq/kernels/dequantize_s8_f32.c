/* int8 -> float at the program's outputs (see intq_kernels.h). */
#include "intq_kernels.h"

void dequantize_s8_f32(const int8_t *input, int32_t count, float scale, int32_t zero_point, float *output) {
    for (int32_t i = 0; i < count; i++) output[i] = scale * (float)(input[i] - zero_point);
}
