#include "base/name_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"

static uint64_t hash_name(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a 64-bit offset basis and prime */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

nnq_status name_map_init(name_map *map, size_t expected) {
    memset(map, 0, sizeof *map);
    size_t capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    map->keys = calloc(capacity, sizeof *map->keys);
    map->values = calloc(capacity, sizeof *map->values);
    if (!map->keys || !map->values) {
        name_map_free(map);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory building a name table");
    }
    map->capacity = capacity;
    return NNQ_OK;
}

void name_map_free(name_map *map) {
    free(map->keys);
    free(map->values);
    memset(map, 0, sizeof *map);
}

static size_t find_slot(const name_map *map, const char *key) {
    size_t mask = map->capacity - 1;
    size_t i = (size_t)hash_name(key) & mask;
    while (map->keys[i] && strcmp(map->keys[i], key) != 0) i = (i + 1) & mask;
    return i;
}

static nnq_status grow(name_map *map) {
    name_map bigger;
    NNQ_TRY(name_map_init(&bigger, map->capacity));
    for (size_t i = 0; i < map->capacity; i++)
        if (map->keys[i]) {
            size_t slot = find_slot(&bigger, map->keys[i]);
            bigger.keys[slot] = map->keys[i];
            bigger.values[slot] = map->values[i];
            bigger.count++;
        }
    name_map_free(map);
    *map = bigger;
    return NNQ_OK;
}

nnq_status name_map_put(name_map *map, const char *key, int value) {
    if ((map->count + 1) * 2 > map->capacity) NNQ_TRY(grow(map));
    size_t slot = find_slot(map, key);
    if (!map->keys[slot]) {
        map->keys[slot] = key;
        map->count++;
    }
    map->values[slot] = value;
    return NNQ_OK;
}

int name_map_get(const name_map *map, const char *key) {
    if (!map->capacity) return -1;
    size_t slot = find_slot(map, key);
    return map->keys[slot] ? map->values[slot] : -1;
}
