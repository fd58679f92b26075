/* The preamble of a .npy file: magic, version, and the Python-literal header
 * dictionary describing dtype, memory order and shape. Internal to npy.c and
 * shared by its file, row and in-memory readers and its writer.
 *
 * Spec: NumPy Enhancement Proposal 1 / numpy.lib.format ("A Simple File
 * Format for NumPy Arrays"), versions 1.0, 2.0 and 3.0. */
#ifndef NNQ_DATA_NPY_HEADER_H
#define NNQ_DATA_NPY_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/tensor.h"

/* Bytes needed to know the preamble's length: magic (6), version (2) and the
 * header length, 2 bytes in version 1.0 and 4 bytes from version 2.0. */
enum { NPY_PREFIX_SIZE = 12 };

/* Room for any preamble nnquant writes (rank <= NNQ_MAX_RANK keeps it short). */
enum { NPY_MAX_PREAMBLE = 512 };

typedef struct npy_header {
    nnq_dtype dtype;     /* element type as stored in the file */
    bool little_endian;  /* byte order of multi-byte elements */
    int rank;
    int64_t dims[NNQ_MAX_RANK];
    size_t data_offset;  /* preamble length: where the array data begins */
} npy_header;

/* From the first n bytes of a file (n may be less than NPY_PREFIX_SIZE for a
 * short file) finds the preamble length. `what` names the file in errors. */
nnq_status npy_preamble_size(const unsigned char *prefix, size_t n, const char *what,
                             size_t *size);

/* Parses a complete preamble of `size` bytes (as given by npy_preamble_size). */
nnq_status npy_header_parse(const unsigned char *preamble, size_t size, const char *what,
                            npy_header *out);

/* Checks that `available` data bytes hold exactly the header's shape and gives
 * the byte count. */
nnq_status npy_header_data_size(const npy_header *h, uint64_t available, const char *what,
                                size_t *bytes);

/* Formats a version 1.0 preamble for a C-order little-endian array into buf
 * (NPY_MAX_PREAMBLE bytes); gives its length. */
nnq_status npy_header_format(nnq_dtype dtype, int rank, const int64_t *dims, const char *what,
                             unsigned char *buf, size_t *length);

#endif
