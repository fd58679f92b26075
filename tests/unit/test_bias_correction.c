/* Bias correction (white paper §3.3) checked against its definitions:
 * eq. 28's closed form against a numeric integral, empirical correction by
 * brute-force convolutions of the quantized inputs (eq. 27's mean output
 * error ~ 0 after), analytic correction against dW E[x] with E[x] from the
 * numeric integral, averaged over the output positions (zero padding). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "check.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "quant/bias_correction.h"
#include "quant/bn_ranges.h"
#include "quant/clipped_gaussian.h"
#include "quant/ptq.h"
#include "quant/quantize_tensor.h"
#include "run/simulation.h"
#include "test_model.h"

/* E[clamp(x, lo, hi)], x ~ N(mean, sd^2), by the midpoint rule over mean +- 12 sd. */
static double integrate_clipped(double mean, double sd, double lo, double hi) {
    const int steps = 200000;
    double a = mean - 12.0 * sd, width = 24.0 * sd / steps, sum = 0.0;
    for (int i = 0; i < steps; i++) {
        double x = a + (i + 0.5) * width;
        double density = exp(-0.5 * ((x - mean) / sd) * ((x - mean) / sd)) / (sd * sqrt(2.0 * M_PI));
        sum += fmin(fmax(x, lo), hi) * density * width;
    }
    return sum;
}

static void test_clipped_gaussian(void) {
    const double cases[][2] = {{0.0, 1.0}, {1.5, 0.5}, {-2.0, 1.0}, {3.0, 2.0}, {-0.3, 0.1}, {7.0, 1.0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double mean = cases[i][0], sd = cases[i][1];
        CHECK_NEAR(clipped_gaussian_mean(mean, sd, 0.0, INFINITY), integrate_clipped(mean, sd, 0.0, INFINITY), 1e-6);
        CHECK_NEAR(clipped_gaussian_mean(mean, sd, 0.0, 6.0), integrate_clipped(mean, sd, 0.0, 6.0), 1e-6);
        CHECK_NEAR(clipped_gaussian_mean(mean, sd, -INFINITY, INFINITY), mean, 1e-12);
        /* eq. 28 literally */
        double eq28 = sd * standard_normal_pdf(-mean / sd) + mean * (1.0 - standard_normal_cdf(-mean / sd));
        CHECK_NEAR(clipped_gaussian_mean(mean, sd, 0.0, INFINITY), eq28, 1e-12);
    }
    CHECK_NEAR(clipped_gaussian_mean(-1.0, 0.0, 0.0, INFINITY), 0.0, 0.0);
}

/* ---- A two-conv model on 2 x 6 x 6 inputs ---- */

enum { SAMPLES = 96, IN_C = 2, MID_C = 3, OUT_C = 4, SIDE = 6 };

/* x [2,6,6] -> Conv(3, 3x3, pad 1) -> Relu -> Conv(4, 3x3, pad 1, no bias) -> y */
static void build_model(nnq_model *m) {
    test_model_init(m, 13);
    test_add_input(m, "x", NNQ_FLOAT, 4, (int64_t[]){-1, IN_C, SIDE, SIDE});
    test_add_output(m, "y", NNQ_FLOAT, 4, (int64_t[]){-1, OUT_C, SIDE, SIDE});
    test_random_seed(7);
    test_add_random(m, "w1", 4, (int64_t[]){MID_C, IN_C, 3, 3}, -1.0f, 1.0f);
    test_add_random(m, "b1", 1, (int64_t[]){MID_C}, -0.2f, 0.5f);
    test_add_random(m, "w2", 4, (int64_t[]){OUT_C, MID_C, 3, 3}, -1.0f, 1.0f);
    const int64_t pads[] = {1, 1, 1, 1};
    test_node_set_ints(test_add_node(m, "Conv", "conv1", (const char *[]){"x", "w1", "b1", NULL},
                                     (const char *[]){"c1", NULL}),
                       "pads", 4, pads);
    test_add_node(m, "Relu", "relu1", (const char *[]){"c1", NULL}, (const char *[]){"r1", NULL});
    test_node_set_ints(test_add_node(m, "Conv", "conv2", (const char *[]){"r1", "w2", NULL}, (const char *[]){"y", NULL}),
                       "pads", 4, pads);
}

/* Calibration inputs with a non-zero mean, written as .npy. */
static nnq_dataset *open_inputs(const char *name) {
    nnq_tensor t = {0};
    tensor_create(&t, NNQ_FLOAT, 4, (int64_t[]){SAMPLES, IN_C, SIDE, SIDE});
    float *x = t.data;
    for (int64_t i = 0; i < tensor_numel(&t); i++) x[i] = test_random_uniform(-0.5f, 1.5f);
    nnq_dataset *d = test_dataset_from_tensor(name, &t);
    CHECK(d != NULL);
    tensor_free(&t);
    return d;
}

/* out[o][p] = sum w[o][c][k] in[c][...] (+ bias), 3x3, stride 1, pad 1 - the definition. */
static void direct_conv(const float *in, int channels, const float *w, const float *bias, int outputs, double *out) {
    for (int o = 0; o < outputs; o++)
        for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++) {
                double sum = bias ? bias[o] : 0.0;
                for (int c = 0; c < channels; c++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = y + ky - 1, ix = x + kx - 1;
                            if (iy < 0 || iy >= SIDE || ix < 0 || ix >= SIDE) continue;
                            sum += (double)w[((o * channels + c) * 3 + ky) * 3 + kx] * in[(c * SIDE + iy) * SIDE + ix];
                        }
                out[(o * SIDE + y) * SIDE + x] = sum;
            }
}

