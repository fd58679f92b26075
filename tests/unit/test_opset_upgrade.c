/* pass_upgrade_opset on hand-built models: each is run before (at its old
 * opset) and after the upgrade and compared with values worked out from the
 * ONNX operator definitions (closed form), not with the runtime's own output. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/status.h"
#include "check.h"
#include "ir/passes/passes.h"
#include "run/executor.h"
#include "test_model.h"

/* Runs m on input "x" (float, dims, values) into *y; false on failure. */
static bool run(const nnq_model *m, int rank, const int64_t *dims, const float *values, nnq_tensor *y) {
    nnq_executor *ex = NULL;
    if (executor_create(m, &ex) != NNQ_OK) {
        fprintf(stderr, "%s\n", nnq_last_error());
        return false;
    }
    nnq_tensor x = {0};
    tensor_create(&x, NNQ_FLOAT, rank, dims);
    x.name = strdup("x");
    memcpy(x.data, values, sizeof(float) * (size_t)tensor_numel(&x));
    nnq_status st = executor_run(ex, &x, 1, y);
    if (st != NNQ_OK) fprintf(stderr, "%s\n", nnq_last_error());
    tensor_free(&x);
    executor_free(ex);
    return st == NNQ_OK;
}

static bool has_attr(const nnq_model *m, const char *op_type, const char *attr) {
    for (int n = 0; n < m->graph.n_nodes; n++)
        if (strcmp(m->graph.nodes[n].op_type, op_type) == 0 && node_find_attr(&m->graph.nodes[n], attr)) return true;
    return false;
}

static void check_values(const nnq_tensor *y, int rank, const int64_t *dims, const float *want, double tol) {
    CHECK(y->rank == rank);
    for (int d = 0; d < rank && d < y->rank; d++) CHECK(y->dims[d] == dims[d]);
    int64_t n = dims_numel(dims, rank);
    if (tensor_numel(y) != n) return;
    for (int64_t i = 0; i < n; i++) CHECK_NEAR(((const float *)y->data)[i], want[i], tol);
}

/* Upgrades m to target and checks the default opset import follows. */
static bool upgrade(nnq_model *m, int target, int expected_converted) {
    int converted = -1;
    nnq_status st = pass_upgrade_opset(m, target, &converted);
    if (st != NNQ_OK) fprintf(stderr, "%s\n", nnq_last_error());
    CHECK(st == NNQ_OK);
    CHECK_MSG(converted == expected_converted, "%d nodes converted", converted);
    CHECK(model_opset(m, "") == target);
    return st == NNQ_OK;
}

/* Softmax-11 with axis 1 on [2,3,4]: the input is coerced to [2, 12] and each
 * row of 12 values is normalized (ONNX Softmax-11). Softmax-13 along axis 1
 * alone would differ, so the upgrade must keep the 12-value rows. */
static void test_softmax_coerced_axis(void) {
    nnq_model m;
    test_model_init(&m, 11);
    int64_t dims[3] = {2, 3, 4};
    test_add_input(&m, "x", NNQ_FLOAT, 3, dims);
    test_add_output(&m, "y", NNQ_FLOAT, 3, dims);
    nnq_node *softmax = test_add_node(&m, "Softmax", "softmax", (const char *const[]){"x", NULL},
                                      (const char *const[]){"y", NULL});
    test_node_set_int(softmax, "axis", 1);
    float x[24], want[24];
    for (int i = 0; i < 24; i++) x[i] = 0.25f * (float)((i * 7) % 11) - 1.0f;
    for (int row = 0; row < 2; row++) { /* closed form: exp(x) / sum(exp(x)) over 12 values */
        double sum = 0.0;
        for (int k = 0; k < 12; k++) sum += exp(x[row * 12 + k]);
        for (int k = 0; k < 12; k++) want[row * 12 + k] = (float)(exp(x[row * 12 + k]) / sum);
    }
    nnq_tensor before = {0}, after = {0};
    CHECK(run(&m, 3, dims, x, &before));
    check_values(&before, 3, dims, want, 1e-6);
    if (upgrade(&m, 13, 1)) {
        CHECK(test_count_ops(&m, "Flatten") == 1 && test_count_ops(&m, "Reshape") == 1 && test_count_ops(&m, "Shape") == 1);
        CHECK(run(&m, 3, dims, x, &after));
        check_values(&after, 3, dims, want, 1e-6);
    }
    tensor_free(&before);
    tensor_free(&after);
    model_free(&m);
}

