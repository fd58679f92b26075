/* The QOperator export on a hand-built Conv -> Relu -> MaxPool -> Flatten ->
 * Gemm model:
 *   - the structure ONNX Runtime needs: no float Conv/Gemm/Relu left, one
 *     8-bit type across each QLinearConv's x and y, per-channel w_scale, the
 *     int32 bias on x_scale * w_scale (recomputed here from the plan);
 *   - run by nnquant's own ONNX operators (QLinearConv, MaxPool, Clip, ...,
 *     checked against ONNX's test data by the conformance suite), the written
 *     model computes the integer engine's outputs (float rescaling per output
 *     channel) within one output step;
 *   - a Relu the output grid does not already stop at (symmetric signed
 *     activations) becomes an integer Clip at the zero point;
 *   - --ms-ops: QGemm in the com.microsoft domain, imported at version 1;
 *   - a node without integer form runs in float on dequantized values;
 *   - 16-bit grids are refused with a message naming the format. */
#include <math.h>
#include <string.h>

#include "base/status.h"
#include "calib/calib_options.h"
#include "check.h"
#include "export/qoperator_export.h"
#include "intq/engine.h"
#include "intq/lowering.h"
#include "ir/passes/passes.h"
#include "quant/plan_builder.h"
#include "quant/weight_ranges.h"
#include "run/executor.h"
#include "small_cnn_model.h"
#include "test_model.h"

enum { BATCH = 8 };

static void build_model(nnq_model *m, const char *head) {
    build_small_cnn(m, head, 11);
    CHECK(model_prepare_for_quantization(m, NULL) == NNQ_OK);
}

/* W8A8 per-channel plan with fixed activation ranges (input [-1, 1], the rest [-3, 3] or [0, 3]). */
static void build_plan(const nnq_model *m, const quant_config *config, nnq_plan *plan) {
    plan_recipe recipe;
    CHECK(plan_build(m, config, plan, &recipe) == NNQ_OK);
    nnq_calib_options options;
    calib_options_default(&options);
    CHECK(plan_set_weight_ranges(m, plan, &recipe, config, &options) == NNQ_OK);
    for (int i = 0; i < plan->n_quantizers; i++)
        if (recipe.observe[i]) {
            nnq_quantizer *q = &plan->quantizers[i];
            bool input = strcmp(q->tensor, "x") == 0;
            quantizer_set_range(q, input ? -1.0f : q->scheme.is_signed ? -3.0f : 0.0f, input ? 1.0f : 3.0f, "fixed");
        }
    CHECK(plan_recipe_resolve(plan, &recipe) == NNQ_OK);
    plan_recipe_free(&recipe);
}

static const nnq_node *find_node(const nnq_model *m, const char *op_type, int nth) {
    for (int n = 0; n < m->graph.n_nodes; n++)
        if (strcmp(m->graph.nodes[n].op_type, op_type) == 0 && nth-- == 0) return &m->graph.nodes[n];
    return NULL;
}

static const nnq_tensor *initializer(const nnq_model *m, const char *name) { return graph_find_initializer(&m->graph, name); }

/* The one-type rule of ONNX Runtime's QLinearConv (x_zero_point and y_zero_point alike) and per-channel w_scale. */
static void check_qlinear_conv(const nnq_model *q, const nnq_node *conv, int channels) {
    CHECK(conv->n_inputs == 9);
    if (conv->n_inputs != 9) return;
    const nnq_tensor *x_zero = initializer(q, conv->inputs[2]), *w = initializer(q, conv->inputs[3]),
                     *w_scale = initializer(q, conv->inputs[4]), *y_zero = initializer(q, conv->inputs[7]),
                     *bias = initializer(q, conv->inputs[8]);
    CHECK(x_zero && y_zero && x_zero->dtype == y_zero->dtype);
    CHECK(w && w->dtype == NNQ_INT8 && w->dims[0] == channels);
    CHECK(w_scale && w_scale->rank == 1 && w_scale->dims[0] == channels);
    CHECK(bias && bias->dtype == NNQ_INT32 && tensor_numel(bias) == channels);
}

