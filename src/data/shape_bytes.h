/* Size checks for shapes read from untrusted files. */
#ifndef NNQ_DATA_SHAPE_BYTES_H
#define NNQ_DATA_SHAPE_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of a dense array of dims (all >= 0) and elem_size, or UINT64_MAX
 * when that exceeds limit; never overflows, however absurd the dims. */
uint64_t shape_bytes_within(const int64_t *dims, int rank, size_t elem_size, uint64_t limit);

#endif
