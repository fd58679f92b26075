#include "quant/calibrate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/name_map.h"
#include "base/status.h"
#include "calib/observer.h"
#include "calib/observer_file.h"
#include "quant/calibration_pass.h"
#include "calib/range_method.h"
#include "run/executor.h"

typedef struct calibration {
    nnq_plan *plan;
    const plan_recipe *recipe;
    const nnq_calib_options *options;
    name_map observer_of;      /* tensor -> index into observers */
    nnq_observer *observers;
    bool *initialized;
    int *quantizer_of;         /* observer -> quantizer index */
    int n_observers;
} calibration;

/* The executor tap: feeds a produced tensor to its observer. Logits observers
 * are sized on first sight, from the tensor's last axis (the classes). */
static nnq_status observe_tensor(void *user, const nnq_node *node, const char *name, nnq_tensor *value) {
    (void)node;
    calibration *c = user;
    int k = name_map_get(&c->observer_of, name);
    if (k < 0) return NNQ_OK;
    if (value->dtype != NNQ_FLOAT)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "tensor '%s' is %s: only float tensors are quantized", name,
                        dtype_name(value->dtype));
    if (!c->initialized[k]) {
        int q = c->quantizer_of[k];
        int64_t classes = c->recipe->is_logits[q] && value->rank >= 1 ? value->dims[value->rank - 1] : 0;
        NNQ_TRY(observer_init(&c->observers[k], c->options, classes));
        c->initialized[k] = true;
    }
    nnq_status st = observer_feed(&c->observers[k], value->data, tensor_numel(value));
    return st == NNQ_OK ? NNQ_OK : nnq_fail_context(st, "observing '%s'", name);
}

static nnq_status calibration_init(calibration *c, nnq_plan *plan, const plan_recipe *recipe,
                                   const nnq_calib_options *options) {
    memset(c, 0, sizeof *c);
    c->plan = plan;
    c->recipe = recipe;
    c->options = options;
    int n = 0;
    for (int i = 0; i < recipe->n; i++) n += recipe->observe[i];
    c->observers = calloc((size_t)n + 1, sizeof *c->observers);
    c->initialized = calloc((size_t)n + 1, sizeof *c->initialized);
    c->quantizer_of = calloc((size_t)n + 1, sizeof *c->quantizer_of);
    if (!c->observers || !c->initialized || !c->quantizer_of) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    NNQ_TRY(name_map_init(&c->observer_of, (size_t)n));
    for (int i = 0; i < recipe->n; i++) {
        if (!recipe->observe[i]) continue;
        c->quantizer_of[c->n_observers] = i;
        NNQ_TRY(name_map_put(&c->observer_of, plan->quantizers[i].tensor, c->n_observers));
        c->n_observers++;
    }
    return NNQ_OK;
}

static void calibration_free(calibration *c) {
    for (int k = 0; k < c->n_observers; k++)
        if (c->initialized[k]) observer_free(&c->observers[k]);
    free(c->observers);
    free(c->initialized);
    free(c->quantizer_of);
    name_map_free(&c->observer_of);
}

static nnq_status run_batches(const nnq_model *model, calibration *c, nnq_dataset *dataset,
                              const calibration_options *options) {
    nnq_executor *ex = NULL;
    NNQ_TRY(executor_create(model, &ex));
    nnq_status st = executor_add_tap(ex, (nnq_tap){observe_tensor, c});
    calibration_pass_options pass = {.batch_size = options->batch_size, .on_progress = options->on_progress,
                                     .progress_user = options->progress_user};
    int64_t done = 0;
    if (st == NNQ_OK) st = calibration_pass_run(&ex, 1, model, dataset, &pass, &done);
    executor_free(ex);
    if (st == NNQ_OK && done == 0) st = nnq_fail(NNQ_ERR_INVALID, "calibration data '%s' holds no samples", dataset_spec(dataset));
    return st;
}

static nnq_status set_ranges(calibration *c, const quant_config *config) {
    nnq_range_method activation_method, logits_method;
    NNQ_TRY(range_method_from_name(config->activation_method, &activation_method));
    NNQ_TRY(range_method_from_name(config->logits_method, &logits_method));
    for (int k = 0; k < c->n_observers; k++) {
        int i = c->quantizer_of[k];
        nnq_quantizer *q = &c->plan->quantizers[i];
        if (!c->initialized[k])
            return nnq_fail(NNQ_ERR_INVALID, "tensor '%s' was never computed during calibration", q->tensor);
        const nnq_observer *obs = &c->observers[k];
        nnq_range_method method = c->recipe->is_logits[i] ? logits_method : activation_method;
        float lo, hi;
        nnq_status st = calib_find_range(obs, method, &q->scheme, c->options, &lo, &hi);
        if (st != NNQ_OK) return nnq_fail_context(st, "range of '%s'", q->tensor);
        /* A fused Relu/Clip already clamps: no grid level is spent outside its bounds (white paper §2.3.2). */
        lo = fmaxf(lo, c->recipe->clamp_min[i]);
        hi = fminf(hi, c->recipe->clamp_max[i]);
        if (lo > hi) lo = hi;
        NNQ_TRY(quantizer_set_range(q, lo, hi, range_method_name(method)));
        q->observed_min = (float)obs->min;
        q->observed_max = (float)obs->max;
        if (observer_nonfinite_count(obs))
            fprintf(stderr, "nnquant: warning: tensor '%s' had %llu NaN or infinite values during calibration\n",
                    q->tensor, (unsigned long long)observer_nonfinite_count(obs));
    }
    return NNQ_OK;
}

/* Takes each needed observer out of a saved set (the set keeps an empty shell). */
static nnq_status reload_observers(calibration *c, const char *path) {
    observer_set saved;
    NNQ_TRY(observer_file_read(path, &saved));
    nnq_status st = NNQ_OK;
    for (int k = 0; st == NNQ_OK && k < c->n_observers; k++) {
        const char *tensor = c->plan->quantizers[c->quantizer_of[k]].tensor;
        nnq_observer *found = (nnq_observer *)observer_set_find(&saved, tensor);
        if (!found) {
            st = nnq_fail(NNQ_ERR_INVALID,
                          "calibration file '%s' has no statistics for tensor '%s' (made for another model or options?)",
                          path, tensor);
            break;
        }
        c->observers[k] = *found;
        memset(found, 0, sizeof *found);
        c->initialized[k] = true;
    }
    observer_set_free(&saved);
    return st;
}

static nnq_status save_observers(const calibration *c, const char *path) {
    char **names = calloc((size_t)c->n_observers + 1, sizeof *names);
    if (!names) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    for (int k = 0; k < c->n_observers; k++) names[k] = c->plan->quantizers[c->quantizer_of[k]].tensor;
    observer_set view = {c->n_observers, names, c->observers};
    nnq_status st = observer_file_write(path, &view);
    free(names);
    return st;
}

nnq_status plan_calibrate(const nnq_model *model, nnq_plan *plan, const plan_recipe *recipe,
                          const quant_config *config, nnq_dataset *dataset, const calibration_options *options) {
    calibration c;
    nnq_status st = calibration_init(&c, plan, recipe, &options->calib);
    if (st == NNQ_OK) st = options->reload_path ? reload_observers(&c, options->reload_path)
                                                : run_batches(model, &c, dataset, options);
    if (st == NNQ_OK && options->save_path) st = save_observers(&c, options->save_path);
    if (st == NNQ_OK) st = set_ranges(&c, config);
    calibration_free(&c);
    return st;
}
