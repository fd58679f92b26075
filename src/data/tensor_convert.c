#include "data/tensor_convert.h"

#include <stdlib.h>

#include "base/status.h"

nnq_status tensor_convert_to_float(nnq_tensor *t) {
    if (t->dtype == NNQ_FLOAT) return NNQ_OK;
    if (!t->data || (!dtype_is_supported(t->dtype) && t->dtype != NNQ_FLOAT16))
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "tensor '%s': cannot convert %s data to float",
                        t->name ? t->name : "", dtype_name(t->dtype));
    int64_t n = tensor_numel(t);
    if (n < 0)
        return nnq_fail(NNQ_ERR_INVALID, "tensor '%s': cannot convert a tensor of unknown shape",
                        t->name ? t->name : "");
    float *converted = malloc((size_t)(n > 0 ? n : 1) * sizeof *converted);
    if (!converted)
        return nnq_fail(NNQ_ERR_NOMEM, "tensor '%s': cannot allocate %lld floats",
                        t->name ? t->name : "", (long long)n);
    for (int64_t i = 0; i < n; i++) converted[i] = (float)tensor_get_double(t, i);
    free(t->data);
    t->data = converted;
    t->dtype = NNQ_FLOAT;
    return NNQ_OK;
}
