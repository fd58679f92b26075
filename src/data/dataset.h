/* Datasets: a sequence of samples (an input tensor and, optionally, an
 * integer label) named by one spec string and read in batches. Evaluation
 * and calibration both read their data through here.
 *
 * Spec syntax (the one parser; `nnquant eval --help` prints the same):
 *   fashion-mnist:test | fashion-mnist:train
 *       Fashion-MNIST from /usr/share/datasets/fashion-mnist (or data_dir):
 *       {t10k,train}-images-idx3-ubyte[.gz] and {t10k,train}-labels-idx1-ubyte[.gz]
 *   mnist:test | mnist:train
 *       MNIST files of the same names, in data_dir (required)
 *   idx:IMAGES_FILE[,LABELS_FILE]
 *       an IDX pair (uint8 images [N,H,W] or [N,C,H,W], uint8 labels [N])
 *   npy:INPUTS.npy[,LABELS.npy]
 *   npz:FILE.npz[:INPUT_KEY[,LABEL_KEY]]
 *       inputs default to the first member not named labels/label/y, labels
 *       to the member named labels, label or y (if any)
 *   pb:INPUTS.pb[,LABELS.pb]
 *       ONNX TensorProto files (as ONNX's test data stores tensors)
 *   images:DIR
 *       DIR/<class>/<image>.png|.jpg, labels = sorted class index
 *   a bare path: a directory means images:, *.npz means npz:, *.npy means npy:,
 *       *.pb means pb:
 *
 * IDX and MNIST images become float32 [B,1,H,W] = pixel / 255. Arrays from
 * .npy/.npz/.pb are taken literally: the first axis is the sample axis, float64
 * becomes float32, integer arrays become float32 without scaling unless the
 * model input is itself integer. Images are preprocessed as image_preprocess
 * says. Labels are integers (integral floats accepted), one per sample.
 *
 * Memory: IDX files, .npz archives and .pb tensors are held in memory as the
 * file holds them; .npy inputs are read from the file batch by batch and images are
 * decoded per batch, so memory does not grow with the samples read. */
#ifndef NNQ_DATA_DATASET_H
#define NNQ_DATA_DATASET_H

#include <stdbool.h>
#include <stdint.h>

#include "data/image.h"
#include "ir/tensor.h"

/* Which image preprocessing options the user gave (the others may be
 * adapted to the model input by dataset_options_fit_input). */
enum {
    DATASET_GIVEN_SIZE = 1 << 0,
    DATASET_GIVEN_CHANNELS = 1 << 1,
    DATASET_GIVEN_LAYOUT = 1 << 2,
    DATASET_GIVEN_NORMALIZATION = 1 << 3, /* --mean, --std or --scale */
};

typedef struct dataset_options {
    const char *data_dir;     /* folder of mnist:/fashion-mnist: files; NULL: the default */
    image_preprocess image;   /* for images: datasets */
    unsigned image_given;     /* DATASET_GIVEN_* bits */
    int64_t limit;            /* read at most this many samples; 0: all */
    /* The element type the model input wants: integer arrays are kept as
     * stored only when this is an integer type; otherwise they become float32. */
    nnq_dtype input_dtype;
} dataset_options;

/* No data_dir, image_preprocess_defaults(), no limit, float32 inputs. */
dataset_options dataset_options_defaults(void);

/* Fills the image options the user left unset from a model input of shape
 * [N,C,H,W] or [N,H,W,C] (C of 1 or 3; H, W when fixed), and records its
 * element type. Options the user gave are kept. */
void dataset_options_fit_input(dataset_options *options, nnq_dtype dtype, int rank, const int64_t *dims);

typedef struct nnq_dataset nnq_dataset;

/* Parses spec, opens its files and checks them (shapes, label count).
 * Errors name the spec and the file. */
nnq_status dataset_open(const char *spec, const dataset_options *options, nnq_dataset **out);
void dataset_close(nnq_dataset *dataset);

/* Samples the dataset yields (after the limit). */
int64_t dataset_count(const nnq_dataset *dataset);
bool dataset_has_labels(const nnq_dataset *dataset);
/* The shape of one sample, without the batch axis. */
int dataset_sample_rank(const nnq_dataset *dataset);
const int64_t *dataset_sample_dims(const nnq_dataset *dataset);
/* The spec the dataset was opened with, for messages. */
const char *dataset_spec(const nnq_dataset *dataset);

/* Reads the next batch of at most max_batch samples into *inputs (a new
 * tensor [B, sample dims...], B >= 1) and, when the dataset has labels and
 * labels is not NULL, their labels into labels[0..B). *count is B, or 0 (with
 * *inputs left zeroed) once every sample has been read. */
nnq_status dataset_next_batch(nnq_dataset *dataset, int64_t max_batch, nnq_tensor *inputs, int64_t *labels,
                              int64_t *count);

/* Starts again from the first sample (calibration passes over the data). */
void dataset_rewind(nnq_dataset *dataset);

#endif
