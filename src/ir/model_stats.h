/* Counts that describe a model: operator histogram and parameter totals. */
#ifndef NNQ_IR_MODEL_STATS_H
#define NNQ_IR_MODEL_STATS_H

#include <stdint.h>

#include "ir/graph.h"

typedef struct op_count {
    const char *domain;   /* borrowed from the model */
    const char *op_type;
    int count;
} op_count;

typedef struct model_stats {
    op_count *ops;        /* distinct (domain, op_type), most frequent first */
    int n_ops;
    int64_t parameters;   /* elements in all initializers */
    int64_t parameter_bytes;
} model_stats;

nnq_status model_stats_compute(const nnq_model *model, model_stats *out);
void model_stats_free(model_stats *stats);

#endif
