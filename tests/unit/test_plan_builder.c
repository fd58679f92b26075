/* The plan builder's rules on a small graph with every case:
 *   x -> Conv1 -> Relu -> r1 --\
 *   x -> Conv2 ---------- c2 ---> Add -> a -> MaxPool -> m -> Flatten -> f -> Gemm -> y
 * fused activation (no quantizer on Conv1's output), sign optimization (r1
 * unsigned), pass-through grids (m, f take a's), per-channel weight axes,
 * int32 biases at s_x * s_w, joins (requantize vs shared), logits flagged,
 * and ONNX Runtime's selection options. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "quant/plan_builder.h"
#include "test_model.h"

static void add_zeros(nnq_model *m, const char *name, int rank, const int64_t *dims) {
    float values[512] = {0};
    for (int i = 0; i < 512; i++) values[i] = (float)((i * 7) % 13 - 6) / 10.0f;
    test_add_floats(m, name, rank, dims, values);
}

static void build(nnq_model *m) {
    test_model_init(m, 13);
    int64_t x_dims[4] = {1, 2, 4, 4}, y_dims[2] = {1, 3};
    int64_t w_dims[4] = {4, 2, 1, 1}, b_dims[1] = {4}, w3_dims[2] = {3, 16}, b3_dims[1] = {3};
    test_add_input(m, "x", NNQ_FLOAT, 4, x_dims);
    test_add_output(m, "y", NNQ_FLOAT, 2, y_dims);
    add_zeros(m, "W1", 4, w_dims);
    add_zeros(m, "B1", 1, b_dims);
    add_zeros(m, "W2", 4, w_dims);
    add_zeros(m, "B2", 1, b_dims);
    add_zeros(m, "W3", 2, w3_dims);
    add_zeros(m, "B3", 1, b3_dims);
    test_add_node(m, "Conv", "conv1", (const char *[]){"x", "W1", "B1", NULL}, (const char *[]){"c1", NULL});
    test_add_node(m, "Relu", "relu", (const char *[]){"c1", NULL}, (const char *[]){"r1", NULL});
    test_add_node(m, "Conv", "conv2", (const char *[]){"x", "W2", "B2", NULL}, (const char *[]){"c2", NULL});
    test_add_node(m, "Add", "add", (const char *[]){"r1", "c2", NULL}, (const char *[]){"a", NULL});
    nnq_node *pool = test_add_node(m, "MaxPool", "pool", (const char *[]){"a", NULL}, (const char *[]){"m", NULL});
    test_node_set_ints(pool, "kernel_shape", 2, (const int64_t[]){2, 2});
    test_node_set_ints(pool, "strides", 2, (const int64_t[]){2, 2});
    test_add_node(m, "Flatten", "flatten", (const char *[]){"m", NULL}, (const char *[]){"f", NULL});
    nnq_node *gemm = test_add_node(m, "Gemm", "gemm", (const char *[]){"f", "W3", "B3", NULL}, (const char *[]){"y", NULL});
    test_node_set_int(gemm, "transB", 1);
}

static int index_of(const nnq_plan *plan, const char *tensor) {
    const nnq_quantizer *q = plan_find(plan, tensor);
    return q ? (int)(q - plan->quantizers) : -1;
}

static void test_default_rules(void) {
    nnq_model m;
    build(&m);
    quant_config config;
    quant_config_defaults(&config);
    nnq_plan plan;
    plan_recipe r;
    CHECK(plan_build(&m, &config, &plan, &r) == NNQ_OK);
    int x = index_of(&plan, "x"), w1 = index_of(&plan, "W1"), b1 = index_of(&plan, "B1"), r1 = index_of(&plan, "r1"),
        c2 = index_of(&plan, "c2"), a = index_of(&plan, "a"), mq = index_of(&plan, "m"), f = index_of(&plan, "f"),
        w3 = index_of(&plan, "W3"), b3 = index_of(&plan, "B3"), y = index_of(&plan, "y");
    CHECK(x >= 0 && w1 >= 0 && b1 >= 0 && r1 >= 0 && c2 >= 0 && a >= 0 && mq >= 0 && f >= 0 && w3 >= 0 && b3 >= 0 && y >= 0);
    /* Conv1's output lives inside the fused Conv+Relu: no quantizer. */
    CHECK(index_of(&plan, "c1") < 0);
    if (x < 0 || w1 < 0 || b1 < 0 || r1 < 0 || c2 < 0 || a < 0 || mq < 0 || f < 0 || w3 < 0 || b3 < 0 || y < 0) return;
    const nnq_quantizer *q = plan.quantizers;
    /* Sign optimization: only the Relu output is proven non-negative. */
    CHECK(!q[r1].scheme.is_signed && q[x].scheme.is_signed && q[c2].scheme.is_signed && q[a].scheme.is_signed);
    CHECK(!q[x].scheme.symmetric && !q[r1].scheme.symmetric);
    CHECK(r.clamp_min[r1] == 0.0f && isinf(r.clamp_max[r1]));
    /* Weights: symmetric narrow int8 per output channel; Gemm with transB: axis 0. */
    CHECK(q[w1].role == NNQ_ROLE_WEIGHT && q[w1].axis == 0 && q[w1].n_channels == 4 && q[w1].scheme.narrow_range);
    CHECK(q[w3].axis == 0 && q[w3].n_channels == 3);
    CHECK(q[b1].role == NNQ_ROLE_BIAS && r.bias_input[b1] == x && r.bias_weight[b1] == w1);
    CHECK(r.bias_input[b3] == f && r.bias_weight[b3] == w3);
    /* Pass-through: MaxPool and Flatten keep a's grid. */
    CHECK(r.grid_source[mq] == a && r.grid_source[f] == mq && !r.observe[mq] && !r.observe[f]);
    CHECK(r.observe[x] && r.observe[r1] && r.observe[c2] && r.observe[a] && r.observe[y]);
    CHECK(r.is_logits[y] && !r.is_logits[a]);
    CHECK(r.join_group[a] < 0 && r.join_group[r1] < 0); /* requantize by default */

    /* Resolve: shared grids copied, bias scales = s_x * s_w[c]. */
    for (int i = 0; i < plan.n_quantizers; i++)
        if (r.observe[i]) quantizer_set_range(&plan.quantizers[i], -1.0f - (float)i * 0.1f, 2.0f + (float)i, "test");
    CHECK(plan_recipe_resolve(&plan, &r) == NNQ_OK);
    CHECK(q[f].scales[0] == q[a].scales[0] && q[f].zero_points[0] == q[a].zero_points[0]);
    for (int c = 0; c < 4; c++) CHECK(q[b1].scales[c] == q[x].scales[0] * q[w1].scales[c] && q[b1].zero_points[c] == 0);
    plan_recipe_free(&r);
    plan_free(&plan);

    /* Shared joins: r1, c2 and a take one grid, the union of their ranges, signed. */
    config.joins = JOIN_SHARED;
    CHECK(plan_build(&m, &config, &plan, &r) == NNQ_OK);
    r1 = index_of(&plan, "r1");
    c2 = index_of(&plan, "c2");
    a = index_of(&plan, "a");
    CHECK(r.join_group[r1] >= 0 && r.join_group[r1] == r.join_group[c2] && r.join_group[c2] == r.join_group[a]);
    quantizer_set_range(&plan.quantizers[r1], 0.0f, 5.0f, "test");
    quantizer_set_range(&plan.quantizers[c2], -3.0f, 1.0f, "test");
    quantizer_set_range(&plan.quantizers[a], -2.0f, 4.0f, "test");
    for (int i = 0; i < plan.n_quantizers; i++)
        if (r.observe[i] && i != r1 && i != c2 && i != a) quantizer_set_range(&plan.quantizers[i], -1, 1, "test");
    CHECK(plan_recipe_resolve(&plan, &r) == NNQ_OK);
    q = plan.quantizers;
    CHECK(q[r1].scales[0] == q[a].scales[0] && q[c2].scales[0] == q[a].scales[0] && q[r1].zero_points[0] == q[a].zero_points[0]);
    CHECK(q[a].range_min == -3.0f && q[a].range_max == 5.0f && q[r1].scheme.is_signed);
    plan_recipe_free(&r);
    plan_free(&plan);
    model_free(&m);
}

