/* ONNX TensorProto datasets (the .pb files of ONNX's test data and of
 * onnx.numpy_helper.from_array): the inputs tensor's first axis is the sample
 * axis; an optional second .pb holds the labels. A TensorProto is one
 * protobuf message, so the inputs are held in memory as read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "data/dataset_source.h"
#include "onnx/onnx_io.h"

nnq_status dataset_source_open_pb(const char *inputs_path, const char *labels_path, dataset_source *out) {
    memset(out, 0, sizeof *out);
    nnq_tensor inputs = {0}, labels = {0};
    NNQ_TRY(onnx_load_tensor(inputs_path, &inputs));
    nnq_status st = NNQ_OK;
    if (inputs.rank < 1)
        st = nnq_fail(NNQ_ERR_INVALID, "'%s': the tensor is 0-dimensional, it has no sample axis", inputs_path);
    if (st == NNQ_OK && labels_path) st = onnx_load_tensor(labels_path, &labels);
    if (st == NNQ_OK && labels_path) {
        char what[4200];
        snprintf(what, sizeof what, "'%s' (labels of '%s')", labels_path, inputs_path);
        st = dataset_labels_from_tensor(&labels, inputs.dims[0], what, &out->labels);
    }
    if (st == NNQ_OK) st = dataset_source_hold(&inputs, out);
    if (st != NNQ_OK) {
        free(out->labels);
        memset(out, 0, sizeof *out);
    }
    tensor_free(&inputs);
    tensor_free(&labels);
    return st;
}
