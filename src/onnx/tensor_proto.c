/* TensorProto decoding per onnx.proto: data lives in raw_data (little-endian
 * bytes), in one typed repeated field chosen by data_type, or in an external
 * file named by external_data {location, offset, length}. */
#include "onnx/tensor_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/read_file.h"
#include "base/status.h"

static const char *proto_name(const Onnx__TensorProto *proto) {
    return proto->name && *proto->name ? proto->name : "<unnamed>";
}

/* The dtype nnquant stores for a file dtype: half floats widen to float32. */
static nnq_dtype stored_dtype(int file_dtype) {
    if (file_dtype == NNQ_FLOAT16 || file_dtype == 16 /* BFLOAT16 */) return NNQ_FLOAT;
    return (nnq_dtype)file_dtype;
}

static size_t file_element_size(int file_dtype) {
    if (file_dtype == 16) return 2; /* BFLOAT16 */
    return dtype_size((nnq_dtype)file_dtype);
}

static float bfloat16_to_float(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Copies little-endian file bytes of n elements into t, widening half floats. */
static void decode_raw(const uint8_t *bytes, int file_dtype, int64_t n, nnq_tensor *t) {
    if (n == 0) return;
    if (file_dtype == NNQ_FLOAT16 || file_dtype == 16) {
        float *dst = t->data;
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(bytes[2 * i] | (bytes[2 * i + 1] << 8));
            dst[i] = file_dtype == 16 ? bfloat16_to_float(h) : float16_to_float(h);
        }
        return;
    }
    /* x86-64 and every target nnquant builds for are little-endian, as ONNX's raw_data is. */
    memcpy(t->data, bytes, (size_t)n * dtype_size(t->dtype));
}

/* How many values the typed repeated field for data_type holds (onnx.proto
 * lists which field carries which type). */
static size_t typed_count(const Onnx__TensorProto *proto, int file_dtype) {
    switch (file_dtype) {
    case NNQ_FLOAT: return proto->n_float_data;
    case NNQ_DOUBLE: return proto->n_double_data;
    case NNQ_INT64: return proto->n_int64_data;
    case NNQ_UINT32:
    case NNQ_UINT64: return proto->n_uint64_data;
    default: return proto->n_int32_data; /* INT32, INT16, INT8, UINT16, UINT8, BOOL and half-float bits */
    }
}

/* Copies the n values of the typed field (typed_count(...) == n) into t. */
static void decode_typed(const Onnx__TensorProto *proto, int file_dtype, int64_t n, nnq_tensor *t) {
    if (n == 0) return;
    switch (file_dtype) {
    case NNQ_FLOAT: memcpy(t->data, proto->float_data, (size_t)n * 4); return;
    case NNQ_DOUBLE: memcpy(t->data, proto->double_data, (size_t)n * 8); return;
    case NNQ_INT64: memcpy(t->data, proto->int64_data, (size_t)n * 8); return;
    case NNQ_UINT64: memcpy(t->data, proto->uint64_data, (size_t)n * 8); return;
    case NNQ_UINT32:
        for (int64_t i = 0; i < n; i++) ((uint32_t *)t->data)[i] = (uint32_t)proto->uint64_data[i];
        return;
    default:
        for (int64_t i = 0; i < n; i++) {
            int32_t v = proto->int32_data[i];
            if (file_dtype == NNQ_FLOAT16) ((float *)t->data)[i] = float16_to_float((uint16_t)v);
            else if (file_dtype == 16) ((float *)t->data)[i] = bfloat16_to_float((uint16_t)v);
            else tensor_set_double(t, i, v);
        }
        return;
    }
}

/* Element count of the declared dims, or -1 when it exceeds any tensor nnquant
 * could hold (checked before anything is allocated: a corrupt file must not
 * make the loader ask for terabytes). */
static int64_t declared_count(const Onnx__TensorProto *proto) {
    const int64_t limit = (int64_t)1 << 40;
    int64_t n = 1;
    for (size_t i = 0; i < proto->n_dims; i++) {
        if (proto->dims[i] != 0 && n > limit / proto->dims[i]) return -1;
        n *= proto->dims[i];
    }
    return n;
}

static const char *external_value(const Onnx__TensorProto *proto, const char *key) {
    for (size_t i = 0; i < proto->n_external_data; i++)
        if (proto->external_data[i]->key && strcmp(proto->external_data[i]->key, key) == 0)
            return proto->external_data[i]->value;
    return NULL;
}

