/* Cross-layer equalization and high-bias absorption (white paper §3.2, eq. 20-24).
 *
 * Evidence: a single pair's rescaled weights against values worked out by
 * hand with eq. 22 (r1' = r2' = sqrt(r1 r2)); chains checked by measuring,
 * in this file, that every pair's per-channel ranges came out equal; FP32
 * outputs run through the executor before and after on random inputs
 * (equal within 1e-4 of the output's magnitude); a replaced ReLU6 against a
 * hand-built model with a Relu in its place; absorbed biases against b2 + W2 c
 * summed here from the original weights, and outputs unchanged on the data
 * the minima came from. */
#include <glob.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/status.h"
#include "check.h"
#include "ir/model_copy.h"
#include "ir/passes/passes.h"
#include "onnx/onnx_io.h"
#include "run/executor.h"
#include "test_model.h"

/* Rescaling reorders float rounding only. */
#define RELATIVE_TOLERANCE 1e-4
/* Per-channel ranges after convergence agree to this fraction (CLE_DEFAULT_TOLERANCE is far tighter). */
#define RANGE_TOLERANCE 1e-3

/* ---- Building models ---- */

/* Random weights whose slice along `axis` (0 or 1) number c is scaled by
 * 10^(-2..1): the channel imbalance BN folding leaves (white paper fig. 5). */
static void add_imbalanced(nnq_model *m, const char *name, int rank, const int64_t *dims, int axis) {
    int64_t n = dims_numel(dims, rank), inner = 1;
    for (int d = axis + 1; d < rank; d++) inner *= dims[d];
    float *values = malloc(sizeof *values * (size_t)n);
    float scales[256];
    for (int c = 0; c < dims[axis] && c < 256; c++) scales[c] = powf(10.0f, test_random_uniform(-2.0f, 1.0f));
    for (int64_t i = 0; i < n; i++) values[i] = test_random_uniform(-1.0f, 1.0f) * scales[(i / inner) % dims[axis]];
    test_add_floats(m, name, rank, dims, values);
    free(values);
}

/* Conv x -> y with weight "<name>_W" [out, in/group, k, k] (imbalanced output channels) and bias "<name>_b". */
static nnq_node *add_conv(nnq_model *m, const char *name, const char *x, const char *y, int64_t in, int64_t out,
                          int64_t k, int64_t group, int64_t pad) {
    char w[64], b[64];
    snprintf(w, sizeof w, "%s_W", name);
    snprintf(b, sizeof b, "%s_b", name);
    int64_t w_dims[4] = {out, in / group, k, k};
    add_imbalanced(m, w, 4, w_dims, 0);
    test_add_random(m, b, 1, &out, -1.0f, 1.0f);
    nnq_node *conv = test_add_node(m, "Conv", name, (const char *[]){x, w, b, NULL}, (const char *[]){y, NULL});
    if (group != 1) test_node_set_int(conv, "group", group);
    test_node_set_ints(conv, "kernel_shape", 2, (const int64_t[]){k, k});
    test_node_set_ints(conv, "pads", 4, (const int64_t[]){pad, pad, pad, pad});
    return conv;
}

/* Gemm x -> y with B "<name>_W" ([out, in] when trans_b, else [in, out]) and C "<name>_b". */
static nnq_node *add_gemm(nnq_model *m, const char *name, const char *x, const char *y, int64_t in, int64_t out,
                          bool trans_b) {
    char w[64], b[64];
    snprintf(w, sizeof w, "%s_W", name);
    snprintf(b, sizeof b, "%s_b", name);
    int64_t w_dims[2] = {trans_b ? out : in, trans_b ? in : out};
    add_imbalanced(m, w, 2, w_dims, trans_b ? 0 : 1);
    test_add_random(m, b, 1, &out, -1.0f, 1.0f);
    nnq_node *gemm = test_add_node(m, "Gemm", name, (const char *[]){x, w, b, NULL}, (const char *[]){y, NULL});
    if (trans_b) test_node_set_int(gemm, "transB", 1);
    return gemm;
}

static void add_relu(nnq_model *m, const char *x, const char *y) {
    test_add_node(m, "Relu", y, (const char *[]){x, NULL}, (const char *[]){y, NULL});
}

static void image_model(nnq_model *m, int64_t channels, int64_t size) {
    test_model_init(m, 13);
    int64_t dims[4] = {2, channels, size, size};
    test_add_input(m, "x", NNQ_FLOAT, 4, dims);
}

/* ---- Running and comparing ---- */

/* Outputs of a model on fixed inputs, to compare a rewritten model against. */
typedef struct recorded_run {
    nnq_tensor inputs[4], outputs[4];
    int n_inputs, n_outputs;
    bool ran;
} recorded_run;

static void record_run(const nnq_model *m, recorded_run *run) {
    memset(run, 0, sizeof *run);
    run->n_inputs = test_make_inputs(m, run->inputs);
    run->n_outputs = m->graph.n_outputs;
    run->ran = test_run_model(m, run->inputs, run->n_inputs, run->outputs, NULL);
    CHECK(run->ran);
}

/* The largest relative output difference of m from the recorded run. */
static double difference_from(const nnq_model *m, const recorded_run *run) {
    nnq_tensor outputs[4] = {{0}};
    double worst = INFINITY;
    if (run->ran && test_run_model(m, run->inputs, run->n_inputs, outputs, NULL)) {
        worst = 0.0;
        for (int o = 0; o < run->n_outputs; o++) worst = fmax(worst, test_relative_difference(&run->outputs[o], &outputs[o]));
    }
    for (int o = 0; o < run->n_outputs; o++) tensor_free(&outputs[o]);
    return worst;
}

static void recorded_run_free(recorded_run *run) {
    for (int i = 0; i < run->n_inputs; i++) tensor_free(&run->inputs[i]);
    for (int o = 0; o < run->n_outputs; o++) tensor_free(&run->outputs[o]);
}

/* Runs CLE and checks the FP32 outputs stayed equal. */
static void equalize_keeping_outputs(nnq_model *m, const cle_options *options, cle_report *report, const char *what) {
    recorded_run before;
    record_run(m, &before);
    nnq_status st = pass_equalize_cross_layer(m, options, report);
    CHECK_MSG(st == NNQ_OK, "%s: %s", what, nnq_last_error());
    double diff = difference_from(m, &before);
    CHECK_MSG(diff <= RELATIVE_TOLERANCE, "%s: outputs differ by %g", what, diff);
    recorded_run_free(&before);
}