/* B_quantized[c] = round_half_even(B[c] / (s_x s_w[c])) with the plan's grids. */
static void check_conv_bias(const nnq_model *m, const nnq_model *q, const nnq_plan *plan) {
    const nnq_tensor *b = initializer(m, "B"), *ints = initializer(q, "B_quantized");
    const nnq_quantizer *x = plan_find(plan, "x"), *w = plan_find(plan, "W");
    CHECK(b && ints && x && w);
    if (!b || !ints || !x || !w) return;
    for (int c = 0; c < 3; c++) {
        float s_acc = (float)((double)x->scales[0] * (double)w->scales[c]);
        CHECK(((const int32_t *)ints->data)[c] == (int32_t)rintf(((const float *)b->data)[c] / s_acc));
    }
}

/* Runs the written model with nnquant's operators and the plan's integer program with the engine. */
static void check_against_engine(const nnq_model *m, const nnq_model *q, const nnq_plan *plan) {
    intq_program program;
    intq_lowering_options options = {INTQ_RESCALE_FLOAT, true};
    CHECK(intq_lower(m, plan, &options, &program) == NNQ_OK);
    nnq_int_engine *engine = NULL;
    CHECK(int_engine_create(&program, &engine) == NNQ_OK);
    nnq_tensor x = {0}, exported = {0}, integer = {0};
    int64_t dims[4] = {BATCH, 2, 6, 6};
    tensor_create(&x, NNQ_FLOAT, 4, dims);
    x.name = strdup("x");
    for (int64_t i = 0; i < tensor_numel(&x); i++) ((float *)x.data)[i] = test_random_uniform(-1.1f, 1.1f);
    CHECK(test_run_model(q, &x, 1, &exported, NULL));
    CHECK(int_engine_run(engine, &x, &integer) == NNQ_OK);
    CHECK(tensor_numel(&exported) == BATCH * 4 && tensor_numel(&integer) == BATCH * 4);
    float step = plan_find(plan, "y")->scales[0];
    double worst = 0;
    for (int64_t i = 0; i < tensor_numel(&integer) && tensor_numel(&exported) == tensor_numel(&integer); i++)
        worst = fmax(worst, fabs(((float *)integer.data)[i] - ((float *)exported.data)[i]));
    CHECK_MSG(worst <= 1.001 * step, "max |exported - integer| %g > one step %g", worst, step);
    tensor_free(&x);
    tensor_free(&exported);
    tensor_free(&integer);
    int_engine_free(engine);
    intq_program_free(&program);
}

/* The small CNN (with head, or NULL), its plan under config (NULL: the
 * defaults) and its QOperator export into *q; the export's status. */
static nnq_status export_small_cnn(const char *head, const quant_config *config, bool ms_ops, nnq_model *m,
                                   nnq_plan *plan, nnq_model *q) {
    quant_config defaults;
    quant_config_defaults(&defaults);
    build_model(m, head);
    build_plan(m, config ? config : &defaults, plan);
    qoperator_options options = {.ms_ops = ms_ops};
    return export_qoperator(m, plan, &options, q);
}

static void test_standard_operators(void) {
    nnq_model m, q;
    nnq_plan plan;
    nnq_status st = export_small_cnn(NULL, NULL, false, &m, &plan, &q);
    CHECK_MSG(st == NNQ_OK, "%s", nnq_last_error());
    if (st != NNQ_OK) return;
    CHECK(test_count_ops(&q, "Conv") == 0 && test_count_ops(&q, "Gemm") == 0 && test_count_ops(&q, "Relu") == 0);
    /* The Conv, and the Gemm with bias as a 1x1 QLinearConv between Reshapes. */
    CHECK(test_count_ops(&q, "QLinearConv") == 2 && test_count_ops(&q, "Reshape") == 2);
    CHECK(test_count_ops(&q, "MaxPool") == 1 && test_count_ops(&q, "Clip") == 0);
    CHECK(model_opset(&q, "com.microsoft") == 0);
    const nnq_node *conv = find_node(&q, "QLinearConv", 0), *gemm = find_node(&q, "QLinearConv", 1);
    if (conv) check_qlinear_conv(&q, conv, 3);
    if (gemm) check_qlinear_conv(&q, gemm, 4);
    check_conv_bias(&m, &q, &plan);
    /* The graph output is dequantized under its own name. */
    const nnq_node *last = find_node(&q, "DequantizeLinear", test_count_ops(&q, "DequantizeLinear") - 1);
    CHECK(last && strcmp(last->outputs[0], "y") == 0);
    check_against_engine(&m, &q, &plan);
    model_free(&q);
    plan_free(&plan);
    model_free(&m);
}

