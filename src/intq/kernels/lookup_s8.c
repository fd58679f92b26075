/* A unary elementwise op as a 256-entry table (see intq_kernels.h). */
#include "intq_kernels.h"

void lookup_s8(const int8_t *input, int32_t count, const int8_t *table, int8_t *output) {
    /* The table is indexed by the stored value shifted to 0..255. */
    for (int32_t i = 0; i < count; i++) output[i] = table[(int32_t)input[i] + 128];
}