/* ---- Measuring ranges independently of the pass ---- */

static const nnq_tensor *initializer(const nnq_model *m, const char *name) {
    return graph_find_initializer(&m->graph, name);
}

/* max |W| per slice along axis 0 of a weight ([C_out, ...] Conv, [N, K] Gemm transB=1). */
static void ranges_along_first_axis(const nnq_tensor *w, double *ranges) {
    int64_t inner = tensor_numel(w) / w->dims[0];
    const float *v = w->data;
    for (int64_t c = 0; c < w->dims[0]; c++) {
        ranges[c] = 0.0;
        for (int64_t k = 0; k < inner; k++) ranges[c] = fmax(ranges[c], fabs(v[c * inner + k]));
    }
}

/* max |W[:, c, ...]| per index c of axis 1 of a rank >= 2 weight. */
static void ranges_along_second_axis(const nnq_tensor *w, double *ranges) {
    int64_t inner = tensor_numel(w) / (w->dims[0] * w->dims[1]);
    const float *v = w->data;
    for (int64_t c = 0; c < w->dims[1]; c++) ranges[c] = 0.0;
    for (int64_t i = 0; i < tensor_numel(w); i++) {
        int64_t c = (i / inner) % w->dims[1];
        ranges[c] = fmax(ranges[c], fabs(v[i]));
    }
}

/* max_c |a_c - b_c| / max(a_c, b_c) */
static double largest_relative_gap(const double *a, const double *b, int64_t n) {
    double worst = 0.0;
    for (int64_t c = 0; c < n; c++) worst = fmax(worst, fabs(a[c] - b[c]) / fmax(fmax(a[c], b[c]), 1e-30));
    return worst;
}

/* Conv W1 [C, ...] then Conv W2 [., C, ...] (group 1): r1'_c == r2'_c after convergence. */
static double conv_pair_gap(const nnq_model *m, const char *w1, const char *w2) {
    double r1[256], r2[256];
    ranges_along_first_axis(initializer(m, w1), r1);
    ranges_along_second_axis(initializer(m, w2), r2);
    return largest_relative_gap(r1, r2, initializer(m, w1)->dims[0]);
}

/* ---- Cross-layer equalization ---- */

/* 1x1 Conv (2 -> 2) -> Relu -> 1x1 Conv, by hand with eq. 22:
 *   W1 rows [4, -2] (r1 = 4) and [0.5, 0.25] (r1 = 0.5); W2 columns [1, -0.25] (r2 = 1), [8, 2] (r2 = 8)
 *   s_0 = sqrt(4 * 1) / 1 = 2,  s_1 = sqrt(0.5 * 8) / 8 = 0.25
 *   W1' rows [2, -1], [2, 1]; b1' = [1 / 2, -0.5 / 0.25] = [0.5, -2]; W2' columns [2, -0.5], [2, 0.5]
 * so r1' = r2' = sqrt(r1 r2) = [2, 2]: the spread of W1's ranges goes from 8 to 1. */
static void test_single_pair_closed_form(void) {
    nnq_model m;
    image_model(&m, 2, 3);
    int64_t w_dims[4] = {2, 2, 1, 1}, two = 2, y_dims[4] = {2, 2, 3, 3};
    test_add_output(&m, "y", NNQ_FLOAT, 4, y_dims);
    test_add_floats(&m, "W1", 4, w_dims, (const float[]){4.0f, -2.0f, 0.5f, 0.25f});
    test_add_floats(&m, "b1", 1, &two, (const float[]){1.0f, -0.5f});
    test_add_floats(&m, "W2", 4, w_dims, (const float[]){1.0f, 8.0f, -0.25f, 2.0f});
    test_add_floats(&m, "b2", 1, &two, (const float[]){0.3f, -0.7f});
    test_add_node(&m, "Conv", "conv1", (const char *[]){"x", "W1", "b1", NULL}, (const char *[]){"h", NULL});
    add_relu(&m, "h", "r");
    test_add_node(&m, "Conv", "conv2", (const char *[]){"r", "W2", "b2", NULL}, (const char *[]){"y", NULL});
    cle_report report;
    equalize_keeping_outputs(&m, NULL, &report, "single pair");
    CHECK(report.pairs_equalized == 1 && report.n_pairs == 1);
    CHECK(report.converged && report.iterations == 2); /* the second sweep finds s = 1 */
    const float *w1 = initializer(&m, "W1")->data, *b1 = initializer(&m, "b1")->data;
    const float *w2 = initializer(&m, "W2")->data, *b2 = initializer(&m, "b2")->data;
    const float w1_expected[4] = {2.0f, -1.0f, 2.0f, 1.0f}, w2_expected[4] = {2.0f, 2.0f, -0.5f, 0.5f};
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(w1[i], w1_expected[i], 1e-6);
        CHECK_NEAR(w2[i], w2_expected[i], 1e-6);
    }
    CHECK_NEAR(b1[0], 0.5, 1e-6);
    CHECK_NEAR(b1[1], -2.0, 1e-6);
    CHECK(b2[0] == 0.3f && b2[1] == -0.7f); /* W2's bias is untouched (eq. 21) */
    if (report.n_pairs == 1) {
        CHECK_NEAR(report.pairs[0].spread_before, 8.0, 1e-9);
        CHECK_NEAR(report.pairs[0].spread_after, 1.0, 1e-6);
        CHECK_NEAR(report.pairs[0].channel_scale[0], 0.5, 1e-6); /* 1 / s */
        CHECK_NEAR(report.pairs[0].channel_scale[1], 4.0, 1e-6);
        CHECK(strcmp(report.pairs[0].tensor, "h") == 0);
        int64_t channels = 0;
        CHECK(cle_report_channel_scale(&report, "h", &channels) == report.pairs[0].channel_scale && channels == 2);
    }
    cle_report_free(&report);
    model_free(&m);
}

/* Conv -> Relu -> Conv -> Relu -> Conv -> Relu -> Conv (3x3, padded): the sweeps converge and
 * every pair's per-channel ranges end up equal; one sweep alone would not equalize the first pair. */