/* Softmax-11 on the last axis is Softmax-13 on it: only the axis is written out. */
static void test_softmax_last_axis(void) {
    nnq_model m;
    test_model_init(&m, 11);
    int64_t dims[2] = {2, 3};
    test_add_input(&m, "x", NNQ_FLOAT, 2, dims);
    test_add_output(&m, "y", NNQ_FLOAT, 2, dims);
    test_add_node(&m, "LogSoftmax", "log_softmax", (const char *const[]){"x", NULL}, (const char *const[]){"y", NULL});
    const float x[6] = {1, 2, 3, -1, 0, 4};
    float want[6];
    for (int row = 0; row < 2; row++) {
        double sum = 0.0;
        for (int k = 0; k < 3; k++) sum += exp(x[row * 3 + k]);
        for (int k = 0; k < 3; k++) want[row * 3 + k] = (float)(x[row * 3 + k] - log(sum));
    }
    nnq_tensor after = {0};
    if (upgrade(&m, 17, 1)) {
        CHECK(m.graph.n_nodes == 1);
        CHECK(node_attr_int(&m.graph.nodes[0], "axis", -99) == 1);
        CHECK(run(&m, 2, dims, x, &after));
        check_values(&after, 2, dims, want, 1e-6);
    }
    tensor_free(&after);
    model_free(&m);
}

/* Unsqueeze-11's axes attribute becomes Unsqueeze-13's int64 input 1. */
static void test_unsqueeze_axes(void) {
    nnq_model m;
    test_model_init(&m, 11);
    int64_t in_dims[1] = {3}, out_dims[3] = {1, 3, 1};
    test_add_input(&m, "x", NNQ_FLOAT, 1, in_dims);
    test_add_output(&m, "y", NNQ_FLOAT, 3, out_dims);
    nnq_node *node = test_add_node(&m, "Unsqueeze", "unsqueeze", (const char *const[]){"x", NULL},
                                   (const char *const[]){"y", NULL});
    test_node_set_ints(node, "axes", 2, (const int64_t[]){0, -1});
    const float x[3] = {1.5f, -2.0f, 3.0f};
    nnq_tensor after = {0};
    if (upgrade(&m, 13, 1)) {
        const nnq_node *u = &m.graph.nodes[0];
        CHECK(!node_find_attr(u, "axes"));
        CHECK(u->n_inputs == 2);
        const nnq_tensor *axes = u->n_inputs == 2 ? graph_find_initializer(&m.graph, u->inputs[1]) : NULL;
        CHECK(axes && axes->dtype == NNQ_INT64 && tensor_numel(axes) == 2);
        if (axes && tensor_numel(axes) == 2) CHECK(tensor_get_int64(axes, 0) == 0 && tensor_get_int64(axes, 1) == -1);
        CHECK(run(&m, 1, in_dims, x, &after));
        check_values(&after, 3, out_dims, x, 0.0);
    }
    tensor_free(&after);
    model_free(&m);
}

/* Clip-6's min/max attributes become Clip-11's scalar inputs of the input's type. */
static void test_clip_bounds(void) {
    nnq_model m;
    test_model_init(&m, 10);
    int64_t dims[1] = {5};
    test_add_input(&m, "x", NNQ_FLOAT, 1, dims);
    test_add_output(&m, "y", NNQ_FLOAT, 1, dims);
    nnq_node *clip = test_add_node(&m, "Clip", "clip", (const char *const[]){"x", NULL}, (const char *const[]){"y", NULL});
    test_node_set_float(clip, "min", -1.0f);
    test_node_set_float(clip, "max", 2.5f);
    const float x[5] = {-3.0f, -1.0f, 0.5f, 2.5f, 7.0f}, want[5] = {-1.0f, -1.0f, 0.5f, 2.5f, 2.5f};
    nnq_tensor before = {0}, after = {0};
    CHECK(run(&m, 1, dims, x, &before));
    check_values(&before, 1, dims, want, 0.0);
    if (upgrade(&m, 13, 1)) {
        const nnq_node *c = &m.graph.nodes[0];
        CHECK(c->n_inputs == 3 && !node_find_attr(c, "min") && !node_find_attr(c, "max"));
        const nnq_tensor *lo = c->n_inputs == 3 ? graph_find_initializer(&m.graph, c->inputs[1]) : NULL;
        CHECK(lo && lo->dtype == NNQ_FLOAT && lo->rank == 0);
        CHECK(run(&m, 1, dims, x, &after));
        check_values(&after, 1, dims, want, 0.0);
    }
    tensor_free(&before);
    tensor_free(&after);
    model_free(&m);
}

