/* Quantization operators against hand-computed values: QuantizeLinear's
 * round-half-to-even and saturation, per-axis DequantizeLinear, the ONNX
 * documentation's DynamicQuantizeLinear example, and small MatMulInteger /
 * ConvInteger cases with zero points. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "op_case.h"

static void check_output(const op_case *c, int i, nnq_dtype dtype, int64_t count,
                         const double *expected) {
    const nnq_tensor *t = &c->outputs[i];
    CHECK_MSG(t->dtype == dtype, "%s output %d is %s", c->node.op_type, i, dtype_name(t->dtype));
    CHECK_MSG(tensor_numel(t) == count, "%s output %d has %lld elements", c->node.op_type, i,
              (long long)tensor_numel(t));
    if (t->dtype != dtype || tensor_numel(t) != count) return;
    for (int64_t e = 0; e < count; e++)
        CHECK_MSG(fabs(tensor_get_double(t, e) - expected[e]) <= 1e-6,
                  "%s output %d[%lld] = %.9g, expected %.9g", c->node.op_type, i, (long long)e,
                  tensor_get_double(t, e), expected[e]);
}

static const int64_t scalar_dims[1] = {0};

/* Ties go to the even neighbour, then results saturate to int8. */
static void test_quantize_int8_round_half_even(void) {
    op_case c;
    case_init(&c, "QuantizeLinear", 3, 1);
    int64_t dims[1] = {9};
    case_input(&c, 0, NNQ_FLOAT, 1, dims,
               (double[]){2.5, 3.5, -2.5, -3.5, 0.5, 1.5, 2.4, 300, -300});
    case_input(&c, 1, NNQ_FLOAT, 0, scalar_dims, (double[]){1.0});
    case_input(&c, 2, NNQ_INT8, 0, scalar_dims, (double[]){0});
    CHECK(case_run(&c, 13) == NNQ_OK);
    check_output(&c, 0, NNQ_INT8, 9, (double[]){2, 4, -2, -4, 0, 2, 2, 127, -128});
    case_free(&c);
}

/* x / 2 = 2.5, 3.5, -2.5 -> 2, 4, -2, plus zero point 128; saturation at 255 and 0. */
static void test_quantize_uint8_zero_point(void) {
    op_case c;
    case_init(&c, "QuantizeLinear", 3, 1);
    int64_t dims[1] = {5};
    case_input(&c, 0, NNQ_FLOAT, 1, dims, (double[]){5, 7, -5, 1000, -1000});
    case_input(&c, 1, NNQ_FLOAT, 0, scalar_dims, (double[]){2.0});
    case_input(&c, 2, NNQ_UINT8, 0, scalar_dims, (double[]){128});
    CHECK(case_run(&c, 13) == NNQ_OK);
    check_output(&c, 0, NNQ_UINT8, 5, (double[]){130, 132, 126, 255, 0});
    case_free(&c);
}

/* Without y_zero_point the output is uint8 with zero point 0. */
static void test_quantize_default_zero_point(void) {
    op_case c;
    case_init(&c, "QuantizeLinear", 2, 1);
    int64_t dims[1] = {3};
    case_input(&c, 0, NNQ_FLOAT, 1, dims, (double[]){-1, 2.5, 1e6});
    case_input(&c, 1, NNQ_FLOAT, 0, scalar_dims, (double[]){1.0});
    CHECK(case_run(&c, 10) == NNQ_OK);
    check_output(&c, 0, NNQ_UINT8, 3, (double[]){0, 2, 255});
    case_free(&c);
}

/* x [2, 3] uint8, per-axis parameters along axis 1 (the default) and axis 0:
 * y = (x - zero_point[k]) * scale[k]. */
static void test_dequantize_per_axis(void) {
    int64_t dims[2] = {2, 3}, three[1] = {3}, two[1] = {2};
    const double x[6] = {0, 10, 20, 255, 0, 21};

    op_case c;
    case_init(&c, "DequantizeLinear", 3, 1);
    case_input(&c, 0, NNQ_UINT8, 2, dims, x);
    case_input(&c, 1, NNQ_FLOAT, 1, three, (double[]){1.0, 2.0, 0.5});
    case_input(&c, 2, NNQ_UINT8, 1, three, (double[]){0, 10, 20});
    CHECK(case_run(&c, 13) == NNQ_OK);
    check_output(&c, 0, NNQ_FLOAT, 6, (double[]){0, 0, 0, 255, -20, 0.5});
    case_free(&c);

    case_init(&c, "DequantizeLinear", 3, 1);
    case_attr_int(&c, "axis", 0);
    case_input(&c, 0, NNQ_UINT8, 2, dims, x);
    case_input(&c, 1, NNQ_FLOAT, 1, two, (double[]){2.0, 0.25});
    case_input(&c, 2, NNQ_UINT8, 1, two, (double[]){1, 3});
    CHECK(case_run(&c, 13) == NNQ_OK);
    check_output(&c, 0, NNQ_FLOAT, 6, (double[]){-2, 18, 38, 63, -0.75, 4.5});
    case_free(&c);

    /* Per-axis parameters did not exist before opset 13. */
    case_init(&c, "DequantizeLinear", 3, 1);
    case_input(&c, 0, NNQ_UINT8, 2, dims, x);
    case_input(&c, 1, NNQ_FLOAT, 1, three, (double[]){1.0, 2.0, 0.5});
    case_input(&c, 2, NNQ_UINT8, 1, three, (double[]){0, 10, 20});
    CHECK(case_run(&c, 10) == NNQ_ERR_INVALID);
    case_free(&c);
}

