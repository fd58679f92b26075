/* NumPy .npz archives (np.savez / np.savez_compressed): a ZIP archive whose
 * members "<name>.npy" are .npy arrays (numpy.lib.npyio.savez). */
#ifndef NNQ_DATA_NPZ_H
#define NNQ_DATA_NPZ_H

#include <stddef.h>

#include "ir/tensor.h"

typedef struct npz_archive {
    size_t count;
    nnq_tensor *tensors; /* tensors[i].name is the member name without ".npy" */
} npz_archive;

/* Reads every .npy member of path, in archive order. Members not ending in
 * ".npy" (directories, notes) are skipped. On failure *out is left empty. */
nnq_status npz_read(const char *path, npz_archive *out);

/* The first member called name, or NULL. */
const nnq_tensor *npz_find(const npz_archive *archive, const char *name);

void npz_free(npz_archive *archive);

#endif
