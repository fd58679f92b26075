/* The per-format decoders behind image_read (internal to src/data). */
#ifndef NNQ_DATA_IMAGE_CODEC_H
#define NNQ_DATA_IMAGE_CODEC_H

#include "data/image.h"

/* Each reads path into *out; on failure *out is left zeroed. */
nnq_status image_read_png(const char *path, nnq_image *out);
nnq_status image_read_jpeg(const char *path, nnq_image *out);

/* Allocates out->pixels for width x height x channels after checking the size
 * against NNQ_IMAGE_MAX_SIDE and NNQ_IMAGE_MAX_PIXELS; path names the file in errors. */
nnq_status image_alloc(nnq_image *out, int width, int height, int channels, const char *path);

#endif
