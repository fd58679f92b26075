/* Elementwise, activation and softmax operators against hand-computed values:
 * broadcast shapes (numpy and the pre-opset-7 `axis` form), Softmax's opset 11
 * (coerced 2D) versus opset 13 (single axis) meaning, Clip's attribute versus
 * input form, Cast truncation, Round half to even, integer Div, Where and
 * PRelu's per-channel slope before opset 7. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "op_case.h"

static void check_output(const op_case *c, nnq_dtype dtype, int rank, const int64_t *dims,
                         const double *expected, double tol) {
    CHECK(c->outputs[0].dtype == dtype);
    CHECK(c->outputs[0].rank == rank);
    if (c->outputs[0].rank != rank || !c->outputs[0].data) return;
    for (int d = 0; d < rank; d++) CHECK(c->outputs[0].dims[d] == dims[d]);
    for (int64_t e = 0; e < tensor_numel(&c->outputs[0]); e++)
        CHECK_NEAR(tensor_get_double(&c->outputs[0], e), expected[e], tol);
}

/* [2,3,1] + [4] -> [2,3,4]: out[i][j][k] = a[i][j] + b[k]. */
static void test_add_broadcast(void) {
    op_case c;
    case_init(&c, "Add", 2, 1);
    const int64_t da[] = {2, 3, 1}, db[] = {4};
    const double a[] = {0, 1, 2, 3, 4, 5}, b[] = {0, 10, 20, 30};
    case_input(&c, 0, NNQ_FLOAT, 3, da, a);
    case_input(&c, 1, NNQ_FLOAT, 1, db, b);
    CHECK(case_run(&c, 14) == NNQ_OK);
    double expected[24];
    for (int ij = 0; ij < 6; ij++)
        for (int k = 0; k < 4; k++) expected[ij * 4 + k] = ij + 10 * k;
    const int64_t dout[] = {2, 3, 4};
    check_output(&c, NNQ_FLOAT, 3, dout, expected, 0);
    case_free(&c);
}

/* Both operands broadcast: [3,1] - [1,2] -> [3,2]. */
static void test_sub_two_sided_broadcast(void) {
    op_case c;
    case_init(&c, "Sub", 2, 1);
    const int64_t da[] = {3, 1}, db[] = {1, 2};
    const double a[] = {10, 20, 30}, b[] = {1, 2};
    case_input(&c, 0, NNQ_INT64, 2, da, a);
    case_input(&c, 1, NNQ_INT64, 2, db, b);
    CHECK(case_run(&c, 14) == NNQ_OK);
    const int64_t dout[] = {3, 2};
    const double expected[] = {9, 8, 19, 18, 29, 28};
    check_output(&c, NNQ_INT64, 2, dout, expected, 0);
    case_free(&c);
}

/* Incompatible shapes fail in infer. */
static void test_broadcast_mismatch(void) {
    op_case c;
    case_init(&c, "Mul", 2, 1);
    const int64_t da[] = {2, 3}, db[] = {4};
    const double a[] = {0, 0, 0, 0, 0, 0}, b[] = {0, 0, 0, 0};
    case_input(&c, 0, NNQ_FLOAT, 2, da, a);
    case_input(&c, 1, NNQ_FLOAT, 1, db, b);
    CHECK(case_run(&c, 14) == NNQ_ERR_INVALID);
    case_free(&c);
}

/* Opset 6: broadcast=1, axis=1 places B [3] on A's axis 1 of [2,3,2]. */
static void test_legacy_axis_broadcast(void) {
    op_case c;
    case_init(&c, "Add", 2, 1);
    case_attr_int(&c, "broadcast", 1);
    case_attr_int(&c, "axis", 1);
    const int64_t da[] = {2, 3, 2}, db[] = {3};
    const double a[12] = {0}, b[] = {1, 2, 3};
    case_input(&c, 0, NNQ_FLOAT, 3, da, a);
    case_input(&c, 1, NNQ_FLOAT, 1, db, b);
    CHECK(case_run(&c, 6) == NNQ_OK);
    const double expected[] = {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3};
    check_output(&c, NNQ_FLOAT, 3, da, expected, 0);
    case_free(&c);
}

/* x = [[[0, ln 3], [0, ln 3]]] (shape [1,2,2]). Opset 13 (axis -1): each pair
 * becomes [1/4, 3/4]. Opset 11 (axis 1, coerced to [1, 4]): one lane of four
 * with exponentials 1, 3, 1, 3 summing to 8. */
