/* The kinds of data behind a dataset spec (internal to src/data/dataset*.c).
 * Each kind (IDX, .npy, .npz, ONNX TensorProto .pb, image folder) lives in its own file and fills
 * a dataset_source: a sample count, the sample shape, labels, and a function
 * that reads samples [first, first + n) as one tensor. dataset.c parses the
 * spec, applies the limit and converts element types, once for all kinds. */
#ifndef NNQ_DATA_DATASET_SOURCE_H
#define NNQ_DATA_DATASET_SOURCE_H

#include "data/dataset.h"

typedef struct dataset_source {
    int64_t count;                     /* samples available */
    int sample_rank;
    int64_t sample_dims[NNQ_MAX_RANK];
    int64_t *labels;                   /* count labels (owned), or NULL */
    void *state;                       /* owned by the kind; released by close */
    /* Sets *out to a new tensor [n, sample dims...] of samples first.. (any dtype). */
    nnq_status (*read)(void *state, int64_t first, int64_t n, nnq_tensor *out);
    void (*close)(void *state);
} dataset_source;

/* One opener per kind; each fills *out (zeroed on entry) or fails naming its files. */
nnq_status dataset_source_open_idx(const char *images_path, const char *labels_path, dataset_source *out);
/* mnist:/fashion-mnist: PART ("test" or "train") resolved to IDX files in dir. */
nnq_status dataset_source_open_mnist(const char *dir, const char *part, dataset_source *out);
nnq_status dataset_source_open_npy(const char *inputs_path, const char *labels_path, dataset_source *out);
/* input_key and label_key may be NULL for the defaults. */
nnq_status dataset_source_open_npz(const char *path, const char *input_key, const char *label_key,
                                   dataset_source *out);
nnq_status dataset_source_open_pb(const char *inputs_path, const char *labels_path, dataset_source *out);
nnq_status dataset_source_open_images(const char *dir, const image_preprocess *options, dataset_source *out);

/* Shared by the kinds. */

/* Makes count labels from an integer (or integral float) tensor of shape [count]
 * or [count,1]; what names it in errors. */
nnq_status dataset_labels_from_tensor(const nnq_tensor *t, int64_t count, const char *what, int64_t **labels);

/* Sets out's count and sample shape from the dims of all samples [count, sample dims...]. */
void dataset_source_set_shape(dataset_source *out, int rank, const int64_t *dims);

/* Makes out read its samples from a tensor held in memory (first axis =
 * samples), taking *samples over (it is left empty); count and sample shape
 * are set from it. Labels are left as they are. */
nnq_status dataset_source_hold(nnq_tensor *samples, dataset_source *out);

#endif
