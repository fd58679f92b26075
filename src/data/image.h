/* Image inputs: decoding PNG and JPEG files into 8-bit pixels, and turning
 * pixels into the float32 tensor a vision model expects (resize, channel
 * conversion, scaling, per-channel normalization, NCHW or NHWC layout). */
#ifndef NNQ_DATA_IMAGE_H
#define NNQ_DATA_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/tensor.h"

/* Decoded pixels, row-major HWC, 8 bits per sample, no alpha. */
typedef struct nnq_image {
    int width, height;
    int channels;    /* 1 (gray) or 3 (RGB) */
    uint8_t *pixels; /* owned; height * width * channels bytes */
} nnq_image;

/* Largest image accepted, in pixels, so a forged header cannot demand gigabytes. */
#define NNQ_IMAGE_MAX_PIXELS (1L << 26)
#define NNQ_IMAGE_MAX_SIDE 65535

/* Reads a PNG or JPEG file (recognised by its signature, not its name).
 * PNG of any bit depth and color type becomes 8-bit gray or RGB (palette
 * expanded, 16-bit scaled, alpha dropped); JPEG becomes gray or RGB (CMYK is
 * refused). On failure *out is left zeroed. */
nnq_status image_read(const char *path, nnq_image *out);
void image_free(nnq_image *image);

typedef struct image_preprocess {
    int height, width; /* output size; 0 keeps the image's own */
    int channels;      /* 1 or 3: gray images are replicated, RGB -> gray uses BT.601 luma */
    float mean[3];     /* per output channel, subtracted after scaling */
    float std[3];      /* per output channel, divided by after subtracting the mean */
    bool nhwc;         /* layout [1,H,W,C] instead of [1,C,H,W] */
    float scale;       /* pixel value multiplier, 1/255 maps to [0,1] */
} image_preprocess;

/* 3 channels, keep size, scale 1/255, mean 0, std 1, NCHW. */
image_preprocess image_preprocess_defaults(void);

/* value[c] = (pixel[c] * scale - mean[c]) / std[c] over the image resized
 * bilinearly to height x width; out becomes a float32 tensor [1,C,H,W] or
 * [1,H,W,C]. */
nnq_status image_to_tensor(const nnq_image *image, const image_preprocess *options,
                           nnq_tensor *out);

/* The range of the values image_to_tensor produces from pixels in [0, 255],
 * over the output channels. */
void image_preprocess_value_range(const image_preprocess *options, float *lo, float *hi);

/* image_read + image_to_tensor. */
nnq_status image_load_tensor(const char *path, const image_preprocess *options, nnq_tensor *out);

#endif