/* The quantized inputs x^ of both convs as the simulation produces them. */
typedef struct captured {
    float *x, *r1; /* [SAMPLES][C][SIDE][SIDE] */
    int64_t x_count, r1_count;
} captured;

static nnq_status capture(void *user, const nnq_node *node, const char *name, nnq_tensor *value) {
    (void)node;
    captured *c = user;
    int64_t n = tensor_numel(value);
    if (strcmp(name, "x") == 0) memcpy(c->x + c->x_count, value->data, sizeof(float) * (size_t)n), c->x_count += n;
    if (strcmp(name, "r1") == 0) memcpy(c->r1 + c->r1_count, value->data, sizeof(float) * (size_t)n), c->r1_count += n;
    return NNQ_OK;
}

static const float *initializer(const nnq_model *m, const char *name) {
    const nnq_tensor *t = graph_find_initializer(&m->graph, name);
    return t ? t->data : NULL;
}

/* Per output channel: mean over samples and positions of the simulated
 * (quantized weights, corrected quantized bias) minus the FP32 layer (original
 * W, b) on the same quantized input; returns the largest |mean|. */
static double worst_mean_error(const float *inputs, int channels, const float *w_hat, const float *b_hat,
                               const float *w, const float *b, int outputs) {
    int64_t in_size = (int64_t)channels * SIDE * SIDE, out_size = (int64_t)outputs * SIDE * SIDE;
    double *quantized = malloc(sizeof(double) * (size_t)out_size), *reference = malloc(sizeof(double) * (size_t)out_size);
    double *mean = calloc((size_t)outputs, sizeof(double)), worst = 0.0;
    for (int s = 0; s < SAMPLES; s++) {
        direct_conv(inputs + s * in_size, channels, w_hat, b_hat, outputs, quantized);
        direct_conv(inputs + s * in_size, channels, w, b, outputs, reference);
        for (int o = 0; o < outputs; o++)
            for (int p = 0; p < SIDE * SIDE; p++)
                mean[o] += (quantized[o * SIDE * SIDE + p] - reference[o * SIDE * SIDE + p]) / (SAMPLES * SIDE * SIDE);
    }
    for (int o = 0; o < outputs; o++) worst = fmax(worst, fabs(mean[o]));
    free(quantized);
    free(reference);
    free(mean);
    return worst;
}

/* Largest per-channel mean output error of conv1 and conv2 in the simulation. */
static void measure_errors(const ptq_result *ptq, nnq_dataset *data, const float *w1, const float *b1, const float *w2,
                           double *error1, double *error2) {
    static float x[SAMPLES * IN_C * SIDE * SIDE], r1[SAMPLES * MID_C * SIDE * SIDE];
    captured c = {x, r1, 0, 0};
    nnq_simulation *sim = NULL;
    CHECK(simulation_create(&ptq->prepared, &ptq->plan, true, &sim) == NNQ_OK);
    CHECK(executor_add_tap(simulation_executor(sim), (nnq_tap){capture, &c}) == NNQ_OK);
    dataset_rewind(data);
    nnq_tensor batch = {0}, out = {0};
    int64_t count = 0;
    CHECK(dataset_next_batch(data, SAMPLES, &batch, NULL, &count) == NNQ_OK && count == SAMPLES);
    batch.name = strdup("x");
    CHECK(executor_run(simulation_executor(sim), &batch, 1, &out) == NNQ_OK);
    const nnq_model *q = simulation_model(sim);
    const nnq_node *conv2 = &ptq->prepared.graph.nodes[2];
    const char *b2_name = conv2->n_inputs > 2 ? conv2->inputs[2] : "";
    static const float zeros[OUT_C];
    const float *b2_hat = *b2_name ? initializer(q, b2_name) : zeros;
    *error1 = worst_mean_error(x, IN_C, initializer(q, "w1"), initializer(q, "b1"), w1, b1, MID_C);
    *error2 = worst_mean_error(r1, MID_C, initializer(q, "w2"), b2_hat, w2, NULL, OUT_C);
    tensor_free(&batch);
    tensor_free(&out);
    simulation_free(sim);
}

