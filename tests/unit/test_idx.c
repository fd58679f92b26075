/* IDX reading on the real Fashion-MNIST files (Debian's dataset-fashion-mnist)
 * and on small hand-written files, plain and gzip-compressed, good and bad. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/status.h"
#include "check.h"
#include "data/idx.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist/"

static char temp_dir[] = "/tmp/nnq_test_idx_XXXXXX";

static void check_labels(const char *file, int64_t count) {
    nnq_tensor t;
    nnq_status st = idx_read(file, &t);
    CHECK_MSG(st == NNQ_OK, "%s", nnq_last_error());
    if (st != NNQ_OK) return;
    CHECK(t.dtype == NNQ_UINT8 && t.rank == 1 && t.dims[0] == count);
    int64_t histogram[10] = {0}, out_of_range = 0;
    for (int64_t i = 0; i < t.dims[0]; i++) {
        uint8_t label = ((uint8_t *)t.data)[i];
        if (label < 10) histogram[label]++;
        else out_of_range++;
    }
    CHECK(out_of_range == 0);
    for (int c = 0; c < 10; c++) CHECK_MSG(histogram[c] == count / 10, "class %d: %lld", c,
                                            (long long)histogram[c]);
    tensor_free(&t);
}

static void check_images(const char *file, int64_t count) {
    nnq_tensor t;
    nnq_status st = idx_read(file, &t);
    CHECK_MSG(st == NNQ_OK, "%s", nnq_last_error());
    if (st != NNQ_OK) return;
    CHECK(t.dtype == NNQ_UINT8 && t.rank == 3);
    CHECK(t.dims[0] == count && t.dims[1] == 28 && t.dims[2] == 28);
    /* Fashion-MNIST images have black borders and bright garments. */
    const uint8_t *p = t.data;
    int max = 0;
    for (int i = 0; i < 28 * 28; i++) max = p[i] > max ? p[i] : max;
    CHECK(max > 200);
    tensor_free(&t);
}

static void test_fashion_mnist(void) {
    if (access(FASHION_DIR "t10k-labels-idx1-ubyte.gz", R_OK) != 0) {
        fprintf(stderr, "note: %s missing (install dataset-fashion-mnist)\n", FASHION_DIR);
        CHECK(0);
        return;
    }
    check_labels(FASHION_DIR "t10k-labels-idx1-ubyte.gz", 10000);
    check_labels(FASHION_DIR "train-labels-idx1-ubyte.gz", 60000);
    check_images(FASHION_DIR "t10k-images-idx3-ubyte.gz", 10000);
    check_images(FASHION_DIR "train-images-idx3-ubyte.gz", 60000);
}

/* Writes bytes to path, gzip-compressed if gzip. */
static void write_file(const char *path, const unsigned char *bytes, size_t n, int gzip) {
    unlink(path); /* a fresh file: rewriting in place makes ext4 flush to disk */
    if (gzip) {
        gzFile gz = gzopen(path, "wb");
        CHECK(gz && gzwrite(gz, bytes, (unsigned)n) == (int)n);
        if (gz) gzclose(gz);
    } else {
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(bytes, 1, n, f) == n);
        if (f) fclose(f);
    }
}

/* A 2x3 big-endian int16 IDX file: magic 00 00 0B 02, dims 2 and 3, data. */
static size_t small_idx(unsigned char *buf) {
    static const unsigned char file[] = {0, 0, 0x0B, 2, 0, 0, 0, 2, 0, 0, 0, 3,
                                         0x00, 0x01, 0xff, 0xfe, 0x12, 0x34,
                                         0x80, 0x00, 0x7f, 0xff, 0x00, 0x00};
    memcpy(buf, file, sizeof file);
    return sizeof file;
}

