/* NumPy .npy arrays: the calibration and evaluation inputs users export with
 * np.save. Spec: numpy.lib.format (format versions 1.0, 2.0 and 3.0).
 *
 * Reading accepts C-order, little-endian (or single-byte) arrays of dtypes
 * f4, f8, f2, u1, i1, u2, i2, i4, u4, i8, u8 and b1, of rank <= NNQ_MAX_RANK.
 * f4 becomes NNQ_FLOAT, f8 stays NNQ_DOUBLE (see tensor_convert_to_float),
 * f2 is widened to NNQ_FLOAT, b1 becomes NNQ_BOOL with bytes 0 or 1.
 * Fortran order, big-endian data, object, string, complex and structured
 * dtypes are refused with a message saying so. */
#ifndef NNQ_DATA_NPY_H
#define NNQ_DATA_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ir/tensor.h"

/* Reads path into *out (name NULL). On failure *out is left zeroed. */
nnq_status npy_read(const char *path, nnq_tensor *out);

/* Reads an .npy image held in memory; `what` names it in errors
 * (e.g. "data.npz:images.npy"). */
nnq_status npy_read_memory(const void *bytes, size_t size, const char *what, nnq_tensor *out);

/* Reads a .npy file a few samples at a time (the first axis is the sample
 * axis), so memory does not grow with the file: datasets stream through it. */
typedef struct npy_row_reader {
    FILE *file;
    char *path;            /* owned; names the file in errors */
    nnq_dtype dtype;       /* as stored */
    bool little_endian;
    int rank;              /* >= 1 */
    int64_t dims[NNQ_MAX_RANK];
    long long data_offset; /* where row 0 begins */
    size_t row_bytes;
} npy_row_reader;

/* Opens path and checks that its size matches the header's shape. Fails for
 * a rank-0 array (no sample axis). On failure nothing is left open. */
nnq_status npy_row_reader_open(npy_row_reader *reader, const char *path);

/* Reads rows [first, first + count) into *out, a new tensor [count, dims[1..]]
 * converted as npy_read converts (f2 widened to float, b1 to 0/1). */
nnq_status npy_row_reader_read(npy_row_reader *reader, int64_t first, int64_t count, nnq_tensor *out);

void npy_row_reader_close(npy_row_reader *reader);

/* Writes t (dense data, known shape) as a format 1.0 .npy file, atomically. */
nnq_status npy_write(const char *path, const nnq_tensor *t);

#endif
