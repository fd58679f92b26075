/* Hand-computed checks of the conv family (Conv, ConvTranspose), the pooling
 * window rules (MaxPool ceil_mode, AveragePool padding) and MatMul broadcasting,
 * run through the operator registry the way the executor does: infer,
 * allocate, run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ops/op.h"

#define MAX_ATTRS 8
#define MAX_IO 4

typedef struct test_node {
    nnq_node node;
    nnq_attr attrs[MAX_ATTRS];
    char *names[MAX_IO];
} test_node;

static void node_init(test_node *t, const char *op_type) {
    memset(t, 0, sizeof *t);
    for (int i = 0; i < MAX_IO; i++) t->names[i] = (char *)"x";
    t->node.name = (char *)"test";
    t->node.op_type = (char *)op_type;
    t->node.domain = (char *)"";
    t->node.inputs = t->names;
    t->node.outputs = t->names;
    t->node.attrs = t->attrs;
}

static void attr_ints(test_node *t, const char *name, int64_t count, const int64_t *values) {
    nnq_attr *a = &t->attrs[t->node.n_attrs++];
    a->name = (char *)name;
    a->type = NNQ_ATTR_INTS;
    a->count = count;
    a->ints = (int64_t *)values;
}

static void attr_int(test_node *t, const char *name, int64_t value) {
    nnq_attr *a = &t->attrs[t->node.n_attrs++];
    a->name = (char *)name;
    a->type = NNQ_ATTR_INT;
    a->i = value;
}

static nnq_tensor make_float(int rank, const int64_t *dims, const float *values) {
    nnq_tensor t;
    memset(&t, 0, sizeof t);
    tensor_create(&t, NNQ_FLOAT, rank, dims);
    memcpy(t.data, values, sizeof(float) * (size_t)tensor_numel(&t));
    return t;
}

/* 0, 1, 2, ... */
static nnq_tensor make_iota(int rank, const int64_t *dims) {
    nnq_tensor t;
    memset(&t, 0, sizeof t);
    tensor_create(&t, NNQ_FLOAT, rank, dims);
    for (int64_t i = 0; i < tensor_numel(&t); i++) ((float *)t.data)[i] = (float)i;
    return t;
}

static nnq_status run_node(test_node *t, const nnq_tensor **inputs, int n_inputs, nnq_tensor *out) {
    memset(out, 0, sizeof *out);
    t->node.n_inputs = n_inputs;
    t->node.n_outputs = 1;
    const nnq_op_def *def = op_registry_find("", t->node.op_type, 13);
    if (!def) return NNQ_ERR_UNSUPPORTED;
    nnq_op_context ctx = {&t->node, 13, n_inputs, inputs, 1, out};
    nnq_status st = def->infer(&ctx);
    if (st == NNQ_OK) st = tensor_alloc(out);
    if (st == NNQ_OK) st = def->run(&ctx);
    return st;
}

/* Checks out has dims[0..rank) and float values. */
static void expect(const nnq_tensor *out, int rank, const int64_t *dims, const float *values) {
    CHECK(out->rank == rank);
    if (out->rank != rank) return;
    for (int i = 0; i < rank; i++) CHECK(out->dims[i] == dims[i]);
    if (memcmp(out->dims, dims, sizeof(int64_t) * (size_t)rank) != 0) return;
    for (int64_t i = 0; i < tensor_numel(out); i++) CHECK_NEAR(((float *)out->data)[i], values[i], 1e-5);
}

static void free_all(nnq_tensor *tensors, int n) {
    for (int i = 0; i < n; i++) tensor_free(&tensors[i]);
}

