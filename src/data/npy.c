#include "data/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomic_file.h"
#include "base/status.h"
#include "data/byte_order.h"
#include "data/npy_header.h"
#include "data/tensor_convert.h"

/* Allocates out for the header's type and shape. */
static nnq_status alloc_tensor(const npy_header *h, const char *what, nnq_tensor *out) {
    nnq_status st = tensor_create(out, h->dtype, h->rank, h->dims);
    if (st != NNQ_OK) return nnq_fail_context(st, "reading '%s'", what);
    return NNQ_OK;
}

/* Brings freshly read file bytes into nnquant's representation. */
static nnq_status finish_tensor(bool little_endian, nnq_tensor *t) {
    size_t n = (size_t)tensor_numel(t);
    elements_to_host(t->data, n, dtype_size(t->dtype), little_endian);
    if (t->dtype == NNQ_BOOL) {
        unsigned char *b = t->data;
        for (size_t i = 0; i < n; i++) b[i] = b[i] != 0;
    }
    if (t->dtype == NNQ_FLOAT16) return tensor_convert_to_float(t);
    return NNQ_OK;
}

nnq_status npy_read_memory(const void *bytes, size_t size, const char *what, nnq_tensor *out) {
    memset(out, 0, sizeof *out);
    const unsigned char *p = bytes;
    size_t preamble = 0, data_bytes = 0;
    NNQ_TRY(npy_preamble_size(p, size, what, &preamble));
    if (preamble > size) return nnq_fail(NNQ_ERR_PARSE, "'%s': truncated .npy header", what);
    npy_header h;
    NNQ_TRY(npy_header_parse(p, preamble, what, &h));
    NNQ_TRY(npy_header_data_size(&h, size - preamble, what, &data_bytes));
    NNQ_TRY(alloc_tensor(&h, what, out));
    if (data_bytes) memcpy(out->data, p + preamble, data_bytes);
    nnq_status st = finish_tensor(h.little_endian, out);
    if (st != NNQ_OK) tensor_free(out);
    return st;
}

static nnq_status read_header(FILE *f, const char *path, npy_header *h) {
    unsigned char prefix[NPY_PREFIX_SIZE];
    size_t got = fread(prefix, 1, sizeof prefix, f), preamble = 0;
    NNQ_TRY(npy_preamble_size(prefix, got, path, &preamble));
    unsigned char *buf = malloc(preamble);
    if (!buf) return nnq_fail(NNQ_ERR_NOMEM, "'%s': cannot allocate the .npy header", path);
    size_t head = got < preamble ? got : preamble;
    memcpy(buf, prefix, head);
    nnq_status st = NNQ_OK;
    if (fseek(f, (long)head, SEEK_SET) != 0 || fread(buf + head, 1, preamble - head, f) != preamble - head)
        st = nnq_fail(NNQ_ERR_PARSE, "'%s': truncated .npy header", path);
    else
        st = npy_header_parse(buf, preamble, path, h);
    free(buf);
    return st;
}

/* Bytes between the current position and the end of f. */
static nnq_status remaining_bytes(FILE *f, const char *path, uint64_t *remaining) {
    long here = ftell(f);
    if (here < 0 || fseek(f, 0, SEEK_END) != 0)
        return nnq_fail(NNQ_ERR_IO, "cannot seek in '%s': %s", path, strerror(errno));
    long end = ftell(f);
    if (end < here || fseek(f, here, SEEK_SET) != 0)
        return nnq_fail(NNQ_ERR_IO, "cannot seek in '%s': %s", path, strerror(errno));
    *remaining = (uint64_t)(end - here);
    return NNQ_OK;
}

static nnq_status read_stream(FILE *f, const char *path, nnq_tensor *out) {
    npy_header h;
    uint64_t remaining = 0;
    size_t data_bytes = 0;
    NNQ_TRY(read_header(f, path, &h));
    NNQ_TRY(remaining_bytes(f, path, &remaining));
    NNQ_TRY(npy_header_data_size(&h, remaining, path, &data_bytes));
    NNQ_TRY(alloc_tensor(&h, path, out));
    nnq_status st = NNQ_OK;
    if (fread(out->data, 1, data_bytes, f) != data_bytes)
        st = nnq_fail(NNQ_ERR_IO, "cannot read '%s': %s", path,
                      ferror(f) ? strerror(errno) : "file shrank while reading");
    else
        st = finish_tensor(h.little_endian, out);
    if (st != NNQ_OK) tensor_free(out);
    return st;
}

