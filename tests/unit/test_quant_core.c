/* The quantization core: grids and ONNX Runtime's scale/zero-point formulas
 * (hand-computed), plan JSON round trip and validation, per-channel
 * quantization, and the QDQ export agreeing bit for bit with the simulation
 * when both run in nnquant's runtime. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "export/qdq_export.h"
#include "onnx/onnx_io.h"
#include "ir/passes/passes.h"
#include "quant/plan.h"
#include "quant/plan_builder.h"
#include "quant/weight_ranges.h"
#include "quant/quantize_tensor.h"
#include "run/executor.h"
#include "run/simulation.h"
#include "test_model.h"

static const nnq_qscheme uint8_asym = {8, false, false, false, false};
static const nnq_qscheme int8_sym = {8, true, true, false, false};
static const nnq_qscheme int8_sym_narrow = {8, true, true, true, false};

static void test_grids_and_params(void) {
    int32_t lo, hi;
    qscheme_grid(&uint8_asym, &lo, &hi);
    CHECK(lo == 0 && hi == 255);
    qscheme_grid(&int8_sym, &lo, &hi);
    CHECK(lo == -128 && hi == 127);
    qscheme_grid(&int8_sym_narrow, &lo, &hi);
    CHECK(lo == -127 && hi == 127);
    nnq_qscheme int4 = {4, true, false, false, false};
    qscheme_grid(&int4, &lo, &hi);
    CHECK(lo == -8 && hi == 7);
    nnq_qscheme int32_grid = {32, true, true, false, false};
    qscheme_grid(&int32_grid, &lo, &hi);
    CHECK(lo == INT32_MIN && hi == INT32_MAX);

    float s;
    int32_t z;
    /* uint8 over [-1, 3]: s = 4/255, z = round(0 - (-1)/s) = round(63.75) = 64. */
    qscheme_params(&uint8_asym, -1.0f, 3.0f, &s, &z);
    CHECK_NEAR(s, 4.0 / 255.0, 1e-9);
    CHECK(z == 64);
    /* A range not containing 0 is widened to include it: [2, 5] -> [0, 5], z = 0. */
    qscheme_params(&uint8_asym, 2.0f, 5.0f, &s, &z);
    CHECK_NEAR(s, 5.0 / 255.0, 1e-9);
    CHECK(z == 0);
    /* int8 symmetric over [-2, 1]: s = 2 * 2 / 255; narrow: 2 / 127; z = 0. */
    qscheme_params(&int8_sym, -2.0f, 1.0f, &s, &z);
    CHECK_NEAR(s, 4.0 / 255.0, 1e-9);
    CHECK(z == 0);
    qscheme_params(&int8_sym_narrow, -2.0f, 1.0f, &s, &z);
    CHECK_NEAR(s, 2.0 / 127.0, 1e-9);
    /* Unsigned symmetric (sign-optimized): [0, 5] -> s = 5/255, z = 0. */
    nnq_qscheme uint8_sym = {8, false, true, false, false};
    qscheme_params(&uint8_sym, 0.0f, 5.0f, &s, &z);
    CHECK_NEAR(s, 5.0 / 255.0, 1e-9);
    CHECK(z == 0);
    /* Power of two rounds the scale up: 0.3 * 127 range -> s = 0.3 -> 0.5. */
    nnq_qscheme pow2 = {8, true, true, true, true};
    qscheme_params(&pow2, -0.3f * 127, 0.3f * 127, &s, &z);
    CHECK_NEAR(s, 0.5, 0);
    /* A zero range must not divide by zero. */
    qscheme_params(&uint8_asym, 0.0f, 0.0f, &s, &z);
    CHECK(s == 1.0f && z == 0);
    /* Half to even, then saturate. */
    CHECK(quantize_value(2.5f, 1.0f, 0, -128, 127) == 2);
    CHECK(quantize_value(3.5f, 1.0f, 0, -128, 127) == 4);
    CHECK(quantize_value(-2.5f, 1.0f, 0, -128, 127) == -2);
    CHECK(quantize_value(1000.0f, 1.0f, 0, -128, 127) == 127);
    CHECK(quantize_value(NAN, 1.0f, 5, 0, 255) == 5);
}

