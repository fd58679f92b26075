/* From decoded pixels to a model input tensor. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "data/image.h"

image_preprocess image_preprocess_defaults(void) {
    image_preprocess p = {
        .height = 0, .width = 0, .channels = 3,
        .mean = {0.0f, 0.0f, 0.0f}, .std = {1.0f, 1.0f, 1.0f},
        .nhwc = false, .scale = 1.0f / 255.0f,
    };
    return p;
}

void image_preprocess_value_range(const image_preprocess *o, float *lo, float *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int c = 0; c < o->channels && c < 3; c++) {
        float a = (0.0f * o->scale - o->mean[c]) / o->std[c], b = (255.0f * o->scale - o->mean[c]) / o->std[c];
        *lo = fminf(*lo, fminf(a, b));
        *hi = fmaxf(*hi, fmaxf(a, b));
    }
}

static nnq_status check_options(const image_preprocess *o) {
    if (o->channels != 1 && o->channels != 3)
        return nnq_fail(NNQ_ERR_USAGE, "image preprocessing: channels must be 1 or 3, not %d",
                        o->channels);
    if (o->height < 0 || o->width < 0 || o->height > NNQ_IMAGE_MAX_SIDE ||
        o->width > NNQ_IMAGE_MAX_SIDE)
        return nnq_fail(NNQ_ERR_USAGE, "image preprocessing: size %dx%d is out of range",
                        o->width, o->height);
    if (!isfinite(o->scale))
        return nnq_fail(NNQ_ERR_USAGE, "image preprocessing: scale must be finite");
    for (int c = 0; c < o->channels; c++)
        if (!isfinite(o->mean[c]) || !isfinite(o->std[c]) || o->std[c] == 0.0f)
            return nnq_fail(NNQ_ERR_USAGE, "image preprocessing: channel %d needs a finite mean "
                            "and a finite non-zero std", c);
    return NNQ_OK;
}

/* Channel c of the pixel at offset, converted to `channels` channels: gray
 * is replicated; RGB becomes gray with the ITU-R BT.601 luma weights. */
static float pixel_channel(const nnq_image *image, size_t offset, int channels, int c) {
    const uint8_t *p = image->pixels + offset;
    if (image->channels == channels) return p[c];
    if (image->channels == 1) return p[0];
    return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
}

/* One output coordinate's two source neighbours and the weight of the second. */
typedef struct axis_tap {
    int lo, hi;
    float frac;
} axis_tap;

/* Half-pixel centers, the convention of OpenCV INTER_LINEAR and of ONNX
 * Resize with coordinate_transformation_mode "half_pixel":
 * src = (dst + 0.5) * src_size / dst_size - 0.5, clamped to the edge pixels. */
static axis_tap map_axis(int dst, int dst_size, int src_size) {
    double pos = ((double)dst + 0.5) * src_size / dst_size - 0.5;
    if (pos < 0.0) pos = 0.0;
    if (pos > src_size - 1) pos = src_size - 1;
    axis_tap tap = {(int)pos, 0, 0.0f};
    tap.hi = tap.lo + 1 < src_size ? tap.lo + 1 : tap.lo;
    tap.frac = (float)(pos - tap.lo);
    return tap;
}

/* Bilinear sample of channel c at the crossing of row taps y and column taps x. */
static float sample(const nnq_image *image, axis_tap y, axis_tap x, int channels, int c) {
    size_t row = (size_t)image->width * (size_t)image->channels, px = (size_t)image->channels;
    float top = pixel_channel(image, y.lo * row + x.lo * px, channels, c) * (1.0f - x.frac) +
                pixel_channel(image, y.lo * row + x.hi * px, channels, c) * x.frac;
    float bottom = pixel_channel(image, y.hi * row + x.lo * px, channels, c) * (1.0f - x.frac) +
                   pixel_channel(image, y.hi * row + x.hi * px, channels, c) * x.frac;
    return top * (1.0f - y.frac) + bottom * y.frac;
}

static void fill(const nnq_image *image, const image_preprocess *o, int height, int width,
                 const axis_tap *columns, float *out) {
    int channels = o->channels;
    for (int y = 0; y < height; y++) {
        axis_tap row = map_axis(y, height, image->height);
        for (int x = 0; x < width; x++) {
            for (int c = 0; c < channels; c++) {
                float v = (sample(image, row, columns[x], channels, c) * o->scale - o->mean[c]) /
                          o->std[c];
                size_t index = o->nhwc ? ((size_t)y * width + x) * channels + c
                                       : ((size_t)c * height + y) * width + x;
                out[index] = v;
            }
        }
    }
}

nnq_status image_to_tensor(const nnq_image *image, const image_preprocess *o, nnq_tensor *out) {
    memset(out, 0, sizeof *out);
    NNQ_TRY(check_options(o));
    if (!image->pixels || image->width <= 0 || image->height <= 0 ||
        (image->channels != 1 && image->channels != 3))
        return nnq_fail(NNQ_ERR_INVALID, "image preprocessing: the image is empty");
    int height = o->height ? o->height : image->height;
    int width = o->width ? o->width : image->width;
    int64_t dims[4] = {1, o->channels, height, width};
    if (o->nhwc) {
        dims[1] = height;
        dims[2] = width;
        dims[3] = o->channels;
    }
    axis_tap *columns = malloc((size_t)width * sizeof *columns);
    if (!columns) return nnq_fail(NNQ_ERR_NOMEM, "image preprocessing: out of memory");
    for (int x = 0; x < width; x++) columns[x] = map_axis(x, width, image->width);
    nnq_status st = tensor_create(out, NNQ_FLOAT, 4, dims);
    if (st == NNQ_OK) fill(image, o, height, width, columns, out->data);
    free(columns);
    return st;
}
