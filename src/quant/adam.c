#include "quant/adam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"

nnq_status adam_init(adam_optimizer *adam, int64_t count, double learning_rate) {
    memset(adam, 0, sizeof *adam);
    adam->count = count;
    adam->learning_rate = learning_rate;
    adam->beta1 = 0.9;
    adam->beta2 = 0.999;
    adam->epsilon = 1e-8;
    adam->first_moment = calloc((size_t)count + 1, sizeof(float));
    adam->second_moment = calloc((size_t)count + 1, sizeof(float));
    if (adam->first_moment && adam->second_moment) return NNQ_OK;
    adam_free(adam);
    return nnq_fail(NNQ_ERR_NOMEM, "out of memory for the optimizer state of %lld parameters", (long long)count);
}

void adam_free(adam_optimizer *adam) {
    free(adam->first_moment);
    free(adam->second_moment);
    memset(adam, 0, sizeof *adam);
}

void adam_step(adam_optimizer *adam, float *params, const float *gradients) {
    adam->step++;
    double b1 = adam->beta1, b2 = adam->beta2;
    double correction1 = 1.0 - pow(b1, (double)adam->step), correction2 = 1.0 - pow(b2, (double)adam->step);
    float step_size = (float)(adam->learning_rate / correction1);
    float root_correction2 = (float)sqrt(correction2), epsilon = (float)adam->epsilon;
    float *m = adam->first_moment, *v = adam->second_moment;
    for (int64_t i = 0; i < adam->count; i++) {
        float g = gradients[i];
        m[i] = (float)b1 * m[i] + (float)(1.0 - b1) * g;
        v[i] = (float)b2 * v[i] + (float)(1.0 - b2) * g * g;
        params[i] -= step_size * m[i] / (sqrtf(v[i]) / root_correction2 + epsilon);
    }
}
