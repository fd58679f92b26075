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
    int cle_pairs;               /* layer pairs equalized */
    int cle_clips_replaced;      /* ReLU6 turned into Relu for CLE (FP32 changed) */
    double cle_spread_before, cle_spread_after; /* worst per-channel weight range spread */
    int bias_layers_absorbed;    /* layers whose high bias moved to the next layer */
    int bias_layers_corrected;   /* bias correction (§3.3) */
    int adaround_layers;         /* layers whose weights AdaRound rounded (§3.4) */
    int propagated_ranges;       /* data-free ranges from propagated moments (no BN output) */
    int propagated_layers_without_bn; /* linear layers those moments crossed without a BN */
} ptq_result;

/* Steps, in order: prepare the graph; cross-layer equalization and high-bias
 * absorption when configured (FP32-preserving graph changes); build the
 * plan; weight grids; BN-based or calibrated activation grids; resolve;
 * then AdaRound or bias correction, which change the weights or biases the
 * resolved grids apply to.
 * calibration may be NULL only when nothing needs data. */
nnq_status ptq_run(const nnq_model *model, const quant_config *config, nnq_dataset *calibration,
                   const calibration_options *options, ptq_result *out);
void ptq_result_free(ptq_result *result);

#endif
