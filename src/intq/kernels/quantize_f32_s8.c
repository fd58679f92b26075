/* Float -> int8 at the program's entry (see intq_kernels.h). */
#include <math.h>

#include "intq_kernels.h"

void quantize_f32_s8(const float *input, int32_t count, float scale, int32_t zero_point, int32_t q_min,
                     int32_t q_max, int8_t *output) {
    for (int32_t i = 0; i < count; i++) {
        /* In double, as qscheme.c's quantize_value: one rounding of the exact quotient (nearbyint: half to even). */
        double q = input[i] != input[i] ? 0.0 : nearbyint((double)input[i] / (double)scale);
        q += zero_point;
        output[i] = (int8_t)(q < q_min ? q_min : q > q_max ? q_max : (int32_t)q);
    }
}
