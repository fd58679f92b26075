/* .npy reading and writing: round trips for every dtype, hand-built files of
 * format versions 1.0 and 2.0, and rejection of what nnquant does not read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/status.h"
#include "check.h"
#include "data/npy.h"
#include "data/tensor_convert.h"

static char temp_dir[] = "/tmp/nnq_test_npy_XXXXXX";

static void temp_path(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s", temp_dir, name);
}

/* Builds a .npy image: magic, version, header length (2 bytes for 1.0, 4 for
 * 2.0), the dictionary text, then data. Returns the total size. */
static size_t build_npy(unsigned char *buf, int major, const char *dict, const void *data,
                        size_t data_len) {
    size_t dict_len = strlen(dict), pos = 8;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (int i = 0; i < (major == 1 ? 2 : 4); i++) buf[pos++] = (unsigned char)(dict_len >> (8 * i));
    memcpy(buf + pos, dict, dict_len);
    if (data_len) memcpy(buf + pos + dict_len, data, data_len);
    return pos + dict_len + data_len;
}

static void fill_pattern(nnq_tensor *t) {
    for (int64_t i = 0; i < tensor_numel(t); i++)
        tensor_set_double(t, i, t->dtype == NNQ_BOOL ? (double)(i % 2) : (double)(i * 7 % 11) - 3);
}

static void round_trip(nnq_dtype dtype, int rank, const int64_t *dims) {
    nnq_tensor t = {0}, back = {0};
    CHECK(tensor_create(&t, dtype, rank, dims) == NNQ_OK);
    if (dtype != NNQ_UINT8 && dtype != NNQ_UINT16) fill_pattern(&t);
    else for (int64_t i = 0; i < tensor_numel(&t); i++) tensor_set_double(&t, i, (double)(i * 37 % 251));
    char path[256];
    temp_path(path, sizeof path, "round_trip.npy");
    CHECK_MSG(npy_write(path, &t) == NNQ_OK, "%s", nnq_last_error());
    CHECK_MSG(npy_read(path, &back) == NNQ_OK, "%s: %s", dtype_name(dtype), nnq_last_error());
    CHECK(back.dtype == dtype && back.rank == rank);
    for (int i = 0; i < rank; i++) CHECK(back.dims[i] == dims[i]);
    size_t bytes = (size_t)tensor_numel(&t) * dtype_size(dtype);
    CHECK(back.data && (bytes == 0 || memcmp(back.data, t.data, bytes) == 0));

    /* numpy.lib.format: the preamble is a multiple of 64 bytes ending in '\n'. */
    FILE *f = fopen(path, "rb");
    unsigned char head[10];
    CHECK(f && fread(head, 1, sizeof head, f) == sizeof head);
    size_t preamble = 10 + (size_t)(head[8] | head[9] << 8);
    CHECK(preamble % 64 == 0 && head[6] == 1 && head[7] == 0);
    CHECK(fseek(f, (long)preamble - 1, SEEK_SET) == 0 && fgetc(f) == '\n');
    CHECK(fseek(f, 0, SEEK_END) == 0 && ftell(f) == (long)(preamble + bytes));
    fclose(f);
    unlink(path);
    tensor_free(&t);
    tensor_free(&back);
}

static void test_round_trips(void) {
    static const nnq_dtype types[] = {NNQ_FLOAT, NNQ_DOUBLE, NNQ_UINT8, NNQ_INT8, NNQ_INT16,
                                      NNQ_UINT16, NNQ_INT32, NNQ_INT64, NNQ_BOOL};
    const int64_t matrix[2] = {2, 3}, vector[1] = {5}, empty[2] = {0, 4};
    const int64_t deep[NNQ_MAX_RANK] = {1, 2, 1, 2, 1, 2, 1, 3};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        round_trip(types[i], 2, matrix);
        round_trip(types[i], 1, vector);
        round_trip(types[i], 0, NULL);
    }
    round_trip(NNQ_FLOAT, 2, empty);
    round_trip(NNQ_FLOAT, NNQ_MAX_RANK, deep);
}

