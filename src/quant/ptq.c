#include "quant/ptq.h"

#include <string.h>

#include "base/status.h"
#include "ir/model_copy.h"
#include "quant/adaround.h"
#include "quant/bias_correction.h"
#include "quant/bn_ranges.h"
#include "quant/channel_minima.h"
#include "quant/moment_propagation.h"
#include "quant/weight_ranges.h"

static bool needs_data(const plan_recipe *recipe) {
    for (int i = 0; i < recipe->n; i++)
        if (recipe->observe[i]) return true;
    return false;
}

/* BN statistics describe W1's output channels; equalization rescales them
 * (channel_scale) and absorption shifts them down by c (eq. 23-24). */
static void follow_equalization(bn_parameters *bn, const cle_report *cle) {
    for (int k = 0; k < bn->count; k++) {
        int64_t channels;
        const float *scale = cle_report_channel_scale(cle, bn->tensors[k], &channels);
        if (!scale || channels != tensor_numel(&bn->beta[k])) continue;
        float *beta = bn->beta[k].data, *gamma = bn->gamma[k].data;
        for (int64_t c = 0; c < channels; c++) {
            beta[c] *= scale[c];
            gamma[c] *= scale[c];
        }
    }
}

static void follow_absorption(bn_parameters *bn, const high_bias_report *absorbed) {
    for (int s = 0; s < absorbed->n_shifts; s++) {
        int k = name_map_get(&bn->by_tensor, absorbed->shifts[s].tensor);
        if (k < 0 || absorbed->shifts[s].channels != tensor_numel(&bn->beta[k])) continue;
        float *beta = bn->beta[k].data;
        for (int64_t c = 0; c < absorbed->shifts[s].channels; c++) beta[c] -= absorbed->shifts[s].shift[c];
    }
}

static bool bn_statistics(void *user, const char *tensor, int64_t channels, float *beta, float *gamma) {
    const bn_parameters *bn = user;
    int k = name_map_get(&bn->by_tensor, tensor);
    if (k < 0 || tensor_numel(&bn->beta[k]) != channels) return false;
    memcpy(beta, bn->beta[k].data, sizeof(float) * (size_t)channels);
    memcpy(gamma, bn->gamma[k].data, sizeof(float) * (size_t)channels);
    return true;
}

static bool measured_minimum(void *user, const char *tensor, int64_t channels, float *minimum) {
    return channel_minima_get(user, tensor, channels, minimum);
}

static nnq_status absorb_high_bias(const quant_config *config, nnq_dataset *calibration,
                                   const calibration_options *options, bn_parameters *bn, ptq_result *out) {
    high_bias_source source = {0};
    channel_minima minima = {0};
    if (config->bias_absorption == BIAS_ABSORPTION_EMPIRICAL) {
        if (!calibration) return nnq_fail(NNQ_ERR_USAGE, "empirical bias absorption needs calibration data");
        NNQ_TRY(channel_minima_measure(&out->prepared, calibration, options->batch_size, &minima));
        source.channel_minimum = measured_minimum;
        source.user = &minima;
    } else {
        source.batchnorm_statistics = bn_statistics;
        source.user = bn;
    }
    high_bias_report report = {0};
    nnq_status st = pass_absorb_high_bias(&out->prepared, &source, &report);
    if (st == NNQ_OK) {
        out->bias_layers_absorbed = report.layers_absorbed;
        follow_absorption(bn, &report);
    }
    high_bias_report_free(&report);
    channel_minima_free(&minima);
    return st;
}

/* The FP32-preserving rewrites of white paper §3.2 on the prepared graph. */
static nnq_status equalize(const quant_config *config, nnq_dataset *calibration, const calibration_options *options,
                           bn_parameters *bn, ptq_result *out) {
    if (config->cross_layer_equalization) {
        cle_options cle;
        cle_options_init(&cle);
        cle.replace_bounded_relu = config->replace_relu6;
        cle_report report = {0};
        nnq_status st = pass_equalize_cross_layer(&out->prepared, &cle, &report);
        if (st == NNQ_OK) {
            out->cle_pairs = report.pairs_equalized;
            out->cle_clips_replaced = report.clips_replaced;
            out->cle_spread_before = report.worst_spread_before;
            out->cle_spread_after = report.worst_spread_after;
            follow_equalization(bn, &report);
        }
        cle_report_free(&report);
        NNQ_TRY(st);
    }
    if (config->bias_absorption != BIAS_ABSORPTION_NONE) NNQ_TRY(absorb_high_bias(config, calibration, options, bn, out));
    int removed = 0; /* initializers a replaced Clip no longer reads */
    return pass_remove_dead_nodes(&out->prepared, &removed);
}

/* AdaRound or bias correction, once every grid is known (they measure the
 * quantized model; bias scales must be set). After AdaRound the rounding
 * error has no systematic part left to correct, so the two exclude each other. */