/* X = 0..8 as 3x3 and a 2x2 kernel of ones: each output is the sum of a 2x2 block. */
static void test_conv_plain_with_bias(void) {
    test_node t;
    node_init(&t, "Conv");
    const int64_t xd[] = {1, 1, 3, 3}, wd[] = {1, 1, 2, 2}, bd[] = {1};
    const float ones[] = {1, 1, 1, 1}, bias[] = {1};
    nnq_tensor x = make_iota(4, xd), w = make_float(4, wd, ones), b = make_float(1, bd, bias), y;
    const nnq_tensor *in[] = {&x, &w, &b};
    CHECK(run_node(&t, in, 3, &y) == NNQ_OK);
    /* 0+1+3+4, 1+2+4+5, 3+4+6+7, 4+5+7+8, each + 1 */
    const int64_t yd[] = {1, 1, 2, 2};
    const float expected[] = {9, 13, 21, 25};
    expect(&y, 4, yd, expected);
    nnq_tensor all[] = {x, w, b, y};
    free_all(all, 4);
}

/* 3x3 kernel of ones, pads 1, strides 2 over 0..8: windows clip to the 2x2 corners. */
static void test_conv_padded_strided(void) {
    test_node t;
    node_init(&t, "Conv");
    static const int64_t pads[] = {1, 1, 1, 1}, strides[] = {2, 2};
    attr_ints(&t, "pads", 4, pads);
    attr_ints(&t, "strides", 2, strides);
    const int64_t xd[] = {1, 1, 3, 3}, wd[] = {1, 1, 3, 3};
    const float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    nnq_tensor x = make_iota(4, xd), w = make_float(4, wd, ones), y;
    const nnq_tensor *in[] = {&x, &w};
    CHECK(run_node(&t, in, 2, &y) == NNQ_OK);
    const int64_t yd[] = {1, 1, 2, 2};
    const float expected[] = {8, 12, 20, 24};
    expect(&y, 4, yd, expected);
    nnq_tensor all[] = {x, w, y};
    free_all(all, 3);
}

/* Depthwise 1x1 (group = channels): channel c is scaled by W[c]. */
static void test_conv_depthwise_1x1(void) {
    test_node t;
    node_init(&t, "Conv");
    attr_int(&t, "group", 2);
    const int64_t xd[] = {1, 2, 2, 2}, wd[] = {2, 1, 1, 1};
    const float scale[] = {2, 3};
    nnq_tensor x = make_iota(4, xd), w = make_float(4, wd, scale), y;
    const nnq_tensor *in[] = {&x, &w};
    CHECK(run_node(&t, in, 2, &y) == NNQ_OK);
    const float expected[] = {0, 2, 4, 6, 12, 15, 18, 21};
    expect(&y, 4, xd, expected);
    nnq_tensor all[] = {x, w, y};
    free_all(all, 3);
}

/* 1-D dilated conv with SAME_UPPER: kernel [1, 1] dilated by 2 over 0..4
 * spans 3 positions, total pad 2 split 1 + 1: y[i] = x[i-1] + x[i+1]. */
static void test_conv_1d_dilated_same(void) {
    test_node t;
    node_init(&t, "Conv");
    static const int64_t dilations[] = {2};
    attr_ints(&t, "dilations", 1, dilations);
    t.attrs[t.node.n_attrs].name = (char *)"auto_pad";
    t.attrs[t.node.n_attrs].type = NNQ_ATTR_STRING;
    t.attrs[t.node.n_attrs].s = (char *)"SAME_UPPER";
    t.attrs[t.node.n_attrs++].s_len = 10;
    const int64_t xd[] = {1, 1, 5}, wd[] = {1, 1, 2};
    const float ones[] = {1, 1};
    nnq_tensor x = make_iota(3, xd), w = make_float(3, wd, ones), y;
    const nnq_tensor *in[] = {&x, &w};
    CHECK(run_node(&t, in, 2, &y) == NNQ_OK);
    const float expected[] = {1, 2, 4, 6, 3};
    expect(&y, 3, xd, expected);
    nnq_tensor all[] = {x, w, y};
    free_all(all, 3);
}

