/* Unary elementwise ops lowered to 256-entry lookup tables: on a model whose
 * input feeds sixteen such ops (with attributes, NaN/inf and saturating
 * outputs, signed and unsigned grids, the input on a uint8 grid stored
 * shifted), the integer engine's outputs equal the fake-quantized
 * simulation's bit for bit, over every value of the input grid and over
 * off-grid values, on 8-bit and 4-bit grids; Softmax (not elementwise) and
 * ops with a side wider than 8 bits stay float steps. */
#include <string.h>

#include "check.h"
#include "intq/engine.h"
#include "intq/lowering.h"
#include "ir/passes/passes.h"
#include "quant/quantize_tensor.h"
#include "run/executor.h"
#include "run/simulation.h"
#include "test_model.h"

enum { WIDTH = 256, BATCH = 2 };

typedef struct unary_case {
    const char *op_type;
    const char *attribute;   /* a float attribute to set, or NULL */
    float attribute_value;
    bool is_signed;          /* the output grid */
    float lo, hi;            /* the output range */
} unary_case;

/* The input's range is [-3, 2.5]; the output ranges clip some ops (Exp, Reciprocal) on purpose. */
static const unary_case cases[] = {
    {"Tanh", NULL, 0, true, -1.0f, 1.0f},           {"Sigmoid", NULL, 0, false, 0.0f, 1.0f},
    {"HardSigmoid", "alpha", 0.3f, false, 0.0f, 1.0f}, {"HardSwish", NULL, 0, true, -0.4f, 2.5f},
    {"LeakyRelu", "alpha", 0.2f, true, -0.6f, 2.5f}, {"Elu", "alpha", 0.7f, true, -0.7f, 2.5f},
    {"Selu", NULL, 0, true, -1.8f, 4.5f},           {"Softplus", NULL, 0, false, 0.0f, 3.0f},
    {"Softsign", NULL, 0, true, -0.75f, 0.72f},     {"Exp", NULL, 0, false, 0.0f, 8.0f},
    {"Log", NULL, 0, true, -3.0f, 1.0f},            {"Erf", NULL, 0, true, -1.0f, 1.0f},
    {"Sqrt", NULL, 0, false, 0.0f, 1.6f},           {"Reciprocal", NULL, 0, true, -4.0f, 4.0f},
    {"Neg", NULL, 0, true, -2.5f, 3.0f},            {"Abs", NULL, 0, false, 0.0f, 3.0f},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

static const int64_t io_dims[2] = {NNQ_UNKNOWN_DIM, WIDTH};

/* x -> each case's op -> its own output, and x -> Softmax -> "softmax". */
static void build_fan_out_model(nnq_model *m) {
    test_model_init(m, 14); /* HardSwish */
    test_add_input(m, "x", NNQ_FLOAT, 2, io_dims);
    const char *input[] = {"x", NULL};
    for (int i = 0; i < N_CASES; i++) {
        const char *output[] = {cases[i].op_type, NULL};
        nnq_node *node = test_add_node(m, cases[i].op_type, cases[i].op_type, input, output);
        if (cases[i].attribute) test_node_set_float(node, cases[i].attribute, cases[i].attribute_value);
        test_add_output(m, cases[i].op_type, NNQ_FLOAT, 2, io_dims);
    }
    const char *softmax[] = {"softmax", NULL};
    test_add_node(m, "Softmax", "softmax", input, softmax);
    test_add_output(m, "softmax", NNQ_FLOAT, 2, io_dims);
}

static nnq_quantizer *add_activation(nnq_plan *plan, const char *tensor, int bits, bool is_signed, float lo, float hi) {
    nnq_qscheme scheme = {.bits = bits, .is_signed = is_signed};
    nnq_quantizer *q = NULL;
    CHECK(plan_add(plan, tensor, NNQ_ROLE_ACTIVATION, &scheme, -1, 1, &q) == NNQ_OK);
    CHECK(quantizer_set_range(q, lo, hi, "fixed") == NNQ_OK);
    return q;
}

/* The input on an unsigned (stored shifted) grid, each output on its case's grid, all with `bits` bits. */
static void build_fan_out_plan(nnq_plan *plan, int bits) {
    plan_init(plan);
    add_activation(plan, "x", bits, false, -3.0f, 2.5f);
    for (int i = 0; i < N_CASES; i++)
        add_activation(plan, cases[i].op_type, bits, cases[i].is_signed, cases[i].lo, cases[i].hi);
    add_activation(plan, "softmax", bits, false, 0.0f, 1.0f);
}

/* Sample 0: every value of x's grid (repeated when it has fewer than 256), exactly as the simulation
 * dequantizes them; sample 1: off-grid values, some outside the range. */
static void make_input(const nnq_plan *plan, nnq_tensor *x) {
    int64_t dims[2] = {BATCH, WIDTH};
    memset(x, 0, sizeof *x);
    CHECK(tensor_create(x, NNQ_FLOAT, 2, dims) == NNQ_OK);
    x->name = strdup("x");
    const nnq_quantizer *q = plan_find(plan, "x");
    int32_t q_min, q_max;
    quantizer_grid(q, &q_min, &q_max);
    float *v = x->data;
    for (int32_t i = 0; i < WIDTH; i++) {
        int32_t level = q_min + i % (q_max - q_min + 1);
        v[i] = q->scales[0] * (float)(level - q->zero_points[0]);
    }
    test_random_seed(11);
    for (int32_t i = 0; i < WIDTH; i++) v[WIDTH + i] = test_random_uniform(-4.0f, 4.0f);
}

static int count_ops(const intq_program *program, intq_op_kind kind) {
    int n = 0;
    for (int i = 0; i < program->n_ops; i++) n += program->ops[i].kind == kind;
    return n;
}

static void check_bit_exact(int bits, intq_rescale_mode mode) {
    nnq_model m;
    build_fan_out_model(&m);
    CHECK(model_prepare_for_quantization(&m, NULL) == NNQ_OK);
    nnq_plan plan;
    build_fan_out_plan(&plan, bits);
    intq_program program;
    intq_lowering_options options = {mode, false};
    nnq_status st = intq_lower(&m, &plan, &options, &program);
    CHECK_MSG(st == NNQ_OK, "%s", nnq_last_error());
    if (st != NNQ_OK) {
        plan_free(&plan);
        model_free(&m);
        return;
    }
    CHECK(count_ops(&program, INTQ_OP_LOOKUP) == N_CASES);
    char steps[256];
    CHECK(intq_program_float_steps(&program, steps, sizeof steps) == 1);
    CHECK_MSG(strstr(steps, "Softmax 'softmax'") != NULL, "%s", steps);

    nnq_simulation *sim = NULL;
    CHECK(simulation_create(&m, &plan, true, &sim) == NNQ_OK);
    nnq_int_engine *engine = NULL;
    CHECK(int_engine_create(&program, &engine) == NNQ_OK);
    nnq_tensor x, simulated[N_CASES + 1], integer[N_CASES + 1];
    make_input(&plan, &x);
    st = executor_run(simulation_executor(sim), &x, 1, simulated);
    CHECK_MSG(st == NNQ_OK, "%s", nnq_last_error());
    CHECK(int_engine_run(engine, &x, integer) == NNQ_OK);
    for (int i = 0; i < N_CASES; i++) {
        const float *want = simulated[i].data, *got = integer[i].data;
        int different = 0, first = -1;
        for (int k = 0; k < BATCH * WIDTH; k++)
            if (memcmp(&want[k], &got[k], sizeof(float)) != 0) {
                different++;
                if (first < 0) first = k;
            }
        CHECK_MSG(different == 0, "%d-bit %s: %d of %d outputs differ from the simulation, first at x = %g: %g vs %g",
                  bits, cases[i].op_type, different, BATCH * WIDTH, ((const float *)x.data)[first], got[first],
                  want[first]);
    }
    for (int i = 0; i <= N_CASES; i++) {
        tensor_free(&simulated[i]);
        tensor_free(&integer[i]);
    }
    tensor_free(&x);
    int_engine_free(engine);
    simulation_free(sim);
    intq_program_free(&program);
    plan_free(&plan);
    model_free(&m);
}

/* x (16-bit) -> Sigmoid -> s (8-bit) -> Tanh -> t (16-bit): neither side of both is on 8-bit grids. */
static void test_wide_grids_stay_float(void) {
    nnq_model m;
    test_model_init(&m, 13);
    test_add_input(&m, "x", NNQ_FLOAT, 2, io_dims);
    const char *x[] = {"x", NULL}, *s[] = {"s", NULL}, *t[] = {"t", NULL};
    test_add_node(&m, "Sigmoid", "sigmoid", x, s);
    test_add_node(&m, "Tanh", "tanh", s, t);
    test_add_output(&m, "t", NNQ_FLOAT, 2, io_dims);
    nnq_plan plan;
    plan_init(&plan);
    add_activation(&plan, "x", 16, true, -3.0f, 3.0f);
    add_activation(&plan, "s", 8, false, 0.0f, 1.0f);
    add_activation(&plan, "t", 16, true, -1.0f, 1.0f);
    intq_program program;
    intq_lowering_options options = {INTQ_RESCALE_FIXED32, false};
    CHECK(intq_lower(&m, &plan, &options, &program) == NNQ_OK);
    char steps[512];
    CHECK(intq_program_float_steps(&program, steps, sizeof steps) == 2);
    CHECK_MSG(strstr(steps, "Sigmoid 'sigmoid' (the input has no integer form)") != NULL, "%s", steps);
    CHECK_MSG(strstr(steps, "Tanh 'tanh' (the output has no 8-bit grid in the plan)") != NULL, "%s", steps);
    CHECK(count_ops(&program, INTQ_OP_LOOKUP) == 0);
    intq_program_free(&program);
    plan_free(&plan);
    model_free(&m);
}

int main(void) {
    check_bit_exact(8, INTQ_RESCALE_FIXED32);
    check_bit_exact(4, INTQ_RESCALE_FLOAT); /* the mode does not matter to tables; both lower */
    test_wide_grids_stay_float();
    return check_summary();
}