static void test_selection(void) {
    nnq_model m;
    build(&m);
    quant_config config;
    quant_config_defaults(&config);
    char types[] = "Conv";
    name_list_add_csv(&config.op_types, types);
    nnq_plan plan;
    plan_recipe r;
    CHECK(plan_build(&m, &config, &plan, &r) == NNQ_OK);
    /* Only the convolutions and what they read and write. */
    CHECK(index_of(&plan, "W1") >= 0 && index_of(&plan, "W2") >= 0 && index_of(&plan, "W3") < 0 && index_of(&plan, "a") < 0);
    plan_recipe_free(&r);
    plan_free(&plan);

    quant_config_defaults(&config);
    char excluded[] = "gemm,conv2";
    name_list_add_csv(&config.nodes_to_exclude, excluded);
    CHECK(plan_build(&m, &config, &plan, &r) == NNQ_OK);
    CHECK(index_of(&plan, "W3") < 0 && index_of(&plan, "y") < 0 && index_of(&plan, "W2") < 0 && index_of(&plan, "W1") >= 0);
    /* Add still quantizes its inputs, c2 included (it reads it as an activation). */
    CHECK(index_of(&plan, "c2") >= 0);
    plan_recipe_free(&r);
    plan_free(&plan);

    /* --per-tensor, --no-unsigned, uint8 weights. */
    quant_config_defaults(&config);
    config.per_channel = false;
    config.sign_optimization = false;
    config.weight_signed = false;
    CHECK(plan_build(&m, &config, &plan, &r) == NNQ_OK);
    const nnq_quantizer *w1 = plan_find(&plan, "W1"), *r1 = plan_find(&plan, "r1");
    CHECK(w1 && w1->axis == -1 && w1->n_channels == 1 && !w1->scheme.is_signed && !w1->scheme.symmetric);
    CHECK(r1 && r1->scheme.is_signed);
    plan_recipe_free(&r);
    plan_free(&plan);
    model_free(&m);
}

int main(void) {
    test_default_rules();
    test_selection();
    return check_summary();
}