/* ConvTranspose of [1 2; 3 4] with a 2x2 kernel of ones: overlapping adds. */
static void test_conv_transpose_overlap(void) {
    test_node t;
    node_init(&t, "ConvTranspose");
    const int64_t xd[] = {1, 1, 2, 2}, wd[] = {1, 1, 2, 2};
    const float xv[] = {1, 2, 3, 4}, ones[] = {1, 1, 1, 1};
    nnq_tensor x = make_float(4, xd, xv), w = make_float(4, wd, ones), y;
    const nnq_tensor *in[] = {&x, &w};
    CHECK(run_node(&t, in, 2, &y) == NNQ_OK);
    const int64_t yd[] = {1, 1, 3, 3};
    const float expected[] = {1, 3, 2, 4, 10, 6, 3, 7, 4};
    expect(&y, 4, yd, expected);
    nnq_tensor all[] = {x, w, y};
    free_all(all, 3);
}

/* Stride 2 spreads each input into its own 2x2 block; pads trim the border;
 * output_padding adds a zero row/column (+ bias). */
static void test_conv_transpose_strided(void) {
    const int64_t xd[] = {1, 1, 2, 2}, wd[] = {1, 1, 2, 2}, bd[] = {1};
    const float xv[] = {1, 2, 3, 4}, ones[] = {1, 1, 1, 1}, bias[] = {0.5f};
    nnq_tensor x = make_float(4, xd, xv), w = make_float(4, wd, ones), b = make_float(1, bd, bias);
    static const int64_t strides[] = {2, 2}, pads[] = {1, 1, 1, 1}, output_padding[] = {1, 1};

    test_node t;
    node_init(&t, "ConvTranspose");
    attr_ints(&t, "strides", 2, strides);
    nnq_tensor y;
    const nnq_tensor *in[] = {&x, &w, &b};
    CHECK(run_node(&t, in, 2, &y) == NNQ_OK);
    const int64_t yd[] = {1, 1, 4, 4};
    const float expected[] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    expect(&y, 4, yd, expected);
    tensor_free(&y);

    attr_ints(&t, "pads", 4, pads);
    CHECK(run_node(&t, in, 2, &y) == NNQ_OK);
    const int64_t yd_padded[] = {1, 1, 2, 2};
    const float expected_padded[] = {1, 2, 3, 4};
    expect(&y, 4, yd_padded, expected_padded);
    tensor_free(&y);

    node_init(&t, "ConvTranspose");
    attr_ints(&t, "strides", 2, strides);
    attr_ints(&t, "output_padding", 2, output_padding);
    CHECK(run_node(&t, in, 3, &y) == NNQ_OK);
    const int64_t yd_extra[] = {1, 1, 5, 5};
    const float expected_extra[] = {1.5f, 1.5f, 2.5f, 2.5f, 0.5f, 1.5f, 1.5f, 2.5f, 2.5f, 0.5f,
                                    3.5f, 3.5f, 4.5f, 4.5f, 0.5f, 3.5f, 3.5f, 4.5f, 4.5f, 0.5f,
                                    0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    expect(&y, 4, yd_extra, expected_extra);
    nnq_tensor all[] = {x, w, b, y};
    free_all(all, 4);
}

/* MaxPool 3x3 stride 2 ceil_mode over 0..15 (4x4): out = ceil((4-3)/2)+1 = 2,
 * the last windows clip to rows/cols 2..3. */
static void test_max_pool_ceil(void) {
    test_node t;
    node_init(&t, "MaxPool");
    static const int64_t kernel[] = {3, 3}, strides[] = {2, 2};
    attr_ints(&t, "kernel_shape", 2, kernel);
    attr_ints(&t, "strides", 2, strides);
    attr_int(&t, "ceil_mode", 1);
    const int64_t xd[] = {1, 1, 4, 4};
    nnq_tensor x = make_iota(4, xd), y;
    const nnq_tensor *in[] = {&x};
    CHECK(run_node(&t, in, 1, &y) == NNQ_OK);
    const int64_t yd[] = {1, 1, 2, 2};
    const float expected[] = {10, 11, 14, 15};
    expect(&y, 4, yd, expected);
    nnq_tensor all[] = {x, y};
    free_all(all, 2);
}

/* AveragePool 2x2 with pads 1 over 0..3 (2x2): corner windows hold one
 * element; count_include_pad divides by 4 instead of 1. */
static void test_average_pool_pads(void) {
    static const int64_t kernel[] = {2, 2}, pads[] = {1, 1, 1, 1};
    const int64_t xd[] = {1, 1, 2, 2}, yd[] = {1, 1, 3, 3};
    nnq_tensor x = make_iota(4, xd), y;
    const nnq_tensor *in[] = {&x};
    for (int include = 0; include < 2; include++) {
        test_node t;
        node_init(&t, "AveragePool");
        attr_ints(&t, "kernel_shape", 2, kernel);
        attr_ints(&t, "pads", 4, pads);
        attr_int(&t, "count_include_pad", include);
        CHECK(run_node(&t, in, 1, &y) == NNQ_OK);
        const float excluded[] = {0, 0.5f, 1, 1, 1.5f, 2, 2, 2.5f, 3};
        const float included[] = {0, 0.25f, 0.25f, 0.5f, 1.5f, 1, 0.5f, 1.25f, 0.75f};
        expect(&y, 4, yd, include ? included : excluded);
        tensor_free(&y);
    }
    tensor_free(&x);
}

/* MatMul [2, 1, 2, 3] x [3, 3, 2] broadcasts to [2, 3, 2, 2]; spot-check one product. */
static void test_matmul_broadcast(void) {
    test_node t;
    node_init(&t, "MatMul");
    const int64_t ad[] = {2, 1, 2, 3}, bd[] = {3, 3, 2};
    nnq_tensor a = make_iota(4, ad), b = make_iota(3, bd), y;
    const nnq_tensor *in[] = {&a, &b};
    CHECK(run_node(&t, in, 2, &y) == NNQ_OK);
    CHECK(y.rank == 4 && y.dims[0] == 2 && y.dims[1] == 3 && y.dims[2] == 2 && y.dims[3] == 2);
    /* y[1][2] = A[1] ([6 7 8; 9 10 11]) x B[2] ([12 13; 14 15; 16 17]) */
    const float *v = (const float *)y.data + (1 * 3 + 2) * 4;
    CHECK_NEAR(v[0], 6 * 12 + 7 * 14 + 8 * 16, 1e-4);
    CHECK_NEAR(v[1], 6 * 13 + 7 * 15 + 8 * 17, 1e-4);
    CHECK_NEAR(v[2], 9 * 12 + 10 * 14 + 11 * 16, 1e-4);
    CHECK_NEAR(v[3], 9 * 13 + 10 * 15 + 11 * 17, 1e-4);
    nnq_tensor all[] = {a, b, y};
    free_all(all, 3);
}

/* Bad attributes fail cleanly instead of crashing. */
static void test_conv_rejects_bad_attributes(void) {
    const int64_t xd[] = {1, 1, 3, 3}, wd[] = {1, 1, 5, 5};
    const float w25[25] = {0};
    nnq_tensor x = make_iota(4, xd), w = make_float(4, wd, w25), y;
    const nnq_tensor *in[] = {&x, &w};
    test_node t;
    node_init(&t, "Conv");
    CHECK(run_node(&t, in, 2, &y) == NNQ_ERR_INVALID); /* 5x5 kernel on 3x3 without pads */
    tensor_free(&y);
    static const int64_t zero_strides[] = {0, 1};
    attr_ints(&t, "strides", 2, zero_strides);
    CHECK(run_node(&t, in, 2, &y) == NNQ_ERR_INVALID);
    tensor_free(&y);
    nnq_tensor all[] = {x, w};
    free_all(all, 2);
}

int main(void) {
    test_conv_plain_with_bias();
    test_conv_padded_strided();
    test_conv_depthwise_1x1();
    test_conv_1d_dilated_same();
    test_conv_transpose_overlap();
    test_conv_transpose_strided();
    test_max_pool_ceil();
    test_average_pool_pads();
    test_matmul_broadcast();
    test_conv_rejects_bad_attributes();
    return check_summary();
}
