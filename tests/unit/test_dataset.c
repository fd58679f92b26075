/* Dataset specs: each scheme, defaults, batching and the limit, element type
 * conversion, and errors. Expected values come from the files' bytes read
 * here with zlib (Fashion-MNIST) or from the literal arrays this test writes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/status.h"
#include "check.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "onnx/onnx_io.h"
#include "png_writer.h"
#include "zip_builder.h"

static char temp_dir[] = "/tmp/nnq_test_dataset_XXXXXX";
static const char FASHION_DIR[] = "/usr/share/datasets/fashion-mnist";

typedef struct path_buf {
    char s[512];
} path_buf;

static path_buf temp_path(const char *name) {
    path_buf p;
    snprintf(p.s, sizeof p.s, "%s/%s", temp_dir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, n, f) == n);
    if (f) fclose(f);
}

/* Reads n bytes at offset of a gzip file, independently of the IDX reader. */
static void read_gzip_bytes(const char *path, long offset, unsigned char *out, unsigned n) {
    gzFile gz = gzopen(path, "rb");
    CHECK(gz != NULL);
    if (!gz) return;
    CHECK(gzseek(gz, offset, SEEK_SET) == offset);
    CHECK(gzread(gz, out, n) == (int)n);
    gzclose(gz);
}

static nnq_dataset *open_ok(const char *spec, const dataset_options *options) {
    nnq_dataset *d = NULL;
    nnq_status st = dataset_open(spec, options, &d);
    CHECK_MSG(st == NNQ_OK, "%s: %s", spec, nnq_last_error());
    return st == NNQ_OK ? d : NULL;
}

/* Expects dataset_open to fail with a message containing text. */
static void expect_open_error(const char *spec, const dataset_options *options, const char *text) {
    nnq_dataset *d = NULL;
    nnq_status st = dataset_open(spec, options, &d);
    CHECK_MSG(st != NNQ_OK, "'%s' opened", spec);
    CHECK_MSG(st == NNQ_OK || strstr(nnq_last_error(), text), "'%s': message '%s' lacks '%s'", spec,
              nnq_last_error(), text);
    CHECK(d == NULL);
    dataset_close(d);
}

/* ---- Fashion-MNIST ---- */

static void test_fashion_mnist_test(void) {
    nnq_dataset *d = open_ok("fashion-mnist:test", NULL);
    if (!d) return;
    CHECK(dataset_count(d) == 10000);
    CHECK(dataset_has_labels(d));
    CHECK(dataset_sample_rank(d) == 3);
    const int64_t *dims = dataset_sample_dims(d);
    CHECK(dims[0] == 1 && dims[1] == 28 && dims[2] == 28);

    /* The IDX file: 16 header bytes, then 28x28 pixels per image; labels after 8 bytes. */
    char images_path[256], labels_path[256];
    snprintf(images_path, sizeof images_path, "%s/t10k-images-idx3-ubyte.gz", FASHION_DIR);
    snprintf(labels_path, sizeof labels_path, "%s/t10k-labels-idx1-ubyte.gz", FASHION_DIR);
    static unsigned char pixels[2 * 784];
    static unsigned char label_bytes[10000];
    read_gzip_bytes(images_path, 16, pixels, sizeof pixels);
    read_gzip_bytes(labels_path, 8, label_bytes, sizeof label_bytes);

    nnq_tensor batch;
    int64_t labels[1000], count = 0, total = 0, label_counts[10] = {0};
    bool labels_match = true, first = true;
    for (;;) {
        CHECK(dataset_next_batch(d, 1000, &batch, labels, &count) == NNQ_OK);
        if (count == 0) break;
        if (first) {
            CHECK(batch.dtype == NNQ_FLOAT && batch.rank == 4 && batch.dims[0] == 1000);
            CHECK(batch.dims[1] == 1 && batch.dims[2] == 28 && batch.dims[3] == 28);
            const float *v = batch.data;
            int mismatches = 0;
            for (int i = 0; i < 2 * 784; i++) mismatches += v[i] != (float)(pixels[i] / 255.0);
            CHECK_MSG(mismatches == 0, "%d of the first two images' values differ from byte/255", mismatches);
            first = false;
        }
        for (int64_t i = 0; i < count; i++) {
            labels_match &= labels[i] == label_bytes[total + i];
            if (labels[i] >= 0 && labels[i] < 10) label_counts[labels[i]]++;
        }
        total += count;
        tensor_free(&batch);
    }
    CHECK(total == 10000);
    CHECK(labels_match);
    for (int c = 0; c < 10; c++) CHECK_MSG(label_counts[c] == 1000, "class %d: %lld", c, (long long)label_counts[c]);

    /* Rewinding starts again at the first image. */
    dataset_rewind(d);
    CHECK(dataset_next_batch(d, 1, &batch, labels, &count) == NNQ_OK && count == 1);
    CHECK(labels[0] == label_bytes[0]);
    tensor_free(&batch);
    dataset_close(d);
}

