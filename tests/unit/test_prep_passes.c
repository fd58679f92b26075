/* The graph preparation passes before quantization: batch-norm folding,
 * Identity/Dropout removal, activation fusing analysis, and the whole
 * model_prepare_for_quantization pipeline.
 *
 * Evidence: every rewrite is checked by running the model with the executor
 * before and after on random inputs (outputs equal to 1e-5 of the output's
 * magnitude), folded parameters against closed-form values worked out by
 * hand, ONNX's own test models against their stored outputs, and node counts
 * against what the graph must look like. */
#include <dirent.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/status.h"
#include "check.h"
#include "ir/activation_fusion.h"
#include "ir/passes/passes.h"
#include "onnx/onnx_io.h"
#include "run/executor.h"
#include "test_model.h"

/* Folding reorders float rounding only: outputs agree to this fraction of their largest magnitude. */
#define RELATIVE_TOLERANCE 1e-5

/* ---- Building models ---- */

/* BN parameters "<prefix>_gamma/_beta/_mean/_var" for channels, and the BN node x -> y. */
static nnq_node *add_batchnorm(nnq_model *m, const char *prefix, int64_t channels, const char *x, const char *y) {
    char names[4][64];
    const char *suffixes[4] = {"gamma", "beta", "mean", "var"};
    const float lo[4] = {0.5f, -1.0f, -1.0f, 0.1f}, hi[4] = {1.5f, 1.0f, 1.0f, 2.0f};
    for (int i = 0; i < 4; i++) {
        snprintf(names[i], sizeof names[i], "%s_%s", prefix, suffixes[i]);
        test_add_random(m, names[i], 1, &channels, lo[i], hi[i]);
    }
    nnq_node *bn = test_add_node(m, "BatchNormalization", prefix,
                                 (const char *[]){x, names[0], names[1], names[2], names[3], NULL},
                                 (const char *[]){y, NULL});
    test_node_set_float(bn, "epsilon", 1e-3f);
    return bn;
}

/* ---- Running and comparing ---- */

typedef nnq_status (*counting_pass)(nnq_model *model, int *count);

static nnq_status prepare_counting_batchnorms(nnq_model *model, int *count) {
    prep_report report;
    nnq_status st = model_prepare_for_quantization(model, &report);
    *count = report.batchnorms_folded;
    return st;
}

/* Runs m on random inputs, applies pass, runs again; checks the pass
 * succeeded and every output stayed equal. Returns the pass's count. */
static int check_pass_keeps_outputs(nnq_model *m, counting_pass pass, const char *what) {
    nnq_tensor inputs[8], before[8] = {{0}}, after[8] = {{0}};
    int n_inputs = test_make_inputs(m, inputs), count = -1, n_outputs = m->graph.n_outputs;
    bool ran = test_run_model(m, inputs, n_inputs, before, NULL);
    CHECK_MSG(ran, "%s: original model runs", what);
    nnq_status st = pass(m, &count);
    CHECK_MSG(st == NNQ_OK, "%s: %s", what, nnq_last_error());
    if (ran && st == NNQ_OK) {
        CHECK_MSG(m->graph.n_outputs == n_outputs, "%s: output count", what);
        bool ran_after = test_run_model(m, inputs, n_inputs, after, NULL);
        CHECK_MSG(ran_after, "%s: rewritten model runs", what);
        for (int o = 0; ran_after && o < n_outputs; o++) {
            double diff = test_relative_difference(&before[o], &after[o]);
            CHECK_MSG(diff <= RELATIVE_TOLERANCE, "%s: output %d differs by %g", what, o, diff);
        }
    }
    for (int i = 0; i < n_inputs; i++) tensor_free(&inputs[i]);
    for (int o = 0; o < n_outputs; o++) {
        tensor_free(&before[o]);
        tensor_free(&after[o]);
    }
    return count;
}

static const nnq_node *find_node(const nnq_model *m, const char *name) {
    for (int i = 0; i < m->graph.n_nodes; i++)
        if (strcmp(m->graph.nodes[i].name, name) == 0) return &m->graph.nodes[i];
    return NULL;
}

static const float *initializer_floats(const nnq_model *m, const char *name) {
    const nnq_tensor *t = graph_find_initializer(&m->graph, name);
    return t ? t->data : NULL;
}

/* ---- Batch-norm folding ---- */

/* 1x1 Conv, one channel, worked by hand with eq. 11-12:
 * W = 2, b = 4, gamma = 3, beta = 0.5, mu = 1, var = 3, eps = 1 -> sigma = 2,
 * W' = 2 * 3 / 2 = 3, b' = (4 - 1) * 3 / 2 + 0.5 = 5. */
static void test_fold_closed_form(void) {
    nnq_model m;
    test_model_init(&m, 13);
    int64_t x_dims[4] = {1, 1, 2, 2}, w_dims[4] = {1, 1, 1, 1}, one[1] = {1};
    test_add_input(&m, "x", NNQ_FLOAT, 4, x_dims);
    test_add_output(&m, "y", NNQ_FLOAT, 4, x_dims);
    test_add_floats(&m, "W", 4, w_dims, (const float[]){2.0f});
    test_add_floats(&m, "b", 1, one, (const float[]){4.0f});
    test_add_floats(&m, "gamma", 1, one, (const float[]){3.0f});
    test_add_floats(&m, "beta", 1, one, (const float[]){0.5f});
    test_add_floats(&m, "mean", 1, one, (const float[]){1.0f});
    test_add_floats(&m, "var", 1, one, (const float[]){3.0f});
    test_add_node(&m, "Conv", "conv", (const char *[]){"x", "W", "b", NULL}, (const char *[]){"c", NULL});
    nnq_node *bn = test_add_node(&m, "BatchNormalization", "bn",
                                 (const char *[]){"c", "gamma", "beta", "mean", "var", NULL}, (const char *[]){"y", NULL});
    test_node_set_float(bn, "epsilon", 1.0f);
    int folded = check_pass_keeps_outputs(&m, pass_fold_batchnorm, "closed form");
    CHECK(folded == 1);
    CHECK(m.graph.n_nodes == 1 && strcmp(m.graph.nodes[0].outputs[0], "y") == 0);
    const float *w = initializer_floats(&m, m.graph.nodes[0].inputs[1]);
    const float *b = initializer_floats(&m, m.graph.nodes[0].inputs[2]);
    CHECK(w && b);
    if (w && b) {
        CHECK_NEAR(w[0], 3.0f, 1e-6);
        CHECK_NEAR(b[0], 5.0f, 1e-6);
    }
    model_free(&m);
}

