/* Read-only access to ZIP archives, as far as .npz files need it: the central
 * directory (with Zip64 sizes and offsets) and members that are stored
 * (method 0) or deflated (method 8), each checked against its CRC-32.
 *
 * Spec: PKWARE APPNOTE.TXT (".ZIP File Format Specification"), sections 4.3
 * (file structure), 4.4 (field meanings) and 4.5.3 (Zip64 extra field). */
#ifndef NNQ_DATA_ZIP_H
#define NNQ_DATA_ZIP_H

#include <stdint.h>
#include <stdio.h>

#include "nnquant.h"

typedef struct zip_entry {
    char *name;            /* owned, NUL-terminated */
    uint16_t flags;        /* general purpose bit flag */
    uint16_t method;       /* 0 stored, 8 deflated */
    uint32_t crc32;
    uint64_t compressed_size;
    uint64_t size;         /* uncompressed */
    uint64_t local_offset; /* of the member's local file header */
} zip_entry;

typedef struct zip_reader {
    FILE *file;
    char *path;            /* owned; names the archive in errors */
    uint64_t file_size;
    uint64_t directory_offset; /* members lie before the central directory */
    size_t count;
    zip_entry *entries;
} zip_reader;

/* Opens path and reads its central directory. On failure nothing is left open. */
nnq_status zip_open(zip_reader *zip, const char *path);

/* Reads and decompresses one member into a malloc'd buffer of entry->size
 * bytes (at least 1 byte is allocated), verifying its CRC-32. */
nnq_status zip_extract(zip_reader *zip, const zip_entry *entry, unsigned char **data);

void zip_close(zip_reader *zip);

/* Shared by zip_directory.c and zip_member.c: reads exactly n bytes at offset,
 * failing with a "truncated" parse error naming `part` otherwise. */
nnq_status zip_read_at(zip_reader *zip, uint64_t offset, void *buf, size_t n, const char *part);

#endif
