/* "mse": the range minimizing the expected squared quantization error
 * (white paper eq. 16) under the per-bin error model of range_mse.h. */
#include "calib/range_mse.h"

#include <math.h>

#include "calib/range_finders.h"
#include "calib/range_search.h"

static double cube(double x) { return x * x * x; }

/* F(u) = ∫_0^u (t - round t)² dt up to a constant (range_mse.h). */
static double rounding_error_primitive(double u) {
    double m = floor(u + 0.5), r = u - m;
    return m / 12.0 + (cube(r) + 0.125) / 3.0;
}

/* ∫_a^b (x - Q(x))² dx for Q rounding to the grid g_lo + j s clamped to [g_lo, g_hi]. */
static double squared_error_integral(double a, double b, double grid_lo, double grid_hi, double step) {
    double error = 0.0;
    if (a < grid_lo) error += (cube(grid_lo - a) - cube(grid_lo - fmin(b, grid_lo))) / 3.0;
    if (b > grid_hi) error += (cube(b - grid_hi) - cube(fmax(a, grid_hi) - grid_hi)) / 3.0;
    double inside_a = fmax(a, grid_lo), inside_b = fmin(b, grid_hi);
    if (inside_b > inside_a)
        error += cube(step) * (rounding_error_primitive((inside_b - grid_lo) / step) -
                               rounding_error_primitive((inside_a - grid_lo) / step));
    return error;
}

typedef struct mse_search {
    const nnq_histogram *histogram;
    const nnq_qscheme *scheme;
} mse_search;

double histogram_quantization_mse(const nnq_histogram *histogram, const nnq_qscheme *scheme, double lo, double hi) {
    if (!histogram->total) return 0.0;
    int32_t q_min, q_max, zero_point;
    float scale;
    qscheme_grid(scheme, &q_min, &q_max);
    qscheme_params(scheme, (float)lo, (float)hi, &scale, &zero_point);
    double step = scale, grid_lo = step * (q_min - zero_point), grid_hi = step * (q_max - zero_point);
    double width = histogram_bin_width(histogram), error = 0.0;
    for (int i = 0; i < histogram->n_bins; i++) {
        if (!histogram->counts[i]) continue;
        double a = histogram_bin_left(histogram, i);
        error += (double)histogram->counts[i] / width * squared_error_integral(a, a + width, grid_lo, grid_hi, step);
    }
    return error / (double)histogram->total;
}

static double mse_cost(void *context, double lo, double hi) {
    const mse_search *search = context;
    return histogram_quantization_mse(search->histogram, search->scheme, lo, hi);
}

nnq_status range_find_mse(const nnq_observer *observer, const nnq_qscheme *scheme, const nnq_calib_options *options,
                          double *lo, double *hi) {
    (void)options;
    double lo_limit, hi_limit;
    range_search_limits(observer, scheme, &lo_limit, &hi_limit);
    if (lo_limit == 0.0 && hi_limit == 0.0) {
        *lo = *hi = 0.0;
        return NNQ_OK;
    }
    mse_search search = {&observer->histogram, scheme};
    range_search(mse_cost, &search, lo_limit, hi_limit, lo, hi);
    return NNQ_OK;
}
