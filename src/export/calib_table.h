/* The calibration table, as ONNX Runtime's tool writes one: for every
 * activation the plan quantizes, the observed extremes, the chosen clipping
 * range and method, and the resulting scale and zero point - as JSON
 * (machine-readable) and as aligned text (for people). Written atomically. */
#ifndef NNQ_EXPORT_CALIB_TABLE_H
#define NNQ_EXPORT_CALIB_TABLE_H

#include "quant/plan.h"

nnq_status calib_table_write_json(const nnq_plan *plan, const char *path);
nnq_status calib_table_write_text(const nnq_plan *plan, const char *path);

#endif
