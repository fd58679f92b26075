/* The Adam optimizer (Kingma & Ba, 2015) over a flat array of parameters,
 * as AdaRound uses it for its rounding variables (white paper §3.4):
 *   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
 *   p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) */
#ifndef NNQ_QUANT_ADAM_H
#define NNQ_QUANT_ADAM_H

#include <stdint.h>

#include "nnquant.h"

typedef struct adam_optimizer {
    int64_t count;
    double learning_rate, beta1, beta2, epsilon;
    int64_t step;
    float *first_moment, *second_moment; /* m, v */
} adam_optimizer;

/* count parameters, moments 0, b1 = 0.9, b2 = 0.999, eps = 1e-8. */
nnq_status adam_init(adam_optimizer *adam, int64_t count, double learning_rate);
void adam_free(adam_optimizer *adam);
/* One update of params[count] from their gradients. */
void adam_step(adam_optimizer *adam, float *params, const float *gradients);

#endif
