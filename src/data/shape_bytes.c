#include "data/shape_bytes.h"

uint64_t shape_bytes_within(const int64_t *dims, int rank, size_t elem_size, uint64_t limit) {
    for (int i = 0; i < rank; i++)
        if (dims[i] == 0) return 0;
    uint64_t bytes = elem_size;
    for (int i = 0; i < rank && bytes <= limit; i++) {
        if ((uint64_t)dims[i] > limit / bytes) return UINT64_MAX;
        bytes *= (uint64_t)dims[i];
    }
    return bytes <= limit ? bytes : UINT64_MAX;
}
