#include "calib/logit_reservoir.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"

/* splitmix64 (Steele, Lea & Flood 2014): a small generator with a 64-bit state. */
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound) (bound >= 1), by rejection so that no value is favoured. */
static uint64_t random_below(uint64_t *state, uint64_t bound) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do r = next_random(state);
    while (r >= limit);
    return r % bound;
}

nnq_status logit_reservoir_init(nnq_logit_reservoir *reservoir, int64_t classes, int capacity, uint64_t seed) {
    memset(reservoir, 0, sizeof *reservoir);
    if (classes < 1 || capacity < 1)
        return nnq_fail(NNQ_ERR_USAGE, "a logit reservoir needs classes >= 1 and capacity >= 1 (got %lld, %d)",
                        (long long)classes, capacity);
    if ((uint64_t)classes > SIZE_MAX / sizeof(float) / (uint64_t)capacity)
        return nnq_fail(NNQ_ERR_NOMEM, "logit reservoir of %d x %lld floats is too large", capacity,
                        (long long)classes);
    reservoir->vectors = malloc((size_t)capacity * (size_t)classes * sizeof(float));
    if (!reservoir->vectors)
        return nnq_fail(NNQ_ERR_NOMEM, "cannot allocate a logit reservoir of %d x %lld floats", capacity,
                        (long long)classes);
    reservoir->classes = classes;
    reservoir->capacity = capacity;
    reservoir->rng_state = seed;
    return NNQ_OK;
}

void logit_reservoir_free(nnq_logit_reservoir *reservoir) {
    free(reservoir->vectors);
    memset(reservoir, 0, sizeof *reservoir);
}

void logit_reservoir_reset(nnq_logit_reservoir *reservoir, uint64_t seed) {
    reservoir->kept = 0;
    reservoir->seen = 0;
    reservoir->skipped = 0;
    reservoir->rng_state = seed;
}

static float *slot(const nnq_logit_reservoir *reservoir, int i) {
    return reservoir->vectors + (size_t)i * (size_t)reservoir->classes;
}

const float *logit_reservoir_vector(const nnq_logit_reservoir *reservoir, int i) { return slot(reservoir, i); }

static bool all_finite(const float *values, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(values[i])) return false;
    return true;
}

void logit_reservoir_add(nnq_logit_reservoir *reservoir, const float *vectors, int64_t n_vectors) {
    size_t vector_bytes = (size_t)reservoir->classes * sizeof(float);
    for (int64_t v = 0; v < n_vectors; v++) {
        const float *vector = vectors + v * reservoir->classes;
        if (!all_finite(vector, reservoir->classes)) {
            reservoir->skipped++;
            continue;
        }
        /* Algorithm R (Vitter 1985): keep the first `capacity`, then replace slot j < capacity, j uniform in [0, seen]. */
        if (reservoir->kept < reservoir->capacity) {
            memcpy(slot(reservoir, reservoir->kept++), vector, vector_bytes);
        } else {
            uint64_t j = random_below(&reservoir->rng_state, reservoir->seen + 1);
            if (j < (uint64_t)reservoir->capacity) memcpy(slot(reservoir, (int)j), vector, vector_bytes);
        }
        reservoir->seen++;
    }
}

nnq_status logit_reservoir_merge(nnq_logit_reservoir *into, const nnq_logit_reservoir *from) {
    if (into->classes != from->classes || into->capacity != from->capacity)
        return nnq_fail(NNQ_ERR_INVALID, "cannot merge logit reservoirs of %d x %lld and %d x %lld", into->capacity,
                        (long long)into->classes, from->capacity, (long long)from->classes);
    size_t vector_bytes = (size_t)into->classes * sizeof(float);
    uint64_t seen = into->seen + from->seen;
    if (seen <= (uint64_t)into->capacity) { /* both hold every vector they saw: concatenate */
        memcpy(slot(into, into->kept), from->vectors, (size_t)from->kept * vector_bytes);
        into->kept += from->kept;
        into->seen = seen;
        into->skipped += from->skipped;
        return NNQ_OK;
    }
    /* Draw `capacity` members of the union population without replacement: the next one
     * comes from `into`'s population with probability (its unseen remainder)/(both remainders),
     * and is a random not-yet-taken vector of that reservoir (each reservoir is a uniform sample). */
    float *merged = malloc((size_t)into->capacity * vector_bytes);
    int *order_into = malloc((size_t)into->kept * sizeof(int));
    int *order_from = malloc((size_t)from->kept * sizeof(int));
    if (!merged || !order_into || !order_from) {
        free(merged);
        free(order_into);
        free(order_from);
        return nnq_fail(NNQ_ERR_NOMEM, "cannot merge logit reservoirs of %d x %lld floats", into->capacity,
                        (long long)into->classes);
    }
    for (int i = 0; i < into->kept; i++) order_into[i] = i;
    for (int i = 0; i < from->kept; i++) order_from[i] = i;
    uint64_t population_into = into->seen, population_from = from->seen;
    int left_into = into->kept, left_from = from->kept;
    for (int k = 0; k < into->capacity; k++) {
        bool take_into = random_below(&into->rng_state, population_into + population_from) < population_into;
        if (take_into ? left_into == 0 : left_from == 0) take_into = !take_into;
        const nnq_logit_reservoir *source = take_into ? into : from;
        int *order = take_into ? order_into : order_from;
        int *left = take_into ? &left_into : &left_from;
        int pick = (int)random_below(&into->rng_state, (uint64_t)*left);
        memcpy(merged + (size_t)k * (size_t)into->classes, slot(source, order[pick]), vector_bytes);
        order[pick] = order[--*left];
        if (take_into) population_into--;
        else population_from--;
    }
    memcpy(into->vectors, merged, (size_t)into->capacity * vector_bytes);
    into->kept = into->capacity;
    into->seen = seen;
    into->skipped += from->skipped;
    free(merged);
    free(order_into);
    free(order_from);
    return NNQ_OK;
}