static void test_fashion_mnist_train_and_limit(void) {
    dataset_options options = dataset_options_defaults();
    options.limit = 100;
    nnq_dataset *d = open_ok("fashion-mnist:train", &options);
    if (!d) return;
    CHECK(dataset_count(d) == 100);
    nnq_tensor batch;
    int64_t labels[64], count = 0;
    CHECK(dataset_next_batch(d, 64, &batch, labels, &count) == NNQ_OK && count == 64);
    tensor_free(&batch);
    CHECK(dataset_next_batch(d, 64, &batch, labels, &count) == NNQ_OK && count == 36);
    CHECK(batch.dims[0] == 36);
    tensor_free(&batch);
    CHECK(dataset_next_batch(d, 64, &batch, labels, &count) == NNQ_OK && count == 0 && batch.data == NULL);
    dataset_close(d);

    /* The limit is a cap, not a demand. */
    options.limit = 20000;
    d = open_ok("fashion-mnist:test", &options);
    if (d) CHECK(dataset_count(d) == 10000);
    dataset_close(d);
}

static void test_mnist_data_dir(void) {
    dataset_options options = dataset_options_defaults();
    expect_open_error("mnist:test", &options, "--data-dir");
    /* MNIST's file names are Fashion-MNIST's: its folder serves as a stand-in. */
    options.data_dir = FASHION_DIR;
    nnq_dataset *d = open_ok("mnist:test", &options);
    if (d) CHECK(dataset_count(d) == 10000);
    dataset_close(d);
    options.data_dir = temp_dir;
    expect_open_error("mnist:train", &options, "train-images-idx3-ubyte");
    expect_open_error("fashion-mnist:valid", NULL, "'test' or 'train'");
}

/* ---- IDX pairs ---- */

static void test_idx_pair(void) {
    /* 3 images of 2x2 (IDX magic 0x00000803) and 3 labels (0x00000801). */
    const unsigned char images[16 + 12] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
                                           0, 255, 51, 102, 1, 2, 3, 4, 10, 20, 30, 40};
    const unsigned char labels[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 2, 0, 1};
    const unsigned char two_labels[8 + 2] = {0, 0, 8, 1, 0, 0, 0, 2, 2, 0};
    write_bytes(temp_path("images.idx").s, images, sizeof images);
    write_bytes(temp_path("labels.idx").s, labels, sizeof labels);
    write_bytes(temp_path("two_labels.idx").s, two_labels, sizeof two_labels);

    char spec[1200];
    snprintf(spec, sizeof spec, "idx:%s,%s", temp_path("images.idx").s, temp_path("labels.idx").s);
    nnq_dataset *d = open_ok(spec, NULL);
    if (d) {
        nnq_tensor batch;
        int64_t got[3], count = 0;
        CHECK(dataset_next_batch(d, 8, &batch, got, &count) == NNQ_OK && count == 3);
        CHECK(batch.rank == 4 && batch.dims[0] == 3 && batch.dims[1] == 1 && batch.dims[2] == 2 && batch.dims[3] == 2);
        const float *v = batch.data;
        CHECK_NEAR(v[0], 0.0, 0);
        CHECK_NEAR(v[1], 1.0, 0);
        CHECK_NEAR(v[2], 0.2, 1e-7);  /* 51/255 */
        CHECK_NEAR(v[11], 40.0 / 255.0, 1e-7);
        CHECK(got[0] == 2 && got[1] == 0 && got[2] == 1);
        tensor_free(&batch);
    }
    dataset_close(d);

    /* Without labels. */
    snprintf(spec, sizeof spec, "idx:%s", temp_path("images.idx").s);
    d = open_ok(spec, NULL);
    if (d) CHECK(!dataset_has_labels(d) && dataset_count(d) == 3);
    dataset_close(d);

    snprintf(spec, sizeof spec, "idx:%s,%s", temp_path("images.idx").s, temp_path("two_labels.idx").s);
    expect_open_error(spec, NULL, "there are 3 inputs");
    snprintf(spec, sizeof spec, "idx:%s,/nonexistent/labels", temp_path("images.idx").s);
    expect_open_error(spec, NULL, "/nonexistent/labels");
    expect_open_error("idx:", NULL, "IDX images file is missing");
    expect_open_error("idx:/nonexistent/images,/x", NULL, "/nonexistent/images");
}

