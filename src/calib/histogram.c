#include "calib/histogram.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"

/* The finest widths allowed: 2^-40 of the largest magnitude (a float carries
 * 24 bits, so finer bins cannot separate values), and 2^-140 absolutely. */
enum { RELATIVE_WIDTH_FLOOR_BITS = 40, ABSOLUTE_WIDTH_FLOOR_EXPONENT = -140 };

typedef struct bin_layout {
    int width_exponent;
    int64_t first_bin;
} bin_layout;

/* floor(x / 2^e) as a lattice index; exact since scaling by a power of two is exact. */
static int64_t lattice_index(double x, int width_exponent) {
    return (int64_t)floor(ldexp(x, -width_exponent));
}

/* floor(index / 2^shift) for signed indices (>> on negatives is implementation-defined in C). */
static int64_t floor_shift(int64_t index, int shift) {
    if (shift == 0) return index;
    if (shift >= 62) return index >= 0 ? 0 : -1;
    return index >= 0 ? index >> shift : -((-index - 1) >> shift) - 1;
}

static int width_floor_exponent(double min, double max) {
    double max_abs = fmax(fabs(min), fabs(max));
    if (max_abs < 0x1p-100) return ABSOLUTE_WIDTH_FLOOR_EXPONENT;
    return ilogb(max_abs) - RELATIVE_WIDTH_FLOOR_BITS;
}

/* The canonical layout of [min, max] (see the header), with width >= 2^min_exponent. */
static bin_layout canonical_layout(double min, double max, int n_bins, int min_exponent) {
    int e = width_floor_exponent(min, max);
    if (e < min_exponent) e = min_exponent;
    double span = max - min;
    if (span > 0.0) {
        /* A fitting width exceeds span / n_bins, so 2^floor(log2(span / n_bins)) is a lower bound. */
        int lower_bound = ilogb(span / n_bins);
        if (lower_bound > e) e = lower_bound;
    }
    while (lattice_index(max, e) - lattice_index(min, e) > n_bins - 1) e++;
    return (bin_layout){e, lattice_index(min, e)};
}

/* Adds source's counts into target's (whose layout is at least as coarse and
 * covers source's values), mirroring negative bins when reflect is set. */
static void add_rebinned(uint64_t *target_counts, bin_layout target, const uint64_t *source_counts,
                         int source_bins, bin_layout source, bool reflect) {
    int shift = target.width_exponent - source.width_exponent;
    for (int i = 0; i < source_bins; i++) {
        if (!source_counts[i]) continue;
        int64_t k = source.first_bin + i;
        if (reflect && k < 0) k = -k - 1; /* [k w, (k+1) w) mirrors onto (-(k+1) w, -k w] */
        target_counts[floor_shift(k, shift) - target.first_bin] += source_counts[i];
    }
}

static bin_layout layout_of(const nnq_histogram *h) { return (bin_layout){h->width_exponent, h->first_bin}; }

nnq_status histogram_init(nnq_histogram *histogram, int n_bins) {
    memset(histogram, 0, sizeof *histogram);
    if (n_bins < 2) return nnq_fail(NNQ_ERR_USAGE, "a histogram needs at least 2 bins, got %d", n_bins);
    histogram->counts = calloc((size_t)n_bins, sizeof *histogram->counts);
    histogram->scratch = calloc((size_t)n_bins, sizeof *histogram->scratch);
    if (!histogram->counts || !histogram->scratch) {
        histogram_free(histogram);
        return nnq_fail(NNQ_ERR_NOMEM, "cannot allocate a histogram of %d bins", n_bins);
    }
    histogram->n_bins = n_bins;
    return NNQ_OK;
}

void histogram_free(nnq_histogram *histogram) {
    free(histogram->counts);
    free(histogram->scratch);
    memset(histogram, 0, sizeof *histogram);
}

void histogram_reset(nnq_histogram *histogram) {
    memset(histogram->counts, 0, (size_t)histogram->n_bins * sizeof *histogram->counts);
    histogram->total = 0;
    histogram->min = histogram->max = 0.0;
    histogram->width_exponent = 0;
    histogram->first_bin = 0;
}

/* Moves h to the canonical layout of [min, max] (a superset of its values), re-binning its counts. */
static void grow_to(nnq_histogram *h, double min, double max, int min_exponent) {
    bin_layout wanted = canonical_layout(min, max, h->n_bins, min_exponent);
    if (h->total == 0) {
        memset(h->counts, 0, (size_t)h->n_bins * sizeof *h->counts);
    } else if (wanted.width_exponent != h->width_exponent || wanted.first_bin != h->first_bin) {
        memset(h->scratch, 0, (size_t)h->n_bins * sizeof *h->scratch);
        add_rebinned(h->scratch, wanted, h->counts, h->n_bins, layout_of(h), false);
        uint64_t *swap = h->counts;
        h->counts = h->scratch;
        h->scratch = swap;
    }
    h->width_exponent = wanted.width_exponent;
    h->first_bin = wanted.first_bin;
    h->min = min;
    h->max = max;
}

