/* Streaming mean and variance of a tensor's finite values, in double.
 *
 * Each batch is reduced with a two-pass mean / sum of squared deviations, then
 * combined with the running statistics by Chan, Golub & LeVeque's pairwise
 * update (1979), the parallel form of Welford's algorithm:
 *   n = na + nb,  d = mean_b - mean_a,
 *   mean = mean_a + d·nb/n,  M2 = M2a + M2b + d²·na·nb/n.
 * The same update merges two observers, so a split calibration agrees with a
 * single pass up to double rounding. */
#ifndef NNQ_CALIB_MOMENTS_H
#define NNQ_CALIB_MOMENTS_H

#include <stdint.h>

typedef struct nnq_moments {
    uint64_t count; /* finite values seen */
    double mean;
    double m2;      /* sum of squared deviations from the mean */
} nnq_moments;

void moments_reset(nnq_moments *moments);
/* Adds the finite values of a batch. */
void moments_add(nnq_moments *moments, const float *values, int64_t count);
/* into += from. */
void moments_merge(nnq_moments *into, const nnq_moments *from);
/* Population variance M2 / n (0 when empty) and its square root. */
double moments_variance(const nnq_moments *moments);
double moments_std(const nnq_moments *moments);

#endif
