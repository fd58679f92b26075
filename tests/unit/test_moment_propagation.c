/* Data-free moment propagation checked against its definitions: the clipped
 * second moment against a numeric integral; BN outputs and Relu against
 * calib_bn_range (eq. 18-19); a Gemm's moments against sum W m + b and
 * sum |W| s; Add's means and variances summing; Flatten repeating channels;
 * and the resulting ranges against the values the FP32 model really produces
 * on Gaussian BN outputs (nothing may be clipped at alpha = 6). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "calib/range_bn.h"
#include "check.h"
#include "quant/clipped_gaussian.h"
#include "quant/moment_propagation.h"
#include "test_model.h"

/* E[clamp(x, lo, hi)^2], x ~ N(mean, sd^2), by the midpoint rule over mean +- 12 sd. */
static double integrate_clipped_square(double mean, double sd, double lo, double hi) {
    const int steps = 200000;
    double a = mean - 12.0 * sd, width = 24.0 * sd / steps, sum = 0.0;
    for (int i = 0; i < steps; i++) {
        double x = a + (i + 0.5) * width;
        double density = exp(-0.5 * ((x - mean) / sd) * ((x - mean) / sd)) / (sd * sqrt(2.0 * M_PI));
        double y = fmin(fmax(x, lo), hi);
        sum += y * y * density * width;
    }
    return sum;
}

