/* Finding and reading a ZIP archive's central directory (APPNOTE.TXT 4.3.16
 * end of central directory record, 4.3.14/4.3.15 Zip64 end record and locator,
 * 4.3.12 central directory file headers, 4.5.3 Zip64 extended information). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "data/byte_order.h"
#include "data/zip.h"

enum {
    EOCD_SIGNATURE = 0x06054b50,
    EOCD_SIZE = 22,
    MAX_COMMENT = 0xffff,
    ZIP64_LOCATOR_SIGNATURE = 0x07064b50,
    ZIP64_LOCATOR_SIZE = 20,
    ZIP64_EOCD_SIGNATURE = 0x06064b50,
    ZIP64_EOCD_SIZE = 56,
    CENTRAL_SIGNATURE = 0x02014b50,
    CENTRAL_SIZE = 46,
    ZIP64_EXTRA_ID = 0x0001,
};

/* Where the central directory is, from the end records. */
typedef struct directory_end {
    uint64_t record_offset; /* of the end of central directory record */
    uint64_t entries;
    uint64_t size;
    uint64_t offset;
} directory_end;

nnq_status zip_read_at(zip_reader *zip, uint64_t offset, void *buf, size_t n, const char *part) {
    if (offset > zip->file_size || n > zip->file_size - offset)
        return nnq_fail(NNQ_ERR_PARSE, "'%s': truncated or corrupt ZIP archive (%s lies beyond "
                        "the end of the file)", zip->path, part);
    if (fseeko(zip->file, (off_t)offset, SEEK_SET) != 0 || fread(buf, 1, n, zip->file) != n)
        return nnq_fail(NNQ_ERR_IO, "cannot read '%s': %s", zip->path,
                        ferror(zip->file) ? strerror(errno) : "unexpected end of file");
    return NNQ_OK;
}

/* The end record is the last thing in the file but may be followed by a
 * comment of up to 65535 bytes, so search backwards for its signature. */
static nnq_status find_end_record(zip_reader *zip, directory_end *end) {
    uint64_t tail_size = zip->file_size < EOCD_SIZE + MAX_COMMENT ? zip->file_size
                                                                  : EOCD_SIZE + MAX_COMMENT;
    if (tail_size < EOCD_SIZE)
        return nnq_fail(NNQ_ERR_PARSE, "'%s' is not a ZIP archive (too short)", zip->path);
    unsigned char *tail = malloc((size_t)tail_size);
    if (!tail) return nnq_fail(NNQ_ERR_NOMEM, "'%s': out of memory", zip->path);
    uint64_t tail_start = zip->file_size - tail_size;
    nnq_status st = zip_read_at(zip, tail_start, tail, (size_t)tail_size, "the end record");
    for (size_t pos = (size_t)tail_size - EOCD_SIZE + 1; st == NNQ_OK && pos-- > 0;) {
        const unsigned char *r = tail + pos;
        if (load_le32(r) != EOCD_SIGNATURE || pos + EOCD_SIZE + load_le16(r + 20) > tail_size)
            continue;
        if (load_le16(r + 4) != 0 || load_le16(r + 6) != 0)
            st = nnq_fail(NNQ_ERR_UNSUPPORTED, "'%s': multi-disk ZIP archives are not supported",
                          zip->path);
        end->record_offset = tail_start + pos;
        end->entries = load_le16(r + 10);
        end->size = load_le32(r + 12);
        end->offset = load_le32(r + 16);
        free(tail);
        return st;
    }
    free(tail);
    if (st != NNQ_OK) return st;
    return nnq_fail(NNQ_ERR_PARSE, "'%s' is not a ZIP archive (no end of central directory "
                    "record)", zip->path);
}

/* A Zip64 archive has a locator just before the end record pointing at a
 * Zip64 end record whose 64-bit counts replace the saturated 16/32-bit ones. */
static nnq_status read_zip64_end(zip_reader *zip, directory_end *end) {
    unsigned char locator[ZIP64_LOCATOR_SIZE], record[ZIP64_EOCD_SIZE];
    if (end->record_offset < ZIP64_LOCATOR_SIZE) return NNQ_OK;
    NNQ_TRY(zip_read_at(zip, end->record_offset - ZIP64_LOCATOR_SIZE, locator, sizeof locator,
                        "the Zip64 locator"));
    if (load_le32(locator) != ZIP64_LOCATOR_SIGNATURE) return NNQ_OK;
    uint64_t record_offset = load_le64(locator + 8);
    NNQ_TRY(zip_read_at(zip, record_offset, record, sizeof record, "the Zip64 end record"));
    if (load_le32(record) != ZIP64_EOCD_SIGNATURE)
        return nnq_fail(NNQ_ERR_PARSE, "'%s': corrupt ZIP archive (bad Zip64 end record)",
                        zip->path);
    end->entries = load_le64(record + 32);
    end->size = load_le64(record + 40);
    end->offset = load_le64(record + 48);
    end->record_offset = record_offset;
    return NNQ_OK;
}

/* APPNOTE 4.5.3: the Zip64 extra field holds, in this order, only those of
 * size, compressed size and local header offset whose 32-bit field is 0xFFFFFFFF. */
