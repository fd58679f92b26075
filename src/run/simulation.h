/* Fake-quantized execution (white paper Figure 4b): the model runs in float,
 * but every tensor with a plan quantizer is quantized and dequantized where
 * it is produced - weights and biases once, up front, activations (and graph
 * inputs) by an executor tap as they are computed. FP32 and simulated
 * accuracy then come from the same data and the same executor. */
#ifndef NNQ_RUN_SIMULATION_H
#define NNQ_RUN_SIMULATION_H

#include <stdbool.h>

#include "ir/graph.h"
#include "quant/plan.h"
#include "run/executor.h"

typedef struct nnq_simulation nnq_simulation;

/* model is the graph the plan was made for (prepared: BN folded, ...). With
 * rounding false only the clamping to each grid's range is simulated (PTQ
 * without rounding, a debugging aid). The simulation keeps its own copy of the
 * model; plan must outlive it. */
nnq_status simulation_create(const nnq_model *model, const nnq_plan *plan, bool rounding, nnq_simulation **out);
void simulation_free(nnq_simulation *simulation);

/* The executor that runs the simulated model (add more taps to observe it). */
nnq_executor *simulation_executor(nnq_simulation *simulation);
/* The model with fake-quantized weights that executor runs. */
const nnq_model *simulation_model(const nnq_simulation *simulation);

#endif