static void test_clipped_second_moment(void) {
    const double cases[][2] = {{0.0, 1.0}, {1.5, 0.5}, {-2.0, 1.0}, {3.0, 2.0}, {7.0, 1.0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double mean = cases[i][0], sd = cases[i][1];
        CHECK_NEAR(clipped_gaussian_second_moment(mean, sd, 0.0, INFINITY),
                   integrate_clipped_square(mean, sd, 0.0, INFINITY), 1e-6);
        CHECK_NEAR(clipped_gaussian_second_moment(mean, sd, 0.0, 6.0), integrate_clipped_square(mean, sd, 0.0, 6.0),
                   1e-6);
        CHECK_NEAR(clipped_gaussian_second_moment(mean, sd, -INFINITY, INFINITY), mean * mean + sd * sd, 1e-9);
    }
}

enum { IN = 4, MID = 3, OUT = 2 };
static const float beta[MID] = {0.5f, -1.0f, 2.0f}, gamma_[MID] = {1.0f, 0.5f, -0.8f};

/* The prepared form of x -> Gemm(+BN folded) -> Relu -> Gemm -> z, z + Gemm'(r) -> s -> Flatten:
 * "h" is the folded BN's output. */
static void build(nnq_model *m, bn_parameters *bn) {
    test_model_init(m, 13);
    test_random_seed(7);
    int64_t x_dims[2] = {1, IN}, w1_dims[2] = {MID, IN}, b1_dims[1] = {MID}, w2_dims[2] = {OUT, MID},
            b2_dims[1] = {OUT}, out_dims[2] = {1, OUT};
    test_add_input(m, "x", NNQ_FLOAT, 2, x_dims);
    test_add_random(m, "w1", 2, w1_dims, -1.0f, 1.0f);
    test_add_random(m, "b1", 1, b1_dims, -1.0f, 1.0f);
    test_add_random(m, "w2", 2, w2_dims, -1.0f, 1.0f);
    test_add_random(m, "b2", 1, b2_dims, -1.0f, 1.0f);
    test_add_random(m, "w3", 2, w2_dims, -1.0f, 1.0f);
    test_node_set_int(test_add_node(m, "Gemm", "g1", (const char *[]){"x", "w1", "b1", NULL},
                                    (const char *[]){"h", NULL}), "transB", 1);
    test_add_node(m, "Relu", "relu", (const char *[]){"h", NULL}, (const char *[]){"r", NULL});
    test_node_set_int(test_add_node(m, "Gemm", "g2", (const char *[]){"r", "w2", "b2", NULL},
                                    (const char *[]){"z", NULL}), "transB", 1);
    test_node_set_int(test_add_node(m, "Gemm", "g3", (const char *[]){"r", "w3", NULL}, (const char *[]){"u", NULL}),
                      "transB", 1);
    test_add_node(m, "Add", "add", (const char *[]){"z", "u", NULL}, (const char *[]){"s", NULL});
    test_add_node(m, "Flatten", "flat", (const char *[]){"s", NULL}, (const char *[]){"f", NULL});
    test_add_output(m, "f", NNQ_FLOAT, 2, out_dims);

    memset(bn, 0, sizeof *bn);
    bn->count = 1;
    bn->tensors = calloc(1, sizeof *bn->tensors);
    bn->beta = calloc(1, sizeof *bn->beta);
    bn->gamma = calloc(1, sizeof *bn->gamma);
    bn->tensors[0] = strdup("h");
    int64_t dims[1] = {MID};
    CHECK(tensor_create(&bn->beta[0], NNQ_FLOAT, 1, dims) == NNQ_OK);
    CHECK(tensor_create(&bn->gamma[0], NNQ_FLOAT, 1, dims) == NNQ_OK);
    memcpy(bn->beta[0].data, beta, sizeof beta);
    memcpy(bn->gamma[0].data, gamma_, sizeof gamma_);
    CHECK(name_map_init(&bn->by_tensor, 1) == NNQ_OK && name_map_put(&bn->by_tensor, "h", 0) == NNQ_OK);
}

static const float *floats(const nnq_model *m, const char *name) {
    return graph_find_initializer(&m->graph, name)->data;
}

static void test_rules(void) {
    nnq_model m;
    bn_parameters bn;
    build(&m, &bn);
    input_range input = {0.0f, 1.0f};
    moment_map map;
    CHECK(moments_propagate(&m, &bn, &input, &map) == NNQ_OK);

    /* The input: uniform on [0, 1]. */
    const activation_moments *x = moment_map_find(&map, "x");
    CHECK(x && x->lo == 0.0f && x->hi == 1.0f && fabsf(x->mean[0] - 0.5f) < 1e-6f);

    /* The BN output and its Relu: eq. 18-19, as calib_bn_range. */
    const activation_moments *h = moment_map_find(&map, "h"), *r = moment_map_find(&map, "r");
    CHECK(h && r && h->channels == MID && r->lo == 0.0f && isinf(r->hi));
    float lo, hi, expected_lo, expected_hi;
    activation_moments_range(h, 6.0, &lo, &hi);
    CHECK(calib_bn_range(beta, gamma_, MID, 6.0, false, &expected_lo, &expected_hi) == NNQ_OK);
    CHECK_NEAR(lo, expected_lo, 1e-6);
    CHECK_NEAR(hi, expected_hi, 1e-6);
    activation_moments_range(r, 6.0, &lo, &hi);
    CHECK(calib_bn_range(beta, gamma_, MID, 6.0, true, &expected_lo, &expected_hi) == NNQ_OK);
    CHECK_NEAR(lo, expected_lo, 1e-6);
    CHECK_NEAR(hi, expected_hi, 1e-6);

    /* Gemm without BN: mean W m + b, sd sum |W| s over the Relu's clipped moments. */
    const activation_moments *z = moment_map_find(&map, "z"), *u = moment_map_find(&map, "u");
    CHECK(z && u && z->channels == OUT && map.layers_without_bn == 2);
    const float *w2 = floats(&m, "w2"), *b2 = floats(&m, "b2");
    for (int o = 0; z && o < OUT; o++) {
        double mean = b2[o], sd = 0.0;
        for (int k = 0; k < MID; k++) {
            double e = clipped_gaussian_mean(beta[k], fabsf(gamma_[k]), 0.0, INFINITY);
            double e2 = clipped_gaussian_second_moment(beta[k], fabsf(gamma_[k]), 0.0, INFINITY);
            mean += w2[o * MID + k] * e;
            sd += fabsf(w2[o * MID + k]) * sqrt(e2 - e * e);
        }
        CHECK_NEAR(z->mean[o], mean, 1e-5);
        CHECK_NEAR(z->sd[o], sd, 1e-5);
    }

    /* Add: means and variances sum. */
    const activation_moments *s = moment_map_find(&map, "s");
    CHECK(s && s->channels == OUT);
    for (int o = 0; s && z && u && o < OUT; o++) {
        CHECK_NEAR(s->mean[o], z->mean[o] + u->mean[o], 1e-5);
        CHECK_NEAR(s->sd[o], sqrt(z->sd[o] * z->sd[o] + u->sd[o] * u->sd[o]), 1e-5);
    }
    /* Flatten of [1, OUT]: the same channels. */
    const activation_moments *f = moment_map_find(&map, "f");
    CHECK(f && f->channels == OUT && s && f->mean[1] == s->mean[1]);

    /* Without an input range only what a BN determines is described. */
    moment_map without;
    CHECK(moments_propagate(&m, &bn, NULL, &without) == NNQ_OK);
    CHECK(!moment_map_find(&without, "x") && moment_map_find(&without, "h") && moment_map_find(&without, "z"));
    moment_map_free(&without);

    moment_map_free(&map);
    bn_parameters_free(&bn);
    model_free(&m);
}

/* A standard normal sample (Box-Muller over the test LCG). */
static double gaussian(void) {
    double u1 = test_random_uniform(1e-7f, 1.0f), u2 = test_random_uniform(0.0f, 1.0f);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* The ranges hold the values: h ~ N(beta, gamma^2) drawn directly, pushed
 * through Relu, both Gemms and the Add in double; at alpha = 6 not one of
 * 20,000 samples may fall outside a propagated range. */
static void test_ranges_cover_samples(void) {
    nnq_model m;
    bn_parameters bn;
    build(&m, &bn);
    moment_map map;
    CHECK(moments_propagate(&m, &bn, NULL, &map) == NNQ_OK);
    float z_lo, z_hi, s_lo, s_hi;
    activation_moments_range(moment_map_find(&map, "z"), 6.0, &z_lo, &z_hi);
    activation_moments_range(moment_map_find(&map, "s"), 6.0, &s_lo, &s_hi);
    const float *w2 = floats(&m, "w2"), *b2 = floats(&m, "b2"), *w3 = floats(&m, "w3");
    int outside = 0;
    test_random_seed(11);
    for (int n = 0; n < 20000; n++) {
        double r[MID];
        for (int k = 0; k < MID; k++) r[k] = fmax(0.0, beta[k] + fabsf(gamma_[k]) * gaussian());
        for (int o = 0; o < OUT; o++) {
            double z = b2[o], u = 0.0;
            for (int k = 0; k < MID; k++) {
                z += w2[o * MID + k] * r[k];
                u += w3[o * MID + k] * r[k];
            }
            outside += z < z_lo || z > z_hi || z + u < s_lo || z + u > s_hi;
        }
    }
    CHECK_MSG(outside == 0, "%d values outside the propagated ranges", outside);
    moment_map_free(&map);
    bn_parameters_free(&bn);
    model_free(&m);
}

int main(void) {
    test_clipped_second_moment();
    test_rules();
    test_ranges_cover_samples();
    return check_summary();
}
