/* Output files are written atomically: into a temporary file beside the
 * target, then renamed over it on commit. A failure or crash leaves the
 * user's previous file untouched and no half-written file behind. */
#ifndef NNQ_BASE_ATOMIC_FILE_H
#define NNQ_BASE_ATOMIC_FILE_H

#include <stdbool.h>
#include <stdio.h>

#include "nnquant.h"

typedef struct nnq_atomic_file {
    FILE *stream;      /* write here between open and commit/abort */
    char *final_path;
    char *temp_path;
} nnq_atomic_file;

/* Creates "<path>.tmp-XXXXXX" in the target's directory. */
nnq_status atomic_file_open(nnq_atomic_file *file, const char *path);
/* Flushes, syncs, closes and renames onto the final path. On failure the
 * temporary file is removed. Either way the struct is released. */
nnq_status atomic_file_commit(nnq_atomic_file *file);
/* Closes and removes the temporary file; the target is left as it was. */
void atomic_file_abort(nnq_atomic_file *file);

/* Writes size bytes to path atomically. */
nnq_status atomic_file_write_all(const char *path, const void *data, size_t size);

#endif
