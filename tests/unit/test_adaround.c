/* AdaRound (white paper §3.4, eq. 32-35) against its definitions: the
 * objective's gradient against central finite differences; on a small
 * model, h(V) ends in {0, 1}, the stored weights are on the grid, and the
 * layer's reconstruction error (computed here from the definition) beats
 * nearest rounding; on LeNet-5 at W4A8 (a subset of Fashion-MNIST) accuracy
 * is not worse than nearest rounding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "check.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "onnx/onnx_io.h"
#include "quant/adaround.h"
#include "quant/adaround_objective.h"
#include "quant/ptq.h"
#include "quant/quantize_tensor.h"
#include "run/evaluate.h"
#include "run/simulation.h"
#include "test_model.h"

/* ---- Gradient of eq. 34-35 against central differences ---- */

enum { GM = 3, GK = 5, GN = 7 };

static void test_gradient(void) {
    float floor_q[GM * GK], scale[GM] = {0.1f, 0.25f, 0.05f}, zero[GM] = {0.0f, 1.0f, -2.0f}, bias[GM] = {0.1f, -0.2f, 0.3f};
    float v[GM * GK], inputs[GK * GN], targets[GM * GN], gradient[GM * GK];
    test_random_seed(3);
    for (int i = 0; i < GM * GK; i++) {
        floor_q[i] = floorf(test_random_uniform(-6.0f, 6.0f));
        v[i] = test_random_uniform(-2.0f, 2.0f);
    }
    for (int i = 0; i < GK * GN; i++) inputs[i] = test_random_uniform(-1.0f, 2.0f);
    for (int i = 0; i < GM * GN; i++) targets[i] = test_random_uniform(0.0f, 1.0f);
    const float clamps[][2] = {{-INFINITY, INFINITY}, {0.0f, INFINITY}, {0.0f, 0.6f}};
    for (size_t c = 0; c < sizeof clamps / sizeof clamps[0]; c++) {
        adaround_layer layer = {GM, GK, floor_q, scale, zero, -8.0f, 7.0f, bias, clamps[c][0], clamps[c][1]};
        adaround_workspace ws;
        CHECK(adaround_workspace_init(&ws, &layer, GN) == NNQ_OK);
        const float lambda = 0.05f, beta = 4.0f, step = 1e-2f;
        adaround_objective(&layer, v, inputs, targets, GN, lambda, beta, &ws, gradient);
        int bad = 0;
        for (int i = 0; i < GM * GK; i++) {
            float saved = v[i];
            v[i] = saved + step;
            double up = adaround_objective(&layer, v, inputs, targets, GN, lambda, beta, &ws, NULL);
            v[i] = saved - step;
            double down = adaround_objective(&layer, v, inputs, targets, GN, lambda, beta, &ws, NULL);
            v[i] = saved;
            double numeric = (up - down) / (2.0 * step);
            if (fabs(numeric - gradient[i]) > 2e-3 + 2e-2 * fabs(numeric)) {
                bad++;
                fprintf(stderr, "clamp %zu, V[%d]: analytic %.6g numeric %.6g\n", c, i, gradient[i], numeric);
            }
        }
        /* A ReLU kink inside the +-step window can spoil one difference; not more. */
        CHECK_MSG(bad <= (c == 0 ? 0 : 1), "%d gradients off", bad);
        adaround_workspace_free(&ws);
    }
    /* h(V) and its initialization (eq. 33). */
    for (float f = 0.0f; f < 1.0f; f += 0.125f) CHECK_NEAR(adaround_rectified_sigmoid(adaround_initial_v(f)), f, 1e-5);
    CHECK(adaround_rectified_sigmoid(10.0f) == 1.0f && adaround_rectified_sigmoid(-10.0f) == 0.0f);
}

/* ---- A small model: x[8] -> Gemm(16) -> Relu -> Gemm(4) ---- */

enum { SAMPLES = 256, IN = 8, HIDDEN = 16, OUT = 4 };

