/* Image-folder datasets (root/<class>/<image>): files listed once, decoded and
 * preprocessed per batch. Every image must come out with the same shape; the
 * first image (or --resize) fixes it. */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "data/dataset_source.h"
#include "data/image_folder.h"

typedef struct images_state {
    image_folder folder;
    image_preprocess options;
    int sample_rank;
    int64_t sample_dims[NNQ_MAX_RANK];
} images_state;

/* Loads image `index` as a [1, sample dims...] tensor, checking its shape. */
static nnq_status load_sample(const images_state *s, size_t index, nnq_tensor *image) {
    const char *path = s->folder.paths[index];
    NNQ_TRY(image_load_tensor(path, &s->options, image));
    if (image->rank - 1 == s->sample_rank &&
        memcmp(image->dims + 1, s->sample_dims, sizeof(int64_t) * (size_t)s->sample_rank) == 0)
        return NNQ_OK;
    char got[160], want[160];
    dims_format(image->dims + 1, image->rank - 1, got, sizeof got);
    dims_format(s->sample_dims, s->sample_rank, want, sizeof want);
    tensor_free(image);
    return nnq_fail(NNQ_ERR_INVALID, "'%s' becomes %s but the first image became %s (use --resize HxW)", path, got,
                    want);
}

static nnq_status images_read_samples(void *state, int64_t first, int64_t n, nnq_tensor *out) {
    const images_state *s = state;
    int64_t dims[NNQ_MAX_RANK + 1] = {n};
    memcpy(dims + 1, s->sample_dims, sizeof(int64_t) * (size_t)s->sample_rank);
    NNQ_TRY(tensor_create(out, NNQ_FLOAT, s->sample_rank + 1, dims));
    size_t per_sample = (size_t)dims_numel(s->sample_dims, s->sample_rank);
    for (int64_t i = 0; i < n; i++) {
        nnq_tensor image = {0};
        nnq_status st = load_sample(s, (size_t)(first + i), &image);
        if (st != NNQ_OK) {
            tensor_free(out);
            return st;
        }
        memcpy((float *)out->data + (size_t)i * per_sample, image.data, per_sample * sizeof(float));
        tensor_free(&image);
    }
    return NNQ_OK;
}

static void images_close(void *state) {
    images_state *s = state;
    if (s) image_folder_free(&s->folder);
    free(s);
}

static nnq_status list_images(images_state *s, const char *dir, dataset_source *out) {
    NNQ_TRY(image_folder_list(dir, &s->folder));
    if (s->folder.count == 0)
        return nnq_fail(NNQ_ERR_INVALID, "image folder '%s' has class folders but no .png/.jpg images", dir);
    out->labels = malloc(s->folder.count * sizeof *out->labels);
    if (!out->labels) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < s->folder.count; i++) out->labels[i] = s->folder.labels[i];
    /* The first image fixes the sample shape. */
    nnq_tensor first = {0};
    NNQ_TRY(image_load_tensor(s->folder.paths[0], &s->options, &first));
    s->sample_rank = first.rank - 1;
    memcpy(s->sample_dims, first.dims + 1, sizeof(int64_t) * (size_t)s->sample_rank);
    tensor_free(&first);
    return NNQ_OK;
}

nnq_status dataset_source_open_images(const char *dir, const image_preprocess *options, dataset_source *out) {
    memset(out, 0, sizeof *out);
    images_state *s = calloc(1, sizeof *s);
    if (!s) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    s->options = *options;
    nnq_status st = list_images(s, dir, out);
    if (st != NNQ_OK) {
        images_close(s);
        free(out->labels);
        memset(out, 0, sizeof *out);
        return st;
    }
    out->state = s;
    out->read = images_read_samples;
    out->close = images_close;
    out->count = (int64_t)s->folder.count;
    out->sample_rank = s->sample_rank;
    memcpy(out->sample_dims, s->sample_dims, sizeof s->sample_dims);
    return NNQ_OK;
}
