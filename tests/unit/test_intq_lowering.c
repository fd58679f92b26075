/* The whole lowering on a hand-built Conv -> Relu -> MaxPool -> Flatten -> Gemm
 * model: the integer engine's outputs equal the fake-quantized simulation's
 * (the reference: float arithmetic on quantize-dequantized values, an
 * independent implementation) within one step of the output grid, for the
 * float and fixed32 modes; the program is integer-only with the Relu folded
 * into the Conv's requantization; a node the plan keeps in float is a float
 * step; CLI-level errors name the tensor. */
#include <math.h>
#include <string.h>

#include "calib/calib_options.h"
#include "check.h"
#include "intq/engine.h"
#include "intq/lowering.h"
#include "ir/passes/passes.h"
#include "quant/plan_builder.h"
#include "quant/weight_ranges.h"
#include "run/executor.h"
#include "run/simulation.h"
#include "small_cnn_model.h"
#include "test_model.h"

static void build_model(nnq_model *m, const char *head) { build_small_cnn(m, head, 7); }

/* W8A8 per-channel plan with fixed activation ranges (input [-1, 1], the rest [-3, 3] or [0, 3]). */
static void build_plan(nnq_model *m, nnq_plan *plan) {
    quant_config config;
    quant_config_defaults(&config);
    plan_recipe recipe;
    CHECK(plan_build(m, &config, plan, &recipe) == NNQ_OK);
    nnq_calib_options options;
    calib_options_default(&options);
    CHECK(plan_set_weight_ranges(m, plan, &recipe, &config, &options) == NNQ_OK);
    for (int i = 0; i < plan->n_quantizers; i++)
        if (recipe.observe[i]) {
            nnq_quantizer *q = &plan->quantizers[i];
            float lo = strcmp(q->tensor, "x") == 0 ? -1.0f : q->scheme.is_signed ? -3.0f : 0.0f;
            quantizer_set_range(q, lo, strcmp(q->tensor, "x") == 0 ? 1.0f : 3.0f, "fixed");
        }
    CHECK(plan_recipe_resolve(plan, &recipe) == NNQ_OK);
    plan_recipe_free(&recipe);
}

static void make_input(nnq_tensor *x, int batch) {
    int64_t dims[4] = {batch, 2, 6, 6};
    memset(x, 0, sizeof *x);
    tensor_create(x, NNQ_FLOAT, 4, dims);
    x->name = strdup("x");
    for (int64_t i = 0; i < tensor_numel(x); i++) ((float *)x->data)[i] = test_random_uniform(-1.1f, 1.1f);
}

static float output_step(const nnq_plan *plan, const char *name) { return plan_find(plan, name)->scales[0]; }

static void check_against_simulation(nnq_model *m, nnq_plan *plan, intq_rescale_mode mode, bool per_output) {
    nnq_simulation *sim = NULL;
    CHECK(simulation_create(m, plan, true, &sim) == NNQ_OK);
    intq_program program;
    intq_lowering_options options = {mode, per_output};
    CHECK(intq_lower(m, plan, &options, &program) == NNQ_OK);
    CHECK(program.n_float_nodes == 0);
    /* quantize, conv (+ relu), maxpool, fully_connected, dequantize */
    intq_op_kind expected[5] = {INTQ_OP_QUANTIZE, INTQ_OP_CONV, INTQ_OP_MAXPOOL, INTQ_OP_FULLY_CONNECTED,
                                INTQ_OP_DEQUANTIZE};
    CHECK(program.n_ops == 5);
    for (int i = 0; i < program.n_ops && i < 5; i++) CHECK(program.ops[i].kind == expected[i]);
    nnq_int_engine *engine = NULL;
    CHECK(int_engine_create(&program, &engine) == NNQ_OK);
    nnq_tensor x, simulated, integer;
    make_input(&x, 16);
    nnq_status st = executor_run(simulation_executor(sim), &x, 1, &simulated);
    CHECK_MSG(st == NNQ_OK, "%s", nnq_last_error());
    CHECK(int_engine_run(engine, &x, &integer) == NNQ_OK);
    CHECK(tensor_numel(&integer) == 16 * 4 && integer.dims[0] == 16);
    float step = output_step(plan, "y");
    double worst = 0;
    int different = 0;
    for (int64_t i = 0; i < tensor_numel(&integer); i++) {
        double d = fabs(((float *)integer.data)[i] - ((float *)simulated.data)[i]);
        worst = fmax(worst, d);
        different += d > 0.5 * step;
    }
    CHECK_MSG(worst <= 1.001 * step, "mode %d: max |integer - simulated| %g > one step %g", mode, worst, step);
    CHECK_MSG(different <= 3, "mode %d: %d of 64 outputs differ", mode, different);
    tensor_free(&x);
    tensor_free(&simulated);
    tensor_free(&integer);
    int_engine_free(engine);
    intq_program_free(&program);
    simulation_free(sim);
}

static void test_matches_simulation(void) {
    nnq_model m;
    build_model(&m, NULL);
    CHECK(model_prepare_for_quantization(&m, NULL) == NNQ_OK);
    nnq_plan plan;
    build_plan(&m, &plan);
    check_against_simulation(&m, &plan, INTQ_RESCALE_FLOAT, true);
    check_against_simulation(&m, &plan, INTQ_RESCALE_FIXED32, true);
    /* Shift modes lower and run (accuracy is measured on the bundled models, not asserted here). */
    intq_program program;
    intq_lowering_options options = {INTQ_RESCALE_SINGLE_SHIFT, false};
    CHECK(intq_lower(&m, &plan, &options, &program) == NNQ_OK);
    CHECK(program.n_ops == 5 && program.ops[1].stage.n_rescales == 1 &&
          program.ops[1].stage.rescales[0].multiplier == 1);
    intq_program_free(&program);
    plan_free(&plan);
    model_free(&m);
}

static void test_float_steps(void) {
    nnq_model m;
    build_model(&m, "Softmax");
    CHECK(model_prepare_for_quantization(&m, NULL) == NNQ_OK);
    nnq_plan plan;
    build_plan(&m, &plan);
    intq_program program;
    intq_lowering_options options = {INTQ_RESCALE_FIXED32, true};
    CHECK(intq_lower(&m, &plan, &options, &program) == NNQ_OK);
    char list[256];
    CHECK(intq_program_float_steps(&program, list, sizeof list) == 1);
    CHECK_MSG(strstr(list, "Softmax 'head'") != NULL, "%s", list);
    nnq_int_engine *engine = NULL;
    CHECK(int_engine_create(&program, &engine) == NNQ_OK);
    nnq_tensor x, y;
    make_input(&x, 3);
    CHECK(int_engine_run(engine, &x, &y) == NNQ_OK);
    for (int64_t i = 0; i < tensor_numel(&y); i++) CHECK(((float *)y.data)[i] >= 0.0f && ((float *)y.data)[i] <= 1.0f);
    tensor_free(&x);
    tensor_free(&y);
    int_engine_free(engine);
    intq_program_free(&program);
    plan_free(&plan);
    model_free(&m);
}

int main(void) {
    test_matches_simulation();
    test_float_steps();
    return check_summary();
}
