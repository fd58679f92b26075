/* IDX datasets (MNIST, Fashion-MNIST): uint8 images held in memory as the
 * file holds them and normalized per batch to float32 pixel / 255, the
 * convention of torchvision's ToTensor that the bundled models are trained with. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/status.h"
#include "data/dataset_source.h"
#include "data/idx.h"

static const float PIXEL_SCALE = 255.0f;

typedef struct idx_state {
    nnq_tensor images; /* uint8 [N,H,W] or [N,C,H,W] */
} idx_state;

static nnq_status idx_read_samples(void *state, int64_t first, int64_t n, nnq_tensor *out) {
    const idx_state *s = state;
    int64_t dims[NNQ_MAX_RANK] = {n, 1};
    int rank = s->images.rank == 3 ? 4 : s->images.rank; /* [N,H,W] gains a channel axis */
    const int64_t *image_dims = s->images.dims + (s->images.rank == 3 ? 1 : 2);
    if (s->images.rank == 4) dims[1] = s->images.dims[1];
    dims[2] = image_dims[0];
    dims[3] = image_dims[1];
    NNQ_TRY(tensor_create(out, NNQ_FLOAT, rank, dims));
    int64_t per_sample = dims_numel(dims + 1, rank - 1);
    const uint8_t *pixels = (const uint8_t *)s->images.data + first * per_sample;
    float *values = out->data;
    for (int64_t i = 0; i < n * per_sample; i++) values[i] = pixels[i] / PIXEL_SCALE;
    return NNQ_OK;
}

static void idx_close(void *state) {
    idx_state *s = state;
    if (s) tensor_free(&s->images);
    free(s);
}

static nnq_status check_images(const nnq_tensor *images, const char *path) {
    char shape[160];
    if (images->dtype != NNQ_UINT8)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': IDX images must be uint8 pixels, not %s", path,
                        dtype_name(images->dtype));
    if (images->rank != 3 && images->rank != 4)
        return nnq_fail(NNQ_ERR_INVALID, "'%s': IDX images must be [N,H,W] or [N,C,H,W], not %s", path,
                        dims_format(images->dims, images->rank, shape, sizeof shape));
    return NNQ_OK;
}

nnq_status dataset_source_open_idx(const char *images_path, const char *labels_path, dataset_source *out) {
    memset(out, 0, sizeof *out);
    idx_state *s = calloc(1, sizeof *s);
    if (!s) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    out->state = s;
    out->read = idx_read_samples;
    out->close = idx_close;
    nnq_status st = idx_read(images_path, &s->images);
    if (st == NNQ_OK) st = check_images(&s->images, images_path);
    if (st == NNQ_OK && labels_path) {
        nnq_tensor labels;
        st = idx_read(labels_path, &labels);
        if (st == NNQ_OK) {
            char what[4200];
            snprintf(what, sizeof what, "'%s' (labels of '%s')", labels_path, images_path);
            st = dataset_labels_from_tensor(&labels, s->images.dims[0], what, &out->labels);
        }
        tensor_free(&labels);
    }
    if (st != NNQ_OK) {
        idx_close(s);
        free(out->labels);
        memset(out, 0, sizeof *out);
        return st;
    }
    out->count = s->images.dims[0];
    out->sample_rank = 3;
    out->sample_dims[0] = s->images.rank == 4 ? s->images.dims[1] : 1;
    out->sample_dims[1] = s->images.dims[s->images.rank - 2];
    out->sample_dims[2] = s->images.dims[s->images.rank - 1];
    return NNQ_OK;
}

/* dir/NAME.gz if it exists, else dir/NAME (whose absence the IDX reader reports). */
static void find_idx_file(const char *dir, const char *name, char *path, size_t size) {
    snprintf(path, size, "%s/%s.gz", dir, name);
    if (access(path, F_OK) == 0) return;
    snprintf(path, size, "%s/%s", dir, name);
}

nnq_status dataset_source_open_mnist(const char *dir, const char *part, dataset_source *out) {
    /* The file names of the MNIST distribution (http://yann.lecun.com/exdb/mnist/),
     * which Fashion-MNIST keeps. */
    const char *prefix = strcmp(part, "train") == 0 ? "train" : "t10k";
    char images_name[64], labels_name[64], images[4096], labels[4096];
    snprintf(images_name, sizeof images_name, "%s-images-idx3-ubyte", prefix);
    snprintf(labels_name, sizeof labels_name, "%s-labels-idx1-ubyte", prefix);
    find_idx_file(dir, images_name, images, sizeof images);
    find_idx_file(dir, labels_name, labels, sizeof labels);
    return dataset_source_open_idx(images, labels, out);
}
