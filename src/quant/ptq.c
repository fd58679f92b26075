#include "quant/ptq.h"

#include <string.h>

#include "base/status.h"
#include "ir/model_copy.h"
#include "quant/bn_ranges.h"
#include "quant/weight_ranges.h"

static bool needs_data(const plan_recipe *recipe) {
    for (int i = 0; i < recipe->n; i++)
        if (recipe->observe[i]) return true;
    return false;
}

/* "bn" ranges come from the BN parameters, read before folding erases them;
 * tensors no BN determines fall back to MSE on the calibration data. */
static nnq_status set_bn_ranges(const nnq_model *model, ptq_result *out, plan_recipe *recipe,
                                const calibration_options *options) {
    bn_parameters bn;
    nnq_status st = bn_parameters_collect(model, &bn);
    int set = 0;
    if (st == NNQ_OK) st = plan_set_bn_ranges(&out->prepared, &out->plan, recipe, &bn, &options->calib, &set);
    bn_parameters_free(&bn);
    return st;
}

static nnq_status run(const nnq_model *model, const quant_config *config, nnq_dataset *calibration,
                      const calibration_options *options, ptq_result *out, plan_recipe *recipe) {
    NNQ_TRY(model_copy(&out->prepared, model));
    NNQ_TRY(model_prepare_for_quantization(&out->prepared, &out->prep));
    NNQ_TRY(plan_build(&out->prepared, config, &out->plan, recipe));
    NNQ_TRY(plan_set_weight_ranges(&out->prepared, &out->plan, recipe, config, &options->calib));
    quant_config data_config = *config;
    if (strcmp(config->activation_method, "bn") == 0) {
        NNQ_TRY(set_bn_ranges(model, out, recipe, options));
        data_config.activation_method = "mse";
    }
    if (needs_data(recipe)) {
        if (!calibration && !options->reload_path) {
            const char *tensor = "";
            for (int i = 0; i < recipe->n && !*tensor; i++)
                if (recipe->observe[i]) tensor = out->plan.quantizers[i].tensor;
            return nnq_fail(NNQ_ERR_USAGE, "the range of '%s' needs calibration data (--calib SPEC)", tensor);
        }
        NNQ_TRY(plan_calibrate(&out->prepared, &out->plan, recipe, &data_config, calibration, options));
    }
    return plan_recipe_resolve(&out->plan, recipe);
}

nnq_status ptq_run(const nnq_model *model, const quant_config *config, nnq_dataset *calibration,
                   const calibration_options *options, ptq_result *out) {
    memset(out, 0, sizeof *out);
    plan_recipe recipe = {0};
    nnq_status st = run(model, config, calibration, options, out, &recipe);
    plan_recipe_free(&recipe);
    if (st != NNQ_OK) ptq_result_free(out);
    return st;
}

void ptq_result_free(ptq_result *result) {
    model_free(&result->prepared);
    plan_free(&result->plan);
    memset(result, 0, sizeof *result);
}
