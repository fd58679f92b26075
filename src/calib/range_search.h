/* The search driver shared by the optimizing range methods (mse, kl, xent).
 *
 * A cost function of a candidate real range [lo, hi] is minimized by a
 * uniform grid followed by zooming in around the best point (grid search, as
 * white paper §3.1 suggests for eq. 16). The cost need not be smooth or
 * unimodal on the coarse grid scale; between grid points it is assumed to have
 * one basin. Costs may return HUGE_VAL for inadmissible candidates. */
#ifndef NNQ_CALIB_RANGE_SEARCH_H
#define NNQ_CALIB_RANGE_SEARCH_H

/* Cost of quantizing with the range [lo, hi]. */
typedef double (*range_cost_fn)(void *context, double lo, double hi);
/* Cost of a candidate in (0, 1]. */
typedef double (*fraction_cost_fn)(void *context, double fraction);

/* Minimizes cost(t) over t in (0, 1]: coarse_points evenly spaced points
 * 1/K .. 1, then rounds that zoom on the best one. Returns the best t;
 * *best_cost receives its cost (may be NULL). */
double search_minimize_fraction(fraction_cost_fn cost, void *context, int coarse_points, double *best_cost);

/* Minimizes cost(lo, hi) over lo in [lo_limit, 0], hi in [0, hi_limit]
 * (lo_limit <= 0 <= hi_limit, not both 0). The quantization grid always
 * contains 0 (qscheme_params), so these are all the ranges worth trying:
 *   lo_limit == 0: one-dimensional over hi in (0, hi_limit] (non-negative data
 *                  and symmetric schemes, which pass their max |x|);
 *   hi_limit == 0: one-dimensional over lo;
 *   otherwise a 2-D grid over (lo, hi), then zoom rounds.
 * Returns the best cost. */
double range_search(range_cost_fn cost, void *context, double lo_limit, double hi_limit, double *lo, double *hi);

#endif