/* The ONNX documentation's example: x in [-3, 2] gives y_scale = 5 / 255,
 * y_zero_point = round(3 / (5 / 255)) = 153, and
 * y = round(x * 51) + 153 = 153, 255 (saturated from 255), 0, 26 (-127.5
 * rounds to even -128 in exact arithmetic, but in float -2.5 / y_scale is
 * just above -127.5, hence -127), 221 (68.34 -> 68), 179 (25.5 -> 26). */
static void test_dynamic_quantize_doc_example(void) {
    op_case c;
    case_init(&c, "DynamicQuantizeLinear", 1, 3);
    int64_t dims[1] = {6};
    case_input(&c, 0, NNQ_FLOAT, 1, dims, (double[]){0, 2, -3, -2.5, 1.34, 0.5});
    CHECK(case_run(&c, 11) == NNQ_OK);
    check_output(&c, 0, NNQ_UINT8, 6, (double[]){153, 255, 0, 26, 221, 179});
    CHECK_NEAR(*(float *)c.outputs[1].data, 5.0 / 255.0, 1e-8);
    check_output(&c, 2, NNQ_UINT8, 1, (double[]){153});
    case_free(&c);
}

/* All-zero input: scale 0, zero point 0, every y 0 (no division trap). */
static void test_dynamic_quantize_zeros(void) {
    op_case c;
    case_init(&c, "DynamicQuantizeLinear", 1, 3);
    int64_t dims[1] = {3};
    case_input(&c, 0, NNQ_FLOAT, 1, dims, (double[]){0, 0, 0});
    CHECK(case_run(&c, 11) == NNQ_OK);
    check_output(&c, 0, NNQ_UINT8, 3, (double[]){0, 0, 0});
    check_output(&c, 1, NNQ_FLOAT, 1, (double[]){0});
    check_output(&c, 2, NNQ_UINT8, 1, (double[]){0});
    case_free(&c);
}

/* A uint8 [2, 3] with a_zero_point 1, B int8 [3, 2] with per-column zero
 * points [0, 1]: A' = [[0,1,2],[3,4,5]], B' = [[1,-2],[2,-1],[-3,4]],
 * A' B' = [[-4, 7], [-4, 10]]. */
static void test_matmul_integer(void) {
    op_case c;
    case_init(&c, "MatMulInteger", 4, 1);
    int64_t a_dims[2] = {2, 3}, b_dims[2] = {3, 2}, two[1] = {2};
    case_input(&c, 0, NNQ_UINT8, 2, a_dims, (double[]){1, 2, 3, 4, 5, 6});
    case_input(&c, 1, NNQ_INT8, 2, b_dims, (double[]){1, -1, 2, 0, -3, 5});
    case_input(&c, 2, NNQ_UINT8, 0, scalar_dims, (double[]){1});
    case_input(&c, 3, NNQ_INT8, 1, two, (double[]){0, 1});
    CHECK(case_run(&c, 10) == NNQ_OK);
    check_output(&c, 0, NNQ_INT32, 4, (double[]){-4, 7, -4, 10});
    case_free(&c);
}

/* x [1,1,2,2] = [[1,2],[3,4]] with zero point 1, i.e. [[0,1],[2,3]] after the
 * shift; a 2x2 kernel of ones with pads 1: each output is the sum of a 2x2
 * window of the padded (zero-point) image:
 *   [[0,1,1],[2,6,4],[2,5,3]]. */
static void test_conv_integer_padding(void) {
    op_case c;
    case_init(&c, "ConvInteger", 3, 1);
    nnq_attr *pads = &c.attrs[c.node.n_attrs++];
    int64_t pad_values[4] = {1, 1, 1, 1};
    pads->name = (char *)"pads";
    pads->type = NNQ_ATTR_INTS;
    pads->count = 4;
    pads->ints = pad_values;
    int64_t dims[4] = {1, 1, 2, 2};
    case_input(&c, 0, NNQ_UINT8, 4, dims, (double[]){1, 2, 3, 4});
    case_input(&c, 1, NNQ_UINT8, 4, dims, (double[]){1, 1, 1, 1});
    case_input(&c, 2, NNQ_UINT8, 0, scalar_dims, (double[]){1});
    CHECK(case_run(&c, 10) == NNQ_OK);
    check_output(&c, 0, NNQ_INT32, 9, (double[]){0, 1, 1, 2, 6, 4, 2, 5, 3});
    case_free(&c);
}

int main(void) {
    test_quantize_int8_round_half_even();
    test_quantize_uint8_zero_point();
    test_quantize_default_zero_point();
    test_dequantize_per_axis();
    test_dynamic_quantize_doc_example();
    test_dynamic_quantize_zeros();
    test_matmul_integer();
    test_conv_integer_padding();
    return check_summary();
}