static void test_softmax_opsets(void) {
    const int64_t dims[] = {1, 2, 2};
    const double x[] = {0, log(3.0), 0, log(3.0)};
    const double along_last_axis[] = {0.25, 0.75, 0.25, 0.75};
    const double over_block[] = {0.125, 0.375, 0.125, 0.375};
    op_case c;
    case_init(&c, "Softmax", 1, 1);
    case_input(&c, 0, NNQ_FLOAT, 3, dims, x);
    CHECK(case_run(&c, 13) == NNQ_OK);
    check_output(&c, NNQ_FLOAT, 3, dims, along_last_axis, 1e-6);
    case_free(&c);

    case_init(&c, "Softmax", 1, 1);
    case_input(&c, 0, NNQ_FLOAT, 3, dims, x);
    CHECK(case_run(&c, 11) == NNQ_OK);
    check_output(&c, NNQ_FLOAT, 3, dims, over_block, 1e-6);
    case_free(&c);

    /* LogSoftmax at opset 13: log(1/4), log(3/4). */
    case_init(&c, "LogSoftmax", 1, 1);
    case_input(&c, 0, NNQ_FLOAT, 3, dims, x);
    CHECK(case_run(&c, 13) == NNQ_OK);
    const double logs[] = {log(0.25), log(0.75), log(0.25), log(0.75)};
    check_output(&c, NNQ_FLOAT, 3, dims, logs, 1e-6);
    case_free(&c);
}

/* Clip before opset 11 reads attributes; from opset 11 optional inputs. */
static void test_clip_forms(void) {
    const int64_t dims[] = {3};
    const double x[] = {-3, 0.5, 5};
    op_case c;
    case_init(&c, "Clip", 1, 1);
    case_attr_float(&c, "min", -1.0f);
    case_attr_float(&c, "max", 2.0f);
    case_input(&c, 0, NNQ_FLOAT, 1, dims, x);
    CHECK(case_run(&c, 6) == NNQ_OK);
    const double both[] = {-1, 0.5, 2};
    check_output(&c, NNQ_FLOAT, 1, dims, both, 0);
    case_free(&c);

    /* Opset 13 with min only; the same attributes would be ignored. */
    case_init(&c, "Clip", 2, 1);
    case_attr_float(&c, "max", 2.0f);
    case_input(&c, 0, NNQ_FLOAT, 1, dims, x);
    const double lo[] = {-1};
    case_input(&c, 1, NNQ_FLOAT, 0, NULL, lo);
    CHECK(case_run(&c, 13) == NNQ_OK);
    const double min_only[] = {-1, 0.5, 5};
    check_output(&c, NNQ_FLOAT, 1, dims, min_only, 0);
    case_free(&c);

    /* Opset 13, max given but min omitted (""), int8. */
    case_init(&c, "Clip", 3, 1);
    const double xi[] = {-100, 7, 100};
    case_input(&c, 0, NNQ_INT8, 1, dims, xi);
    const double hi[] = {10};
    case_input(&c, 2, NNQ_INT8, 0, NULL, hi);
    CHECK(case_run(&c, 13) == NNQ_OK);
    const double max_only[] = {-100, 7, 10};
    check_output(&c, NNQ_INT8, 1, dims, max_only, 0);
    case_free(&c);
}

/* Cast float -> int32 truncates toward zero; float -> bool is "nonzero". */
static void test_cast(void) {
    const int64_t dims[] = {4};
    const double x[] = {-2.75, 2.75, 0.0, -0.5};
    op_case c;
    case_init(&c, "Cast", 1, 1);
    case_attr_int(&c, "to", NNQ_INT32);
    case_input(&c, 0, NNQ_FLOAT, 1, dims, x);
    CHECK(case_run(&c, 13) == NNQ_OK);
    const double truncated[] = {-2, 2, 0, 0};
    check_output(&c, NNQ_INT32, 1, dims, truncated, 0);
    case_free(&c);

    case_init(&c, "Cast", 1, 1);
    case_attr_int(&c, "to", NNQ_BOOL);
    case_input(&c, 0, NNQ_FLOAT, 1, dims, x);
    CHECK(case_run(&c, 13) == NNQ_OK);
    const double nonzero[] = {1, 1, 0, 1};
    check_output(&c, NNQ_BOOL, 1, dims, nonzero, 0);
    case_free(&c);
}

/* Round: halfway cases go to the even neighbour. */
static void test_round_half_even(void) {
    const int64_t dims[] = {5};
    const double x[] = {0.5, 1.5, 2.5, -2.5, 2.6};
    op_case c;
    case_init(&c, "Round", 1, 1);
    case_input(&c, 0, NNQ_FLOAT, 1, dims, x);
    CHECK(case_run(&c, 11) == NNQ_OK);
    const double expected[] = {0, 2, 2, -2, 3};
    check_output(&c, NNQ_FLOAT, 1, dims, expected, 0);
    case_free(&c);
}