static void test_conv_chain_converges(void) {
    nnq_model m;
    image_model(&m, 3, 6);
    int64_t y_dims[4] = {2, 5, 6, 6};
    test_add_output(&m, "y", NNQ_FLOAT, 4, y_dims);
    add_conv(&m, "c1", "x", "h1", 3, 8, 3, 1, 1);
    add_relu(&m, "h1", "r1");
    add_conv(&m, "c2", "r1", "h2", 8, 6, 3, 1, 1);
    add_relu(&m, "h2", "r2");
    add_conv(&m, "c3", "r2", "h3", 6, 7, 3, 1, 1);
    add_relu(&m, "h3", "r3");
    add_conv(&m, "c4", "r3", "y", 7, 5, 3, 1, 1);
    double gap_before = conv_pair_gap(&m, "c1_W", "c2_W");
    cle_report report;
    equalize_keeping_outputs(&m, NULL, &report, "conv chain");
    CHECK(report.pairs_equalized == 3 && report.converged && report.iterations > 2);
    double gaps[3] = {conv_pair_gap(&m, "c1_W", "c2_W"), conv_pair_gap(&m, "c2_W", "c3_W"),
                      conv_pair_gap(&m, "c3_W", "c4_W")};
    for (int p = 0; p < 3; p++) CHECK_MSG(gaps[p] <= RANGE_TOLERANCE, "pair %d: ranges differ by %g", p, gaps[p]);
    CHECK(gap_before > 0.5);
    for (int p = 0; p < report.n_pairs; p++)
        CHECK_MSG(report.pairs[p].spread_after < report.pairs[p].spread_before, "pair %d spread %g -> %g", p,
                  report.pairs[p].spread_before, report.pairs[p].spread_after);
    printf("conv chain: %d sweeps, worst spread %.1f -> %.1f\n", report.iterations, report.worst_spread_before,
           report.worst_spread_after);
    cle_report_free(&report);

    /* A single sweep leaves c2 rescaled by the (c2, c3) pair after (c1, c2) was equalized. */
    nnq_model again;
    image_model(&again, 3, 6);
    test_add_output(&again, "y", NNQ_FLOAT, 4, y_dims);
    add_conv(&again, "c1", "x", "h1", 3, 8, 3, 1, 1);
    add_relu(&again, "h1", "r1");
    add_conv(&again, "c2", "r1", "h2", 8, 6, 3, 1, 1);
    add_relu(&again, "h2", "r2");
    add_conv(&again, "c3", "r2", "y", 6, 5, 3, 1, 1);
    cle_options one_sweep;
    cle_options_init(&one_sweep);
    one_sweep.max_iterations = 1;
    equalize_keeping_outputs(&again, &one_sweep, &report, "one sweep");
    CHECK(report.iterations == 1 && !report.converged);
    CHECK(conv_pair_gap(&again, "c2_W", "c3_W") <= RANGE_TOLERANCE); /* the last pair done is equal */
    cle_report_free(&report);
    model_free(&again);
    model_free(&m);
}

/* 1x1 expand (4 -> 8) -> Relu -> depthwise 3x3 (group 8) -> Relu -> 1x1 project (8 -> 4):
 * the depthwise weight's input channel c is its own filter c. */
static void test_depthwise_separable(void) {
    nnq_model m;
    image_model(&m, 4, 5);
    int64_t y_dims[4] = {2, 4, 5, 5};
    test_add_output(&m, "y", NNQ_FLOAT, 4, y_dims);
    add_conv(&m, "expand", "x", "e", 4, 8, 1, 1, 0);
    add_relu(&m, "e", "er");
    add_conv(&m, "depthwise", "er", "d", 8, 8, 3, 8, 1);
    add_relu(&m, "d", "dr");
    add_conv(&m, "project", "dr", "y", 8, 4, 1, 1, 0);
    cle_report report;
    equalize_keeping_outputs(&m, NULL, &report, "depthwise separable");
    CHECK(report.pairs_equalized == 2 && report.converged);
    /* Depthwise W [8, 1, 3, 3]: filter c both reads and writes channel c, so its
     * input range (pair 1's r2) and output range (pair 2's r1) are the same numbers. */
    double expand[8], depthwise[8], project[8];
    ranges_along_first_axis(initializer(&m, "expand_W"), expand);
    ranges_along_first_axis(initializer(&m, "depthwise_W"), depthwise);
    ranges_along_second_axis(initializer(&m, "project_W"), project);
    CHECK(largest_relative_gap(expand, depthwise, 8) <= RANGE_TOLERANCE);
    CHECK(largest_relative_gap(depthwise, project, 8) <= RANGE_TOLERANCE);
    printf("depthwise separable: %d sweeps, expand spread %.1f -> %.2f, depthwise %.1f -> %.2f\n", report.iterations,
           report.pairs[0].spread_before, report.pairs[0].spread_after, report.pairs[1].spread_before,
           report.pairs[1].spread_after);
    cle_report_free(&report);
    model_free(&m);
}

/* Gemm (transB=1) -> Relu -> Gemm (transB=0) -> PRelu -> MatMul: dense layers, features on the last axis. */
static void test_dense_layers(void) {
    nnq_model m;
    test_model_init(&m, 13);
    int64_t x_dims[2] = {4, 6}, y_dims[2] = {4, 3}, matmul_dims[2] = {5, 3}, slope_dims[1] = {5};
    test_add_input(&m, "x", NNQ_FLOAT, 2, x_dims);
    test_add_output(&m, "y", NNQ_FLOAT, 2, y_dims);
    add_gemm(&m, "g1", "x", "h1", 6, 7, true);
    add_relu(&m, "h1", "r1");
    add_gemm(&m, "g2", "r1", "h2", 7, 5, false);
    test_add_random(&m, "slope", 1, slope_dims, 0.05f, 0.3f);
    test_add_node(&m, "PRelu", "prelu", (const char *[]){"h2", "slope", NULL}, (const char *[]){"p2", NULL});
    add_imbalanced(&m, "M", 2, matmul_dims, 1);
    test_add_node(&m, "MatMul", "matmul", (const char *[]){"p2", "M", NULL}, (const char *[]){"y", NULL});
    cle_report report;
    equalize_keeping_outputs(&m, NULL, &report, "dense layers");
    CHECK(report.pairs_equalized == 2 && report.converged);
    double r1[8], r2[8];
    ranges_along_first_axis(initializer(&m, "g1_W"), r1);  /* [7, 6]: rows are outputs */
    ranges_along_first_axis(initializer(&m, "g2_W"), r2);  /* [7, 5]: rows are inputs */
    CHECK(largest_relative_gap(r1, r2, 7) <= RANGE_TOLERANCE);
    ranges_along_second_axis(initializer(&m, "g2_W"), r1); /* [7, 5]: columns are outputs */
    ranges_along_first_axis(initializer(&m, "M"), r2);     /* [5, 3]: rows are inputs */
    CHECK(largest_relative_gap(r1, r2, 5) <= RANGE_TOLERANCE);
    cle_report_free(&report);
    model_free(&m);
}

