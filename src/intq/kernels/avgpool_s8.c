/* AveragePool / GlobalAveragePool over int8 values (see intq_kernels.h). */
#include "intq_kernels.h"

void avgpool_s8(const intq_window *w, const int8_t *input, int32_t input_zero_point, int32_t count_include_pad,
                int32_t fraction_bits, const intq_requant *requant, int8_t *output) {
    for (int32_t c = 0; c < w->out_channels; c++) {
        const int8_t *plane = input + c * w->in_height * w->in_width;
        for (int32_t oy = 0; oy < w->out_height; oy++)
            for (int32_t ox = 0; ox < w->out_width; ox++) {
                int32_t sum = 0, inside = 0;
                for (int32_t ky = 0; ky < w->kernel_height; ky++) {
                    int32_t iy = oy * w->stride_height - w->pad_top + ky;
                    if (iy < 0 || iy >= w->in_height) continue;
                    for (int32_t kx = 0; kx < w->kernel_width; kx++) {
                        int32_t ix = ox * w->stride_width - w->pad_left + kx;
                        if (ix < 0 || ix >= w->in_width) continue;
                        sum += plane[iy * w->in_width + ix] - input_zero_point;
                        inside++;
                    }
                }
                int32_t count = count_include_pad ? w->kernel_height * w->kernel_width : inside;
                int32_t mean = count > 0 ? (int32_t)intq_rounding_divide((int64_t)sum * ((int64_t)1 << fraction_bits),
                                                                         count)
                                         : 0;
                output[(c * w->out_height + oy) * w->out_width + ox] = (int8_t)intq_requant_output(requant, c, mean);
            }
    }
}