/* ---- .npy and .npz ---- */

/* Writes the literal array as temp_path(name) with save (npy_write or onnx_save_tensor). */
static void write_array(nnq_status (*save)(const char *, const nnq_tensor *), const char *name, nnq_dtype dtype,
                        int rank, const int64_t *dims, const void *values) {
    nnq_tensor t = {0};
    CHECK(tensor_create(&t, dtype, rank, dims) == NNQ_OK);
    memcpy(t.data, values, (size_t)tensor_numel(&t) * dtype_size(dtype));
    CHECK_MSG(save(temp_path(name).s, &t) == NNQ_OK, "%s", nnq_last_error());
    tensor_free(&t);
}

static void write_npy(const char *name, nnq_dtype dtype, int rank, const int64_t *dims, const void *values) {
    write_array(npy_write, name, dtype, rank, dims, values);
}

static void test_npy(void) {
    const double inputs[5 * 3] = {0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, -1.25};
    const int64_t labels[5] = {4, 3, 2, 1, 0};
    const uint8_t pixels[2 * 2] = {0, 200, 255, 7};
    const double not_integral[5] = {0, 1, 2.5, 3, 4};
    write_npy("x.npy", NNQ_DOUBLE, 2, (const int64_t[]){5, 3}, inputs);
    write_npy("y.npy", NNQ_INT64, 1, (const int64_t[]){5}, labels);
    write_npy("y4.npy", NNQ_INT64, 1, (const int64_t[]){4}, labels);
    write_npy("yf.npy", NNQ_DOUBLE, 1, (const int64_t[]){5}, not_integral);
    write_npy("pixels.npy", NNQ_UINT8, 2, (const int64_t[]){2, 2}, pixels);

    char spec[1200];
    snprintf(spec, sizeof spec, "npy:%s,%s", temp_path("x.npy").s, temp_path("y.npy").s);
    nnq_dataset *d = open_ok(spec, NULL);
    if (d) {
        CHECK(dataset_count(d) == 5 && dataset_has_labels(d) && dataset_sample_rank(d) == 1);
        nnq_tensor batch;
        int64_t got[2], count = 0;
        CHECK(dataset_next_batch(d, 2, &batch, got, &count) == NNQ_OK && count == 2);
        CHECK(batch.dtype == NNQ_FLOAT && batch.rank == 2 && batch.dims[0] == 2 && batch.dims[1] == 3);
        CHECK(((float *)batch.data)[0] == 0.5f && ((float *)batch.data)[5] == 5.0f);
        CHECK(got[0] == 4 && got[1] == 3);
        tensor_free(&batch);
        /* The last, short batch reads from the middle of the file. */
        CHECK(dataset_next_batch(d, 2, &batch, got, &count) == NNQ_OK && count == 2);
        tensor_free(&batch);
        CHECK(dataset_next_batch(d, 2, &batch, got, &count) == NNQ_OK && count == 1);
        CHECK(batch.dims[0] == 1 && ((float *)batch.data)[2] == -1.25f && got[0] == 0);
        tensor_free(&batch);
    }
    dataset_close(d);

    /* A bare .npy path, without labels. */
    d = open_ok(temp_path("x.npy").s, NULL);
    if (d) CHECK(dataset_count(d) == 5 && !dataset_has_labels(d));
    dataset_close(d);

    /* uint8 arrays: float32 unscaled for a float model, kept for a uint8 model. */
    snprintf(spec, sizeof spec, "npy:%s", temp_path("pixels.npy").s);
    dataset_options options = dataset_options_defaults();
    for (int keep = 0; keep < 2; keep++) {
        options.input_dtype = keep ? NNQ_UINT8 : NNQ_FLOAT;
        d = open_ok(spec, &options);
        if (!d) continue;
        nnq_tensor batch;
        int64_t count = 0;
        CHECK(dataset_next_batch(d, 2, &batch, NULL, &count) == NNQ_OK && count == 2);
        if (keep) CHECK(batch.dtype == NNQ_UINT8 && ((uint8_t *)batch.data)[1] == 200);
        else CHECK(batch.dtype == NNQ_FLOAT && ((float *)batch.data)[1] == 200.0f && ((float *)batch.data)[2] == 255.0f);
        tensor_free(&batch);
        dataset_close(d);
    }

    snprintf(spec, sizeof spec, "npy:%s,%s", temp_path("x.npy").s, temp_path("y4.npy").s);
    expect_open_error(spec, NULL, "there are 5 inputs");
    snprintf(spec, sizeof spec, "npy:%s,%s", temp_path("x.npy").s, temp_path("yf.npy").s);
    expect_open_error(spec, NULL, "not an integer");
    expect_open_error("npy:/nonexistent/x.npy", NULL, "/nonexistent/x.npy");
    expect_open_error("/nonexistent/x.npy", NULL, "/nonexistent/x.npy");
}