static void test_small_file(int gzip) {
    char path[256];
    snprintf(path, sizeof path, "%s/small.idx%s", temp_dir, gzip ? ".gz" : "");
    unsigned char buf[64];
    size_t n = small_idx(buf);
    write_file(path, buf, n, gzip);
    nnq_tensor t;
    CHECK_MSG(idx_read(path, &t) == NNQ_OK, "%s", nnq_last_error());
    CHECK(t.dtype == NNQ_INT16 && t.rank == 2 && t.dims[0] == 2 && t.dims[1] == 3);
    const int16_t expected[6] = {1, -2, 0x1234, INT16_MIN, INT16_MAX, 0};
    CHECK(t.data && memcmp(t.data, expected, sizeof expected) == 0);
    tensor_free(&t);

    static const unsigned char doubles[] = {0, 0, 0x0E, 1, 0, 0, 0, 1,
                                            0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18};
    write_file(path, doubles, sizeof doubles, gzip);
    CHECK(idx_read(path, &t) == NNQ_OK && t.dtype == NNQ_DOUBLE);
    CHECK(t.data && ((double *)t.data)[0] == 3.141592653589793);
    tensor_free(&t);
    unlink(path);
}

static void expect_reject(const unsigned char *bytes, size_t n, int gzip, nnq_status expected,
                          const char *message_part) {
    char path[256];
    snprintf(path, sizeof path, "%s/bad.idx%s", temp_dir, gzip ? ".gz" : "");
    write_file(path, bytes, n, gzip);
    nnq_tensor t;
    nnq_status st = idx_read(path, &t);
    CHECK_MSG(st == expected, "got %s: %s", nnq_status_name(st), nnq_last_error());
    CHECK_MSG(strstr(nnq_last_error(), message_part) && strstr(nnq_last_error(), path),
              "'%s' lacks '%s'", nnq_last_error(), message_part);
    CHECK(t.data == NULL);
    unlink(path);
}

static void test_rejects(void) {
    unsigned char buf[64];
    for (int gzip = 0; gzip <= 1; gzip++) {
        size_t n = small_idx(buf);
        expect_reject(buf, n - 1, gzip, NNQ_ERR_PARSE, "truncated");
        expect_reject(buf, 10, gzip, NNQ_ERR_PARSE, "truncated");
        buf[n] = 0;
        expect_reject(buf, n + 1, gzip, NNQ_ERR_PARSE, "bytes after");
        buf[2] = 0x0A;
        expect_reject(buf, n, gzip, NNQ_ERR_PARSE, "not an IDX file");
        buf[2] = 0x0B;
        buf[0] = 1;
        expect_reject(buf, n, gzip, NNQ_ERR_PARSE, "not an IDX file");
        buf[0] = 0;
        buf[3] = 40;
        expect_reject(buf, n, gzip, NNQ_ERR_UNSUPPORTED, "40 dimensions");
        /* dims claiming 2^31 x 2^31 elements in a tiny file */
        static const unsigned char absurd[] = {0, 0, 8, 2, 0x80, 0, 0, 0, 0x80, 0, 0, 0, 1, 2};
        expect_reject(absurd, sizeof absurd, gzip, NNQ_ERR_PARSE, "does not fit");
    }
    expect_reject((const unsigned char *)"", 0, 0, NNQ_ERR_PARSE, "truncated");

    /* A gzip file cut short, and one whose CRC trailer is wrong. */
    char path[256];
    snprintf(path, sizeof path, "%s/cut.idx.gz", temp_dir);
    size_t n = small_idx(buf);
    write_file(path, buf, n, 1);
    FILE *f = fopen(path, "rb");
    unsigned char gz[256];
    size_t gz_len = f ? fread(gz, 1, sizeof gz, f) : 0;
    if (f) fclose(f);
    CHECK(gz_len > 20);
    for (size_t len = 0; len < gz_len; len++) {
        write_file(path, gz, len, 0);
        nnq_tensor t;
        CHECK_MSG(idx_read(path, &t) != NNQ_OK, "gzip cut at %zu accepted", len);
    }
    gz[gz_len - 6] ^= 0x10; /* CRC-32 in the gzip trailer (RFC 1952) */
    write_file(path, gz, gz_len, 0);
    nnq_tensor t;
    CHECK(idx_read(path, &t) == NNQ_ERR_PARSE);
    unlink(path);

    CHECK(idx_read("/nonexistent/train-images.gz", &t) == NNQ_ERR_IO);
    CHECK(strstr(nnq_last_error(), "/nonexistent/train-images.gz") != NULL);
}

int main(void) {
    if (!mkdtemp(temp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_fashion_mnist();
    test_small_file(0);
    test_small_file(1);
    test_rejects();
    rmdir(temp_dir);
    return check_summary();
}
