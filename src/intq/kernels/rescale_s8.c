/* Moving int8 values from one grid to another (see intq_kernels.h). */
#include "intq_kernels.h"

void rescale_s8(const int8_t *input, int32_t count, int32_t input_zero_point, const intq_requant *requant,
                int8_t *output) {
    for (int32_t i = 0; i < count; i++)
        output[i] = (int8_t)intq_requant_output(requant, 0, input[i] - input_zero_point);
}