static size_t build_npz(unsigned char *out, size_t cap, bool with_labels) {
    static zip_builder z;
    memset(&z, 0, sizeof z);
    unsigned char npy[1024];
    const float inputs[4 * 2] = {1, 2, 3, 4, 5, 6, 7, 8};
    const int32_t labels[4] = {3, 1, 4, 1};
    const int64_t other[2] = {9, 9};
    size_t n = make_npy(npy, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }\n", inputs, sizeof inputs);
    add_member(&z, "x.npy", npy, n, true);
    if (with_labels) {
        n = make_npy(npy, "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }\n", labels, sizeof labels);
        add_member(&z, "labels.npy", npy, n, false);
    }
    n = make_npy(npy, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }\n", other, sizeof other);
    add_member(&z, "other.npy", npy, n, false);
    size_t size = finish(&z);
    CHECK(size <= cap);
    memcpy(out, z.data, size);
    return size;
}

static void test_npz(void) {
    static unsigned char bytes[CAPACITY];
    size_t n = build_npz(bytes, sizeof bytes, true);
    write_bytes(temp_path("d.npz").s, bytes, n);
    n = build_npz(bytes, sizeof bytes, false);
    write_bytes(temp_path("nolabels.npz").s, bytes, n);

    /* Defaults: the first array is the input, "labels" the labels. */
    nnq_dataset *d = open_ok(temp_path("d.npz").s, NULL);
    if (d) {
        CHECK(dataset_count(d) == 4 && dataset_has_labels(d));
        nnq_tensor batch;
        int64_t got[4], count = 0;
        CHECK(dataset_next_batch(d, 4, &batch, got, &count) == NNQ_OK && count == 4);
        CHECK(batch.dims[0] == 4 && batch.dims[1] == 2 && ((float *)batch.data)[7] == 8.0f);
        CHECK(got[0] == 3 && got[1] == 1 && got[2] == 4 && got[3] == 1);
        tensor_free(&batch);
    }
    dataset_close(d);

    char spec[1200];
    snprintf(spec, sizeof spec, "npz:%s", temp_path("nolabels.npz").s);
    d = open_ok(spec, NULL);
    if (d) CHECK(dataset_count(d) == 4 && !dataset_has_labels(d));
    dataset_close(d);

    /* Explicit keys. */
    snprintf(spec, sizeof spec, "npz:%s:x,labels", temp_path("d.npz").s);
    d = open_ok(spec, NULL);
    if (d) CHECK(dataset_count(d) == 4 && dataset_has_labels(d));
    dataset_close(d);
    snprintf(spec, sizeof spec, "npz:%s:nope", temp_path("d.npz").s);
    expect_open_error(spec, NULL, "no array named 'nope'");
    snprintf(spec, sizeof spec, "npz:%s:x,other", temp_path("d.npz").s);
    expect_open_error(spec, NULL, "there are 4 inputs");
    snprintf(spec, sizeof spec, "npz:%s:", temp_path("d.npz").s);
    expect_open_error(spec, NULL, "input key");
}