/* Symmetric signed grids: the Relu after the Conv clamps at the zero point, which the grid does not. */
static void test_relu_as_integer_clip(void) {
    nnq_model m, q;
    quant_config config;
    quant_config_defaults(&config);
    config.sign_optimization = false;
    config.activation_symmetric = true;
    nnq_plan plan;
    nnq_status st = export_small_cnn(NULL, &config, false, &m, &plan, &q);
    CHECK_MSG(st == NNQ_OK, "%s", nnq_last_error());
    if (st != NNQ_OK) return;
    /* The Clip reading the Conv's output (the narrow input grid has a Clip of its own). */
    const nnq_node *conv = find_node(&q, "QLinearConv", 0), *clip = NULL;
    for (int n = 0; conv && n < q.graph.n_nodes; n++)
        if (strcmp(q.graph.nodes[n].op_type, "Clip") == 0 && strcmp(q.graph.nodes[n].inputs[0], conv->outputs[0]) == 0)
            clip = &q.graph.nodes[n];
    CHECK(clip && test_count_ops(&q, "Relu") == 0);
    const nnq_tensor *low = clip ? initializer(&q, clip->inputs[1]) : NULL;
    const nnq_tensor *high = clip ? initializer(&q, clip->inputs[2]) : NULL;
    CHECK(low && low->dtype == NNQ_INT8 && ((const int8_t *)low->data)[0] == plan_find(&plan, "r")->zero_points[0]);
    CHECK(high && high->dtype == NNQ_INT8 && ((const int8_t *)high->data)[0] == 127);
    check_against_engine(&m, &q, &plan);
    model_free(&q);
    plan_free(&plan);
    model_free(&m);
}

static void test_contrib_operators(void) {
    nnq_model m, q;
    nnq_plan plan;
    CHECK(export_small_cnn(NULL, NULL, true, &m, &plan, &q) == NNQ_OK);
    const nnq_node *qgemm = find_node(&q, "QGemm", 0);
    CHECK(qgemm && strcmp(qgemm->domain, "com.microsoft") == 0 && node_attr_int(qgemm, "transB", 0) == 1);
    CHECK(qgemm && qgemm->n_inputs == 9 && strcmp(qgemm->inputs[6], "B2_quantized") == 0);
    CHECK(test_count_ops(&q, "QLinearConv") == 1 && test_count_ops(&q, "Reshape") == 0);
    CHECK(model_opset(&q, "com.microsoft") == 1);
    model_free(&q);
    plan_free(&plan);
    model_free(&m);
}

static void test_float_node(void) {
    nnq_model m, q;
    nnq_plan plan;
    CHECK(export_small_cnn("Softmax", NULL, false, &m, &plan, &q) == NNQ_OK);
    const nnq_node *softmax = find_node(&q, "Softmax", 0);
    CHECK(softmax && strcmp(softmax->inputs[0], "g") == 0 && strcmp(softmax->outputs[0], "y") == 0);
    bool dequantized = false; /* g is the Gemm's integer output, dequantized for the float Softmax */
    for (int n = 0; n < q.graph.n_nodes; n++)
        dequantized |= strcmp(q.graph.nodes[n].op_type, "DequantizeLinear") == 0 &&
                       strcmp(q.graph.nodes[n].outputs[0], "g") == 0;
    CHECK(dequantized);
    model_free(&q);
    plan_free(&plan);
    model_free(&m);
}

static void test_wide_grids_refused(void) {
    nnq_model m, q;
    build_model(&m, NULL);
    quant_config config;
    quant_config_defaults(&config);
    nnq_plan plan;
    build_plan(&m, &config, &plan);
    plan_find(&plan, "r")->scheme.bits = 16;
    qoperator_options options = {.ms_ops = false};
    CHECK(export_qoperator(&m, &plan, &options, &q) == NNQ_ERR_UNSUPPORTED);
    CHECK(strstr(nnq_last_error(), "'r'") && strstr(nnq_last_error(), "QOperator"));
    plan_free(&plan);
    model_free(&m);
}

int main(void) {
    test_standard_operators();
    test_relu_as_integer_clip();
    test_contrib_operators();
    test_float_node();
    test_wide_grids_refused();
    return check_summary();
}