/* Integer Div truncates toward zero (as C), not floor (as Python). */
static void test_integer_div(void) {
    const int64_t dims[] = {3};
    const double a[] = {-7, 7, 7}, b[] = {2, -2, 2};
    op_case c;
    case_init(&c, "Div", 2, 1);
    case_input(&c, 0, NNQ_INT32, 1, dims, a);
    case_input(&c, 1, NNQ_INT32, 1, dims, b);
    CHECK(case_run(&c, 14) == NNQ_OK);
    const double expected[] = {-3, -3, 3};
    check_output(&c, NNQ_INT32, 1, dims, expected, 0);
    case_free(&c);
}

/* Where broadcasts all three operands: cond [2,1], x [1,2], y scalar. */
static void test_where(void) {
    const int64_t dc[] = {2, 1}, dx[] = {1, 2};
    const double cond[] = {1, 0}, x[] = {1, 2}, y[] = {-1};
    op_case c;
    case_init(&c, "Where", 3, 1);
    case_input(&c, 0, NNQ_BOOL, 2, dc, cond);
    case_input(&c, 1, NNQ_FLOAT, 2, dx, x);
    case_input(&c, 2, NNQ_FLOAT, 0, NULL, y);
    CHECK(case_run(&c, 16) == NNQ_OK);
    const int64_t dout[] = {2, 2};
    const double expected[] = {1, 2, -1, -1};
    check_output(&c, NNQ_FLOAT, 2, dout, expected, 0);
    case_free(&c);
}

/* Mean of three inputs with broadcasting: ([1,2] + [3] scalar-ish + [5,7]) / 3. */
static void test_mean(void) {
    const int64_t d2[] = {2}, d1[] = {1};
    const double a[] = {1, 2}, b[] = {3}, c3[] = {5, 7};
    op_case c;
    case_init(&c, "Mean", 3, 1);
    case_input(&c, 0, NNQ_FLOAT, 1, d2, a);
    case_input(&c, 1, NNQ_FLOAT, 1, d1, b);
    case_input(&c, 2, NNQ_FLOAT, 1, d2, c3);
    CHECK(case_run(&c, 13) == NNQ_OK);
    const double expected[] = {3, 4};
    check_output(&c, NNQ_FLOAT, 1, d2, expected, 1e-6);
    case_free(&c);
}

/* PRelu: before opset 7 a slope of C values applies per channel (axis 1). */
static void test_prelu_per_channel(void) {
    const int64_t dx[] = {1, 2, 2}, ds[] = {2};
    const double x[] = {-1, 1, -2, 2}, slope[] = {0.5, 0.25};
    op_case c;
    case_init(&c, "PRelu", 2, 1);
    case_input(&c, 0, NNQ_FLOAT, 3, dx, x);
    case_input(&c, 1, NNQ_FLOAT, 1, ds, slope);
    CHECK(case_run(&c, 6) == NNQ_OK);
    const double expected[] = {-0.5, 1, -0.5, 2};
    check_output(&c, NNQ_FLOAT, 3, dx, expected, 0);
    case_free(&c);
}

/* Large enough to be split into parallel chunks that start mid-row:
 * [3, 50001] + [3, 1], out[i][j] = j + 100000 i. */
static void test_chunked_broadcast(void) {
    const int64_t rows = 3, cols = 50001;
    const int64_t da[] = {rows, cols}, db[] = {rows, 1};
    op_case c;
    case_init(&c, "Add", 2, 1);
    tensor_create(&c.inputs[0], NNQ_FLOAT, 2, da);
    tensor_create(&c.inputs[1], NNQ_FLOAT, 2, db);
    float *a = c.inputs[0].data, *b = c.inputs[1].data;
    for (int64_t i = 0; i < rows; i++) {
        b[i] = (float)(100000 * i);
        for (int64_t j = 0; j < cols; j++) a[i * cols + j] = (float)j;
    }
    c.input_ptrs[0] = &c.inputs[0];
    c.input_ptrs[1] = &c.inputs[1];
    CHECK(case_run(&c, 14) == NNQ_OK);
    int64_t wrong = 0;
    const float *out = c.outputs[0].data;
    for (int64_t i = 0; out && i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            if (out[i * cols + j] != (float)(j + 100000 * i)) wrong++;
    CHECK(out != NULL);
    CHECK_MSG(wrong == 0, "%lld wrong elements", (long long)wrong);
    case_free(&c);
}

int main(void) {
    test_chunked_broadcast();
    test_add_broadcast();
    test_sub_two_sided_broadcast();
    test_broadcast_mismatch();
    test_legacy_axis_broadcast();
    test_softmax_opsets();
    test_clip_forms();
    test_cast();
    test_round_half_even();
    test_integer_div();
    test_where();
    test_mean();
    test_prelu_per_channel();
    return check_summary();
}