static nnq_status apply_zip64_extra(zip_reader *zip, zip_entry *e, const unsigned char *extra,
                                    size_t len) {
    uint64_t *fields[3] = {&e->size, &e->compressed_size, &e->local_offset};
    for (size_t pos = 0; pos + 4 <= len;) {
        size_t id = load_le16(extra + pos), size = load_le16(extra + pos + 2);
        const unsigned char *data = extra + pos + 4;
        if (pos + 4 + size > len) break;
        pos += 4 + size;
        if (id != ZIP64_EXTRA_ID) continue;
        size_t used = 0;
        for (int i = 0; i < 3; i++) {
            if (*fields[i] != UINT32_MAX) continue;
            if (used + 8 > size)
                return nnq_fail(NNQ_ERR_PARSE, "'%s': corrupt Zip64 field for '%s'", zip->path,
                                e->name);
            *fields[i] = load_le64(data + used);
            used += 8;
        }
    }
    return NNQ_OK;
}

/* Checks that a member's data can lie between its offset and the directory. */
static nnq_status check_entry(const zip_reader *zip, const zip_entry *e) {
    if (e->local_offset >= zip->directory_offset ||
        e->compressed_size > zip->directory_offset - e->local_offset)
        return nnq_fail(NNQ_ERR_PARSE, "'%s': corrupt ZIP archive (member '%s' lies outside "
                        "the archive)", zip->path, e->name);
    return NNQ_OK;
}

/* Parses the central directory header at *pos of dir into e and advances *pos. */
static nnq_status parse_entry(zip_reader *zip, const unsigned char *dir, size_t dir_size,
                              size_t *pos, zip_entry *e) {
    const unsigned char *h = dir + *pos;
    if (dir_size - *pos < CENTRAL_SIZE || load_le32(h) != CENTRAL_SIGNATURE)
        return nnq_fail(NNQ_ERR_PARSE, "'%s': corrupt ZIP central directory (entry %zu)",
                        zip->path, zip->count);
    size_t name_len = load_le16(h + 28), extra_len = load_le16(h + 30);
    size_t comment_len = load_le16(h + 32);
    if (dir_size - *pos - CENTRAL_SIZE < name_len + extra_len + comment_len ||
        memchr(h + CENTRAL_SIZE, '\0', name_len))
        return nnq_fail(NNQ_ERR_PARSE, "'%s': corrupt ZIP central directory (entry %zu)",
                        zip->path, zip->count);
    e->name = malloc(name_len + 1);
    if (!e->name) return nnq_fail(NNQ_ERR_NOMEM, "'%s': out of memory", zip->path);
    memcpy(e->name, h + CENTRAL_SIZE, name_len);
    e->name[name_len] = '\0';
    e->flags = load_le16(h + 8);
    e->method = load_le16(h + 10);
    e->crc32 = load_le32(h + 16);
    e->compressed_size = load_le32(h + 20);
    e->size = load_le32(h + 24);
    e->local_offset = load_le32(h + 42);
    *pos += CENTRAL_SIZE + name_len + extra_len + comment_len;
    NNQ_TRY(apply_zip64_extra(zip, e, h + CENTRAL_SIZE + name_len, extra_len));
    return check_entry(zip, e);
}

static nnq_status read_directory(zip_reader *zip, const directory_end *end) {
    if (end->offset > end->record_offset || end->size > end->record_offset - end->offset ||
        end->entries > end->size / CENTRAL_SIZE)
        return nnq_fail(NNQ_ERR_PARSE, "'%s': corrupt ZIP archive (bad central directory "
                        "location or entry count)", zip->path);
    zip->directory_offset = end->offset;
    unsigned char *dir = malloc(end->size ? (size_t)end->size : 1);
    zip->entries = calloc(end->entries ? (size_t)end->entries : 1, sizeof *zip->entries);
    nnq_status st = !dir || !zip->entries
                        ? nnq_fail(NNQ_ERR_NOMEM, "'%s': out of memory", zip->path)
                        : zip_read_at(zip, end->offset, dir, (size_t)end->size, "the directory");
    size_t pos = 0;
    while (st == NNQ_OK && zip->count < end->entries) {
        st = parse_entry(zip, dir, (size_t)end->size, &pos, &zip->entries[zip->count]);
        zip->count++; /* counted even on failure so zip_close frees the name */
    }
    free(dir);
    return st;
}

nnq_status zip_open(zip_reader *zip, const char *path) {
    memset(zip, 0, sizeof *zip);
    zip->path = strdup(path);
    if (!zip->path) return nnq_fail(NNQ_ERR_NOMEM, "out of memory opening '%s'", path);
    zip->file = fopen(path, "rb");
    if (!zip->file) {
        nnq_status st = nnq_fail(NNQ_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        zip_close(zip);
        return st;
    }
    nnq_status st = NNQ_OK;
    off_t size = -1;
    if (fseeko(zip->file, 0, SEEK_END) != 0 || (size = ftello(zip->file)) < 0)
        st = nnq_fail(NNQ_ERR_IO, "cannot seek in '%s': %s", path, strerror(errno));
    zip->file_size = size < 0 ? 0 : (uint64_t)size;
    directory_end end = {0};
    if (st == NNQ_OK) st = find_end_record(zip, &end);
    if (st == NNQ_OK) st = read_zip64_end(zip, &end);
    if (st == NNQ_OK) st = read_directory(zip, &end);
    if (st != NNQ_OK) zip_close(zip);
    return st;
}

void zip_close(zip_reader *zip) {
    if (zip->file) fclose(zip->file);
    for (size_t i = 0; i < zip->count; i++) free(zip->entries[i].name);
    free(zip->entries);
    free(zip->path);
    memset(zip, 0, sizeof *zip);
}