static void build_model(nnq_model *m) {
    test_model_init(m, 13);
    test_add_input(m, "x", NNQ_FLOAT, 2, (int64_t[]){-1, IN});
    test_add_output(m, "y", NNQ_FLOAT, 2, (int64_t[]){-1, OUT});
    test_random_seed(5);
    test_add_random(m, "w1", 2, (int64_t[]){HIDDEN, IN}, -1.0f, 1.0f);
    test_add_random(m, "b1", 1, (int64_t[]){HIDDEN}, -0.2f, 0.5f);
    test_add_random(m, "w2", 2, (int64_t[]){OUT, HIDDEN}, -1.0f, 1.0f);
    test_add_random(m, "b2", 1, (int64_t[]){OUT}, -0.2f, 0.2f);
    test_node_set_int(test_add_node(m, "Gemm", "fc1", (const char *[]){"x", "w1", "b1", NULL}, (const char *[]){"h", NULL}),
                      "transB", 1);
    test_add_node(m, "Relu", "relu", (const char *[]){"h", NULL}, (const char *[]){"r", NULL});
    test_node_set_int(test_add_node(m, "Gemm", "fc2", (const char *[]){"r", "w2", "b2", NULL}, (const char *[]){"y", NULL}),
                      "transB", 1);
}

static float inputs_x[SAMPLES * IN];

static nnq_dataset *open_inputs(const char *name) {
    nnq_tensor t = {0};
    tensor_create(&t, NNQ_FLOAT, 2, (int64_t[]){SAMPLES, IN});
    for (int i = 0; i < SAMPLES * IN; i++) inputs_x[i] = ((float *)t.data)[i] = test_random_uniform(-1.0f, 1.0f);
    nnq_dataset *d = test_dataset_from_tensor(name, &t);
    CHECK(d != NULL);
    tensor_free(&t);
    return d;
}

/* eq. 34 for fc1 from the definition: mean over samples of
 * || relu(W' x^ + b) - relu(W x + b) ||^2, x^ the input on its grid. */
static double fc1_reconstruction_error(const nnq_plan *plan, const float *w_prime, const float *w, const float *b) {
    nnq_tensor x = {0};
    tensor_create(&x, NNQ_FLOAT, 2, (int64_t[]){SAMPLES, IN});
    memcpy(x.data, inputs_x, sizeof inputs_x);
    quantizer_fake_quantize(plan_find(plan, "x"), &x, true);
    const float *xq = x.data;
    double sum = 0.0;
    for (int s = 0; s < SAMPLES; s++)
        for (int o = 0; o < HIDDEN; o++) {
            double quantized = b[o], reference = b[o];
            for (int i = 0; i < IN; i++) {
                quantized += (double)w_prime[o * IN + i] * xq[s * IN + i];
                reference += (double)w[o * IN + i] * inputs_x[s * IN + i];
            }
            double d = fmax(quantized, 0.0) - fmax(reference, 0.0);
            sum += d * d;
        }
    tensor_free(&x);
    return sum / SAMPLES;
}

static void test_small_model(void) {
    nnq_model model;
    build_model(&model);
    nnq_dataset *data = open_inputs("adaround_inputs");
    quant_config config;
    quant_config_defaults(&config);
    config.weight_bits = 3;
    calibration_options options = {0};
    calib_options_default(&options.calib);
    ptq_result ptq;
    CHECK(ptq_run(&model, &config, data, &options, &ptq) == NNQ_OK);
    float w1[HIDDEN * IN], b1[HIDDEN];
    memcpy(w1, graph_find_initializer(&ptq.prepared.graph, "w1")->data, sizeof w1);
    memcpy(b1, graph_find_initializer(&ptq.prepared.graph, "b1")->data, sizeof b1);
    nnq_tensor nearest = {0};
    tensor_copy(&nearest, graph_find_initializer(&ptq.prepared.graph, "w1"));
    quantizer_fake_quantize(plan_find(&ptq.plan, "w1"), &nearest, true);

    adaround_options o;
    adaround_options_defaults(&o);
    o.iterations = 2000;
    o.batch_size = SAMPLES; /* every sample each step */
    o.regularization = 0.1f; /* this layer's error is small: a stronger push to {0, 1} */
    adaround_report report;
    CHECK(ptq_adaround(&ptq.prepared, &ptq.plan, data, &o, &report) == NNQ_OK);
    CHECK(report.layers_rounded == 2 && report.n_layers == 2);
    for (int i = 0; i < report.n_layers; i++) CHECK_MSG(report.layers[i].fraction_undecided < 0.02, "%g", report.layers[i].fraction_undecided);

    /* Stored weights re-quantize to themselves, within one grid step of W (floor or ceil). */
    const nnq_tensor *stored = graph_find_initializer(&ptq.prepared.graph, "w1");
    const nnq_quantizer *q = plan_find(&ptq.plan, "w1");
    nnq_tensor again = {0};
    tensor_copy(&again, stored);
    quantizer_fake_quantize(q, &again, true);
    CHECK(memcmp(again.data, stored->data, sizeof w1) == 0);
    for (int i = 0; i < HIDDEN * IN; i++) {
        float s = q->scales[q->axis < 0 ? 0 : i / IN], w = ((float *)stored->data)[i];
        CHECK_MSG(w == ((float *)nearest.data)[i] || fabsf(w - w1[i]) < s * 1.0001f, "weight %d", i);
    }
    double error_nearest = fc1_reconstruction_error(&ptq.plan, nearest.data, w1, b1);
    double error_adaround = fc1_reconstruction_error(&ptq.plan, stored->data, w1, b1);
    printf("fc1 reconstruction error: nearest %.5g, AdaRound %.5g\n", error_nearest, error_adaround);
    CHECK(error_adaround < error_nearest);
    tensor_free(&again);
    tensor_free(&nearest);
    adaround_report_free(&report);
    ptq_result_free(&ptq);
    dataset_close(data);
    model_free(&model);
}