/* ---- ONNX TensorProto .pb ---- */

static void write_pb(const char *name, nnq_dtype dtype, int rank, const int64_t *dims, const void *values) {
    write_array(onnx_save_tensor, name, dtype, rank, dims, values);
}

static void test_pb(void) {
    const float inputs[3 * 2] = {1.5f, 2, 3, 4, 5, -6};
    const int64_t labels[3] = {2, 0, 1};
    const float scalar[1] = {7};
    write_pb("x.pb", NNQ_FLOAT, 2, (const int64_t[]){3, 2}, inputs);
    write_pb("y.pb", NNQ_INT64, 1, (const int64_t[]){3}, labels);
    write_pb("y2.pb", NNQ_INT64, 1, (const int64_t[]){2}, labels);
    write_pb("scalar.pb", NNQ_FLOAT, 0, NULL, scalar);

    char spec[1200];
    snprintf(spec, sizeof spec, "pb:%s,%s", temp_path("x.pb").s, temp_path("y.pb").s);
    nnq_dataset *d = open_ok(spec, NULL);
    if (d) {
        CHECK(dataset_count(d) == 3 && dataset_has_labels(d) && dataset_sample_rank(d) == 1);
        nnq_tensor batch;
        int64_t got[2], count = 0;
        CHECK(dataset_next_batch(d, 2, &batch, got, &count) == NNQ_OK && count == 2);
        CHECK(batch.dtype == NNQ_FLOAT && batch.dims[0] == 2 && ((float *)batch.data)[0] == 1.5f);
        CHECK(got[0] == 2 && got[1] == 0);
        tensor_free(&batch);
        CHECK(dataset_next_batch(d, 2, &batch, got, &count) == NNQ_OK && count == 1);
        CHECK(((float *)batch.data)[1] == -6.0f && got[0] == 1);
        tensor_free(&batch);
    }
    dataset_close(d);

    /* A bare .pb path: a tensor from ONNX's own test data (written by onnx, not by nnquant). */
    const char *relu_input = "/usr/share/libonnx-testdata/data/node/test_relu/test_data_set_0/input_0.pb";
    if (access(relu_input, R_OK) == 0) {
        d = open_ok(relu_input, NULL);
        if (d) CHECK(dataset_count(d) == 3 && !dataset_has_labels(d) && dataset_sample_rank(d) == 2 &&
                     dataset_sample_dims(d)[0] == 4 && dataset_sample_dims(d)[1] == 5);
        dataset_close(d);
    }

    snprintf(spec, sizeof spec, "pb:%s,%s", temp_path("x.pb").s, temp_path("y2.pb").s);
    expect_open_error(spec, NULL, "there are 3 inputs");
    snprintf(spec, sizeof spec, "pb:%s", temp_path("scalar.pb").s);
    expect_open_error(spec, NULL, "no sample axis");
    expect_open_error("pb:/nonexistent/x.pb", NULL, "/nonexistent/x.pb");
    expect_open_error("pb:", NULL, "inputs .pb file is missing");
}

/* ---- image folders ---- */