/* Conv -> Relu -> MaxPool -> Conv, and Conv -> LeakyRelu -> Flatten -> Gemm (LeNet's shape):
 * MaxPool is per-channel and positively scale-equivariant; Flatten maps channel c to features c*S..c*S+S-1. */
static void test_through_pool_and_flatten(void) {
    nnq_model m;
    image_model(&m, 3, 8);
    int64_t y_dims[2] = {2, 4};
    test_add_output(&m, "y", NNQ_FLOAT, 2, y_dims);
    add_conv(&m, "c1", "x", "h1", 3, 5, 3, 1, 1);
    add_relu(&m, "h1", "r1");
    nnq_node *pool = test_add_node(&m, "MaxPool", "pool", (const char *[]){"r1", NULL}, (const char *[]){"p1", NULL});
    test_node_set_ints(pool, "kernel_shape", 2, (const int64_t[]){2, 2});
    test_node_set_ints(pool, "strides", 2, (const int64_t[]){2, 2});
    add_conv(&m, "c2", "p1", "h2", 5, 4, 2, 1, 0); /* 4x4 -> 3x3 */
    test_add_node(&m, "LeakyRelu", "leaky", (const char *[]){"h2", NULL}, (const char *[]){"l2", NULL});
    test_add_node(&m, "Flatten", "flatten", (const char *[]){"l2", NULL}, (const char *[]){"f", NULL});
    add_gemm(&m, "g", "f", "y", 36, 4, true);
    /* Flatten needs the shape of its input: the prepared graph has it from shape inference. */
    CHECK(pass_infer_shapes(&m) == NNQ_OK);
    cle_report report;
    equalize_keeping_outputs(&m, NULL, &report, "pool and flatten");
    CHECK(report.pairs_equalized == 2 && report.converged);
    CHECK(conv_pair_gap(&m, "c1_W", "c2_W") <= RANGE_TOLERANCE);
    /* c2's channel c feeds Gemm columns 9c .. 9c+8 (B is [4, 36]). */
    double r1[4], r2[4] = {0};
    ranges_along_first_axis(initializer(&m, "c2_W"), r1);
    const nnq_tensor *b = initializer(&m, "g_W");
    const float *v = b->data;
    for (int64_t i = 0; i < tensor_numel(b); i++) r2[(i % 36) / 9] = fmax(r2[(i % 36) / 9], fabs(v[i]));
    CHECK(largest_relative_gap(r1, r2, 4) <= RANGE_TOLERANCE);
    cle_report_free(&report);
    model_free(&m);
}

/* Conv -> Relu -> ConvTranspose (group 2) -> Relu -> Conv: ConvTranspose's W [C_in, C_out/group, k, k]
 * has its input channels on axis 0 and its output channels in groups along axis 1. */
static void test_conv_transpose(void) {
    nnq_model m;
    image_model(&m, 3, 4);
    int64_t y_dims[4] = {2, 3, 5, 5}, t_dims[4] = {4, 3, 2, 2}, six = 6;
    test_add_output(&m, "y", NNQ_FLOAT, 4, y_dims);
    add_conv(&m, "c1", "x", "h1", 3, 4, 3, 1, 1);
    add_relu(&m, "h1", "r1");
    add_imbalanced(&m, "t_W", 4, t_dims, 0);
    test_add_random(&m, "t_b", 1, &six, -1.0f, 1.0f);
    nnq_node *t = test_add_node(&m, "ConvTranspose", "t", (const char *[]){"r1", "t_W", "t_b", NULL},
                                (const char *[]){"h2", NULL});
    test_node_set_int(t, "group", 2);
    add_relu(&m, "h2", "r2");
    add_conv(&m, "c2", "r2", "y", 6, 3, 1, 1, 0);
    cle_report report;
    equalize_keeping_outputs(&m, NULL, &report, "conv transpose");
    CHECK(report.pairs_equalized == 2 && report.converged);
    double r1[6] = {0}, r2[6];
    ranges_along_first_axis(initializer(&m, "c1_W"), r1);
    ranges_along_first_axis(initializer(&m, "t_W"), r2); /* t_W's axis 0 is its input channel */
    CHECK(largest_relative_gap(r1, r2, 4) <= RANGE_TOLERANCE);
    /* t's output channel g*3 + j comes from rows of group g (rows 2g, 2g+1), column j. */
    memset(r1, 0, sizeof r1);
    const nnq_tensor *w = initializer(&m, "t_W");
    const float *v = w->data;
    for (int64_t i = 0; i < tensor_numel(w); i++) {
        int64_t row = i / 12, column = (i / 4) % 3, channel = (row / 2) * 3 + column;
        r1[channel] = fmax(r1[channel], fabs(v[i]));
    }
    ranges_along_second_axis(initializer(&m, "c2_W"), r2);
    CHECK(largest_relative_gap(r1, r2, 6) <= RANGE_TOLERANCE);
    cle_report_free(&report);
    model_free(&m);
}

/* A residual block: stem -> Relu -> [a -> Relu -> b] + skip -> Relu -> head.
 * Only (a, b) lies inside the block: the stem's Relu output also feeds the Add,
 * b's output goes to the Add, and head reads the join. */
