#include "data/image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "data/image_codec.h"

/* Signatures: PNG spec section 5.2 (8 bytes); JPEG (ITU T.81) starts with the
 * SOI marker FF D8 followed by another marker's FF. */
static const unsigned char PNG_SIGNATURE[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const unsigned char JPEG_SIGNATURE[3] = {0xff, 0xd8, 0xff};

nnq_status image_read(const char *path, nnq_image *out) {
    memset(out, 0, sizeof *out);
    unsigned char head[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return nnq_fail(NNQ_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    if (got == sizeof PNG_SIGNATURE && !memcmp(head, PNG_SIGNATURE, sizeof PNG_SIGNATURE))
        return image_read_png(path, out);
    if (got >= sizeof JPEG_SIGNATURE && !memcmp(head, JPEG_SIGNATURE, sizeof JPEG_SIGNATURE))
        return image_read_jpeg(path, out);
    return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s' is neither a PNG nor a JPEG image", path);
}

nnq_status image_alloc(nnq_image *out, int width, int height, int channels, const char *path) {
    if (width <= 0 || height <= 0 || width > NNQ_IMAGE_MAX_SIDE || height > NNQ_IMAGE_MAX_SIDE ||
        (long)width * height > NNQ_IMAGE_MAX_PIXELS)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': image size %dx%d is empty or too large "
                        "(at most %ld pixels)", path, width, height, (long)NNQ_IMAGE_MAX_PIXELS);
    out->pixels = malloc((size_t)width * (size_t)height * (size_t)channels);
    if (!out->pixels)
        return nnq_fail(NNQ_ERR_NOMEM, "'%s': cannot allocate a %dx%d image", path, width, height);
    out->width = width;
    out->height = height;
    out->channels = channels;
    return NNQ_OK;
}

void image_free(nnq_image *image) {
    free(image->pixels);
    memset(image, 0, sizeof *image);
}

nnq_status image_load_tensor(const char *path, const image_preprocess *options, nnq_tensor *out) {
    nnq_image image;
    NNQ_TRY(image_read(path, &image));
    nnq_status st = image_to_tensor(&image, options, out);
    image_free(&image);
    if (st != NNQ_OK) return nnq_fail_context(st, "preprocessing '%s'", path);
    return NNQ_OK;
}
