/* The moments of a Gaussian pushed through a clamp, for analytic bias
 * correction (white paper §3.3, eq. 28: a layer's input is the previous
 * layer's BN output x ~ N(beta, gamma^2) per channel, after its activation)
 * and data-free moment propagation. */
#ifndef NNQ_QUANT_CLIPPED_GAUSSIAN_H
#define NNQ_QUANT_CLIPPED_GAUSSIAN_H

/* E[clamp(x, lo, hi)] for x ~ N(mean, sd^2); lo may be -INFINITY and hi
 * +INFINITY. With lo = 0, hi = inf this is eq. 28:
 *   E[ReLU(x)] = sd * phi(-mean/sd) + mean * (1 - Phi(-mean/sd)).
 * sd = 0 gives clamp(mean, lo, hi). */
double clipped_gaussian_mean(double mean, double sd, double lo, double hi);

/* E[clamp(x, lo, hi)^2] for x ~ N(mean, sd^2): with the mean, the variance
 * of a clipped activation (data-free moment propagation). */
double clipped_gaussian_second_moment(double mean, double sd, double lo, double hi);

/* The standard normal density phi and distribution function Phi. */
double standard_normal_pdf(double x);
double standard_normal_cdf(double x);

#endif