static void test_residual_block(void) {
    nnq_model m;
    image_model(&m, 3, 5);
    int64_t y_dims[4] = {2, 2, 5, 5};
    test_add_output(&m, "y", NNQ_FLOAT, 4, y_dims);
    add_conv(&m, "stem", "x", "s", 3, 4, 3, 1, 1);
    add_relu(&m, "s", "sr");
    add_conv(&m, "a", "sr", "ha", 4, 6, 3, 1, 1);
    add_relu(&m, "ha", "ra");
    add_conv(&m, "b", "ra", "hb", 6, 4, 3, 1, 1);
    test_add_node(&m, "Add", "add", (const char *[]){"hb", "sr", NULL}, (const char *[]){"sum", NULL});
    add_relu(&m, "sum", "sumr");
    add_conv(&m, "head", "sumr", "y", 4, 2, 1, 1, 0);
    nnq_tensor stem_before = {0}, head_before = {0};
    tensor_copy(&stem_before, initializer(&m, "stem_W"));
    tensor_copy(&head_before, initializer(&m, "head_W"));
    cle_report report;
    equalize_keeping_outputs(&m, NULL, &report, "residual block");
    CHECK(report.pairs_equalized == 1);
    if (report.n_pairs == 1) CHECK(strcmp(report.pairs[0].first, "a") == 0 && strcmp(report.pairs[0].second, "b") == 0);
    CHECK(conv_pair_gap(&m, "a_W", "b_W") <= RANGE_TOLERANCE);
    CHECK(memcmp(stem_before.data, initializer(&m, "stem_W")->data, sizeof(float) * (size_t)tensor_numel(&stem_before)) == 0);
    CHECK(memcmp(head_before.data, initializer(&m, "head_W")->data, sizeof(float) * (size_t)tensor_numel(&head_before)) == 0);
    tensor_free(&stem_before);
    tensor_free(&head_before);
    cle_report_free(&report);
    model_free(&m);
}

/* Conv -> Clip(0, 6) -> Conv: skipped by default; with replace_bounded_relu the Clip becomes a
 * Relu and the result computes what the same model with a Relu in its place computes. */
static void build_relu6_pair(nnq_model *m, bool clip) {
    test_random_seed(77u); /* the same weights both times */
    image_model(m, 3, 4);
    int64_t y_dims[4] = {2, 2, 4, 4};
    test_add_output(m, "y", NNQ_FLOAT, 4, y_dims);
    add_conv(m, "c1", "x", "h", 3, 4, 3, 1, 1);
    if (clip) {
        test_add_floats(m, "zero", 0, NULL, (const float[]){0.0f});
        test_add_floats(m, "six", 0, NULL, (const float[]){6.0f});
        test_add_node(m, "Clip", "relu6", (const char *[]){"h", "zero", "six", NULL}, (const char *[]){"r", NULL});
    } else {
        add_relu(m, "h", "r");
    }
    add_conv(m, "c2", "r", "y", 4, 2, 3, 1, 1);
}

static void test_relu6(void) {
    nnq_model m, with_relu;
    build_relu6_pair(&m, true);
    build_relu6_pair(&with_relu, false);
    cle_report report;
    equalize_keeping_outputs(&m, NULL, &report, "ReLU6 skipped");
    CHECK(report.pairs_equalized == 0 && report.clips_skipped == 1 && report.clips_replaced == 0);
    cle_report_free(&report);

    recorded_run relu_run;
    record_run(&with_relu, &relu_run);
    cle_options replace;
    cle_options_init(&replace);
    replace.replace_bounded_relu = true;
    CHECK(pass_equalize_cross_layer(&m, &replace, &report) == NNQ_OK);
    CHECK(report.pairs_equalized == 1 && report.clips_replaced == 1 && report.clips_skipped == 0);
    bool relu_in_place = false;
    for (int n = 0; n < m.graph.n_nodes; n++)
        if (strcmp(m.graph.nodes[n].name, "relu6") == 0)
            relu_in_place = strcmp(m.graph.nodes[n].op_type, "Relu") == 0 && m.graph.nodes[n].n_inputs == 1;
    CHECK(relu_in_place);
    double diff = difference_from(&m, &relu_run);
    CHECK_MSG(diff <= RELATIVE_TOLERANCE, "replaced ReLU6 differs from a Relu model by %g", diff);
    CHECK(conv_pair_gap(&m, "c1_W", "c2_W") <= RANGE_TOLERANCE);
    cle_report_free(&report);
    recorded_run_free(&relu_run);
    model_free(&with_relu);
    model_free(&m);
}

/* Two Convs sharing W1 (a second branch reads it): rescaling it would change the other one. */
static void test_shared_weights_skipped(void) {
    nnq_model m;
    image_model(&m, 3, 4);
    int64_t y_dims[4] = {2, 2, 4, 4}, z_dims[4] = {2, 4, 4, 4};
    test_add_output(&m, "y", NNQ_FLOAT, 4, y_dims);
    test_add_output(&m, "z", NNQ_FLOAT, 4, z_dims);
    add_conv(&m, "c1", "x", "h", 3, 4, 3, 1, 1);
    add_relu(&m, "h", "r");
    add_conv(&m, "c2", "r", "y", 4, 2, 3, 1, 1);
    nnq_node *twin = test_add_node(&m, "Conv", "twin", (const char *[]){"x", "c1_W", NULL}, (const char *[]){"z", NULL});
    test_node_set_ints(twin, "pads", 4, (const int64_t[]){1, 1, 1, 1});
    cle_report report;
    equalize_keeping_outputs(&m, NULL, &report, "shared weights");
    CHECK(report.pairs_equalized == 0 && report.shared_skipped == 1);
    cle_report_free(&report);
    model_free(&m);
}

/* ---- High-bias absorption ---- */

/* Fixed per-channel minima for the hand-worked case. */
static bool fixed_minimum(void *user, const char *tensor, int64_t channels, float *minimum) {
    if (strcmp(tensor, "h") != 0 || channels != 2) return false;
    memcpy(minimum, user, sizeof(float) * 2);
    return true;
}

/* Gemm (transB=1) -> Relu -> Gemm (transB=1), by hand (eq. 23-24):
 * W1 row 0 = [0.5, 0.5] with b1_0 = 5 keeps pre-activation 0 in [3, 7] for inputs in [-2, 2];
 * minima [3, -2] give c = [3, 0]; b1' = [5 - 3, -1] = [2, -1];
 * W2 = [[1, 2], [3, 4]] (rows are outputs) so W2 c = [3, 9] and b2' = [0.5 + 3, -1 + 9] = [3.5, 8]. */