static nnq_status refine_weights(const quant_config *config, nnq_dataset *calibration,
                                 const calibration_options *options, const bn_parameters *bn, ptq_result *out) {
    bool needs_data = config->adaround || config->bias_correction == BIAS_CORRECTION_EMPIRICAL;
    if (needs_data && !calibration)
        return nnq_fail(NNQ_ERR_USAGE, "%s needs calibration data (--calib SPEC)",
                        config->adaround ? "AdaRound" : "empirical bias correction");
    nnq_status st = NNQ_OK;
    if (config->adaround) {
        adaround_options o;
        adaround_options_defaults(&o);
        const adaround_tuning *t = &config->adaround_tuning;
        if (t->samples) o.samples = t->samples;
        if (t->iterations) o.iterations = t->iterations;
        if (t->batch_size) o.batch_size = t->batch_size;
        if (t->regularization > 0.0f) o.regularization = t->regularization;
        if (t->beta_start > 0.0f) o.beta_start = t->beta_start;
        if (t->beta_end > 0.0f) o.beta_end = t->beta_end;
        if (t->warmup > 0.0f) o.warmup = t->warmup;
        o.on_progress = options->on_progress;
        o.progress_user = options->progress_user;
        adaround_report report = {0};
        st = ptq_adaround(&out->prepared, &out->plan, calibration, &o, &report);
        out->adaround_layers = report.layers_rounded;
        adaround_report_free(&report);
    } else if (config->bias_correction != BIAS_CORRECTION_NONE) {
        bias_correction_report report = {0};
        if (config->bias_correction == BIAS_CORRECTION_ANALYTIC) {
            st = ptq_correct_bias_analytic(&out->prepared, &out->plan, bn, &report);
        } else {
            bias_correction_options o;
            bias_correction_options_defaults(&o);
            o.batch_size = options->batch_size > 0 ? options->batch_size : o.batch_size;
            st = ptq_correct_bias_empirical(&out->prepared, &out->plan, calibration, &o, &report);
        }
        out->bias_layers_corrected = report.layers_corrected;
        bias_correction_report_free(&report);
    }
    return st;
}

static nnq_status run(const nnq_model *model, const quant_config *config, nnq_dataset *calibration,
                      const calibration_options *options, ptq_result *out, plan_recipe *recipe, bn_parameters *bn) {
    NNQ_TRY(bn_parameters_collect(model, bn)); /* before folding erases them */
    NNQ_TRY(model_copy(&out->prepared, model));
    NNQ_TRY(model_prepare_for_quantization(&out->prepared, &out->prep));
    NNQ_TRY(equalize(config, calibration, options, bn, out));
    NNQ_TRY(plan_build(&out->prepared, config, &out->plan, recipe));
    NNQ_TRY(plan_set_weight_ranges(&out->prepared, &out->plan, recipe, config, &options->calib));
    /* "bn" ranges where a BN determines the tensor; the others fall back to MSE on data. */
    quant_config data_config = *config;
    if (strcmp(config->activation_method, "bn") == 0) {
        int set = 0;
        NNQ_TRY(plan_set_bn_ranges(&out->prepared, &out->plan, recipe, bn, &options->calib, &set));
        data_config.activation_method = "mse";
    }
    bool data_free = !calibration && !options->reload_path;
    if (data_free && needs_data(recipe) && strcmp(config->activation_method, "bn") == 0) {
        /* No data at all: the rest from moments propagated from BN statistics and the input range. */
        input_range input = {options->input_lo, options->input_hi};
        NNQ_TRY(plan_set_propagated_ranges(&out->prepared, &out->plan, recipe, bn,
                                           options->has_input_range ? &input : NULL, &options->calib,
                                           &out->propagated_ranges, &out->propagated_layers_without_bn));
    }
    if (needs_data(recipe)) {
        if (data_free) {
            const char *tensor = "";
            for (int i = 0; i < recipe->n && !*tensor; i++)
                if (recipe->observe[i]) tensor = out->plan.quantizers[i].tensor;
            return nnq_fail(NNQ_ERR_USAGE, "the range of '%s' needs calibration data (--calib SPEC)", tensor);
        }
        NNQ_TRY(plan_calibrate(&out->prepared, &out->plan, recipe, &data_config, calibration, options));
    }
    NNQ_TRY(plan_recipe_resolve(&out->plan, recipe));
    return refine_weights(config, calibration, options, bn, out);
}

nnq_status ptq_run(const nnq_model *model, const quant_config *config, nnq_dataset *calibration,
                   const calibration_options *options, ptq_result *out) {
    memset(out, 0, sizeof *out);
    plan_recipe recipe = {0};
    bn_parameters bn = {0};
    nnq_status st = run(model, config, calibration, options, out, &recipe, &bn);
    plan_recipe_free(&recipe);
    bn_parameters_free(&bn);
    if (st != NNQ_OK) ptq_result_free(out);
    return st;
}

void ptq_result_free(ptq_result *result) {
    model_free(&result->prepared);
    plan_free(&result->plan);
    memset(result, 0, sizeof *result);
}
