#include "data/idx.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "base/status.h"
#include "data/byte_order.h"
#include "data/shape_bytes.h"

/* RFC 1951 deflate expands at most about 1032:1; a gzip file claiming more
 * data than that is truncated or corrupt and we refuse before allocating. */
enum { MAX_GZIP_RATIO = 1032, READ_CHUNK = 1 << 30 };

static nnq_dtype idx_dtype(unsigned code) {
    switch (code) {
    case 0x08: return NNQ_UINT8;
    case 0x09: return NNQ_INT8;
    case 0x0B: return NNQ_INT16;
    case 0x0C: return NNQ_INT32;
    case 0x0D: return NNQ_FLOAT;
    case 0x0E: return NNQ_DOUBLE;
    default: return NNQ_UNDEFINED;
    }
}

/* Reads exactly n bytes; fails naming path on a short read or gzip error. */
static nnq_status read_exact(gzFile gz, const char *path, void *buf, size_t n, const char *part) {
    unsigned char *p = buf;
    while (n > 0) {
        unsigned want = n < READ_CHUNK ? (unsigned)n : READ_CHUNK;
        int got = gzread(gz, p, want);
        int err = Z_OK;
        const char *msg = gzerror(gz, &err);
        if (got < 0 || (err != Z_OK && err != Z_BUF_ERROR))
            return nnq_fail(NNQ_ERR_PARSE, "'%s': corrupt IDX file (%s while reading the %s)",
                            path, msg, part);
        if ((unsigned)got < want)
            return nnq_fail(NNQ_ERR_PARSE, "'%s': truncated IDX file (the %s ends early)", path,
                            part);
        p += got;
        n -= (size_t)got;
    }
    return NNQ_OK;
}

/* Reading one byte past the data also makes zlib verify the gzip trailer's CRC. */
static nnq_status check_end(gzFile gz, const char *path) {
    unsigned char extra;
    int got = gzread(gz, &extra, 1);
    int err = Z_OK;
    const char *msg = gzerror(gz, &err);
    if (got < 0 || err != Z_OK) /* Z_BUF_ERROR here: the gzip trailer is cut off */
        return nnq_fail(NNQ_ERR_PARSE, "'%s': truncated or corrupt IDX file (%s)", path, msg);
    if (got > 0)
        return nnq_fail(NNQ_ERR_PARSE, "'%s': IDX file has bytes after the data its dims "
                        "describe", path);
    return NNQ_OK;
}

static nnq_status read_shape(gzFile gz, const char *path, nnq_dtype *dtype, int *rank,
                             int64_t *dims) {
    unsigned char magic[4], raw[4 * NNQ_MAX_RANK];
    NNQ_TRY(read_exact(gz, path, magic, sizeof magic, "magic number"));
    *dtype = idx_dtype(magic[2]);
    if (magic[0] != 0 || magic[1] != 0 || *dtype == NNQ_UNDEFINED)
        return nnq_fail(NNQ_ERR_PARSE, "'%s' is not an IDX file (magic %02x%02x%02x%02x)", path,
                        magic[0], magic[1], magic[2], magic[3]);
    *rank = magic[3];
    if (*rank > NNQ_MAX_RANK)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': IDX file has %d dimensions (at most %d "
                        "supported)", path, *rank, NNQ_MAX_RANK);
    NNQ_TRY(read_exact(gz, path, raw, 4 * (size_t)*rank, "dimensions"));
    for (int i = 0; i < *rank; i++) dims[i] = load_be32(raw + 4 * i);
    return NNQ_OK;
}

/* Refuses shapes whose data cannot be in a file of file_size bytes. */
static nnq_status check_plausible(const char *path, bool compressed, uint64_t file_size,
                                  nnq_dtype dtype, int rank, const int64_t *dims) {
    uint64_t limit = compressed ? file_size * MAX_GZIP_RATIO : file_size;
    if (shape_bytes_within(dims, rank, dtype_size(dtype), limit) == UINT64_MAX) {
        char shape[160];
        return nnq_fail(NNQ_ERR_PARSE, "'%s': truncated or corrupt IDX file (shape %s %s does "
                        "not fit in its %" PRIu64 " bytes)", path,
                        dims_format(dims, rank, shape, sizeof shape), dtype_name(dtype), file_size);
    }
    return NNQ_OK;
}

static nnq_status read_idx(gzFile gz, const char *path, uint64_t file_size, nnq_tensor *out) {
    nnq_dtype dtype;
    int rank = 0;
    int64_t dims[NNQ_MAX_RANK];
    NNQ_TRY(read_shape(gz, path, &dtype, &rank, dims));
    NNQ_TRY(check_plausible(path, !gzdirect(gz), file_size, dtype, rank, dims));
    nnq_status st = tensor_create(out, dtype, rank, dims);
    if (st != NNQ_OK) return nnq_fail_context(st, "reading '%s'", path);
    size_t count = (size_t)tensor_numel(out), elem = dtype_size(dtype);
    NNQ_TRY(read_exact(gz, path, out->data, count * elem, "data"));
    NNQ_TRY(check_end(gz, path));
    elements_to_host(out->data, count, elem, false); /* IDX data is big-endian */
    return NNQ_OK;
}

nnq_status idx_read(const char *path, nnq_tensor *out) {
    memset(out, 0, sizeof *out);
    struct stat info;
    if (stat(path, &info) != 0)
        return nnq_fail(NNQ_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    if (!S_ISREG(info.st_mode))
        return nnq_fail(NNQ_ERR_IO, "cannot read '%s': not a regular file", path);
    gzFile gz = gzopen(path, "rb");
    if (!gz) return nnq_fail(NNQ_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    gzbuffer(gz, 1 << 17);
    nnq_status st = read_idx(gz, path, (uint64_t)info.st_size, out);
    gzclose(gz);
    if (st != NNQ_OK) tensor_free(out);
    return st;
}
