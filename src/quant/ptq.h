/* Post-training quantization end to end: prepare the graph (fold BN, drop
 * identities, ...), build the plan, set weight grids from their values,
 * calibrate activations on data, resolve shared grids and biases. */
#ifndef NNQ_QUANT_PTQ_H
#define NNQ_QUANT_PTQ_H

#include "data/dataset.h"
#include "ir/graph.h"
#include "ir/passes/passes.h"
#include "quant/calibrate.h"
#include "quant/plan.h"
#include "quant/quant_config.h"

typedef struct ptq_result {
    nnq_model prepared;  /* the FP32 graph the plan annotates */
    nnq_plan plan;
    prep_report prep;
} ptq_result;

/* calibration may be NULL only when no activation needs data. */
nnq_status ptq_run(const nnq_model *model, const quant_config *config, nnq_dataset *calibration,
                   const calibration_options *options, ptq_result *out);
void ptq_result_free(ptq_result *result);

#endif