static void test_absorb_closed_form(void) {
    nnq_model m;
    test_model_init(&m, 13);
    int64_t x_dims[2] = {5, 2}, w_dims[2] = {2, 2}, two = 2;
    test_add_input(&m, "x", NNQ_FLOAT, 2, x_dims);
    test_add_output(&m, "y", NNQ_FLOAT, 2, x_dims);
    test_add_floats(&m, "W1", 2, w_dims, (const float[]){0.5f, 0.5f, 1.0f, -1.0f});
    test_add_floats(&m, "b1", 1, &two, (const float[]){5.0f, -1.0f});
    test_add_floats(&m, "W2", 2, w_dims, (const float[]){1.0f, 2.0f, 3.0f, 4.0f});
    test_add_floats(&m, "b2", 1, &two, (const float[]){0.5f, -1.0f});
    nnq_node *g1 = test_add_node(&m, "Gemm", "g1", (const char *[]){"x", "W1", "b1", NULL}, (const char *[]){"h", NULL});
    test_node_set_int(g1, "transB", 1);
    add_relu(&m, "h", "r");
    nnq_node *g2 = test_add_node(&m, "Gemm", "g2", (const char *[]){"r", "W2", "b2", NULL}, (const char *[]){"y", NULL});
    test_node_set_int(g2, "transB", 1);
    recorded_run before;
    record_run(&m, &before);
    float minimum[2] = {3.0f, -2.0f};
    high_bias_source source = {.channel_minimum = fixed_minimum, .user = minimum};
    high_bias_report report;
    CHECK(pass_absorb_high_bias(&m, &source, &report) == NNQ_OK);
    CHECK(report.layers_absorbed == 1 && report.channels_absorbed == 1 && report.n_shifts == 1);
    if (report.n_shifts == 1) CHECK(report.shifts[0].shift[0] == 3.0f && report.shifts[0].shift[1] == 0.0f);
    const float *b1 = initializer(&m, "b1")->data, *b2 = initializer(&m, "b2")->data;
    CHECK(b1[0] == 2.0f && b1[1] == -1.0f);
    CHECK(b2[0] == 3.5f && b2[1] == 8.0f);
    double diff = difference_from(&m, &before);
    CHECK_MSG(diff <= RELATIVE_TOLERANCE, "absorbed Gemm outputs differ by %g", diff);
    high_bias_report_free(&report);
    recorded_run_free(&before);

    /* No source, or both: a usage error. */
    high_bias_source none = {0};
    CHECK(pass_absorb_high_bias(&m, &none, NULL) == NNQ_ERR_USAGE);
    model_free(&m);
}

/* A tap recording, per channel (axis 1), the minimum of one tensor over every run. */
typedef struct channel_minimum_tap {
    const char *tensor;
    int64_t channels;
    float minimum[64];
} channel_minimum_tap;

static nnq_status observe_minimum(void *user, const nnq_node *node, const char *name, nnq_tensor *value) {
    (void)node;
    channel_minimum_tap *tap = user;
    if (strcmp(name, tap->tensor) != 0) return NNQ_OK;
    int64_t inner = tensor_numel(value) / (value->dims[0] * value->dims[1]);
    const float *v = value->data;
    for (int64_t i = 0; i < tensor_numel(value); i++) {
        int64_t c = (i / inner) % value->dims[1];
        tap->minimum[c] = fminf(tap->minimum[c], v[i]);
    }
    return NNQ_OK;
}

static bool tap_minimum(void *user, const char *tensor, int64_t channels, float *minimum) {
    const channel_minimum_tap *tap = user;
    if (strcmp(tensor, tap->tensor) != 0 || channels != tap->channels) return false;
    memcpy(minimum, tap->minimum, sizeof(float) * (size_t)channels);
    return true;
}

/* Conv (3x3, padded) -> Relu -> Conv (3x3, no padding): after CLE, minima measured on the data,
 * absorbed; b2 moves by sum over input channels and kernel positions of W2 c, and the outputs on
 * that same data stay equal (c <= every pre-activation it sees). */
static void test_absorb_measured_minimum(void) {
    nnq_model m;
    image_model(&m, 3, 6);
    int64_t y_dims[4] = {2, 4, 4, 4};
    test_add_output(&m, "y", NNQ_FLOAT, 4, y_dims);
    add_conv(&m, "c1", "x", "h", 3, 5, 3, 1, 1);
    add_relu(&m, "h", "r");
    add_conv(&m, "c2", "r", "y", 5, 4, 3, 1, 0);
    /* Large positive biases on some channels: their pre-activation never reaches 0. */
    float *b1 = (float *)initializer(&m, "c1_b")->data;
    b1[0] = 40.0f;
    b1[2] = 25.0f;
    CHECK(pass_equalize_cross_layer(&m, NULL, NULL) == NNQ_OK);
    recorded_run data;
    record_run(&m, &data);
    channel_minimum_tap minimum = {.tensor = "h", .channels = 5};
    for (int c = 0; c < 64; c++) minimum.minimum[c] = INFINITY;
    nnq_tensor outputs[1] = {{0}};
    CHECK(test_run_model(&m, data.inputs, data.n_inputs, outputs, &(nnq_tap){observe_minimum, &minimum}));
    tensor_free(&outputs[0]);
    CHECK(minimum.minimum[0] > 0.0f && minimum.minimum[2] > 0.0f);

    nnq_tensor w2 = {0}, b2_before = {0}, b1_before = {0};
    tensor_copy(&w2, initializer(&m, "c2_W"));
    tensor_copy(&b2_before, initializer(&m, "c2_b"));
    tensor_copy(&b1_before, initializer(&m, "c1_b"));
    high_bias_source source = {.channel_minimum = tap_minimum, .user = &minimum};
    high_bias_report report;
    CHECK(pass_absorb_high_bias(&m, &source, &report) == NNQ_OK);
    CHECK(report.layers_absorbed == 1 && report.channels_absorbed >= 2);
    /* b1' = b1 - c and b2' = b2 + sum_{i,k} W2[o, i, k] c_i, with c_i = max(0, min_i). */
    const float *b1_after = initializer(&m, "c1_b")->data, *b2_after = initializer(&m, "c2_b")->data;
    const float *w = w2.data;
    for (int i = 0; i < 5; i++) {
        double c = fmax(0.0, minimum.minimum[i]);
        CHECK_NEAR(b1_after[i], ((const float *)b1_before.data)[i] - c, 1e-5 * fmax(1.0, c));
    }
    for (int o = 0; o < 4; o++) {
        double expected = ((const float *)b2_before.data)[o];
        for (int i = 0; i < 5; i++)
            for (int k = 0; k < 9; k++) expected += (double)w[(o * 5 + i) * 9 + k] * fmax(0.0, minimum.minimum[i]);
        CHECK_NEAR(b2_after[o], expected, 1e-5 * fmax(1.0, fabs(expected)));
    }
    double diff = difference_from(&m, &data);
    CHECK_MSG(diff <= RELATIVE_TOLERANCE, "absorbed Conv outputs differ by %g", diff);
    tensor_free(&w2);
    tensor_free(&b2_before);
    tensor_free(&b1_before);
    high_bias_report_free(&report);
    recorded_run_free(&data);
    model_free(&m);
}