static void test_plan_json(void) {
    nnq_plan plan;
    plan_init(&plan);
    plan.model_name = strdup("tiny");
    nnq_quantizer *a, *w;
    CHECK(plan_add(&plan, "x", NNQ_ROLE_ACTIVATION, &uint8_asym, -1, 1, &a) == NNQ_OK);
    CHECK(quantizer_set_range(a, -0.731f, 2.9123f, "mse") == NNQ_OK);
    a->observed_min = -1.5f;
    a->observed_max = 3.25f;
    CHECK(plan_add(&plan, "w", NNQ_ROLE_WEIGHT, &int8_sym_narrow, 0, 3, &w) == NNQ_OK);
    for (int c = 0; c < 3; c++) w->scales[c] = 0.1f / (float)(c + 3);
    CHECK(plan_add(&plan, "x", NNQ_ROLE_ACTIVATION, &uint8_asym, -1, 1, NULL) == NNQ_ERR_INVALID);
    nnq_qscheme bias_scheme = {32, true, true, false, false};
    nnq_quantizer *b;
    CHECK(plan_add(&plan, "b", NNQ_ROLE_BIAS, &bias_scheme, 0, 3, &b) == NNQ_OK);
    for (int c = 0; c < 3; c++) b->scales[c] = 1e-5f * (float)(c + 1);
    char path[] = "/tmp/nnq_plan_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK(plan_write_json(&plan, path) == NNQ_OK);
    nnq_plan back;
    CHECK(plan_read_json(path, &back) == NNQ_OK);
    CHECK(back.n_quantizers == 3 && strcmp(back.model_name, "tiny") == 0);
    const nnq_quantizer *bb = plan_find(&back, "b");
    CHECK(bb && bb->role == NNQ_ROLE_BIAS && bb->scheme.bits == 32 && bb->scales[2] == b->scales[2]);
    nnq_quantizer *ba = plan_find(&back, "x"), *bw = plan_find(&back, "w");
    CHECK(ba && bw);
    if (ba && bw) {
        /* Scales must come back bit-identical. */
        CHECK(ba->scales[0] == a->scales[0] && ba->zero_points[0] == a->zero_points[0]);
        CHECK(strcmp(ba->method, "mse") == 0 && ba->observed_min == -1.5f && ba->range_max == 2.9123f);
        CHECK(bw->axis == 0 && bw->n_channels == 3 && bw->scheme.narrow_range && bw->scheme.is_signed);
        for (int c = 0; c < 3; c++) CHECK(bw->scales[c] == w->scales[c]);
    }
    plan_free(&back);
    /* Corrupt plans are refused with the tensor named. */
    FILE *f = fopen(path, "w");
    fputs("{\"format\":\"nnquant-plan\",\"version\":1,\"quantizers\":[{\"tensor\":\"conv_out\",\"role\":\"activation\","
          "\"bits\":8,\"signed\":false,\"symmetric\":false,\"narrow_range\":false,\"power_of_two\":false,\"axis\":-1,"
          "\"scales\":[-0.5],\"zero_points\":[0],\"method\":\"x\",\"observed\":[0,1],\"range\":[0,1]}]}",
          f);
    fclose(f);
    CHECK(plan_read_json(path, &back) == NNQ_ERR_PARSE);
    CHECK_MSG(strstr(nnq_last_error(), "conv_out") && strstr(nnq_last_error(), "positive"), "%s", nnq_last_error());
    f = fopen(path, "w");
    fputs("{\"format\": 3", f);
    fclose(f);
    CHECK(plan_read_json(path, &back) == NNQ_ERR_PARSE);
    unlink(path);
    plan_free(&plan);
}

