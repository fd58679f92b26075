/* Builds ZIP archives (and the .npy images inside .npz files) byte by byte in
 * memory, for tests of the .npz reader and of npz: datasets: stored or
 * deflated members, optionally with Zip64 records (PKWARE APPNOTE.TXT 4.3). */
#ifndef NNQ_TESTS_ZIP_BUILDER_H
#define NNQ_TESTS_ZIP_BUILDER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

enum { CAPACITY = 16384 };

typedef struct zip_builder {
    unsigned char data[CAPACITY];
    size_t len;
    unsigned char central[4096];
    size_t central_len;
    unsigned entries;
    bool zip64;   /* Zip64 extra fields with saturated sizes, and Zip64 end records */
} zip_builder;

static inline void put(unsigned char *buf, size_t *len, uint64_t value, int bytes) {
    for (int i = 0; i < bytes; i++) buf[(*len)++] = (unsigned char)(value >> (8 * i));
}

static inline void put_bytes(unsigned char *buf, size_t *len, const void *bytes, size_t n) {
    memcpy(buf + *len, bytes, n);
    *len += n;
}

static inline size_t raw_deflate(const unsigned char *in, size_t n, unsigned char *out, size_t cap) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t produced = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? produced : 0;
}

/* The fields local and central headers share, from "version needed" to the
 * name and extra field (APPNOTE 4.3.7 / 4.3.12). */
static inline void put_common(unsigned char *buf, size_t *len, const zip_builder *z, int method,
                       uint32_t crc, size_t csize, size_t usize, const char *name) {
    put(buf, len, z->zip64 ? 45 : 20, 2);
    put(buf, len, 0, 2);           /* flags */
    put(buf, len, (uint64_t)method, 2);
    put(buf, len, 0, 4);           /* time, date */
    put(buf, len, crc, 4);
    put(buf, len, z->zip64 ? 0xffffffffu : csize, 4);
    put(buf, len, z->zip64 ? 0xffffffffu : usize, 4);
    put(buf, len, strlen(name), 2);
    put(buf, len, z->zip64 ? 20 : 0, 2);
}

static inline void put_zip64_extra(unsigned char *buf, size_t *len, size_t usize, size_t csize) {
    put(buf, len, 0x0001, 2);
    put(buf, len, 16, 2);
    put(buf, len, usize, 8);
    put(buf, len, csize, 8);
}

static inline void add_member(zip_builder *z, const char *name, const void *content, size_t usize,
                       bool deflated) {
    unsigned char packed[CAPACITY];
    size_t csize = deflated ? raw_deflate(content, usize, packed, sizeof packed) : usize;
    if (!deflated) memcpy(packed, content, usize);
    uint32_t crc = (uint32_t)crc32(0L, content, (uInt)usize);
    int method = deflated ? 8 : 0;
    size_t offset = z->len;
    put(z->data, &z->len, 0x04034b50, 4);
    put_common(z->data, &z->len, z, method, crc, csize, usize, name);
    put_bytes(z->data, &z->len, name, strlen(name));
    if (z->zip64) put_zip64_extra(z->data, &z->len, usize, csize);
    put_bytes(z->data, &z->len, packed, csize);

    put(z->central, &z->central_len, 0x02014b50, 4);
    put(z->central, &z->central_len, 20, 2); /* version made by */
    put_common(z->central, &z->central_len, z, method, crc, csize, usize, name);
    put(z->central, &z->central_len, 0, 2); /* comment length */
    put(z->central, &z->central_len, 0, 2); /* disk number */
    put(z->central, &z->central_len, 0, 2); /* internal attributes */
    put(z->central, &z->central_len, 0, 4); /* external attributes */
    put(z->central, &z->central_len, offset, 4);
    put_bytes(z->central, &z->central_len, name, strlen(name));
    if (z->zip64) put_zip64_extra(z->central, &z->central_len, usize, csize);
    z->entries++;
}

/* Appends the central directory and end records; returns the archive size. */
static inline size_t finish(zip_builder *z) {
    size_t directory = z->len;
    put_bytes(z->data, &z->len, z->central, z->central_len);
    if (z->zip64) {
        size_t record = z->len;
        put(z->data, &z->len, 0x06064b50, 4);
        put(z->data, &z->len, 44, 8);        /* size of the rest of the record */
        put(z->data, &z->len, 45, 2);
        put(z->data, &z->len, 45, 2);
        put(z->data, &z->len, 0, 8);         /* this disk, directory disk */
        put(z->data, &z->len, z->entries, 8);
        put(z->data, &z->len, z->entries, 8);
        put(z->data, &z->len, z->central_len, 8);
        put(z->data, &z->len, directory, 8);
        put(z->data, &z->len, 0x07064b50, 4); /* locator */
        put(z->data, &z->len, 0, 4);
        put(z->data, &z->len, record, 8);
        put(z->data, &z->len, 1, 4);
    }
    put(z->data, &z->len, 0x06054b50, 4);
    put(z->data, &z->len, 0, 4);
    put(z->data, &z->len, z->zip64 ? 0xffff : z->entries, 2);
    put(z->data, &z->len, z->zip64 ? 0xffff : z->entries, 2);
    put(z->data, &z->len, z->zip64 ? 0xffffffffu : z->central_len, 4);
    put(z->data, &z->len, z->zip64 ? 0xffffffffu : directory, 4);
    put(z->data, &z->len, 0, 2);
    return z->len;
}

/* A version 1.0 .npy image of the given dictionary and data. */
static inline size_t make_npy(unsigned char *buf, const char *dict, const void *data, size_t n) {
    size_t len = strlen(dict);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)len;
    buf[9] = (unsigned char)(len >> 8);
    memcpy(buf + 10, dict, len);
    memcpy(buf + 10 + len, data, n);
    return 10 + len + n;
}

#endif
