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

/* The same split for the second moment, with z = (x - mean)/sd:
 *   E[clamp(x, lo, hi)^2] = lo^2 Phi(a) + hi^2 (1 - Phi(b))
 *     + mean^2 (Phi(b) - Phi(a)) + 2 mean sd (phi(a) - phi(b))
 *     + sd^2 (Phi(b) - Phi(a) + a phi(a) - b phi(b)),
 * from int z phi(z) dz = -phi(z) and int z^2 phi(z) dz = Phi(z) - z phi(z). */
double clipped_gaussian_second_moment(double mean, double sd, double lo, double hi) {
    if (!(sd > 0.0)) {
        double v = fmin(fmax(mean, lo), hi);
        return v * v;
    }
    double a = (lo - mean) / sd, b = (hi - mean) / sd;
    double below = isinf(lo) ? 0.0 : standard_normal_cdf(a);
    double above = isinf(hi) ? 0.0 : 1.0 - standard_normal_cdf(b);
    double pdf_a = isinf(lo) ? 0.0 : standard_normal_pdf(a), pdf_b = isinf(hi) ? 0.0 : standard_normal_pdf(b);
    double a_pdf_a = isinf(lo) ? 0.0 : a * pdf_a, b_pdf_b = isinf(hi) ? 0.0 : b * pdf_b;
    double inside = 1.0 - below - above;
    double m2 = mean * mean * inside + 2.0 * mean * sd * (pdf_a - pdf_b) + sd * sd * (inside + a_pdf_a - b_pdf_b);
    if (below > 0.0) m2 += lo * lo * below;
    if (above > 0.0) m2 += hi * hi * above;
    return m2;
}