static void test_empirical(void) {
    nnq_model model;
    build_model(&model);
    nnq_dataset *data = open_inputs("bias_correction_inputs");
    quant_config config;
    quant_config_defaults(&config);
    config.weight_bits = 3;
    config.per_channel = false;
    config.weight_method = "minmax";
    calibration_options options = {0};
    calib_options_default(&options.calib);
    ptq_result ptq;
    CHECK(ptq_run(&model, &config, data, &options, &ptq) == NNQ_OK);
    CHECK(ptq.prepared.graph.n_nodes == 3 && strcmp(ptq.prepared.graph.nodes[2].op_type, "Conv") == 0);
    float w1[MID_C * IN_C * 9], b1[MID_C], w2[OUT_C * MID_C * 9];
    memcpy(w1, initializer(&ptq.prepared, "w1"), sizeof w1);
    memcpy(b1, initializer(&ptq.prepared, "b1"), sizeof b1);
    memcpy(w2, initializer(&ptq.prepared, "w2"), sizeof w2);

    double before1, before2, after1, after2;
    measure_errors(&ptq, data, w1, b1, w2, &before1, &before2);
    bias_correction_options o;
    bias_correction_options_defaults(&o);
    bias_correction_report report;
    CHECK(ptq_correct_bias_empirical(&ptq.prepared, &ptq.plan, data, &o, &report) == NNQ_OK);
    CHECK(report.layers_corrected == 2 && report.biases_created == 1 && report.passes == 2);
    CHECK(plan_find(&ptq.plan, ptq.prepared.graph.nodes[2].inputs[2]) != NULL); /* the new bias is quantized */
    measure_errors(&ptq, data, w1, b1, w2, &after1, &after2);
    printf("empirical: worst mean output error conv1 %.4g -> %.4g, conv2 %.4g -> %.4g\n", before1, after1, before2,
           after2);
    CHECK(before1 > 1e-3 && before2 > 1e-3);
    /* What remains is the int32 bias rounding (half a step s_x s_w) and float sums. */
    double half_step1 = 0.0, half_step2 = 0.0;
    const nnq_quantizer *q1 = plan_find(&ptq.plan, "b1"), *q2 = plan_find(&ptq.plan, ptq.prepared.graph.nodes[2].inputs[2]);
    for (int c = 0; q1 && c < q1->n_channels; c++) half_step1 = fmax(half_step1, 0.5 * q1->scales[c]);
    for (int c = 0; q2 && c < q2->n_channels; c++) half_step2 = fmax(half_step2, 0.5 * q2->scales[c]);
    CHECK(after1 < 0.05 * before1 && after1 <= half_step1 + 1e-5);
    CHECK(after2 < 0.05 * before2 && after2 <= half_step2 + 1e-5);
    bias_correction_report_free(&report);
    ptq_result_free(&ptq);
    dataset_close(data);
    model_free(&model);
}

/* x -> Conv(w1) -> BatchNormalization(gamma, beta) -> Relu -> Conv(w2, b2) -> y */
static void build_bn_model(nnq_model *m) {
    test_model_init(m, 13);
    test_add_input(m, "x", NNQ_FLOAT, 4, (int64_t[]){-1, IN_C, SIDE, SIDE});
    test_add_output(m, "y", NNQ_FLOAT, 4, (int64_t[]){-1, OUT_C, SIDE, SIDE});
    test_random_seed(11);
    test_add_random(m, "w1", 4, (int64_t[]){MID_C, IN_C, 3, 3}, -1.0f, 1.0f);
    test_add_floats(m, "gamma", 1, (int64_t[]){MID_C}, (float[]){0.8f, 1.5f, 0.3f});
    test_add_floats(m, "beta", 1, (int64_t[]){MID_C}, (float[]){0.2f, -1.0f, 0.9f});
    test_add_floats(m, "mean", 1, (int64_t[]){MID_C}, (float[]){0.1f, 0.0f, -0.2f});
    test_add_floats(m, "var", 1, (int64_t[]){MID_C}, (float[]){1.0f, 2.0f, 0.5f});
    test_add_random(m, "w2", 4, (int64_t[]){OUT_C, MID_C, 3, 3}, -1.0f, 1.0f);
    test_add_random(m, "b2", 1, (int64_t[]){OUT_C}, -0.3f, 0.3f);
    const int64_t pads[] = {1, 1, 1, 1};
    test_node_set_ints(test_add_node(m, "Conv", "conv1", (const char *[]){"x", "w1", NULL}, (const char *[]){"c1", NULL}),
                       "pads", 4, pads);
    test_add_node(m, "BatchNormalization", "bn", (const char *[]){"c1", "gamma", "beta", "mean", "var", NULL},
                  (const char *[]){"n1", NULL});
    test_add_node(m, "Relu", "relu1", (const char *[]){"n1", NULL}, (const char *[]){"r1", NULL});
    test_node_set_ints(test_add_node(m, "Conv", "conv2", (const char *[]){"r1", "w2", "b2", NULL},
                                     (const char *[]){"y", NULL}),
                       "pads", 4, pads);
}

