/* Calibration: streams a dataset through the FP32 model with an observer on
 * every activation the plan quantizes (executor taps), then sets each
 * activation's grid with the configured range method. Memory is that of the
 * observers (fixed-size histograms, a bounded logit reservoir), whatever the
 * number of samples. */
#ifndef NNQ_QUANT_CALIBRATE_H
#define NNQ_QUANT_CALIBRATE_H

#include "calib/calib_options.h"
#include "data/dataset.h"
#include "ir/graph.h"
#include "quant/plan_builder.h"

typedef struct calibration_options {
    int64_t batch_size;                 /* samples per run (64 when 0) */
    nnq_calib_options calib;
    void (*on_progress)(void *user, int64_t done, int64_t total);
    void *progress_user;
    const char *save_path;   /* write the observers here after running the data (--calib-save) */
    const char *reload_path; /* take the observers from here instead of running data (--calib-reload) */
    /* Data-free runs: the model input's value range (--input-range, or what
     * the image preprocessing produces), when known. */
    bool has_input_range;
    float input_lo, input_hi;
} calibration_options;

/* Observes every quantizer the recipe marks `observe` over all of dataset's
 * samples (the caller sets its limit) - or reloads those observers from
 * options->reload_path, when dataset may be NULL - then sets their ranges: the
 * configured logits method for graph outputs, the activation method for the
 * rest, each range narrowed to the clamp of a fused activation. */
nnq_status plan_calibrate(const nnq_model *model, nnq_plan *plan, const plan_recipe *recipe,
                          const quant_config *config, nnq_dataset *dataset, const calibration_options *options);

#endif