nnq_status npy_read(const char *path, nnq_tensor *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return nnq_fail(NNQ_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    nnq_status st = read_stream(f, path, out);
    fclose(f);
    return st;
}

nnq_status npy_row_reader_open(npy_row_reader *reader, const char *path) {
    memset(reader, 0, sizeof *reader);
    FILE *f = fopen(path, "rb");
    if (!f) return nnq_fail(NNQ_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    npy_header h;
    uint64_t remaining = 0;
    size_t data_bytes = 0;
    nnq_status st = read_header(f, path, &h);
    if (st == NNQ_OK) st = remaining_bytes(f, path, &remaining);
    if (st == NNQ_OK) st = npy_header_data_size(&h, remaining, path, &data_bytes);
    if (st == NNQ_OK && h.rank < 1)
        st = nnq_fail(NNQ_ERR_INVALID, "'%s': a 0-dimensional array has no sample axis", path);
    if (st == NNQ_OK && !(reader->path = strdup(path))) st = nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st != NNQ_OK) {
        fclose(f);
        return st;
    }
    reader->file = f;
    reader->dtype = h.dtype;
    reader->little_endian = h.little_endian;
    reader->rank = h.rank;
    memcpy(reader->dims, h.dims, sizeof h.dims);
    reader->data_offset = (long long)h.data_offset;
    reader->row_bytes = h.dims[0] > 0 ? data_bytes / (size_t)h.dims[0] : 0;
    return NNQ_OK;
}

nnq_status npy_row_reader_read(npy_row_reader *reader, int64_t first, int64_t count, nnq_tensor *out) {
    memset(out, 0, sizeof *out);
    if (first < 0 || count < 0 || first > reader->dims[0] - count)
        return nnq_fail(NNQ_ERR_INVALID, "'%s': rows %lld..%lld are outside its %lld rows", reader->path,
                        (long long)first, (long long)(first + count), (long long)reader->dims[0]);
    int64_t dims[NNQ_MAX_RANK];
    memcpy(dims, reader->dims, sizeof dims);
    dims[0] = count;
    NNQ_TRY(tensor_create(out, reader->dtype, reader->rank, dims));
    size_t bytes = (size_t)count * reader->row_bytes;
    off_t offset = (off_t)(reader->data_offset + (long long)first * (long long)reader->row_bytes);
    nnq_status st = NNQ_OK;
    if (fseeko(reader->file, offset, SEEK_SET) != 0 || fread(out->data, 1, bytes, reader->file) != bytes)
        st = nnq_fail(NNQ_ERR_IO, "cannot read '%s': %s", reader->path,
                      ferror(reader->file) ? strerror(errno) : "file shrank while reading");
    else
        st = finish_tensor(reader->little_endian, out);
    if (st != NNQ_OK) tensor_free(out);
    return st;
}

void npy_row_reader_close(npy_row_reader *reader) {
    if (reader->file) fclose(reader->file);
    free(reader->path);
    memset(reader, 0, sizeof *reader);
}

/* .npy data is little-endian; a big-endian host writes swapped copies. */
static bool write_little_endian(FILE *f, const void *data, size_t count, size_t elem) {
    if (host_is_little_endian() || elem == 1) return fwrite(data, elem, count, f) == count;
    unsigned char chunk[1 << 16];
    const unsigned char *p = data;
    size_t per_chunk = sizeof chunk / elem;
    for (size_t done = 0; done < count;) {
        size_t n = count - done < per_chunk ? count - done : per_chunk;
        memcpy(chunk, p + done * elem, n * elem);
        byteswap_elements(chunk, n, elem);
        if (fwrite(chunk, elem, n, f) != n) return false;
        done += n;
    }
    return true;
}

nnq_status npy_write(const char *path, const nnq_tensor *t) {
    if (!t->data || !tensor_shape_known(t) || t->rank > NNQ_MAX_RANK)
        return nnq_fail(NNQ_ERR_INVALID, "cannot write '%s': tensor '%s' has no data or an "
                        "unknown shape", path, t->name ? t->name : "");
    unsigned char preamble[NPY_MAX_PREAMBLE];
    size_t preamble_len = 0;
    NNQ_TRY(npy_header_format(t->dtype, t->rank, t->dims, path, preamble, &preamble_len));
    nnq_atomic_file file;
    NNQ_TRY(atomic_file_open(&file, path));
    bool ok = fwrite(preamble, 1, preamble_len, file.stream) == preamble_len &&
              write_little_endian(file.stream, t->data, (size_t)tensor_numel(t),
                                  dtype_size(t->dtype));
    if (!ok) {
        nnq_status st = nnq_fail(NNQ_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        atomic_file_abort(&file);
        return st;
    }
    return atomic_file_commit(&file);
}
