/* A string -> int map (open addressing, FNV-1a) for tensor and node names.
 * Keys are borrowed: they must outlive the map. */
#ifndef NNQ_BASE_NAME_MAP_H
#define NNQ_BASE_NAME_MAP_H

#include <stddef.h>

#include "nnquant.h"

typedef struct name_map {
    const char **keys;
    int *values;
    size_t capacity; /* a power of two */
    size_t count;
} name_map;

nnq_status name_map_init(name_map *map, size_t expected);
void name_map_free(name_map *map);
/* Inserts or replaces. */
nnq_status name_map_put(name_map *map, const char *key, int value);
/* The value, or -1 when absent. */
int name_map_get(const name_map *map, const char *key);

#endif
