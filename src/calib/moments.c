#include "calib/moments.h"

#include <math.h>

void moments_reset(nnq_moments *moments) {
    moments->count = 0;
    moments->mean = 0.0;
    moments->m2 = 0.0;
}

void moments_merge(nnq_moments *into, const nnq_moments *from) {
    if (!from->count) return;
    if (!into->count) {
        *into = *from;
        return;
    }
    /* Chan, Golub & LeVeque (1979), pairwise combination. */
    double na = (double)into->count, nb = (double)from->count, n = na + nb;
    double delta = from->mean - into->mean;
    into->mean += delta * nb / n;
    into->m2 += from->m2 + delta * delta * na * nb / n;
    into->count += from->count;
}

void moments_add(nnq_moments *moments, const float *values, int64_t count) {
    nnq_moments batch = {0, 0.0, 0.0};
    double sum = 0.0;
    for (int64_t i = 0; i < count; i++) {
        if (!isfinite(values[i])) continue;
        sum += values[i];
        batch.count++;
    }
    if (!batch.count) return;
    batch.mean = sum / (double)batch.count;
    for (int64_t i = 0; i < count; i++) {
        if (!isfinite(values[i])) continue;
        double deviation = values[i] - batch.mean;
        batch.m2 += deviation * deviation;
    }
    moments_merge(moments, &batch);
}

double moments_variance(const nnq_moments *moments) {
    return moments->count ? moments->m2 / (double)moments->count : 0.0;
}

double moments_std(const nnq_moments *moments) { return sqrt(moments_variance(moments)); }
