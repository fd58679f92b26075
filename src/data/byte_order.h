/* Fixed-width integer loads and stores in an explicit byte order, and in-place
 * conversion of element arrays between a file's byte order and the host's.
 * The readers in src/data use these instead of casting file bytes to types,
 * so they are independent of host endianness and alignment. */
#ifndef NNQ_DATA_BYTE_ORDER_H
#define NNQ_DATA_BYTE_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint16_t load_le16(const unsigned char *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t load_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t load_le64(const unsigned char *p) {
    return (uint64_t)load_le32(p) | (uint64_t)load_le32(p + 4) << 32;
}

static inline uint32_t load_be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void store_le16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline void store_le32(unsigned char *p, uint32_t v) {
    store_le16(p, (uint16_t)v);
    store_le16(p + 2, (uint16_t)(v >> 16));
}

static inline bool host_is_little_endian(void) {
    const uint16_t probe = 1;
    return *(const unsigned char *)&probe == 1;
}

/* Reverses the bytes of each of count elements of elem_size bytes. */
void byteswap_elements(void *data, size_t count, size_t elem_size);

/* Converts count elements stored in the given byte order to host order, in place. */
void elements_to_host(void *data, size_t count, size_t elem_size, bool little_endian);

#endif