/* ---- LeNet-5 at W4A8 per channel on Fashion-MNIST subsets ---- */

static nnq_dataset *open_fashion(const char *spec, int64_t limit, const nnq_model *m) {
    dataset_options o = dataset_options_defaults();
    const nnq_value_info *in = graph_single_runtime_input(&m->graph);
    dataset_options_fit_input(&o, in->dtype, in->rank, in->dims);
    o.limit = limit;
    nnq_dataset *d = NULL;
    return dataset_open(spec, &o, &d) == NNQ_OK ? d : NULL;
}

static double simulated_accuracy(const ptq_result *ptq, nnq_dataset *test) {
    nnq_simulation *sim = NULL;
    eval_result result = {0};
    eval_options eo = {0};
    CHECK(simulation_create(&ptq->prepared, &ptq->plan, true, &sim) == NNQ_OK);
    dataset_rewind(test);
    CHECK(evaluate_accuracy_with(simulation_executor(sim), simulation_model(sim), test, &eo, &result) == NNQ_OK);
    simulation_free(sim);
    return result.top1;
}

static void test_lenet5(void) {
    nnq_model model;
    if (onnx_load_model(NNQ_SOURCE_DIR "/models/lenet5.onnx", &model) != NNQ_OK) {
        printf("lenet5: skipped (%s)\n", nnq_last_error());
        return;
    }
    nnq_dataset *calib = open_fashion("fashion-mnist:train", 256, &model);
    nnq_dataset *test = open_fashion("fashion-mnist:test", 1000, &model);
    if (calib && test) {
        quant_config config;
        quant_config_defaults(&config);
        config.weight_bits = 4;
        calibration_options options = {0};
        calib_options_default(&options.calib);
        ptq_result ptq;
        CHECK(ptq_run(&model, &config, calib, &options, &ptq) == NNQ_OK);
        double nearest = simulated_accuracy(&ptq, test);
        adaround_options o;
        adaround_options_defaults(&o);
        o.samples = 128;
        o.iterations = 300;
        o.batch_size = 256;
        CHECK(ptq_adaround(&ptq.prepared, &ptq.plan, calib, &o, NULL) == NNQ_OK);
        double adaround = simulated_accuracy(&ptq, test);
        printf("lenet5 W4A8, 1000 test images: nearest %.2f%%, AdaRound %.2f%%\n", 100 * nearest, 100 * adaround);
        CHECK(adaround >= nearest);
        ptq_result_free(&ptq);
    } else {
        printf("lenet5: skipped (no Fashion-MNIST)\n");
    }
    if (calib) dataset_close(calib);
    if (test) dataset_close(test);
    model_free(&model);
}

int main(void) {
    test_gradient();
    test_small_model();
    test_lenet5();
    return check_summary();
}