static void test_v1_header(void) {
    const float values[2] = {1.5f, -2.25f};
    unsigned char buf[256];
    size_t n = build_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }  \n",
                         values, sizeof values);
    nnq_tensor t;
    CHECK_MSG(npy_read_memory(buf, n, "v1", &t) == NNQ_OK, "%s", nnq_last_error());
    CHECK(t.dtype == NNQ_FLOAT && t.rank == 1 && t.dims[0] == 2);
    CHECK(t.data && ((float *)t.data)[0] == 1.5f && ((float *)t.data)[1] == -2.25f);
    tensor_free(&t);

    /* Key order and quoting may vary; a scalar has shape (). */
    const double d = 3.75;
    n = build_npy(buf, 1, "{\"shape\": (), \"fortran_order\": False, \"descr\": \"<f8\"}\n", &d,
                  sizeof d);
    CHECK_MSG(npy_read_memory(buf, n, "scalar", &t) == NNQ_OK, "%s", nnq_last_error());
    CHECK(t.dtype == NNQ_DOUBLE && t.rank == 0 && ((double *)t.data)[0] == 3.75);
    CHECK(tensor_convert_to_float(&t) == NNQ_OK && t.dtype == NNQ_FLOAT);
    CHECK(((float *)t.data)[0] == 3.75f);
    tensor_free(&t);

    const unsigned char flags[3] = {0, 1, 2};
    n = build_npy(buf, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }\n", flags, 3);
    CHECK(npy_read_memory(buf, n, "bool", &t) == NNQ_OK && t.dtype == NNQ_BOOL);
    CHECK(t.data && ((uint8_t *)t.data)[2] == 1); /* any non-zero byte is true */
    tensor_free(&t);
}

static void test_v2_header(void) {
    const int64_t values[6] = {1, -2, 3, -4, 5, INT64_MIN};
    unsigned char buf[256];
    /* Python 2 era writers emitted long literals such as 3L. */
    size_t n = build_npy(buf, 2, "{'descr': '<i8', 'fortran_order': False, 'shape': (3L, 2L), }\n",
                         values, sizeof values);
    nnq_tensor t;
    CHECK_MSG(npy_read_memory(buf, n, "v2", &t) == NNQ_OK, "%s", nnq_last_error());
    CHECK(t.dtype == NNQ_INT64 && t.rank == 2 && t.dims[0] == 3 && t.dims[1] == 2);
    CHECK(t.data && ((int64_t *)t.data)[5] == INT64_MIN && ((int64_t *)t.data)[1] == -2);
    CHECK(tensor_convert_to_float(&t) == NNQ_OK && ((float *)t.data)[3] == -4.0f);
    tensor_free(&t);

    const uint16_t half[2] = {0x3c00, 0xc000}; /* 1.0 and -2.0 in IEEE binary16 */
    n = build_npy(buf, 3, "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }\n", half,
                  sizeof half);
    CHECK_MSG(npy_read_memory(buf, n, "v3", &t) == NNQ_OK, "%s", nnq_last_error());
    CHECK(t.dtype == NNQ_FLOAT && ((float *)t.data)[1] == -2.0f);
    tensor_free(&t);
}

static void expect_reject(const char *dict, size_t data_len, nnq_status expected,
                          const char *message_part) {
    unsigned char buf[512], data[64] = {0};
    size_t n = build_npy(buf, 1, dict, data, data_len);
    nnq_tensor t;
    memset(&t, 0x5a, sizeof t);
    nnq_status st = npy_read_memory(buf, n, "bad.npy", &t);
    CHECK_MSG(st == expected, "%s -> %s (%s)", dict, nnq_status_name(st), nnq_last_error());
    CHECK_MSG(strstr(nnq_last_error(), message_part) && strstr(nnq_last_error(), "bad.npy"),
              "message '%s' lacks '%s'", nnq_last_error(), message_part);
    CHECK(t.data == NULL && t.name == NULL);
}

