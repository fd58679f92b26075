/* A bounded uniform sample of whole logit vectors (reservoir sampling).
 *
 * The cross-entropy range method (white paper eq. 17) compares softmax of the
 * FP logits with softmax of the quantized logits vector by vector, so it needs
 * vectors, not a histogram. The reservoir keeps at most `capacity` vectors of
 * `classes` floats: the first `capacity` vectors are kept in order, then the
 * i-th vector (0-based) replaces a random slot with probability capacity/(i+1)
 * (Vitter's Algorithm R) drawn from a splitmix64 generator with a fixed seed,
 * so a calibration run is reproducible. Vectors holding NaN or Inf are skipped.
 * Memory: capacity × classes floats, allocated once. */
#ifndef NNQ_CALIB_LOGIT_RESERVOIR_H
#define NNQ_CALIB_LOGIT_RESERVOIR_H

#include <stdint.h>

#include "nnquant.h"

typedef struct nnq_logit_reservoir {
    int64_t classes;    /* floats per vector */
    int capacity;       /* vectors kept at most */
    int kept;           /* vectors currently held, <= capacity */
    uint64_t seen;      /* finite vectors offered so far */
    uint64_t skipped;   /* vectors skipped for holding NaN or Inf */
    uint64_t rng_state; /* splitmix64 state */
    float *vectors;     /* kept × classes, row-major */
} nnq_logit_reservoir;

nnq_status logit_reservoir_init(nnq_logit_reservoir *reservoir, int64_t classes, int capacity, uint64_t seed);
void logit_reservoir_free(nnq_logit_reservoir *reservoir);
/* Empties the reservoir and restarts its generator from seed. */
void logit_reservoir_reset(nnq_logit_reservoir *reservoir, uint64_t seed);

/* Offers n_vectors consecutive vectors of `classes` floats (class axis innermost). */
void logit_reservoir_add(nnq_logit_reservoir *reservoir, const float *vectors, int64_t n_vectors);

/* into := a uniform sample of both reservoirs' populations: each kept slot is
 * drawn from `into` or `from` in proportion to the vectors each has seen
 * (without replacement). When both together have seen at most `capacity`
 * vectors this is exactly into's vectors followed by from's, as a single pass
 * would keep them; otherwise it is statistically, not bit-, equivalent to a
 * single pass. Needs equal `classes` and `capacity` (NNQ_ERR_INVALID). */
nnq_status logit_reservoir_merge(nnq_logit_reservoir *into, const nnq_logit_reservoir *from);

/* The i-th kept vector (0 <= i < kept). */
const float *logit_reservoir_vector(const nnq_logit_reservoir *reservoir, int i);

#endif