void histogram_add(nnq_histogram *histogram, const float *values, int64_t count) {
    double batch_min = INFINITY, batch_max = -INFINITY;
    for (int64_t i = 0; i < count; i++) {
        if (!isfinite(values[i])) continue;
        batch_min = fmin(batch_min, values[i]);
        batch_max = fmax(batch_max, values[i]);
    }
    if (batch_min > batch_max) return; /* nothing finite */
    if (histogram->total) {
        batch_min = fmin(batch_min, histogram->min);
        batch_max = fmax(batch_max, histogram->max);
    }
    grow_to(histogram, batch_min, batch_max, histogram->total ? histogram->width_exponent : INT32_MIN / 2);
    double inverse_width = ldexp(1.0, -histogram->width_exponent); /* exact power of two */
    uint64_t added = 0;
    for (int64_t i = 0; i < count; i++) {
        if (!isfinite(values[i])) continue;
        int64_t bin = (int64_t)floor((double)values[i] * inverse_width) - histogram->first_bin;
        histogram->counts[bin]++;
        added++;
    }
    histogram->total += added;
}

nnq_status histogram_merge(nnq_histogram *into, const nnq_histogram *from) {
    if (into->n_bins != from->n_bins)
        return nnq_fail(NNQ_ERR_INVALID, "cannot merge histograms of %d and %d bins", into->n_bins, from->n_bins);
    if (!from->total) return NNQ_OK;
    double min = from->min, max = from->max;
    int min_exponent = from->width_exponent;
    if (into->total) {
        min = fmin(min, into->min);
        max = fmax(max, into->max);
        if (into->width_exponent > min_exponent) min_exponent = into->width_exponent;
    }
    grow_to(into, min, max, min_exponent);
    add_rebinned(into->counts, layout_of(into), from->counts, from->n_bins, layout_of(from), false);
    into->total += from->total;
    return NNQ_OK;
}

/* Shared by rebin_covering and fold_abs: target gets the canonical layout of
 * [lo, hi] no finer than source's, and source's counts (mirrored if reflect). */
static void rebin_into(const nnq_histogram *source, double lo, double hi, bool reflect, nnq_histogram *target) {
    histogram_reset(target);
    if (!source->total) return;
    bin_layout layout = canonical_layout(lo, hi, target->n_bins, source->width_exponent);
    target->width_exponent = layout.width_exponent;
    target->first_bin = layout.first_bin;
    add_rebinned(target->counts, layout, source->counts, source->n_bins, layout_of(source), reflect);
    target->total = source->total;
    target->min = lo;
    target->max = hi;
}

void histogram_rebin_covering(const nnq_histogram *source, double lo, double hi, nnq_histogram *target) {
    rebin_into(source, fmin(lo, source->min), fmax(hi, source->max), false, target);
}

void histogram_fold_abs(const nnq_histogram *source, nnq_histogram *target) {
    double max_abs = fmax(fabs(source->min), fabs(source->max));
    rebin_into(source, 0.0, max_abs, true, target);
    if (source->total) {
        if (source->min >= 0.0) target->min = source->min;
        else if (source->max <= 0.0) target->min = -source->max;
    }
}

double histogram_bin_width(const nnq_histogram *histogram) { return ldexp(1.0, histogram->width_exponent); }

double histogram_bin_left(const nnq_histogram *histogram, int64_t bin) {
    return ldexp((double)(histogram->first_bin + bin), histogram->width_exponent);
}

double histogram_quantile(const nnq_histogram *histogram, double p) {
    if (!histogram->total) return 0.0;
    if (p <= 0.0) return histogram->min;
    if (p >= 1.0) return histogram->max;
    double target = p * (double)histogram->total;
    double width = histogram_bin_width(histogram);
    double cumulative = 0.0;
    for (int i = 0; i < histogram->n_bins; i++) {
        double count = (double)histogram->counts[i];
        if (count > 0.0 && cumulative + count >= target) {
            double x = histogram_bin_left(histogram, i) + width * (target - cumulative) / count;
            return fmin(fmax(x, histogram->min), histogram->max);
        }
        cumulative += count;
    }
    return histogram->max;
}
