/* IDX files, the format of MNIST and Fashion-MNIST: a 4-byte magic (two zero
 * bytes, a type code, the number of dimensions), big-endian 32-bit dims, then
 * big-endian data in C order. Plain or gzip-compressed (".gz").
 * Spec: "THE IDX FILE FORMAT" at http://yann.lecun.com/exdb/mnist/. */
#ifndef NNQ_DATA_IDX_H
#define NNQ_DATA_IDX_H

#include "ir/tensor.h"

/* Reads path (gzip or not) into *out with the file's dims and natural type:
 * 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float, 0x0E double.
 * On failure *out is left zeroed. */
nnq_status idx_read(const char *path, nnq_tensor *out);

#endif