static void test_analytic(void) {
    nnq_model model;
    build_bn_model(&model);
    quant_config config;
    quant_config_defaults(&config);
    config.weight_bits = 3;
    config.activation_method = "bn"; /* data-free */
    config.logits_method = "minmax";
    calibration_options options = {0};
    calib_options_default(&options.calib);
    ptq_result ptq;
    nnq_status st = ptq_run(&model, &config, NULL, &options, &ptq);
    if (st != NNQ_OK) {
        /* The graph input and the logits still need data in this plan: give a little. */
        nnq_dataset *data = open_inputs("bias_correction_bn_inputs");
        config.activation_method = "mse";
        CHECK(ptq_run(&model, &config, data, &options, &ptq) == NNQ_OK);
        dataset_close(data);
    }
    bn_parameters bn;
    CHECK(bn_parameters_collect(&model, &bn) == NNQ_OK && bn.count == 1);
    const nnq_node *conv2 = NULL;
    for (int n = 0; n < ptq.prepared.graph.n_nodes; n++)
        if (strcmp(ptq.prepared.graph.nodes[n].op_type, "Conv") == 0) conv2 = &ptq.prepared.graph.nodes[n];
    CHECK(conv2 && strcmp(conv2->inputs[1], "w2") == 0);
    float w2[OUT_C * MID_C * 9], b2[OUT_C];
    memcpy(w2, initializer(&ptq.prepared, "w2"), sizeof w2);
    memcpy(b2, initializer(&ptq.prepared, conv2->inputs[2]), sizeof b2);
    /* W^ by the plan's weight quantizer. */
    nnq_tensor w_hat = {0};
    tensor_copy(&w_hat, graph_find_initializer(&ptq.prepared.graph, "w2"));
    quantizer_fake_quantize(plan_find(&ptq.plan, "w2"), &w_hat, true);

    bias_correction_report report;
    CHECK(ptq_correct_bias_analytic(&ptq.prepared, &ptq.plan, &bn, &report) == NNQ_OK);
    CHECK(report.layers_corrected == 1 && report.layers_skipped == 1); /* conv1's input is the graph input */
    const float gamma[] = {0.8f, 1.5f, 0.3f}, beta[] = {0.2f, -1.0f, 0.9f};
    const float *corrected = initializer(&ptq.prepared, conv2->inputs[2]);
    /* dW E[x] averaged over the output positions: with pads 1 a kernel tap
     * (ky, kx) falls inside the SIDE x SIDE image at in_image(ky) in_image(kx)
     * of the SIDE^2 positions (SIDE - 1 for an off-centre row or column). */
    for (int o = 0; o < OUT_C; o++) {
        double shift = 0.0;
        for (int c = 0; c < MID_C; c++) {
            double expected_input = integrate_clipped(beta[c], gamma[c], 0.0, INFINITY);
            for (int k = 0; k < 9; k++) {
                int i = (o * MID_C + c) * 9 + k;
                double in_image = (double)((k / 3 == 1 ? SIDE : SIDE - 1) * (k % 3 == 1 ? SIDE : SIDE - 1)) / (SIDE * SIDE);
                shift += ((double)((float *)w_hat.data)[i] - w2[i]) * expected_input * in_image;
            }
        }
        CHECK_NEAR(corrected[o], b2[o] - shift, 1e-5);
    }
    tensor_free(&w_hat);
    bias_correction_report_free(&report);
    bn_parameters_free(&bn);
    ptq_result_free(&ptq);
    model_free(&model);
}

int main(void) {
    test_clipped_gaussian();
    test_empirical();
    test_analytic();
    return check_summary();
}
