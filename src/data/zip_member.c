/* Extracting one ZIP member: its local file header (APPNOTE.TXT 4.3.7), the
 * stored or deflated data (4.4.5 compression method; deflate is RFC 1951,
 * inflated by zlib in raw mode) and the CRC-32 check (4.4.7). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/status.h"
#include "data/byte_order.h"
#include "data/zip.h"

enum {
    LOCAL_SIGNATURE = 0x04034b50,
    LOCAL_SIZE = 30,
    METHOD_STORED = 0,
    METHOD_DEFLATED = 8,
    FLAG_ENCRYPTED = 1,
    /* RFC 1951 cannot expand a byte by more than this (258-byte matches coded
     * in 2 bits, so about 1032:1), which bounds a believable uncompressed size. */
    MAX_DEFLATE_RATIO = 1032,
    CHUNK = 1 << 16,
};

/* Where a member's data begins: after its local header, name and extra field
 * (whose lengths may differ from the central directory's copy). */
static nnq_status data_offset(zip_reader *zip, const zip_entry *e, uint64_t *offset) {
    unsigned char h[LOCAL_SIZE];
    NNQ_TRY(zip_read_at(zip, e->local_offset, h, sizeof h, "a local header"));
    if (load_le32(h) != LOCAL_SIGNATURE)
        return nnq_fail(NNQ_ERR_PARSE, "'%s': corrupt ZIP archive (bad local header for '%s')",
                        zip->path, e->name);
    *offset = e->local_offset + LOCAL_SIZE + load_le16(h + 26) + load_le16(h + 28);
    if (*offset > zip->directory_offset ||
        e->compressed_size > zip->directory_offset - *offset)
        return nnq_fail(NNQ_ERR_PARSE, "'%s': truncated or corrupt ZIP archive (member '%s' "
                        "overruns the archive)", zip->path, e->name);
    return NNQ_OK;
}

static nnq_status corrupt_deflate(const zip_reader *zip, const zip_entry *e, const char *why) {
    return nnq_fail(NNQ_ERR_PARSE, "'%s': corrupt compressed data in member '%s' (%s)",
                    zip->path, e->name, why ? why : "inflate failed");
}

/* Inflates the member's data, read in chunks from offset, into out. */
static nnq_status inflate_member(zip_reader *zip, const zip_entry *e, uint64_t offset,
                                 unsigned char *out) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) /* negative: raw deflate, no zlib wrapper */
        return nnq_fail(NNQ_ERR_NOMEM, "'%s': cannot initialise zlib", zip->path);
    unsigned char chunk[CHUNK];
    uint64_t consumed = 0, produced = 0;
    nnq_status st = NNQ_OK;
    int rc = Z_OK;
    while (st == NNQ_OK && rc != Z_STREAM_END) {
        if (z.avail_in == 0 && consumed < e->compressed_size) {
            uint64_t left = e->compressed_size - consumed;
            size_t n = left < CHUNK ? (size_t)left : CHUNK;
            st = zip_read_at(zip, offset + consumed, chunk, n, "member data");
            if (st != NNQ_OK) break;
            consumed += n;
            z.next_in = chunk;
            z.avail_in = (uInt)n;
        }
        uint64_t room = e->size - produced;
        z.next_out = out + produced;
        z.avail_out = room < UINT_MAX ? (uInt)room : UINT_MAX;
        uInt before = z.avail_out;
        rc = inflate(&z, Z_NO_FLUSH);
        produced += before - z.avail_out;
        if (rc == Z_BUF_ERROR && produced == e->size)
            st = corrupt_deflate(zip, e, "more data than its recorded size");
        else if (rc == Z_BUF_ERROR && consumed == e->compressed_size)
            st = corrupt_deflate(zip, e, "truncated");
        else if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
            st = corrupt_deflate(zip, e, z.msg);
    }
    if (st == NNQ_OK && produced != e->size)
        st = corrupt_deflate(zip, e, "less data than its recorded size");
    inflateEnd(&z);
    return st;
}

static nnq_status check_crc(const zip_reader *zip, const zip_entry *e, const unsigned char *data) {
    uLong crc = crc32_z(0L, data, (z_size_t)e->size);
    if (crc != e->crc32)
        return nnq_fail(NNQ_ERR_PARSE, "'%s': CRC-32 mismatch in member '%s' (corrupt archive)",
                        zip->path, e->name);
    return NNQ_OK;
}

static nnq_status check_supported(const zip_reader *zip, const zip_entry *e) {
    if (e->flags & FLAG_ENCRYPTED)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': member '%s' is encrypted", zip->path, e->name);
    if (e->method != METHOD_STORED && e->method != METHOD_DEFLATED)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': member '%s' uses compression method %u "
                        "(only stored and deflated are supported)", zip->path, e->name, e->method);
    if (e->method == METHOD_STORED && e->size != e->compressed_size)
        return nnq_fail(NNQ_ERR_PARSE, "'%s': stored member '%s' has inconsistent sizes",
                        zip->path, e->name);
    if (e->size / MAX_DEFLATE_RATIO > e->compressed_size || e->size > SIZE_MAX - 1)
        return nnq_fail(NNQ_ERR_PARSE, "'%s': member '%s' claims an impossible size",
                        zip->path, e->name);
    return NNQ_OK;
}

nnq_status zip_extract(zip_reader *zip, const zip_entry *e, unsigned char **data) {
    *data = NULL;
    uint64_t offset = 0;
    NNQ_TRY(check_supported(zip, e));
    NNQ_TRY(data_offset(zip, e, &offset));
    unsigned char *out = malloc(e->size ? (size_t)e->size : 1);
    if (!out)
        return nnq_fail(NNQ_ERR_NOMEM, "'%s': cannot allocate member '%s'", zip->path, e->name);
    nnq_status st = e->method == METHOD_STORED
                        ? zip_read_at(zip, offset, out, (size_t)e->size, "member data")
                        : inflate_member(zip, e, offset, out);
    if (st == NNQ_OK) st = check_crc(zip, e, out);
    if (st != NNQ_OK) {
        free(out);
        return st;
    }
    *data = out;
    return NNQ_OK;
}
