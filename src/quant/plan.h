/* The quantization plan: the FP32 graph stays as it is, and the plan
 * attaches a quantizer to each tensor that is quantized (DESIGN.md: "one
 * FP32 graph, quantization as an annotation"). Simulation, QDQ export and
 * integer lowering all read graph + plan.
 *
 * A quantizer holds its grid (nnq_qscheme), its granularity (per tensor, or
 * per channel along `axis`), one (scale, zero point) per channel, and how its
 * range was chosen (method, observed and chosen ranges) for the calibration
 * table and reports. */
#ifndef NNQ_QUANT_PLAN_H
#define NNQ_QUANT_PLAN_H

#include <stdint.h>

#include "nnquant.h"
#include "quant/qscheme.h"

typedef enum nnq_quant_role {
    NNQ_ROLE_ACTIVATION = 0, /* computed at run time (and graph inputs): ranges from calibration */
    NNQ_ROLE_WEIGHT = 1,     /* a constant weight: ranges from its values */
    NNQ_ROLE_BIAS = 2,       /* int32 bias of a Conv/Gemm: scale s_x * s_w, zero point 0 */
} nnq_quant_role;

typedef struct nnq_quantizer {
    char *tensor;            /* the quantized tensor's name */
    nnq_quant_role role;
    nnq_qscheme scheme;
    int axis;                /* -1: per tensor; else the channel axis */
    int n_channels;          /* entries in scales / zero_points (1 per tensor) */
    float *scales;
    int32_t *zero_points;
    /* Where the grid comes from. */
    char *method;            /* "mse", "minmax", ... or "shared:<tensor>" for pass-through grids */
    float observed_min, observed_max; /* over the calibration data (activations) or values (weights) */
    float range_min, range_max;       /* the clipping range chosen (per-tensor quantizers) */
} nnq_quantizer;

typedef struct nnq_plan {
    int n_quantizers, capacity;
    nnq_quantizer *quantizers;
    char *model_name;        /* for reports */
    /* The prepared FP32 graph the plan annotates, a file next to the plan
     * (plan_model.h); NULL: rebuild it from the model. */
    char *prepared_model;
} nnq_plan;

void plan_init(nnq_plan *plan);
void plan_free(nnq_plan *plan);

/* Adds a quantizer with n_channels (scale, zero point) slots (scales 1, zero
 * points 0) and returns it; the plan owns it. Fails if the tensor already has one. */
nnq_status plan_add(nnq_plan *plan, const char *tensor, nnq_quant_role role, const nnq_qscheme *scheme, int axis,
                    int n_channels, nnq_quantizer **out);
nnq_quantizer *plan_find(const nnq_plan *plan, const char *tensor);

/* Sets a per-tensor quantizer's grid from a real range (qscheme_params) and records the method. */
nnq_status quantizer_set_range(nnq_quantizer *q, float lo, float hi, const char *method);

/* Plans are JSON ("--plan-out", "--plan"); writing is atomic. Reading
 * validates every field and names the tensor at fault. */
nnq_status plan_write_json(const nnq_plan *plan, const char *path);
nnq_status plan_read_json(const char *path, nnq_plan *plan);

#endif
