/* Private to src/calib: the signature every observer-based range method
 * implements, and one declaration per method (rows of range_method.c's table).
 * The observer has at least one finite value and lo_limit/hi_limit-style
 * degenerate cases are the method's to handle. For symmetric schemes a method
 * may return any [lo, hi]: the caller turns it into [-t, t], t = max(|lo|, |hi|). */
#ifndef NNQ_CALIB_RANGE_FINDERS_H
#define NNQ_CALIB_RANGE_FINDERS_H

#include "calib/calib_options.h"
#include "calib/observer.h"
#include "nnquant.h"
#include "quant/qscheme.h"

typedef nnq_status (*range_finder_fn)(const nnq_observer *observer, const nnq_qscheme *scheme,
                                      const nnq_calib_options *options, double *lo, double *hi);

nnq_status range_find_minmax(const nnq_observer *, const nnq_qscheme *, const nnq_calib_options *, double *, double *);
nnq_status range_find_ema(const nnq_observer *, const nnq_qscheme *, const nnq_calib_options *, double *, double *);
nnq_status range_find_meanstd(const nnq_observer *, const nnq_qscheme *, const nnq_calib_options *, double *, double *);
nnq_status range_find_quantile(const nnq_observer *, const nnq_qscheme *, const nnq_calib_options *, double *, double *);
nnq_status range_find_mse(const nnq_observer *, const nnq_qscheme *, const nnq_calib_options *, double *, double *);
nnq_status range_find_kl(const nnq_observer *, const nnq_qscheme *, const nnq_calib_options *, double *, double *);
nnq_status range_find_xent(const nnq_observer *, const nnq_qscheme *, const nnq_calib_options *, double *, double *);

/* The search bounds every optimizing method uses: lo_limit = min(min, 0) and
 * hi_limit = max(max, 0), or 0 and max|x| for symmetric schemes. */
void range_search_limits(const nnq_observer *observer, const nnq_qscheme *scheme, double *lo_limit, double *hi_limit);

#endif
