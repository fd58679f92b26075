/* Whole-file reads with errors that name the file. */
#ifndef NNQ_BASE_READ_FILE_H
#define NNQ_BASE_READ_FILE_H

#include <stddef.h>

#include "nnquant.h"

/* Reads path into a malloc'd buffer (caller frees). */
nnq_status file_read_all(const char *path, void **bytes, size_t *size);
/* Reads length bytes at offset of path into a malloc'd buffer; fails if the
 * file is shorter. */
nnq_status file_read_range(const char *path, long long offset, long long length, void **bytes);

#endif
