#include "quant/clipped_gaussian.h"

#include <math.h>

double standard_normal_pdf(double x) { return exp(-0.5 * x * x) / sqrt(2.0 * M_PI); }

double standard_normal_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

/* With a = (lo - mean)/sd and b = (hi - mean)/sd, splitting the integral at
 * the two bounds:
 *   E[clamp(x, lo, hi)] = lo Phi(a) + hi (1 - Phi(b))
 *                       + mean (Phi(b) - Phi(a)) + sd (phi(a) - phi(b)),
 * the doubly clipped form of eq. 28 (ReLU6: lo = 0, hi = 6); an infinite
 * bound drops its term (its probability mass is 0, its density 0). */
double clipped_gaussian_mean(double mean, double sd, double lo, double hi) {
    if (!(sd > 0.0)) return fmin(fmax(mean, lo), hi);
    double a = (lo - mean) / sd, b = (hi - mean) / sd;
    double below = isinf(lo) ? 0.0 : standard_normal_cdf(a);
    double above = isinf(hi) ? 0.0 : 1.0 - standard_normal_cdf(b);
    double pdf_a = isinf(lo) ? 0.0 : standard_normal_pdf(a), pdf_b = isinf(hi) ? 0.0 : standard_normal_pdf(b);
    double inside = 1.0 - below - above;
    double mean_clipped = mean * inside + sd * (pdf_a - pdf_b);
    if (below > 0.0) mean_clipped += lo * below;
    if (above > 0.0) mean_clipped += hi * above;
    return mean_clipped;
}
