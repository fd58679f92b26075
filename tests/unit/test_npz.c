/* .npz reading: ZIP archives built by hand here (stored, deflated with zlib in
 * raw mode, with and without Zip64 records), corrupt CRCs and truncations. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/status.h"
#include "check.h"
#include "data/npz.h"
#include "zip_builder.h"

static char temp_dir[] = "/tmp/nnq_test_npz_XXXXXX";
static char archive_path[256];

static const float A_VALUES[4] = {1.0f, 2.5f, -3.0f, 4.0f};
static const int64_t B_VALUES[64] = {7, 8, 9}; /* zeros compress well */

static size_t build_archive(zip_builder *z, bool deflated, bool zip64) {
    memset(z, 0, sizeof *z);
    z->zip64 = zip64;
    unsigned char npy[1024];
    size_t n = make_npy(npy, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n",
                        A_VALUES, sizeof A_VALUES);
    add_member(z, "a.npy", npy, n, deflated);
    add_member(z, "notes.txt", "not an array", 12, deflated);
    n = make_npy(npy, "{'descr': '<i8', 'fortran_order': False, 'shape': (64,), }\n", B_VALUES,
                 sizeof B_VALUES);
    add_member(z, "dir/b.npy", npy, n, deflated);
    return finish(z);
}

static void write_file(const unsigned char *data, size_t n) {
    unlink(archive_path); /* a fresh file: rewriting in place makes ext4 flush to disk */
    FILE *f = fopen(archive_path, "wb");
    CHECK(f && fwrite(data, 1, n, f) == n);
    if (f) fclose(f);
}

static nnq_status read_bytes(const unsigned char *data, size_t n, npz_archive *out) {
    write_file(data, n);
    return npz_read(archive_path, out);
}

static void check_members(bool deflated, bool zip64) {
    zip_builder z;
    size_t n = build_archive(&z, deflated, zip64);
    npz_archive archive;
    CHECK_MSG(read_bytes(z.data, n, &archive) == NNQ_OK, "%s", nnq_last_error());
    CHECK(archive.count == 2);
    const nnq_tensor *a = npz_find(&archive, "a"), *b = npz_find(&archive, "dir/b");
    CHECK(a && a->dtype == NNQ_FLOAT && a->rank == 2 && a->dims[0] == 2 && a->dims[1] == 2);
    CHECK(a && memcmp(a->data, A_VALUES, sizeof A_VALUES) == 0);
    CHECK(b && b->dtype == NNQ_INT64 && b->rank == 1 && b->dims[0] == 64);
    CHECK(b && memcmp(b->data, B_VALUES, sizeof B_VALUES) == 0);
    CHECK(npz_find(&archive, "notes") == NULL && npz_find(&archive, "a.npy") == NULL);
    npz_free(&archive);
    CHECK(archive.count == 0 && archive.tensors == NULL);
}

static void expect_failure(const unsigned char *data, size_t n, nnq_status expected,
                           const char *message_part) {
    npz_archive archive;
    nnq_status st = read_bytes(data, n, &archive);
    CHECK_MSG(st == expected, "got %s: %s", nnq_status_name(st), nnq_last_error());
    CHECK_MSG(strstr(nnq_last_error(), message_part) && strstr(nnq_last_error(), archive_path),
              "'%s' lacks '%s'", nnq_last_error(), message_part);
    CHECK(archive.count == 0 && archive.tensors == NULL);
}

/* Offset of the first occurrence of a 4-byte little-endian signature at or after from. */
static size_t find_signature(const unsigned char *data, size_t n, uint32_t signature, size_t from) {
    for (size_t i = from; i + 4 <= n; i++)
        if ((data[i] | data[i + 1] << 8 | data[i + 2] << 16 | (uint32_t)data[i + 3] << 24) ==
            signature)
            return i;
    return n;
}

static void test_corruption(void) {
    zip_builder z;
    size_t n = build_archive(&z, false, false);
    size_t central = find_signature(z.data, n, 0x02014b50, 0);
    z.data[central + 16] ^= 0x01; /* the CRC-32 of a.npy in the central directory */
    expect_failure(z.data, n, NNQ_ERR_PARSE, "CRC-32 mismatch in member 'a.npy'");

    n = build_archive(&z, false, false);
    z.data[30 + 5 + 60] ^= 0x40; /* a byte of a.npy's stored data */
    expect_failure(z.data, n, NNQ_ERR_PARSE, "CRC-32");

    n = build_archive(&z, true, false);
    z.data[30 + 5 + 2] ^= 0xff; /* inside a.npy's deflate stream */
    npz_archive archive;
    CHECK(read_bytes(z.data, n, &archive) == NNQ_ERR_PARSE);

    n = build_archive(&z, false, false);
    central = find_signature(z.data, n, 0x02014b50, 0);
    z.data[central + 10] = 12; /* method: bzip2 */
    expect_failure(z.data, n, NNQ_ERR_UNSUPPORTED, "compression method 12");

    n = build_archive(&z, false, false);
    central = find_signature(z.data, n, 0x02014b50, 0);
    z.data[central + 45] = 0x7f; /* local header offset beyond the archive */
    expect_failure(z.data, n, NNQ_ERR_PARSE, "outside the archive");

    expect_failure((const unsigned char *)"PK\3\4 definitely not a zip archive", 33,
                   NNQ_ERR_PARSE, "not a ZIP archive");
    expect_failure((const unsigned char *)"", 0, NNQ_ERR_PARSE, "not a ZIP archive");

    CHECK(npz_read("/nonexistent/x.npz", &archive) == NNQ_ERR_IO);
    CHECK(strstr(nnq_last_error(), "/nonexistent/x.npz") != NULL);
}

/* Every truncation fails cleanly; every single-byte corruption is read or
 * refused without a crash (AddressSanitizer watches). */
static void test_mutations(bool deflated, bool zip64) {
    zip_builder z;
    size_t n = build_archive(&z, deflated, zip64);
    for (size_t len = 0; len < n; len++) {
        npz_archive archive;
        CHECK(read_bytes(z.data, len, &archive) != NNQ_OK);
        npz_free(&archive);
    }
    unsigned char copy[CAPACITY];
    for (size_t i = 0; i < n; i++) {
        memcpy(copy, z.data, n);
        copy[i] ^= 0xa5;
        npz_archive archive;
        if (read_bytes(copy, n, &archive) == NNQ_OK) npz_free(&archive);
    }
    CHECK(1);
}

int main(void) {
    if (!mkdtemp(temp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(archive_path, sizeof archive_path, "%s/test.npz", temp_dir);
    check_members(false, false);
    check_members(true, false);
    check_members(true, true);
    check_members(false, true);
    test_corruption();
    test_mutations(false, false);
    test_mutations(true, true);
    unlink(archive_path);
    rmdir(temp_dir);
    return check_summary();
}
