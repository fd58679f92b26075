/* TensorProto <-> nnq_tensor conversion, shared by model and .pb I/O. */
#ifndef NNQ_ONNX_TENSOR_PROTO_H
#define NNQ_ONNX_TENSOR_PROTO_H

#include "ir/tensor.h"
#include "onnx.pb-c.h"

/* Converts proto into out (float16/bfloat16 become float32). External data
 * is read relative to base_dir; base_dir NULL refuses external data. */
nnq_status tensor_from_proto(const Onnx__TensorProto *proto, const char *base_dir, nnq_tensor *out);

/* Fills an initialized proto to describe t with raw little-endian data that
 * points into t (no copy): valid while t lives. dims_storage holds the dims. */
void tensor_to_proto(const nnq_tensor *t, Onnx__TensorProto *proto, int64_t *dims_storage);

#endif
