#include "data/byte_order.h"

void byteswap_elements(void *data, size_t count, size_t elem_size) {
    if (elem_size < 2) return;
    unsigned char *p = data;
    for (size_t i = 0; i < count; i++, p += elem_size) {
        for (size_t lo = 0, hi = elem_size - 1; lo < hi; lo++, hi--) {
            unsigned char tmp = p[lo];
            p[lo] = p[hi];
            p[hi] = tmp;
        }
    }
}

void elements_to_host(void *data, size_t count, size_t elem_size, bool little_endian) {
    if (little_endian != host_is_little_endian()) byteswap_elements(data, count, elem_size);
}
