/* 2-D convolution, int8 in/out, int8 weights, int32 accumulation (see intq_kernels.h). */
#include "intq_kernels.h"

/* The output columns [*first, *last) whose input column ox * stride + offset lies inside [0, width). */
static void inside_columns(int32_t offset, int32_t stride, int32_t width, int32_t out_width, int32_t *first,
                           int32_t *last) {
    int32_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;                /* ceil(-offset / stride) */
    int32_t hi = width - 1 - offset < 0 ? 0 : (width - 1 - offset) / stride + 1;   /* floor(...) + 1 */
    *first = lo < out_width ? lo : out_width;
    *last = hi < *first ? *first : hi > out_width ? out_width : hi;
}

/* Adds weight * input over one kernel tap to every accumulator of the output
 * plane; positions outside the input read pad_value. The columns inside the
 * input are found once per tap, so the inner loop has no bounds checks. */
static void accumulate_tap(const intq_window *w, const int8_t *plane, int32_t pad_value, int32_t weight,
                           int32_t ky, int32_t kx, int32_t *acc) {
    int32_t offset = kx * w->dilation_width - w->pad_left, first, last;
    inside_columns(offset, w->stride_width, w->in_width, w->out_width, &first, &last);
    int32_t padded = weight * pad_value;
    for (int32_t oy = 0; oy < w->out_height; oy++) {
        int32_t iy = oy * w->stride_height - w->pad_top + ky * w->dilation_height;
        int32_t *row = acc + oy * w->out_width;
        if (iy < 0 || iy >= w->in_height) {
            for (int32_t ox = 0; ox < w->out_width; ox++) row[ox] += padded;
            continue;
        }
        const int8_t *in_row = plane + iy * w->in_width;
        for (int32_t ox = 0; ox < first; ox++) row[ox] += padded;
        if (w->stride_width == 1)
            for (int32_t ox = first; ox < last; ox++) row[ox] += weight * in_row[ox + offset];
        else
            for (int32_t ox = first; ox < last; ox++) row[ox] += weight * in_row[ox * w->stride_width + offset];
        for (int32_t ox = last; ox < w->out_width; ox++) row[ox] += padded;
    }
}

void conv_s8(const intq_window *w, const int8_t *input, int32_t pad_value, const int8_t *weights,
             const int32_t *bias, const intq_requant *requant, int32_t *scratch, int8_t *output) {
    int32_t plane_in = w->in_height * w->in_width, plane_out = w->out_height * w->out_width;
    int32_t group_in = w->in_channels / w->groups, group_out = w->out_channels / w->groups;
    int32_t taps = w->kernel_height * w->kernel_width;
    for (int32_t oc = 0; oc < w->out_channels; oc++) {
        int32_t first_in = (oc / group_out) * group_in;
        for (int32_t i = 0; i < plane_out; i++) scratch[i] = bias[oc];
        for (int32_t ic = 0; ic < group_in; ic++) {
            const int8_t *plane = input + (first_in + ic) * plane_in;
            const int8_t *kernel = weights + (oc * group_in + ic) * taps;
            for (int32_t ky = 0; ky < w->kernel_height; ky++)
                for (int32_t kx = 0; kx < w->kernel_width; kx++) {
                    int32_t weight = kernel[ky * w->kernel_width + kx];
                    if (weight != 0) accumulate_tap(w, plane, pad_value, weight, ky, kx, scratch);
                }
        }
        int8_t *out = output + oc * plane_out;
        for (int32_t i = 0; i < plane_out; i++) out[i] = (int8_t)intq_requant_output(requant, oc, scratch[i]);
    }
}