/* Upsample nearest x2 on H and W (opset 7: scales attribute; opset 9: scales
 * input) becomes Resize-13: every input pixel fills a 2x2 block. */
static void test_upsample_nearest(int opset) {
    nnq_model m;
    test_model_init(&m, opset);
    int64_t in_dims[4] = {1, 1, 2, 3}, out_dims[4] = {1, 1, 4, 6};
    test_add_input(&m, "x", NNQ_FLOAT, 4, in_dims);
    test_add_output(&m, "y", NNQ_FLOAT, 4, out_dims);
    const float scales[4] = {1, 1, 2, 2};
    nnq_node *node;
    if (opset < 9) {
        node = test_add_node(&m, "Upsample", "upsample", (const char *const[]){"x", NULL}, (const char *const[]){"y", NULL});
        test_node_set_floats(node, "scales", 4, scales);
    } else {
        test_add_floats(&m, "scales", 1, (const int64_t[]){4}, scales);
        node = test_add_node(&m, "Upsample", "upsample", (const char *const[]){"x", "scales", NULL},
                             (const char *const[]){"y", NULL});
    }
    const float x[6] = {1, 2, 3, 4, 5, 6};
    float want[24];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 6; c++) want[r * 6 + c] = x[(r / 2) * 3 + c / 2];
    nnq_tensor after = {0};
    if (upgrade(&m, 13, 1)) {
        const nnq_node *r = &m.graph.nodes[0];
        CHECK(strcmp(r->op_type, "Resize") == 0 && r->n_inputs == 3 && r->inputs[1][0] == '\0');
        CHECK(strcmp(node_attr_string(r, "coordinate_transformation_mode", ""), "asymmetric") == 0);
        CHECK(strcmp(node_attr_string(r, "nearest_mode", ""), "floor") == 0);
        CHECK(!has_attr(&m, "Resize", "scales"));
        CHECK(run(&m, 4, in_dims, x, &after));
        check_values(&after, 4, out_dims, want, 0.0);
    }
    tensor_free(&after);
    model_free(&m);
}

/* BatchNormalization-7 with spatial=0 has no opset-9 form: refused, naming the node. */
static void test_batchnorm_spatial_refused(void) {
    nnq_model m;
    test_model_init(&m, 7);
    int64_t dims[2] = {2, 3}, channel[1] = {3};
    test_add_input(&m, "x", NNQ_FLOAT, 2, dims);
    test_add_output(&m, "y", NNQ_FLOAT, 2, dims);
    const float ones[3] = {1, 1, 1}, zeros[3] = {0, 0, 0};
    test_add_floats(&m, "scale", 1, channel, ones);
    test_add_floats(&m, "bias", 1, channel, zeros);
    test_add_floats(&m, "mean", 1, channel, zeros);
    test_add_floats(&m, "var", 1, channel, ones);
    nnq_node *bn = test_add_node(&m, "BatchNormalization", "bn_per_activation",
                                 (const char *const[]){"x", "scale", "bias", "mean", "var", NULL},
                                 (const char *const[]){"y", NULL});
    test_node_set_int(bn, "spatial", 0);
    int converted;
    CHECK(pass_upgrade_opset(&m, 13, &converted) == NNQ_ERR_UNSUPPORTED);
    CHECK(strstr(nnq_last_error(), "bn_per_activation") != NULL);
    CHECK(strstr(nnq_last_error(), "spatial") != NULL);
    CHECK(pass_upgrade_opset(&m, 12, &converted) == NNQ_ERR_INVALID); /* targets start at 13 */
    model_free(&m);
}

int main(void) {
    test_softmax_coerced_axis();
    test_softmax_last_axis();
    test_unsqueeze_axes();
    test_clip_bounds();
    test_upsample_nearest(7);
    test_upsample_nearest(9);
    test_batchnorm_spatial_refused();
    return check_summary();
}
