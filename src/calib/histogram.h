/* A streaming histogram whose range grows with the data, with exact counts.
 *
 * Layout. Bin edges lie on a lattice anchored at 0: with bin width w = 2^e,
 * lattice bin k covers [k·w, (k+1)·w), and counts[i] holds lattice bin
 * first_bin + i. Because every width is a power of two, the edges of a
 * coarser layout are edges of every finer one, so any histogram can be
 * re-binned into a coarser layout by adding whole bins together: counts stay
 * exact integers, nothing is interpolated.
 *
 * Canonical layout. For the extremes [min, max] of the values added so far,
 * the layout is always the one with the smallest width w = 2^e such that
 * lattice bins floor(min/w) .. floor(max/w) fit in n_bins, with
 * first_bin = floor(min/w) (and w never below 2^-40 of max|x|, nor 2^-140,
 * so a constant tensor does not ask for an infinitely fine grid). When a
 * batch brings a new extreme, the width doubles (adjacent bins merge) as
 * often as needed and the window slides by whole bins. The layout is thus a
 * function of [min, max] alone, never of the order of the data, which gives:
 *   - growth is exact: the counts equal those of a histogram built in one go
 *     with the final layout;
 *   - merging is exact: histogram_merge(a, b) equals observing a's and b's
 *     values in one histogram (bin for bin), whatever the batch split.
 * The data occupy between about n_bins/2 and n_bins bins of the final layout.
 *
 * Non-finite values are skipped (the observer counts them). No allocation
 * happens after histogram_init: re-binning uses a scratch buffer allocated
 * with the counts. */
#ifndef NNQ_CALIB_HISTOGRAM_H
#define NNQ_CALIB_HISTOGRAM_H

#include <stdint.h>

#include "nnquant.h"

typedef struct nnq_histogram {
    int n_bins;           /* fixed number of bins */
    int width_exponent;   /* bin width = 2^width_exponent */
    int64_t first_bin;    /* lattice index of counts[0] */
    uint64_t *counts;     /* n_bins counts */
    uint64_t *scratch;    /* n_bins, for re-binning */
    uint64_t total;       /* values counted; 0 means empty (layout fields then meaningless) */
    double min, max;      /* extremes of the values counted */
} nnq_histogram;

/* An empty histogram of n_bins bins (>= 2). */
nnq_status histogram_init(nnq_histogram *histogram, int n_bins);
void histogram_free(nnq_histogram *histogram);
/* Empties the histogram, keeping its buffers. */
void histogram_reset(nnq_histogram *histogram);

/* Counts the finite values of a batch, growing the layout first if needed. */
void histogram_add(nnq_histogram *histogram, const float *values, int64_t count);

/* into += from, exactly. Both must have the same n_bins (NNQ_ERR_INVALID otherwise). */
nnq_status histogram_merge(nnq_histogram *into, const nnq_histogram *from);

/* Re-bins source into target (already initialized, any n_bins >= 2, contents
 * replaced) with the canonical layout of [min(source.min, lo), max(source.max, hi)]
 * and a width at least source's: counts stay exact. Used to make room for 0 in
 * a range search window. */
void histogram_rebin_covering(const nnq_histogram *source, double lo, double hi, nnq_histogram *target);

/* The histogram of |x| into target (already initialized, contents replaced):
 * negative bins are mirrored onto the positive lattice (a value exactly on a
 * negative edge -k·w lands in the bin below |x|'s, the only inexactness)
 * and the layout is the canonical one of [0, max|x|]. target.min is min|x| when
 * the data have one sign, 0 otherwise. */
void histogram_fold_abs(const nnq_histogram *source, nnq_histogram *target);

double histogram_bin_width(const nnq_histogram *histogram);
/* Left edge of counts[bin]. */
double histogram_bin_left(const nnq_histogram *histogram, int64_t bin);

/* The p-quantile (p in [0, 1]) of the counted values: the point where the
 * cumulative count reaches p·total, interpolating linearly inside the bin
 * (values assumed uniform within a bin), clamped to [min, max].
 * p = 0 gives min, p = 1 gives max; an empty histogram gives 0. */
double histogram_quantile(const nnq_histogram *histogram, double p);

#endif
