/* MaxPool over int8 values; the grid is unchanged (see intq_kernels.h). */
#include "intq_kernels.h"

void maxpool_s8(const intq_window *w, const int8_t *input, int8_t *output) {
    for (int32_t c = 0; c < w->out_channels; c++) {
        const int8_t *plane = input + c * w->in_height * w->in_width;
        for (int32_t oy = 0; oy < w->out_height; oy++)
            for (int32_t ox = 0; ox < w->out_width; ox++) {
                int32_t best = INT8_MIN;
                for (int32_t ky = 0; ky < w->kernel_height; ky++) {
                    int32_t iy = oy * w->stride_height - w->pad_top + ky * w->dilation_height;
                    if (iy < 0 || iy >= w->in_height) continue;
                    for (int32_t kx = 0; kx < w->kernel_width; kx++) {
                        int32_t ix = ox * w->stride_width - w->pad_left + kx * w->dilation_width;
                        if (ix >= 0 && ix < w->in_width && plane[iy * w->in_width + ix] > best)
                            best = plane[iy * w->in_width + ix];
                    }
                }
                output[(c * w->out_height + oy) * w->out_width + ox] = (int8_t)best;
            }
    }
}