/* Conv -> Relu -> Conv with pads 1: skipped by default; absorbed on request, the interior
 * outputs (no padded tap) stay equal and the borders move. */
static void test_absorb_padded_second_layer(void) {
    nnq_model m;
    image_model(&m, 2, 5);
    int64_t y_dims[4] = {2, 2, 5, 5};
    test_add_output(&m, "y", NNQ_FLOAT, 4, y_dims);
    add_conv(&m, "c1", "x", "h", 2, 3, 1, 1, 0);
    add_relu(&m, "h", "r");
    add_conv(&m, "c2", "r", "y", 3, 2, 3, 1, 1);
    float *b1 = (float *)initializer(&m, "c1_b")->data;
    b1[0] = b1[1] = b1[2] = 50.0f; /* every pre-activation stays above 0 */
    recorded_run data;
    record_run(&m, &data);
    channel_minimum_tap minimum = {.tensor = "h", .channels = 3};
    for (int c = 0; c < 64; c++) minimum.minimum[c] = INFINITY;
    nnq_tensor outputs[1] = {{0}};
    CHECK(test_run_model(&m, data.inputs, data.n_inputs, outputs, &(nnq_tap){observe_minimum, &minimum}));
    tensor_free(&outputs[0]);
    high_bias_source source = {.channel_minimum = tap_minimum, .user = &minimum};
    high_bias_report report;
    CHECK(pass_absorb_high_bias(&m, &source, &report) == NNQ_OK);
    CHECK(report.layers_absorbed == 0 && report.padded_skipped == 1);
    high_bias_report_free(&report);
    source.allow_padded_convolution = true;
    CHECK(pass_absorb_high_bias(&m, &source, &report) == NNQ_OK);
    CHECK(report.layers_absorbed == 1 && report.channels_absorbed == 3);
    CHECK(test_run_model(&m, data.inputs, data.n_inputs, outputs, NULL));
    const float *before = data.outputs[0].data, *after = outputs[0].data;
    double interior = 0.0, border = 0.0, scale = 0.0;
    for (int64_t i = 0; i < tensor_numel(&outputs[0]); i++) {
        int64_t row = (i / 5) % 5, column = i % 5;
        bool on_border = row == 0 || row == 4 || column == 0 || column == 4;
        double gap = fabs((double)before[i] - after[i]);
        if (on_border) border = fmax(border, gap);
        else interior = fmax(interior, gap);
        scale = fmax(scale, fabs(before[i]));
    }
    CHECK_MSG(interior <= RELATIVE_TOLERANCE * scale, "interior moved by %g", interior);
    CHECK_MSG(border > RELATIVE_TOLERANCE * scale, "border moved by only %g", border);
    tensor_free(&outputs[0]);
    high_bias_report_free(&report);
    recorded_run_free(&data);
    model_free(&m);
}

/* Data-free: beta and gamma of the BN folded into W1, rescaled by CLE's channel_scale. */
typedef struct batchnorm_statistics {
    float beta[4], gamma[4];
} batchnorm_statistics;

static bool known_statistics(void *user, const char *tensor, int64_t channels, float *beta, float *gamma) {
    const batchnorm_statistics *s = user;
    if (strcmp(tensor, "h") != 0 || channels != 4) return false;
    memcpy(beta, s->beta, sizeof s->beta);
    memcpy(gamma, s->gamma, sizeof s->gamma);
    return true;
}

static void test_absorb_from_batchnorm(void) {
    nnq_model m;
    image_model(&m, 3, 5);
    int64_t y_dims[4] = {2, 2, 5, 5};
    test_add_output(&m, "y", NNQ_FLOAT, 4, y_dims);
    add_conv(&m, "c1", "x", "h", 3, 4, 3, 1, 1);
    add_relu(&m, "h", "r");
    add_conv(&m, "c2", "r", "y", 4, 2, 1, 1, 0);
    cle_report equalized;
    CHECK(pass_equalize_cross_layer(&m, NULL, &equalized) == NNQ_OK && equalized.n_pairs == 1);
    /* c = max(0, beta - 3 |gamma|) before CLE: [10 - 3, 0 (1 - 6 < 0), 6 - 3 (gamma -1), 0]. */
    batchnorm_statistics stats = {{10.0f, 1.0f, 6.0f, -4.0f}, {1.0f, 2.0f, -1.0f, 0.5f}};
    const float unscaled[4] = {7.0f, 0.0f, 3.0f, 0.0f};
    nnq_tensor b1_before = {0};
    tensor_copy(&b1_before, initializer(&m, "c1_b"));
    high_bias_source source = {.batchnorm_statistics = known_statistics, .user = &stats, .equalization = &equalized};
    high_bias_report report;
    CHECK(pass_absorb_high_bias(&m, &source, &report) == NNQ_OK);
    CHECK(report.layers_absorbed == 1 && report.channels_absorbed == 2);
    const float *b1_after = initializer(&m, "c1_b")->data, *scale = equalized.pairs[0].channel_scale;
    for (int i = 0; i < 4; i++) {
        /* Every term of max(0, beta - 3|gamma|) scales by the positive factor. */
        double c = unscaled[i] * scale[i];
        CHECK_NEAR(report.shifts[0].shift[i], c, 1e-5 * fmax(1.0, c));
        CHECK_NEAR(b1_after[i], ((const float *)b1_before.data)[i] - c, 1e-5 * fmax(1.0, c));
    }
    tensor_free(&b1_before);
    high_bias_report_free(&report);
    cle_report_free(&equalized);
    model_free(&m);
}