static nnq_status read_external(const Onnx__TensorProto *proto, const char *base_dir, int64_t bytes_needed,
                                void **bytes) {
    const char *location = external_value(proto, "location");
    if (!location || !*location)
        return nnq_fail(NNQ_ERR_PARSE, "tensor '%s': external data without a location", proto_name(proto));
    if (!base_dir)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "tensor '%s': external data '%s' cannot be read here",
                        proto_name(proto), location);
    /* ONNX's checker requires locations relative to the model, inside its folder. */
    if (location[0] == '/' || strstr(location, ".."))
        return nnq_fail(NNQ_ERR_INVALID, "tensor '%s': external data location '%s' leaves the model's folder",
                        proto_name(proto), location);
    const char *offset_text = external_value(proto, "offset");
    const char *length_text = external_value(proto, "length");
    char *end = NULL;
    long long offset = offset_text ? strtoll(offset_text, &end, 10) : 0;
    if (offset_text && (*end || offset < 0))
        return nnq_fail(NNQ_ERR_PARSE, "tensor '%s': bad external data offset '%s'", proto_name(proto), offset_text);
    long long length = bytes_needed;
    if (length_text) {
        length = strtoll(length_text, &end, 10);
        if (*end || length != bytes_needed)
            return nnq_fail(NNQ_ERR_PARSE, "tensor '%s': external data length '%s' does not match its %lld bytes",
                            proto_name(proto), length_text, (long long)bytes_needed);
    }
    size_t path_size = strlen(base_dir) + strlen(location) + 2;
    char *path = malloc(path_size);
    if (!path) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    snprintf(path, path_size, "%s/%s", base_dir, location);
    nnq_status st = file_read_range(path, offset, length, bytes);
    free(path);
    if (st != NNQ_OK) return nnq_fail_context(st, "tensor '%s' external data", proto_name(proto));
    return NNQ_OK;
}

nnq_status tensor_from_proto(const Onnx__TensorProto *proto, const char *base_dir, nnq_tensor *out) {
    memset(out, 0, sizeof *out);
    int file_dtype = proto->data_type;
    if (file_element_size(file_dtype) == 0)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "tensor '%s': element type %s is not supported",
                        proto_name(proto), dtype_name((nnq_dtype)file_dtype));
    if (proto->n_dims > NNQ_MAX_RANK)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "tensor '%s': rank %zu exceeds %d", proto_name(proto),
                        proto->n_dims, NNQ_MAX_RANK);
    for (size_t i = 0; i < proto->n_dims; i++)
        if (proto->dims[i] < 0)
            return nnq_fail(NNQ_ERR_PARSE, "tensor '%s': negative dim %lld", proto_name(proto),
                            (long long)proto->dims[i]);
    int64_t n = declared_count(proto);
    if (n < 0) return nnq_fail(NNQ_ERR_PARSE, "tensor '%s': its shape is too large", proto_name(proto));
    int64_t bytes_needed = n * (int64_t)file_element_size(file_dtype);
    bool external = proto->has_data_location && proto->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    /* The stored data must match the shape before the tensor is allocated. */
    if (!external && proto->has_raw_data && (int64_t)proto->raw_data.len != bytes_needed)
        return nnq_fail(NNQ_ERR_PARSE, "tensor '%s': raw data has %zu bytes, its shape needs %lld",
                        proto_name(proto), proto->raw_data.len, (long long)bytes_needed);
    if (!external && !proto->has_raw_data && n > 0 && (int64_t)typed_count(proto, file_dtype) != n)
        return nnq_fail(NNQ_ERR_PARSE, "tensor '%s': holds %zu values, its shape needs %lld",
                        proto_name(proto), typed_count(proto, file_dtype), (long long)n);
    void *external_bytes = NULL;
    if (external) NNQ_TRY(read_external(proto, base_dir, bytes_needed, &external_bytes));
    tensor_set_shape(out, stored_dtype(file_dtype), (int)proto->n_dims, proto->dims);
    nnq_status st = NNQ_OK;
    if (proto->name && !(out->name = strdup(proto->name))) st = nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (st == NNQ_OK && (st = tensor_alloc(out)) != NNQ_OK) st = nnq_fail_context(st, "tensor '%s'", proto_name(proto));
    if (st == NNQ_OK) {
        if (external) decode_raw(external_bytes, file_dtype, n, out);
        else if (proto->has_raw_data) decode_raw(proto->raw_data.data, file_dtype, n, out);
        else decode_typed(proto, file_dtype, n, out);
    }
    free(external_bytes);
    if (st != NNQ_OK) tensor_free(out);
    return st;
}

void tensor_to_proto(const nnq_tensor *t, Onnx__TensorProto *proto, int64_t *dims_storage) {
    for (int i = 0; i < t->rank; i++) dims_storage[i] = t->dims[i];
    proto->n_dims = (size_t)t->rank;
    proto->dims = dims_storage;
    proto->has_data_type = 1;
    proto->data_type = (int32_t)t->dtype;
    proto->name = t->name;
    proto->has_raw_data = 1;
    proto->raw_data.len = (size_t)tensor_numel(t) * dtype_size(t->dtype);
    proto->raw_data.data = t->data;
}
