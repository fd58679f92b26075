/* libFuzzer target: arbitrary bytes through the model loader and, when they
 * load, through executor preparation and the unsupported-operator listing.
 * Any crash, leak or sanitizer report is a bug; errors are expected. */
#include <stddef.h>
#include <stdint.h>

#include "onnx/onnx_io.h"
#include "run/executor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nnq_model model;
    if (onnx_load_model_memory(data, size, NULL, "fuzz input", &model) != NNQ_OK) return 0;
    nnq_executor *executor = NULL;
    if (executor_create(&model, &executor) == NNQ_OK) executor_free(executor);
    char unsupported[256];
    executor_list_unsupported(&model, unsupported, sizeof unsupported);
    model_free(&model);
    return 0;
}