static void test_image_folder(void) {
    path_buf root = temp_path("images");
    mkdir(root.s, 0777);
    const char *classes[2] = {"boot", "ankle"}; /* sorted: ankle = 0, boot = 1 */
    for (int c = 0; c < 2; c++) {
        char dir[600], file[700];
        snprintf(dir, sizeof dir, "%s/%s", root.s, classes[c]);
        mkdir(dir, 0777);
        for (int k = 0; k < 2; k++) {
            unsigned char gray[4 * 4];
            for (int i = 0; i < 16; i++) gray[i] = (unsigned char)(c * 100 + k * 10 + i);
            snprintf(file, sizeof file, "%s/%d.png", dir, k);
            write_png(file, 4, 4, PNG_COLOR_TYPE_GRAY, 8, gray, 4, NULL, 0);
        }
    }
    /* The defaults: 3 channels, pixel/255, NCHW, the image's own size. */
    char spec[700];
    snprintf(spec, sizeof spec, "images:%s", root.s);
    nnq_dataset *d = open_ok(spec, NULL);
    if (d) {
        CHECK(dataset_count(d) == 4 && dataset_has_labels(d));
        const int64_t *dims = dataset_sample_dims(d);
        CHECK(dataset_sample_rank(d) == 3 && dims[0] == 3 && dims[1] == 4 && dims[2] == 4);
        nnq_tensor batch;
        int64_t got[4], count = 0;
        CHECK(dataset_next_batch(d, 4, &batch, got, &count) == NNQ_OK && count == 4);
        CHECK(got[0] == 0 && got[1] == 0 && got[2] == 1 && got[3] == 1);
        /* Sample 0 is ankle/0.png: c = 1, k = 0, pixel i = 100 + i. */
        const float *v = batch.data;
        CHECK_NEAR(v[5], 105.0 / 255.0, 1e-6);
        CHECK_NEAR(v[16 + 5], 105.0 / 255.0, 1e-6); /* gray replicated to G */
        tensor_free(&batch);
    }
    dataset_close(d);

    /* Options: fitted to a [N,1,2,2] model input, then a bare directory path. */
    dataset_options options = dataset_options_defaults();
    dataset_options_fit_input(&options, NNQ_FLOAT, 4, (const int64_t[]){-1, 1, 2, 2});
    CHECK(options.image.channels == 1 && options.image.height == 2 && options.image.width == 2 && !options.image.nhwc);
    d = open_ok(root.s, &options);
    if (d) {
        const int64_t *dims = dataset_sample_dims(d);
        CHECK(dims[0] == 1 && dims[1] == 2 && dims[2] == 2);
    }
    dataset_close(d);

    /* Options the user gave win; NHWC is recognised by a channel-sized last axis. */
    options = dataset_options_defaults();
    options.image.channels = 3;
    options.image_given = DATASET_GIVEN_CHANNELS;
    dataset_options_fit_input(&options, NNQ_FLOAT, 4, (const int64_t[]){-1, 32, 32, 1});
    CHECK(options.image.nhwc && options.image.channels == 3 && options.image.height == 32);

    /* Image options do not apply to other kinds. */
    options = dataset_options_defaults();
    options.image_given = DATASET_GIVEN_SIZE;
    expect_open_error("fashion-mnist:test", &options, "apply only to image folders");
    options = dataset_options_defaults();
    options.data_dir = temp_dir;
    expect_open_error(spec, &options, "--data-dir applies only");

    path_buf empty = temp_path("empty");
    mkdir(empty.s, 0777);
    snprintf(spec, sizeof spec, "images:%s", empty.s);
    expect_open_error(spec, NULL, empty.s);
}

/* ---- spec errors ---- */

static void test_spec_errors(void) {
    expect_open_error("foo:bar", NULL, "unknown scheme 'foo'");
    expect_open_error("cifar10:test", NULL, "unknown scheme 'cifar10'");
    expect_open_error("/nonexistent/thing", NULL, "no such file or directory");
    write_bytes(temp_path("notes.txt").s, "hello", 5);
    expect_open_error(temp_path("notes.txt").s, NULL, "cannot tell its kind");
    expect_open_error("npy:", NULL, "inputs .npy file is missing");
    expect_open_error("images:", NULL, "image folder is missing");
    dataset_options options = dataset_options_defaults();
    options.limit = -1;
    expect_open_error("fashion-mnist:test", &options, "limit");
}

int main(void) {
    if (!mkdtemp(temp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_fashion_mnist_test();
    test_fashion_mnist_train_and_limit();
    test_mnist_data_dir();
    test_idx_pair();
    test_npy();
    test_npz();
    test_pb();
    test_image_folder();
    test_spec_errors();
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", temp_dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", temp_dir);
    return check_summary();
}