static void test_per_channel_quantize(void) {
    nnq_plan plan;
    plan_init(&plan);
    nnq_quantizer *w;
    plan_add(&plan, "w", NNQ_ROLE_WEIGHT, &int8_sym_narrow, 0, 2, &w);
    w->scales[0] = 0.5f;
    w->scales[1] = 0.25f;
    nnq_tensor t = {0}, q = {0};
    int64_t dims[2] = {2, 3};
    tensor_create(&t, NNQ_FLOAT, 2, dims);
    float values[6] = {1.0f, -1.25f, 100.0f, 1.0f, -0.375f, -100.0f};
    memcpy(t.data, values, sizeof values);
    CHECK(quantizer_quantize(w, &t, &q) == NNQ_OK);
    CHECK(q.dtype == NNQ_INT8);
    int8_t *qi = q.data;
    /* Row 0 / 0.5: 2, -2.5 -> -2 (half to even), 200 -> 127; row 1 / 0.25: 4, -1.5 -> -2, -400 -> -127 (narrow). */
    CHECK(qi[0] == 2 && qi[1] == -2 && qi[2] == 127 && qi[3] == 4 && qi[4] == -2 && qi[5] == -127);
    quantizer_fake_quantize(w, &t, true);
    float *f = t.data;
    CHECK(f[0] == 1.0f && f[1] == -1.0f && f[2] == 63.5f && f[3] == 1.0f && f[4] == -0.5f && f[5] == -31.75f);
    tensor_free(&t);
    tensor_free(&q);
    plan_free(&plan);
}

/* x[1,2,4,4] -> Conv(W[3,2,3,3], B[3], pad 1) -> Relu -> y; a plan quantizing
 * x, W (per channel), B (int32, s_x * s_w) and y. */
static void build_conv_model(nnq_model *m) {
    test_model_init(m, 13);
    int64_t x_dims[4] = {1, 2, 4, 4}, y_dims[4] = {1, 3, 4, 4}, w_dims[4] = {3, 2, 3, 3}, b_dims[1] = {3};
    test_add_input(m, "x", NNQ_FLOAT, 4, x_dims);
    test_add_output(m, "y", NNQ_FLOAT, 4, y_dims);
    float w[54], b[3] = {0.1f, -0.2f, 0.05f};
    for (int i = 0; i < 54; i++) w[i] = (float)((i * 37) % 23 - 11) / (10.0f + (float)(i / 18) * 20.0f);
    test_add_floats(m, "W", 4, w_dims, w);
    test_add_floats(m, "B", 1, b_dims, b);
    nnq_node *conv = test_add_node(m, "Conv", "conv", (const char *[]){"x", "W", "B", NULL}, (const char *[]){"c", NULL});
    test_node_set_ints(conv, "pads", 4, (const int64_t[]){1, 1, 1, 1});
    test_add_node(m, "Relu", "relu", (const char *[]){"c", NULL}, (const char *[]){"y", NULL});
}

static void build_conv_plan(const nnq_model *m, nnq_plan *plan, int activation_bits) {
    plan_init(plan);
    nnq_quantizer *x, *w, *b, *y;
    nnq_qscheme act = uint8_asym;
    act.bits = activation_bits;
    plan_add(plan, "x", NNQ_ROLE_ACTIVATION, &act, -1, 1, &x);
    quantizer_set_range(x, -1.0f, 1.0f, "minmax");
    plan_add(plan, "W", NNQ_ROLE_WEIGHT, &int8_sym_narrow, 0, 3, &w);
    const nnq_tensor *wt = graph_find_initializer(&m->graph, "W");
    for (int c = 0; c < 3; c++) {
        float absmax = 0;
        for (int i = 0; i < 18; i++) absmax = fmaxf(absmax, fabsf(((float *)wt->data)[c * 18 + i]));
        qscheme_params(&int8_sym_narrow, -absmax, absmax, &w->scales[c], &w->zero_points[c]);
    }
    nnq_qscheme bias = {32, true, true, false, false};
    plan_add(plan, "B", NNQ_ROLE_BIAS, &bias, 0, 3, &b);
    for (int c = 0; c < 3; c++) b->scales[c] = x->scales[0] * w->scales[c];
    plan_add(plan, "y", NNQ_ROLE_ACTIVATION, &act, -1, 1, &y);
    quantizer_set_range(y, 0.0f, 2.0f, "minmax");
}