/* ---- Bundled models ---- */

/* Per-channel minima of every tensor a node produced, over every run (axis 1 is the channel). */
#define MAX_OBSERVED 64
typedef struct all_minima {
    int count;
    char *tensor[MAX_OBSERVED];
    int64_t channels[MAX_OBSERVED];
    float *minimum[MAX_OBSERVED];
} all_minima;

static nnq_status observe_all_minima(void *user, const nnq_node *node, const char *name, nnq_tensor *value) {
    all_minima *all = user;
    if (!node || value->dtype != NNQ_FLOAT || value->rank < 2) return NNQ_OK;
    int slot = 0;
    while (slot < all->count && strcmp(all->tensor[slot], name) != 0) slot++;
    if (slot == all->count) {
        if (all->count == MAX_OBSERVED) return NNQ_OK;
        all->tensor[slot] = strdup(name);
        all->channels[slot] = value->dims[1];
        all->minimum[slot] = malloc(sizeof(float) * (size_t)value->dims[1]);
        for (int64_t c = 0; c < value->dims[1]; c++) all->minimum[slot][c] = INFINITY;
        all->count++;
    }
    int64_t inner = tensor_numel(value) / (value->dims[0] * value->dims[1]);
    const float *v = value->data;
    for (int64_t i = 0; i < tensor_numel(value); i++) {
        int64_t c = (i / inner) % value->dims[1];
        all->minimum[slot][c] = fminf(all->minimum[slot][c], v[i]);
    }
    return NNQ_OK;
}

static bool lookup_minimum(void *user, const char *tensor, int64_t channels, float *minimum) {
    const all_minima *all = user;
    for (int i = 0; i < all->count; i++)
        if (strcmp(all->tensor[i], tensor) == 0 && all->channels[i] == channels) {
            memcpy(minimum, all->minimum[i], sizeof(float) * (size_t)channels);
            return true;
        }
    return false;
}

static void all_minima_free(all_minima *all) {
    for (int i = 0; i < all->count; i++) {
        free(all->tensor[i]);
        free(all->minimum[i]);
    }
}

/* Empirical absorption on an equalized model, minima from the inputs it is then checked on:
 * exact by default (padded Conv W2s skipped); with allow_padded_convolution the border
 * outputs of those W2s move (the paper's approximation), so that change is printed, not checked. */
static void check_absorption(const nnq_model *equalized, bool allow_padded, const char *what) {
    nnq_model m;
    if (model_copy(&m, equalized) != NNQ_OK) {
        CHECK_MSG(false, "%s: copy: %s", what, nnq_last_error());
        return;
    }
    recorded_run data;
    record_run(&m, &data);
    all_minima all = {0};
    nnq_tensor outputs[4] = {{0}};
    CHECK(test_run_model(&m, data.inputs, data.n_inputs, outputs, &(nnq_tap){observe_all_minima, &all}));
    for (int o = 0; o < data.n_outputs; o++) tensor_free(&outputs[o]);
    high_bias_source source = {.channel_minimum = lookup_minimum, .user = &all, .allow_padded_convolution = allow_padded};
    high_bias_report report;
    CHECK_MSG(pass_absorb_high_bias(&m, &source, &report) == NNQ_OK, "%s: %s", what, nnq_last_error());
    double diff = difference_from(&m, &data);
    if (!allow_padded) CHECK_MSG(diff <= RELATIVE_TOLERANCE, "%s: absorption changed outputs by %g", what, diff);
    printf("  high-bias absorption%s: %d layers, %d channels, %d padded pairs skipped; outputs change by %.2g\n",
           allow_padded ? " (padded W2 allowed)" : "", report.layers_absorbed, report.channels_absorbed,
           report.padded_skipped, diff);
    high_bias_report_free(&report);
    all_minima_free(&all);
    recorded_run_free(&data);
    model_free(&m);
}

/* Each bundled model (models/, every .onnx), prepared: CLE keeps its outputs; prints the range spreads. */
static void test_bundled_models(void) {
    glob_t found;
    if (glob(NNQ_SOURCE_DIR "/models/*.onnx", 0, NULL, &found) != 0) {
        printf("no bundled models\n");
        return;
    }
    for (size_t i = 0; i < found.gl_pathc; i++) {
        const char *path = found.gl_pathv[i];
        nnq_model m;
        if (onnx_load_model(path, &m) != NNQ_OK) {
            CHECK_MSG(false, "%s: %s", path, nnq_last_error());
            continue;
        }
        CHECK_MSG(model_prepare_for_quantization(&m, NULL) == NNQ_OK, "%s: %s", path, nnq_last_error());
        cle_report report;
        equalize_keeping_outputs(&m, NULL, &report, path);
        printf("%s: %d pairs equalized in %d sweeps (%s), %d ReLU6 pairs skipped, %d shared; worst W1 range spread "
               "%.1f -> %.2f\n",
               strrchr(path, '/') + 1, report.pairs_equalized, report.iterations,
               report.converged ? "converged" : "not converged", report.clips_skipped, report.shared_skipped,
               report.worst_spread_before, report.worst_spread_after);
        for (int p = 0; p < report.n_pairs; p++)
            printf("  %s -> %s: %lld channels, spread %.1f -> %.2f\n", report.pairs[p].first, report.pairs[p].second,
                   (long long)report.pairs[p].channels, report.pairs[p].spread_before, report.pairs[p].spread_after);
        CHECK(report.converged);
        cle_report_free(&report);
        check_absorption(&m, false, path);
        check_absorption(&m, true, path);
        model_free(&m);
    }
    globfree(&found);
}

int main(void) {
    test_random_seed(2024u);
    test_single_pair_closed_form();
    test_conv_chain_converges();
    test_depthwise_separable();
    test_dense_layers();
    test_through_pool_and_flatten();
    test_conv_transpose();
    test_residual_block();
    test_relu6();
    test_shared_weights_skipped();
    test_absorb_closed_form();
    test_absorb_measured_minimum();
    test_absorb_padded_second_layer();
    test_absorb_from_batchnorm();
    test_bundled_models();
    return check_summary();
}
