/* Elementwise Add of int8 tensors on different grids (see intq_kernels.h). */
#include "intq_kernels.h"

void add_s8(int32_t n_inputs, const int8_t *const *inputs, const int32_t *input_zero_points,
            const intq_rescale *input_rescales, int32_t left_shift, int32_t count, const intq_requant *requant,
            int8_t *output) {
    int32_t unit = (int32_t)1 << left_shift;
    for (int32_t i = 0; i < count; i++) {
        int32_t sum = 0;
        for (int32_t k = 0; k < n_inputs; k++)
            sum += intq_rescale_apply((inputs[k][i] - input_zero_points[k]) * unit, &input_rescales[k]);
        output[i] = (int8_t)intq_requant_output(requant, 0, sum);
    }
}