static bool run_model(nnq_executor *ex, nnq_tensor *y) {
    nnq_tensor x = {0};
    int64_t dims[4] = {1, 2, 4, 4};
    tensor_create(&x, NNQ_FLOAT, 4, dims);
    x.name = strdup("x");
    for (int i = 0; i < 32; i++) ((float *)x.data)[i] = sinf((float)i * 0.7f) * 1.3f; /* exceeds [-1, 1]: clipping too */
    nnq_status st = executor_run(ex, &x, 1, y);
    if (st != NNQ_OK) fprintf(stderr, "%s\n", nnq_last_error());
    tensor_free(&x);
    return st == NNQ_OK;
}

static void check_qdq_equals_simulation(int activation_bits) {
    nnq_model m, qdq;
    build_conv_model(&m);
    nnq_plan plan;
    build_conv_plan(&m, &plan, activation_bits);
    nnq_simulation *sim = NULL;
    CHECK(simulation_create(&m, &plan, true, &sim) == NNQ_OK);
    CHECK(export_qdq(&m, &plan, &qdq) == NNQ_OK);
    /* Save and reload: what a user gets on disk. */
    char path[] = "/tmp/nnq_qdq_XXXXXX";
    close(mkstemp(path));
    CHECK(onnx_save_model(&qdq, path, NULL) == NNQ_OK);
    model_free(&qdq);
    CHECK(onnx_load_model(path, &qdq) == NNQ_OK);
    unlink(path);
    int dq = 0, q = 0, clip = 0;
    for (int i = 0; i < qdq.graph.n_nodes; i++) {
        dq += strcmp(qdq.graph.nodes[i].op_type, "DequantizeLinear") == 0;
        q += strcmp(qdq.graph.nodes[i].op_type, "QuantizeLinear") == 0;
        clip += strcmp(qdq.graph.nodes[i].op_type, "Clip") == 0;
    }
    CHECK_MSG(q == 2 && dq == 4 && clip == (activation_bits < 8 ? 2 : 0), "q %d dq %d clip %d", q, dq, clip);
    const nnq_tensor *w_int = graph_find_initializer(&qdq.graph, "W_quantized");
    const nnq_tensor *b_int = graph_find_initializer(&qdq.graph, "B_quantized");
    CHECK(w_int && w_int->dtype == NNQ_INT8 && b_int && b_int->dtype == NNQ_INT32);
    CHECK(graph_find_initializer(&qdq.graph, "W") == NULL);
    nnq_executor *ex = NULL;
    nnq_tensor expected = {0}, got = {0};
    CHECK(run_model(simulation_executor(sim), &expected));
    CHECK(executor_create(&qdq, &ex) == NNQ_OK && run_model(ex, &got));
    CHECK(expected.data && got.data && memcmp(expected.data, got.data, sizeof(float) * 48) == 0);
    /* The outputs sit on y's grid: multiples of its scale. */
    const nnq_quantizer *yq = plan_find(&plan, "y");
    int off_grid = 0;
    for (int i = 0; expected.data && i < 48; i++) {
        float k = ((float *)expected.data)[i] / yq->scales[0];
        off_grid += fabsf(k - nearbyintf(k)) > 1e-3f;
    }
    CHECK(off_grid == 0);
    tensor_free(&expected);
    tensor_free(&got);
    executor_free(ex);
    simulation_free(sim);
    model_free(&qdq);
    model_free(&m);
    plan_free(&plan);
}

/* An opset-6 model (PyTorch's Conv2d export in ONNX's test data): planned with
 * the builder, exported as QDQ - which upgrades it to opset 13 - and run: the
 * QDQ model must match the simulation and stay close to ONNX's expected output. */
