/* ONNX files <-> the in-memory model, through the protobuf-c bindings
 * generated at build time from Debian's onnx.proto. */
#ifndef NNQ_ONNX_IO_H
#define NNQ_ONNX_IO_H

#include <stddef.h>

#include "ir/graph.h"

/* Loads a model file. Tensors stored as external data are read from files
 * beside the model (paths relative to the model's folder, as ONNX defines). */
nnq_status onnx_load_model(const char *path, nnq_model *out);
/* Same from bytes in memory; base_dir locates external data (NULL: none
 * allowed); what names the source in error messages. */
nnq_status onnx_load_model_memory(const void *bytes, size_t size, const char *base_dir,
                                  const char *what, nnq_model *out);

typedef struct onnx_save_options {
    /* Tensors of at least this many bytes go to a side file ("<model file>.data"
     * unless external_file_name says otherwise); 0 keeps everything inline. */
    size_t external_min_bytes;
    const char *external_file_name;
} onnx_save_options;

/* Writes the model atomically (temporary file, then rename). opts may be NULL. */
nnq_status onnx_save_model(const nnq_model *model, const char *path, const onnx_save_options *opts);

/* A single serialized TensorProto (.pb), as ONNX's test data stores inputs and outputs. */
nnq_status onnx_load_tensor(const char *path, nnq_tensor *out);
nnq_status onnx_load_tensor_memory(const void *bytes, size_t size, const char *what, nnq_tensor *out);
nnq_status onnx_save_tensor(const char *path, const nnq_tensor *tensor);

#endif