static void test_rejects(void) {
    expect_reject("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", 16,
                  NNQ_ERR_UNSUPPORTED, "Fortran");
    expect_reject("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 8,
                  NNQ_ERR_UNSUPPORTED, "big-endian");
    expect_reject("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }\n", 16,
                  NNQ_ERR_UNSUPPORTED, "'<c8'");
    expect_reject("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n", 16,
                  NNQ_ERR_UNSUPPORTED, "'|O'");
    expect_reject("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }\n", 8,
                  NNQ_ERR_UNSUPPORTED, "structured");
    expect_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", 12,
                  NNQ_ERR_PARSE, "needs 16");
    expect_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 12,
                  NNQ_ERR_PARSE, "12 are present");
    expect_reject("{'descr': '<f4', 'fortran_order': False, "
                  "'shape': (99999999999, 99999999999, 99999999999), }\n", 8,
                  NNQ_ERR_PARSE, "truncated or corrupt");
    expect_reject("{'descr': '<f4', 'fortran_order': False, "
                  "'shape': (999999999999999999999,), }\n", 8, NNQ_ERR_PARSE, "absurd");
    expect_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }\n",
                  4, NNQ_ERR_UNSUPPORTED, "more than 8");
    expect_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }\n", 8,
                  NNQ_ERR_PARSE, "dimension");
    expect_reject("{'descr': '<f4', 'shape': (2,), }\n", 8, NNQ_ERR_PARSE, "lacks");
    expect_reject("{'descr': '<f4', 'descr': '<f4', 'shape': (2,), }\n", 8, NNQ_ERR_PARSE,
                  "repeated");
    expect_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (2,) \n", 8, NNQ_ERR_PARSE,
                  "malformed");
    expect_reject("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }\n", 8,
                  NNQ_ERR_PARSE, "True or False");

    unsigned char buf[128];
    size_t n = build_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n",
                         "\0\0\0\0", 4);
    nnq_tensor t;
    buf[1] = 'X';
    CHECK(npy_read_memory(buf, n, "magic.npy", &t) == NNQ_ERR_PARSE);
    CHECK(strstr(nnq_last_error(), "magic.npy") && strstr(nnq_last_error(), "magic"));
    buf[1] = 'N';
    buf[6] = 9;
    CHECK(npy_read_memory(buf, n, "v9.npy", &t) == NNQ_ERR_UNSUPPORTED);
    buf[6] = 1;
    CHECK(npy_read_memory(buf, 20, "short.npy", &t) == NNQ_ERR_PARSE);
    CHECK(npy_read_memory(buf, 5, "tiny.npy", &t) == NNQ_ERR_PARSE);

    CHECK(npy_read("/nonexistent/dir/x.npy", &t) == NNQ_ERR_IO);
    CHECK(strstr(nnq_last_error(), "/nonexistent/dir/x.npy") != NULL);
    nnq_tensor string_tensor = {0};
    const int64_t one = 1;
    tensor_set_shape(&string_tensor, NNQ_UINT32, 1, &one);
    CHECK(npy_write("/tmp/unused.npy", &string_tensor) == NNQ_ERR_INVALID); /* no data */
}

/* Every truncation and every single-byte corruption of a valid file must be
 * either read or refused, never crash (AddressSanitizer watches). */
static void test_mutations(void) {
    const int32_t values[4] = {1, 2, 3, 4};
    unsigned char good[256];
    size_t n = build_npy(good, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }\n",
                         values, sizeof values);
    for (size_t len = 0; len <= n; len++) {
        unsigned char *exact = malloc(len ? len : 1); /* so overreads hit a redzone */
        memcpy(exact, good, len);
        nnq_tensor t;
        nnq_status st = npy_read_memory(exact, len, "cut", &t);
        CHECK(len == n ? st == NNQ_OK : st != NNQ_OK);
        tensor_free(&t);
        free(exact);
    }
    unsigned char *bad = malloc(n);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(bad, good, n);
            bad[i] ^= (unsigned char)(1u << bit);
            nnq_tensor t;
            if (npy_read_memory(bad, n, "flip", &t) == NNQ_OK) tensor_free(&t);
        }
    }
    free(bad);
    CHECK(1);
}

/* A file on disk whose header claims more data than follows. */
static void test_truncated_file(void) {
    char path[256];
    temp_path(path, sizeof path, "truncated.npy");
    const float values[3] = {1, 2, 3};
    unsigned char buf[256];
    size_t n = build_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n",
                         values, sizeof values);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, n, f) == n);
    fclose(f);
    nnq_tensor t;
    CHECK(npy_read(path, &t) == NNQ_ERR_PARSE && t.data == NULL);
    CHECK(strstr(nnq_last_error(), path) != NULL);
    f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, 30, f) == 30);
    fclose(f);
    CHECK(npy_read(path, &t) == NNQ_ERR_PARSE);
    /* A complete but cut-off dictionary: the parser must stop at its end. */
    n = build_npy(buf, 1, "{'descr'", NULL, 0);
    f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, n, f) == n);
    fclose(f);
    CHECK(npy_read(path, &t) == NNQ_ERR_PARSE && strstr(nnq_last_error(), "malformed"));
    unlink(path);
}

int main(void) {
    if (!mkdtemp(temp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trips();
    test_v1_header();
    test_v2_header();
    test_rejects();
    test_mutations();
    test_truncated_file();
    rmdir(temp_dir);
    return check_summary();
}