static void test_old_opset_model_exports(void) {
    const char *dir = "/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d";
    char path[512];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    nnq_model m, qdq;
    CHECK(onnx_load_model(path, &m) == NNQ_OK);
    CHECK(model_opset(&m, "") < 10);
    prep_report report;
    CHECK(model_prepare_for_quantization(&m, &report) == NNQ_OK);
    quant_config config;
    quant_config_defaults(&config);
    config.weight_method = "minmax";
    nnq_plan plan;
    plan_recipe recipe;
    CHECK(plan_build(&m, &config, &plan, &recipe) == NNQ_OK);
    nnq_calib_options options;
    calib_options_default(&options);
    CHECK(plan_set_weight_ranges(&m, &plan, &recipe, &config, &options) == NNQ_OK);
    int activations = 0;
    for (int i = 0; i < plan.n_quantizers; i++)
        if (recipe.observe[i]) {
            quantizer_set_range(&plan.quantizers[i], -4.0f, 4.0f, "fixed");
            activations++;
        }
    CHECK_MSG(activations == 2 && plan.n_quantizers == 4, "%d activations, %d quantizers", activations, plan.n_quantizers); /* input, output, weight, bias */
    CHECK(plan_recipe_resolve(&plan, &recipe) == NNQ_OK);
    CHECK(export_qdq(&m, &plan, &qdq) == NNQ_OK);
    CHECK(model_opset(&qdq, "") == 13);
    nnq_tensor x, expected, a = {0}, b = {0};
    snprintf(path, sizeof path, "%s/test_data_set_0/input_0.pb", dir);
    CHECK(onnx_load_tensor(path, &x) == NNQ_OK);
    snprintf(path, sizeof path, "%s/test_data_set_0/output_0.pb", dir);
    CHECK(onnx_load_tensor(path, &expected) == NNQ_OK);
    free(x.name);
    x.name = strdup(m.graph.inputs[0].name);
    nnq_simulation *sim = NULL;
    nnq_executor *ex = NULL;
    CHECK(simulation_create(&m, &plan, true, &sim) == NNQ_OK && executor_run(simulation_executor(sim), &x, 1, &a) == NNQ_OK);
    CHECK(executor_create(&qdq, &ex) == NNQ_OK && executor_run(ex, &x, 1, &b) == NNQ_OK);
    int64_t n = tensor_numel(&expected);
    CHECK(a.data && b.data && memcmp(a.data, b.data, sizeof(float) * (size_t)n) == 0);
    /* 8-bit grids over [-4, 4]: the error stays within a few steps of 8/255. */
    double worst = 0;
    for (int64_t i = 0; a.data && i < n; i++) worst = fmax(worst, fabs(((float *)a.data)[i] - ((float *)expected.data)[i]));
    CHECK_MSG(worst < 0.2, "max error %g", worst);
    tensor_free(&a);
    tensor_free(&b);
    tensor_free(&x);
    tensor_free(&expected);
    executor_free(ex);
    simulation_free(sim);
    plan_recipe_free(&recipe);
    plan_free(&plan);
    model_free(&qdq);
    model_free(&m);
}

/* NaN weights are refused with the tensor named, not quantized into garbage. */
static void test_nan_weights_refused(void) {
    nnq_model m;
    build_conv_model(&m);
    nnq_tensor *w = (nnq_tensor *)graph_find_initializer(&m.graph, "W");
    ((float *)w->data)[7] = NAN;
    quant_config config;
    quant_config_defaults(&config);
    nnq_plan plan;
    plan_recipe recipe;
    CHECK(plan_build(&m, &config, &plan, &recipe) == NNQ_OK);
    nnq_calib_options options;
    calib_options_default(&options);
    CHECK(plan_set_weight_ranges(&m, &plan, &recipe, &config, &options) == NNQ_ERR_INVALID);
    CHECK_MSG(strstr(nnq_last_error(), "'W'") && strstr(nnq_last_error(), "NaN"), "%s", nnq_last_error());
    plan_recipe_free(&recipe);
    plan_free(&plan);
    model_free(&m);
}

int main(void) {
    test_nan_weights_refused();
    test_old_opset_model_exports();
    test_grids_and_params();
    test_plan_json();
    test_per_channel_quantize();
    check_qdq_equals_simulation(8);
    check_qdq_equals_simulation(4);
    return check_summary();
}