/* x [2, c_in, 5, 5] -> Conv(group, optional bias) -> BN -> y. */
static void build_conv_bn(nnq_model *m, int64_t c_in, int64_t c_out, int64_t group, bool with_bias) {
    test_model_init(m, 13);
    int64_t x_dims[4] = {2, c_in, 5, 5}, y_dims[4] = {2, c_out, 5, 5}, w_dims[4] = {c_out, c_in / group, 3, 3};
    test_add_input(m, "x", NNQ_FLOAT, 4, x_dims);
    test_add_output(m, "y", NNQ_FLOAT, 4, y_dims);
    test_add_random(m, "W", 4, w_dims, -1.0f, 1.0f);
    if (with_bias) test_add_random(m, "B", 1, &c_out, -1.0f, 1.0f);
    nnq_node *conv = test_add_node(m, "Conv", "conv", with_bias ? (const char *[]){"x", "W", "B", NULL}
                                                                : (const char *[]){"x", "W", NULL},
                                   (const char *[]){"c", NULL});
    test_node_set_int(conv, "group", group);
    test_node_set_ints(conv, "pads", 4, (const int64_t[]){1, 1, 1, 1});
    add_batchnorm(m, "bn", c_out, "c", "y");
}

static void test_fold_conv_variants(void) {
    struct {
        const char *what;
        int64_t c_in, c_out, group;
        bool with_bias;
    } cases[] = {
        {"conv+bn", 3, 4, 1, true},
        {"grouped conv+bn", 4, 6, 2, true},
        {"depthwise conv+bn", 4, 4, 4, true},
        {"depthwise x2 multiplier conv+bn", 4, 8, 4, false},
        {"conv without bias+bn", 3, 4, 1, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        nnq_model m;
        build_conv_bn(&m, cases[i].c_in, cases[i].c_out, cases[i].group, cases[i].with_bias);
        int folded = check_pass_keeps_outputs(&m, pass_fold_batchnorm, cases[i].what);
        CHECK_MSG(folded == 1, "%s: folded %d", cases[i].what, folded);
        CHECK_MSG(m.graph.n_nodes == 1 && test_count_ops(&m, "Conv") == 1, "%s: %d nodes", cases[i].what, m.graph.n_nodes);
        const nnq_node *conv = find_node(&m, "conv");
        CHECK_MSG(conv && conv->n_inputs == 3 && *conv->inputs[2] && strcmp(conv->outputs[0], "y") == 0,
                  "%s: conv has a bias and produces y", cases[i].what);
        model_free(&m);
    }
}

/* x [1, 4, 3, 3] -> ConvTranspose(W [4, 3, 2, 2], group 2, stride 2) -> [1, 6, 6, 6] -> BN. */
static void test_fold_conv_transpose(void) {
    for (int with_bias = 0; with_bias <= 1; with_bias++) {
        nnq_model m;
        test_model_init(&m, 13);
        int64_t x_dims[4] = {1, 4, 3, 3}, y_dims[4] = {1, 6, 6, 6}, w_dims[4] = {4, 3, 2, 2}, c_out = 6;
        test_add_input(&m, "x", NNQ_FLOAT, 4, x_dims);
        test_add_output(&m, "y", NNQ_FLOAT, 4, y_dims);
        test_add_random(&m, "W", 4, w_dims, -1.0f, 1.0f);
        if (with_bias) test_add_random(&m, "B", 1, &c_out, -1.0f, 1.0f);
        nnq_node *convt = test_add_node(&m, "ConvTranspose", "convt",
                                        with_bias ? (const char *[]){"x", "W", "B", NULL} : (const char *[]){"x", "W", NULL},
                                        (const char *[]){"c", NULL});
        test_node_set_int(convt, "group", 2);
        test_node_set_ints(convt, "strides", 2, (const int64_t[]){2, 2});
        add_batchnorm(&m, "bn", c_out, "c", "y");
        int folded = check_pass_keeps_outputs(&m, pass_fold_batchnorm, with_bias ? "convtranspose+bn" : "convtranspose no bias+bn");
        CHECK(folded == 1 && m.graph.n_nodes == 1 && test_count_ops(&m, "ConvTranspose") == 1);
        model_free(&m);
    }
}

/* x [3, 5] -> Gemm(alpha 0.5, beta 2, C as given) -> BN(4) -> y. */
static void build_gemm_bn(nnq_model *m, bool trans_b, int c_rank) {
    test_model_init(m, 13);
    int64_t x_dims[2] = {3, 5}, y_dims[2] = {3, 4}, w_dims[2] = {trans_b ? 4 : 5, trans_b ? 5 : 4};
    int64_t c_dims[2] = {1, 4}, scalar_dims[1] = {1};
    test_add_input(m, "x", NNQ_FLOAT, 2, x_dims);
    test_add_output(m, "y", NNQ_FLOAT, 2, y_dims);
    test_add_random(m, "W", 2, w_dims, -1.0f, 1.0f);
    if (c_rank == 2) test_add_random(m, "C", 2, c_dims, -1.0f, 1.0f);       /* [1, 4] */
    else if (c_rank == 1) test_add_random(m, "C", 1, c_dims + 1, -1.0f, 1.0f); /* [4] */
    else if (c_rank == 0) test_add_random(m, "C", 1, scalar_dims, -1.0f, 1.0f); /* [1]: one value for all */
    nnq_node *gemm = test_add_node(m, "Gemm", "gemm", c_rank >= 0 ? (const char *[]){"x", "W", "C", NULL}
                                                                  : (const char *[]){"x", "W", NULL},
                                   (const char *[]){"g", NULL});
    test_node_set_int(gemm, "transB", trans_b);
    test_node_set_float(gemm, "alpha", 0.5f);
    test_node_set_float(gemm, "beta", 2.0f);
    add_batchnorm(m, "bn", 4, "g", "y");
}

static void test_fold_gemm(void) {
    struct {
        const char *what;
        bool trans_b;
        int c_rank; /* -1: no C */
    } cases[] = {
        {"gemm transB=1 C[4]", true, 1},
        {"gemm transB=0 C[1,4]", false, 2},
        {"gemm transB=1 scalar C", true, 0},
        {"gemm transB=0 no C", false, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        nnq_model m;
        build_gemm_bn(&m, cases[i].trans_b, cases[i].c_rank);
        int folded = check_pass_keeps_outputs(&m, pass_fold_batchnorm, cases[i].what);
        CHECK_MSG(folded == 1 && m.graph.n_nodes == 1, "%s: folded %d", cases[i].what, folded);
        const nnq_node *gemm = find_node(&m, "gemm");
        CHECK_MSG(gemm && gemm->n_inputs == 3 && node_attr_float(gemm, "beta", 1.0f) == 1.0f, "%s: C and beta", cases[i].what);
        model_free(&m);
    }
}

/* x [rows..., 5] -> MatMul(W [5, features]) -> BN(channels on axis 1) -> y. */
static void build_matmul_bn(nnq_model *m, int x_rank, int64_t features) {
    test_model_init(m, 13);
    int64_t x_dims[3] = {2, 3, 5}, y_dims[3] = {2, 3, features}, w_dims[2] = {5, features};
    if (x_rank == 2) x_dims[1] = 5, y_dims[1] = features;
    test_add_input(m, "x", NNQ_FLOAT, x_rank, x_dims);
    test_add_output(m, "y", NNQ_FLOAT, x_rank, y_dims);
    test_add_random(m, "W", 2, w_dims, -1.0f, 1.0f);
    test_add_node(m, "MatMul", "matmul", (const char *[]){"x", "W", NULL}, (const char *[]){"mm", NULL});
    add_batchnorm(m, "bn", y_dims[1], "mm", "y");
}

static nnq_status infer_shapes_then_fold(nnq_model *model, int *folded) {
    NNQ_TRY(pass_infer_shapes(model));
    return pass_fold_batchnorm(model, folded);
}

static void test_fold_matmul(void) {
    nnq_model m;
    build_matmul_bn(&m, 2, 4);
    int folded = check_pass_keeps_outputs(&m, infer_shapes_then_fold, "matmul+bn");
    CHECK(folded == 1 && m.graph.n_nodes == 1 && test_count_ops(&m, "Gemm") == 1);
    const nnq_node *gemm = find_node(&m, "matmul");
    CHECK(gemm && gemm->n_inputs == 3 && strcmp(gemm->outputs[0], "y") == 0);
    model_free(&m);

    /* [2, 3, 5] x [5, 3]: BN's axis 1 (3 rows) is not the feature axis even
     * though both have 3 entries - folding along features would be wrong. */
    build_matmul_bn(&m, 3, 3);
    folded = check_pass_keeps_outputs(&m, infer_shapes_then_fold, "3-D matmul+bn");
    CHECK(folded == 0 && test_count_ops(&m, "BatchNormalization") == 1 && test_count_ops(&m, "MatMul") == 1);
    model_free(&m);
}

/* BNs that must stay: the Conv output has another reader; the Conv output is a
 * graph output; BN after Add; BN on a graph input. */
static void test_unfoldable_batchnorms_stay(void) {
    nnq_model m;
    test_model_init(&m, 13);
    int64_t x_dims[4] = {1, 3, 4, 4}, w_dims[4] = {3, 3, 1, 1};
    test_add_input(&m, "x", NNQ_FLOAT, 4, x_dims);
    const char *outputs[] = {"y_shared", "r", "c2", "y_graph_output", "y_add", "y_input"};
    for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++) test_add_output(&m, outputs[i], NNQ_FLOAT, 4, x_dims);
    test_add_random(&m, "W1", 4, w_dims, -1.0f, 1.0f);
    test_add_random(&m, "W2", 4, w_dims, -1.0f, 1.0f);
    test_add_node(&m, "Conv", "conv1", (const char *[]){"x", "W1", NULL}, (const char *[]){"c1", NULL});
    add_batchnorm(&m, "bn_shared", 3, "c1", "y_shared");
    test_add_node(&m, "Relu", "relu", (const char *[]){"c1", NULL}, (const char *[]){"r", NULL});
    test_add_node(&m, "Conv", "conv2", (const char *[]){"x", "W2", NULL}, (const char *[]){"c2", NULL});
    add_batchnorm(&m, "bn_graph_output", 3, "c2", "y_graph_output");
    test_add_node(&m, "Add", "add", (const char *[]){"x", "r", NULL}, (const char *[]){"sum", NULL});
    add_batchnorm(&m, "bn_add", 3, "sum", "y_add");
    add_batchnorm(&m, "bn_input", 3, "x", "y_input");
    int folded = check_pass_keeps_outputs(&m, pass_fold_batchnorm, "unfoldable");
    CHECK_MSG(folded == 0, "folded %d", folded);
    CHECK(test_count_ops(&m, "BatchNormalization") == 4 && m.graph.n_nodes == 8);
    model_free(&m);
}

/* conv1 and conv2 read the same W; only conv1 has a BN. conv2 must keep the
 * original values, conv1 gets a new initializer. */
static void test_shared_weight_is_copied(void) {
    nnq_model m;
    test_model_init(&m, 13);
    int64_t x_dims[4] = {1, 3, 4, 4}, w_dims[4] = {3, 3, 3, 3};
    test_add_input(&m, "x", NNQ_FLOAT, 4, x_dims);
    test_add_output(&m, "y", NNQ_FLOAT, 4, x_dims);
    test_add_output(&m, "z", NNQ_FLOAT, 4, x_dims);
    test_add_random(&m, "W", 4, w_dims, -1.0f, 1.0f);
    float original[81];
    memcpy(original, initializer_floats(&m, "W"), sizeof original);
    nnq_node *conv1 = test_add_node(&m, "Conv", "conv1", (const char *[]){"x", "W", NULL}, (const char *[]){"c", NULL});
    test_node_set_ints(conv1, "pads", 4, (const int64_t[]){1, 1, 1, 1});
    add_batchnorm(&m, "bn", 3, "c", "y");
    nnq_node *conv2 = test_add_node(&m, "Conv", "conv2", (const char *[]){"x", "W", NULL}, (const char *[]){"z", NULL});
    test_node_set_ints(conv2, "pads", 4, (const int64_t[]){1, 1, 1, 1});
    int folded = check_pass_keeps_outputs(&m, pass_fold_batchnorm, "shared weight");
    CHECK(folded == 1);
    const nnq_node *c1 = find_node(&m, "conv1"), *c2 = find_node(&m, "conv2");
    CHECK(c1 && c2 && strcmp(c2->inputs[1], "W") == 0 && strcmp(c1->inputs[1], "W") != 0);
    const float *w = initializer_floats(&m, "W");
    CHECK(w && memcmp(w, original, sizeof original) == 0);
    model_free(&m);
}

/* Two Conv -> BN stages, Relu between: the second Conv reads the first BN's
 * output name, which the first Conv now produces. */
static void test_fold_chain(void) {
    nnq_model m;
    test_model_init(&m, 9);
    int64_t x_dims[4] = {1, 2, 6, 6}, w1_dims[4] = {4, 2, 3, 3}, w2_dims[4] = {5, 4, 1, 1}, y_dims[4] = {1, 5, 4, 4};
    test_add_input(&m, "x", NNQ_FLOAT, 4, x_dims);
    test_add_output(&m, "y", NNQ_FLOAT, 4, y_dims);
    test_add_random(&m, "W1", 4, w1_dims, -1.0f, 1.0f);
    test_add_random(&m, "W2", 4, w2_dims, -1.0f, 1.0f);
    test_add_node(&m, "Conv", "conv1", (const char *[]){"x", "W1", NULL}, (const char *[]){"c1", NULL});
    add_batchnorm(&m, "bn1", 4, "c1", "b1");
    test_add_node(&m, "Relu", "relu", (const char *[]){"b1", NULL}, (const char *[]){"r1", NULL});
    test_add_node(&m, "Conv", "conv2", (const char *[]){"r1", "W2", NULL}, (const char *[]){"c2", NULL});
    add_batchnorm(&m, "bn2", 5, "c2", "y");
    int folded = check_pass_keeps_outputs(&m, pass_fold_batchnorm, "conv-bn-relu-conv-bn at opset 9");
    CHECK(folded == 2 && m.graph.n_nodes == 3 && test_count_ops(&m, "BatchNormalization") == 0);
    model_free(&m);
}

/* ---- Identity and Dropout removal ---- */

/* x -> Relu -> a -> Identity -> b -> Identity -> c -> Relu -> y, and b also read by Sigmoid -> z. */
static void test_identity_chain(void) {
    nnq_model m;
    test_model_init(&m, 13);
    int64_t dims[2] = {3, 4};
    test_add_input(&m, "x", NNQ_FLOAT, 2, dims);
    test_add_output(&m, "y", NNQ_FLOAT, 2, dims);
    test_add_output(&m, "z", NNQ_FLOAT, 2, dims);
    test_add_node(&m, "Relu", "relu1", (const char *[]){"x", NULL}, (const char *[]){"a", NULL});
    test_add_node(&m, "Identity", "id1", (const char *[]){"a", NULL}, (const char *[]){"b", NULL});
    test_add_node(&m, "Identity", "id2", (const char *[]){"b", NULL}, (const char *[]){"c", NULL});
    test_add_node(&m, "Relu", "relu2", (const char *[]){"c", NULL}, (const char *[]){"y", NULL});
    test_add_node(&m, "Sigmoid", "sigmoid", (const char *[]){"b", NULL}, (const char *[]){"z", NULL});
    int removed = check_pass_keeps_outputs(&m, pass_remove_identities, "identity chain");
    CHECK(removed == 2 && m.graph.n_nodes == 3 && test_count_ops(&m, "Identity") == 0);
    const nnq_node *relu2 = find_node(&m, "relu2"), *sigmoid = find_node(&m, "sigmoid");
    CHECK(relu2 && strcmp(relu2->inputs[0], "a") == 0 && sigmoid && strcmp(sigmoid->inputs[0], "a") == 0);
    model_free(&m);
}

/* Identity producing a graph output:
 *   x -> Identity -> y            (graph input to graph output: must stay)
 *   x -> Relu -> r -> Identity -> z (Relu renamed to produce z; Sigmoid reading r follows)
 *   z -> Identity -> w            (input z is itself a graph output: must stay) */
static void test_identity_at_graph_outputs(void) {
    nnq_model m;
    test_model_init(&m, 13);
    int64_t dims[2] = {3, 4};
    test_add_input(&m, "x", NNQ_FLOAT, 2, dims);
    const char *outputs[] = {"y", "z", "w", "s"};
    for (int i = 0; i < 4; i++) test_add_output(&m, outputs[i], NNQ_FLOAT, 2, dims);
    test_add_node(&m, "Identity", "id_input", (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
    test_add_node(&m, "Relu", "relu", (const char *[]){"x", NULL}, (const char *[]){"r", NULL});
    test_add_node(&m, "Identity", "id_relu", (const char *[]){"r", NULL}, (const char *[]){"z", NULL});
    test_add_node(&m, "Identity", "id_output", (const char *[]){"z", NULL}, (const char *[]){"w", NULL});
    test_add_node(&m, "Sigmoid", "sigmoid", (const char *[]){"r", NULL}, (const char *[]){"s", NULL});
    int removed = check_pass_keeps_outputs(&m, pass_remove_identities, "identity at graph outputs");
    CHECK_MSG(removed == 1, "removed %d", removed);
    CHECK(find_node(&m, "id_input") && find_node(&m, "id_output") && !find_node(&m, "id_relu"));
    const nnq_node *relu = find_node(&m, "relu"), *sigmoid = find_node(&m, "sigmoid");
    CHECK(relu && strcmp(relu->outputs[0], "z") == 0 && sigmoid && strcmp(sigmoid->inputs[0], "z") == 0);
    for (int i = 0; i < 4; i++) CHECK(strcmp(m.graph.outputs[i].name, outputs[i]) == 0);
    model_free(&m);
}

static void add_bool_scalar(nnq_model *m, const char *name, bool value) {
    nnq_tensor t = {0};
    tensor_create(&t, NNQ_BOOL, 0, NULL);
    t.name = strdup(name);
    ((uint8_t *)t.data)[0] = value;
    graph_add_initializer(&m->graph, &t);
}

/* Dropouts at opset 13:
 *   d1: mask output named but unread                    -> removed
 *   d2: training_mode = constant false                  -> removed
 *   d3: mask is a graph output                          -> stays
 *   d4: training_mode is a graph input (runtime choice) -> stays */
static void test_dropouts(void) {
    nnq_model m;
    test_model_init(&m, 13);
    int64_t dims[2] = {3, 4};
    test_add_input(&m, "x", NNQ_FLOAT, 2, dims);
    test_add_input(&m, "training", NNQ_BOOL, 0, NULL);
    test_add_output(&m, "y", NNQ_FLOAT, 2, dims);
    test_add_output(&m, "mask3", NNQ_BOOL, 2, dims);
    test_add_output(&m, "y4", NNQ_FLOAT, 2, dims);
    add_bool_scalar(&m, "false_value", false);
    test_add_node(&m, "Relu", "relu", (const char *[]){"x", NULL}, (const char *[]){"r", NULL});
    test_add_node(&m, "Dropout", "d1", (const char *[]){"r", NULL}, (const char *[]){"a", "mask1", NULL});
    test_add_node(&m, "Dropout", "d2", (const char *[]){"a", "", "false_value", NULL}, (const char *[]){"b", NULL});
    test_add_node(&m, "Dropout", "d3", (const char *[]){"b", NULL}, (const char *[]){"y", "mask3", NULL});
    test_add_node(&m, "Dropout", "d4", (const char *[]){"r", "", "training", NULL}, (const char *[]){"y4", NULL});
    int removed = -1;
    CHECK(pass_remove_identities(&m, &removed) == NNQ_OK);
    CHECK_MSG(removed == 2, "removed %d", removed);
    CHECK(!find_node(&m, "d1") && !find_node(&m, "d2") && find_node(&m, "d3") && find_node(&m, "d4"));
    const nnq_node *d3 = find_node(&m, "d3");
    CHECK(d3 && strcmp(d3->inputs[0], "r") == 0);
    model_free(&m);

    /* The same minus d4 runs, with and without the removal. */
    test_model_init(&m, 13);
    test_add_input(&m, "x", NNQ_FLOAT, 2, dims);
    test_add_output(&m, "y", NNQ_FLOAT, 2, dims);
    test_add_output(&m, "mask3", NNQ_BOOL, 2, dims);
    add_bool_scalar(&m, "false_value", false);
    test_add_node(&m, "Relu", "relu", (const char *[]){"x", NULL}, (const char *[]){"r", NULL});
    test_add_node(&m, "Dropout", "d1", (const char *[]){"r", NULL}, (const char *[]){"a", "mask1", NULL});
    test_add_node(&m, "Dropout", "d2", (const char *[]){"a", "", "false_value", NULL}, (const char *[]){"b", NULL});
    test_add_node(&m, "Dropout", "d3", (const char *[]){"b", NULL}, (const char *[]){"y", "mask3", NULL});
    nnq_tensor inputs[1], before[2] = {{0}}, after[2] = {{0}};
    int n_inputs = test_make_inputs(&m, inputs);
    CHECK(test_run_model(&m, inputs, n_inputs, before, NULL));
    CHECK(pass_remove_identities(&m, &removed) == NNQ_OK && removed == 2 && m.graph.n_nodes == 2);
    CHECK(test_run_model(&m, inputs, n_inputs, after, NULL));
    CHECK(test_relative_difference(&before[0], &after[0]) == 0.0);
    CHECK(before[1].data && after[1].data && memcmp(before[1].data, after[1].data, 12) == 0);
    for (int i = 0; i < 2; i++) {
        tensor_free(&before[i]);
        tensor_free(&after[i]);
    }
    tensor_free(&inputs[0]);
    model_free(&m);
}

/* ---- Activation fusion analysis ---- */

static void test_activation_fusion(void) {
    nnq_model m;
    test_model_init(&m, 13);
    int64_t x_dims[4] = {1, 2, 3, 3}, w_dims[4] = {2, 2, 1, 1}, one[1] = {1}, g_dims[2] = {18, 4};
    test_add_input(&m, "x", NNQ_FLOAT, 4, x_dims);
    test_add_random(&m, "W", 4, w_dims, -1.0f, 1.0f);
    test_add_random(&m, "G", 2, g_dims, -1.0f, 1.0f);
    test_add_floats(&m, "zero", 0, one, (const float[]){0.0f});
    test_add_floats(&m, "six", 0, one, (const float[]){6.0f});
    test_add_output(&m, "m_out", NNQ_FLOAT, 2, (const int64_t[]){1, 4});
    test_add_output(&m, "relu_mm", NNQ_FLOAT, 2, (const int64_t[]){1, 4});
    test_add_output(&m, "s", NNQ_FLOAT, 4, x_dims);
    test_add_output(&m, "two_readers_a", NNQ_FLOAT, 4, x_dims);
    test_add_output(&m, "two_readers_b", NNQ_FLOAT, 4, x_dims);
    test_add_output(&m, "clip_max_only", NNQ_FLOAT, 4, x_dims);
    /* fused: conv -> relu; gemm -> Clip(0, 6) */
    test_add_node(&m, "Conv", "conv_relu", (const char *[]){"x", "W", NULL}, (const char *[]){"c1", NULL});
    test_add_node(&m, "Relu", "relu1", (const char *[]){"c1", NULL}, (const char *[]){"r1", NULL});
    test_add_node(&m, "Flatten", "flatten", (const char *[]){"r1", NULL}, (const char *[]){"f", NULL});
    test_add_node(&m, "Gemm", "gemm_clip", (const char *[]){"f", "G", NULL}, (const char *[]){"g", NULL});
    test_add_node(&m, "Clip", "relu6", (const char *[]){"g", "zero", "six", NULL}, (const char *[]){"g6", NULL});
    test_add_node(&m, "MatMul", "matmul_out", (const char *[]){"g6", "W4", NULL}, (const char *[]){"m_out", NULL});
    test_add_node(&m, "Relu", "relu_of_output", (const char *[]){"m_out", NULL}, (const char *[]){"relu_mm", NULL});
    /* not fused: Sigmoid; two readers; graph output (m_out above) */
    test_add_node(&m, "Conv", "conv_sigmoid", (const char *[]){"x", "W", NULL}, (const char *[]){"c2", NULL});
    test_add_node(&m, "Sigmoid", "sigmoid", (const char *[]){"c2", NULL}, (const char *[]){"s", NULL});
    test_add_node(&m, "Conv", "conv_two", (const char *[]){"x", "W", NULL}, (const char *[]){"c3", NULL});
    test_add_node(&m, "Relu", "relu_a", (const char *[]){"c3", NULL}, (const char *[]){"two_readers_a", NULL});
    test_add_node(&m, "Relu", "relu_b", (const char *[]){"c3", NULL}, (const char *[]){"two_readers_b", NULL});
    /* fused: Clip with only a max, min omitted */
    test_add_node(&m, "Conv", "conv_clip", (const char *[]){"x", "W", NULL}, (const char *[]){"c4", NULL});
    test_add_node(&m, "Clip", "clip_max", (const char *[]){"c4", "", "six", NULL}, (const char *[]){"clip_max_only", NULL});
    activation_fusions f;
    CHECK(graph_find_activation_fusions(&m, &f) == NNQ_OK);
    CHECK_MSG(f.count == 3, "%d fusions", f.count);
    CHECK(activation_fusion_skips_quantization(&f, "c1") && activation_fusion_skips_quantization(&f, "g") &&
          activation_fusion_skips_quantization(&f, "c4"));
    CHECK(!activation_fusion_skips_quantization(&f, "c2") && !activation_fusion_skips_quantization(&f, "c3") &&
          !activation_fusion_skips_quantization(&f, "m_out") && !activation_fusion_skips_quantization(&f, "r1"));
    const activation_fusion *relu = activation_fusion_at_output(&f, "r1");
    CHECK(relu && relu->clamp_min == 0.0f && isinf(relu->clamp_max) && relu->clamp_max > 0 &&
          strcmp(relu->linear_output, "c1") == 0);
    const activation_fusion *relu6 = activation_fusion_at_output(&f, "g6");
    CHECK(relu6 && relu6->clamp_min == 0.0f && relu6->clamp_max == 6.0f);
    const activation_fusion *max_only = activation_fusion_at_output(&f, "clip_max_only");
    CHECK(max_only && isinf(max_only->clamp_min) && max_only->clamp_min < 0 && max_only->clamp_max == 6.0f);
    CHECK(activation_fusion_at_output(&f, "s") == NULL && activation_fusion_at_output(&f, "c1") == NULL);
    activation_fusions_free(&f);
    model_free(&m);

    /* Before opset 11 Clip's bounds are attributes. */
    test_model_init(&m, 10);
    test_add_input(&m, "x", NNQ_FLOAT, 4, x_dims);
    test_add_output(&m, "y", NNQ_FLOAT, 4, x_dims);
    test_add_random(&m, "W", 4, w_dims, -1.0f, 1.0f);
    test_add_node(&m, "Conv", "conv", (const char *[]){"x", "W", NULL}, (const char *[]){"c", NULL});
    nnq_node *clip = test_add_node(&m, "Clip", "clip", (const char *[]){"c", NULL}, (const char *[]){"y", NULL});
    test_node_set_float(clip, "min", -1.5f);
    test_node_set_float(clip, "max", 2.5f);
    CHECK(graph_find_activation_fusions(&m, &f) == NNQ_OK);
    const activation_fusion *attr_clip = activation_fusion_at_output(&f, "y");
    CHECK(f.count == 1 && attr_clip && attr_clip->clamp_min == -1.5f && attr_clip->clamp_max == 2.5f &&
          attr_clip->linear_node == 0 && attr_clip->activation_node == 1);
    activation_fusions_free(&f);
    model_free(&m);
}

/* ---- The whole preparation ---- */

/* x -> Conv(W from a Constant node) -> Identity -> BN -> Relu -> Dropout -> Flatten
 *   -> MatMul -> BN -> y. Constant folding turns W into an initializer, identities
 * go, both BNs fold, the BN parameters and Constant are gone. */
static void test_prepare_pipeline(void) {
    nnq_model m;
    test_model_init(&m, 13);
    int64_t x_dims[4] = {2, 3, 4, 4}, w_dims[4] = {4, 3, 3, 3}, g_dims[2] = {16, 5}, y_dims[2] = {2, 5};
    test_add_input(&m, "x", NNQ_FLOAT, 4, x_dims);
    test_add_output(&m, "y", NNQ_FLOAT, 2, y_dims);
    nnq_node *constant = test_add_node(&m, "Constant", "weight_constant", (const char *[]){NULL}, (const char *[]){"W", NULL});
    constant->attrs = calloc(1, sizeof *constant->attrs);
    constant->n_attrs = 1;
    constant->attrs[0].name = strdup("value");
    constant->attrs[0].type = NNQ_ATTR_TENSOR;
    tensor_create(&constant->attrs[0].t, NNQ_FLOAT, 4, w_dims);
    for (int i = 0; i < 108; i++) ((float *)constant->attrs[0].t.data)[i] = test_random_uniform(-1.0f, 1.0f);
    nnq_node *conv = test_add_node(&m, "Conv", "conv", (const char *[]){"x", "W", NULL}, (const char *[]){"c", NULL});
    test_node_set_ints(conv, "strides", 2, (const int64_t[]){2, 2});
    test_node_set_ints(conv, "pads", 4, (const int64_t[]){1, 1, 1, 1});
    test_add_node(&m, "Identity", "identity", (const char *[]){"c", NULL}, (const char *[]){"c_id", NULL});
    add_batchnorm(&m, "bn_conv", 4, "c_id", "b");
    test_add_node(&m, "Relu", "relu", (const char *[]){"b", NULL}, (const char *[]){"r", NULL});
    test_add_node(&m, "Dropout", "dropout", (const char *[]){"r", NULL}, (const char *[]){"d", NULL});
    test_add_node(&m, "Flatten", "flatten", (const char *[]){"d", NULL}, (const char *[]){"f", NULL});
    test_add_random(&m, "G", 2, g_dims, -1.0f, 1.0f);
    test_add_node(&m, "MatMul", "matmul", (const char *[]){"f", "G", NULL}, (const char *[]){"mm", NULL});
    add_batchnorm(&m, "bn_fc", 5, "mm", "y");
    nnq_tensor inputs[1], before[1] = {{0}}, after[1] = {{0}};
    int n_inputs = test_make_inputs(&m, inputs);
    CHECK(test_run_model(&m, inputs, n_inputs, before, NULL));
    prep_report report;
    CHECK_MSG(model_prepare_for_quantization(&m, &report) == NNQ_OK, "%s", nnq_last_error());
    CHECK_MSG(report.constants_folded == 1 && report.identities_removed == 2 && report.batchnorms_folded == 2,
              "folded %d constants, %d identities, %d BNs", report.constants_folded, report.identities_removed,
              report.batchnorms_folded);
    /* Conv, Relu, Flatten, Gemm */
    CHECK_MSG(m.graph.n_nodes == 4 && test_count_ops(&m, "Gemm") == 1 && test_count_ops(&m, "Conv") == 1, "%d nodes",
              m.graph.n_nodes);
    /* Left: the Conv's folded weight and new bias, the Gemm's weight and bias. */
    CHECK_MSG(m.graph.n_initializers == 4, "%d initializers", m.graph.n_initializers);
    CHECK(test_run_model(&m, inputs, n_inputs, after, NULL));
    CHECK_MSG(test_relative_difference(&before[0], &after[0]) <= RELATIVE_TOLERANCE, "differs by %g",
              test_relative_difference(&before[0], &after[0]));
    /* Preparing again finds nothing left to do. */
    CHECK(model_prepare_for_quantization(&m, &report) == NNQ_OK);
    CHECK(report.constants_folded == 0 && report.identities_removed == 0 && report.batchnorms_folded == 0 &&
          report.dead_nodes_removed == 0 && m.graph.n_nodes == 4);
    /* The prepared graph is what activation fusing reads: Conv -> Relu fuses. */
    activation_fusions f;
    CHECK(graph_find_activation_fusions(&m, &f) == NNQ_OK);
    CHECK(f.count == 1 && activation_fusion_at_output(&f, "r") != NULL);
    activation_fusions_free(&f);
    tensor_free(&before[0]);
    tensor_free(&after[0]);
    tensor_free(&inputs[0]);
    model_free(&m);
}

/* ---- ONNX's test models ---- */

static int count_runtime_inputs(const nnq_graph *g) {
    int n = 0;
    for (int i = 0; i < g->n_inputs; i++) n += graph_is_runtime_input(g, g->inputs[i].name);
    return n;
}

/* Loads input_k.pb for the k-th runtime input, named after it. */
static bool load_test_inputs(const nnq_model *m, const char *set_dir, nnq_tensor *inputs, int *n) {
    *n = 0;
    for (int i = 0; i < m->graph.n_inputs; i++) {
        if (!graph_is_runtime_input(&m->graph, m->graph.inputs[i].name)) continue;
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/input_%d.pb", set_dir, *n);
        memset(&inputs[*n], 0, sizeof inputs[*n]);
        if (onnx_load_tensor(path, &inputs[*n]) != NNQ_OK) return false;
        free(inputs[*n].name);
        inputs[*n].name = strdup(m->graph.inputs[i].name);
        (*n)++;
    }
    return true;
}

/* Prepares one ONNX test model: outputs equal before and after, and both
 * close to the stored expected output (ONNX's reference). Returns false when
 * the model is outside what the executor runs. */
static bool check_onnx_test_model(const char *dir) {
    char set_dir[PATH_MAX], path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    snprintf(set_dir, sizeof set_dir, "%s/test_data_set_0", dir);
    nnq_model m;
    if (onnx_load_model(path, &m) != NNQ_OK) return false;
    nnq_executor *ex = NULL;
    bool supported = executor_create(&m, &ex) == NNQ_OK && count_runtime_inputs(&m.graph) <= 8 && m.graph.n_outputs <= 8;
    executor_free(ex);
    nnq_tensor inputs[8], before[8] = {{0}}, after[8] = {{0}};
    int n_inputs = 0, n_outputs = m.graph.n_outputs;
    if (supported) supported = load_test_inputs(&m, set_dir, inputs, &n_inputs);
    /* Training-mode BNs and the like are created but refuse to run. */
    if (supported) {
        nnq_executor *probe = NULL;
        supported = executor_create(&m, &probe) == NNQ_OK && executor_run(probe, inputs, n_inputs, before) == NNQ_OK;
        executor_free(probe);
    }
    if (supported) {
        prep_report report;
        CHECK_MSG(model_prepare_for_quantization(&m, &report) == NNQ_OK, "%s: %s", dir, nnq_last_error());
        CHECK_MSG(test_run_model(&m, inputs, n_inputs, after, NULL), "%s runs after preparation", dir);
        for (int o = 0; o < n_outputs; o++) {
            if (before[o].dtype != NNQ_FLOAT) continue;
            double diff = test_relative_difference(&before[o], &after[o]);
            CHECK_MSG(diff <= RELATIVE_TOLERANCE, "%s: output %d differs by %g", dir, o, diff);
            nnq_tensor expected = {0};
            snprintf(path, sizeof path, "%s/output_%d.pb", set_dir, o);
            if (onnx_load_tensor(path, &expected) == NNQ_OK && expected.dtype == NNQ_FLOAT) {
                double from_reference = test_relative_difference(&expected, &after[o]);
                CHECK_MSG(from_reference <= 1e-4, "%s: output %d is %g from ONNX's expected output", dir, o,
                          from_reference);
            }
            tensor_free(&expected);
        }
    }
    for (int i = 0; i < n_inputs; i++) tensor_free(&inputs[i]);
    for (int o = 0; o < n_outputs && o < 8; o++) {
        tensor_free(&before[o]);
        tensor_free(&after[o]);
    }
    model_free(&m);
    return supported;
}

static void test_onnx_test_models(void) {
    const char *patterns[] = {"/usr/share/libonnx-testdata/data/pytorch-converted/*",
                              "/usr/share/libonnx-testdata/data/node/test_batchnorm*"};
    int checked = 0, skipped = 0;
    for (size_t p = 0; p < sizeof patterns / sizeof *patterns; p++) {
        glob_t found;
        if (glob(patterns[p], 0, NULL, &found) != 0) continue;
        for (size_t i = 0; i < found.gl_pathc; i++) {
            if (check_onnx_test_model(found.gl_pathv[i])) checked++;
            else skipped++;
        }
        globfree(&found);
    }
    printf("ONNX test models: %d prepared and checked, %d outside the executor's ops\n", checked, skipped);
    if (checked == 0) printf("(libonnx-testdata not installed: nothing checked)\n");
}

/* Bundled models (the .onnx files in models/, BN kept as separate nodes): every BN folds. */
static void test_bundled_models(void) {
    glob_t found;
    if (glob(NNQ_SOURCE_DIR "/models/*.onnx", 0, NULL, &found) != 0) {
        printf("no bundled models yet\n");
        return;
    }
    for (size_t i = 0; i < found.gl_pathc; i++) {
        nnq_model m;
        if (onnx_load_model(found.gl_pathv[i], &m) != NNQ_OK) {
            CHECK_MSG(false, "%s: %s", found.gl_pathv[i], nnq_last_error());
            continue;
        }
        int batchnorms = test_count_ops(&m, "BatchNormalization");
        int folded = check_pass_keeps_outputs(&m, prepare_counting_batchnorms, found.gl_pathv[i]);
        CHECK_MSG(folded == batchnorms && test_count_ops(&m, "BatchNormalization") == 0, "%s: %d of %d BNs folded",
                  found.gl_pathv[i], folded, batchnorms);
        printf("%s: %d BNs folded\n", found.gl_pathv[i], folded);
        model_free(&m);
    }
    globfree(&found);
}

int main(void) {
    test_fold_closed_form();
    test_fold_conv_variants();
    test_fold_conv_transpose();
    test_fold_gemm();
    test_fold_matmul();
    test_unfoldable_batchnorms_stay();
    test_shared_weight_is_copied();
    test_fold_chain();
    test_identity_chain();
    test_identity_at_graph_outputs();
    test_dropouts();
    test_activation_fusion();
    test_prepare_pipeline();
    test_onnx_test_models();
    test_bundled_models();
    return check_summary();
}
