#include "ir/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"

size_t dtype_size(nnq_dtype dtype) {
    switch (dtype) {
    case NNQ_FLOAT: return 4;
    case NNQ_UINT8: return 1;
    case NNQ_INT8: return 1;
    case NNQ_UINT16: return 2;
    case NNQ_INT16: return 2;
    case NNQ_INT32: return 4;
    case NNQ_INT64: return 8;
    case NNQ_BOOL: return 1;
    case NNQ_FLOAT16: return 2;
    case NNQ_DOUBLE: return 8;
    case NNQ_UINT32: return 4;
    case NNQ_UINT64: return 8;
    default: return 0;
    }
}

const char *dtype_name(nnq_dtype dtype) {
    switch (dtype) {
    case NNQ_UNDEFINED: return "undefined";
    case NNQ_FLOAT: return "float";
    case NNQ_UINT8: return "uint8";
    case NNQ_INT8: return "int8";
    case NNQ_UINT16: return "uint16";
    case NNQ_INT16: return "int16";
    case NNQ_INT32: return "int32";
    case NNQ_INT64: return "int64";
    case NNQ_STRING: return "string";
    case NNQ_BOOL: return "bool";
    case NNQ_FLOAT16: return "float16";
    case NNQ_DOUBLE: return "double";
    case NNQ_UINT32: return "uint32";
    case NNQ_UINT64: return "uint64";
    }
    return "unknown-type";
}

bool dtype_is_supported(nnq_dtype dtype) { return dtype_size(dtype) != 0 && dtype != NNQ_FLOAT16; }

int64_t dims_numel(const int64_t *dims, int rank) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) return -1;
        n *= dims[i];
    }
    return n;
}

int64_t tensor_numel(const nnq_tensor *t) {
    if (t->rank < 0) return -1;
    return dims_numel(t->dims, t->rank);
}

bool tensor_shape_known(const nnq_tensor *t) { return tensor_numel(t) >= 0; }

void tensor_set_shape(nnq_tensor *t, nnq_dtype dtype, int rank, const int64_t *dims) {
    t->dtype = dtype;
    t->rank = rank;
    for (int i = 0; i < NNQ_MAX_RANK; i++) t->dims[i] = (i < rank && dims) ? dims[i] : 0;
}

/* Largest element count we accept for one tensor: 2^40 bytes is far beyond this machine
 * and keeps every size computation below overflow. */
#define MAX_TENSOR_BYTES ((int64_t)1 << 40)

nnq_status tensor_alloc(nnq_tensor *t) {
    free(t->data);
    t->data = NULL;
    size_t elem = dtype_size(t->dtype);
    if (elem == 0)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "tensor '%s': element type %s cannot be stored",
                        t->name ? t->name : "", dtype_name(t->dtype));
    if (t->rank < 0 || t->rank > NNQ_MAX_RANK)
        return nnq_fail(NNQ_ERR_INVALID, "tensor '%s': rank %d is not supported",
                        t->name ? t->name : "", t->rank);
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0) {
            char buf[128];
            return nnq_fail(NNQ_ERR_INVALID, "tensor '%s': shape %s has an unknown or negative dim",
                            t->name ? t->name : "", dims_format(t->dims, t->rank, buf, sizeof buf));
        }
        if (t->dims[i] != 0 && n > MAX_TENSOR_BYTES / t->dims[i])
            return nnq_fail(NNQ_ERR_NOMEM, "tensor '%s': shape is too large", t->name ? t->name : "");
        n *= t->dims[i];
    }
    if (n > MAX_TENSOR_BYTES / (int64_t)elem)
        return nnq_fail(NNQ_ERR_NOMEM, "tensor '%s': shape is too large", t->name ? t->name : "");
    /* Allocate at least one byte so an empty tensor still has a non-NULL buffer. */
    t->data = calloc((size_t)(n > 0 ? n : 1), elem);
    if (!t->data)
        return nnq_fail(NNQ_ERR_NOMEM, "tensor '%s': cannot allocate %lld bytes",
                        t->name ? t->name : "", (long long)(n * (int64_t)elem));
    return NNQ_OK;
}

nnq_status tensor_create(nnq_tensor *t, nnq_dtype dtype, int rank, const int64_t *dims) {
    tensor_set_shape(t, dtype, rank, dims);
    return tensor_alloc(t);
}

nnq_status tensor_copy(nnq_tensor *dst, const nnq_tensor *src) {
    memset(dst, 0, sizeof *dst);
    tensor_set_shape(dst, src->dtype, src->rank, src->dims);
    if (src->name) {
        dst->name = strdup(src->name);
        if (!dst->name) return nnq_fail(NNQ_ERR_NOMEM, "out of memory copying a tensor name");
    }
    if (src->data) {
        nnq_status st = tensor_alloc(dst);
        if (st != NNQ_OK) {
            tensor_free(dst);
            return st;
        }
        size_t bytes = (size_t)tensor_numel(src) * dtype_size(src->dtype);
        if (bytes) memcpy(dst->data, src->data, bytes);
    }
    return NNQ_OK;
}

void tensor_free(nnq_tensor *t) {
    if (!t) return;
    free(t->data);
    free(t->name);
    memset(t, 0, sizeof *t);
}

double tensor_get_double(const nnq_tensor *t, int64_t i) {
    switch (t->dtype) {
    case NNQ_FLOAT: return ((const float *)t->data)[i];
    case NNQ_DOUBLE: return ((const double *)t->data)[i];
    case NNQ_UINT8: return ((const uint8_t *)t->data)[i];
    case NNQ_INT8: return ((const int8_t *)t->data)[i];
    case NNQ_UINT16: return ((const uint16_t *)t->data)[i];
    case NNQ_INT16: return ((const int16_t *)t->data)[i];
    case NNQ_INT32: return ((const int32_t *)t->data)[i];
    case NNQ_INT64: return (double)((const int64_t *)t->data)[i];
    case NNQ_UINT32: return ((const uint32_t *)t->data)[i];
    case NNQ_UINT64: return (double)((const uint64_t *)t->data)[i];
    case NNQ_BOOL: return ((const uint8_t *)t->data)[i] != 0;
    case NNQ_FLOAT16: return float16_to_float(((const uint16_t *)t->data)[i]);
    default: return 0.0;
    }
}

int64_t tensor_get_int64(const nnq_tensor *t, int64_t i) {
    switch (t->dtype) {
    case NNQ_INT64: return ((const int64_t *)t->data)[i];
    case NNQ_UINT64: return (int64_t)((const uint64_t *)t->data)[i];
    case NNQ_INT32: return ((const int32_t *)t->data)[i];
    case NNQ_UINT32: return ((const uint32_t *)t->data)[i];
    default: {
        double v = tensor_get_double(t, i);
        if (isnan(v)) return 0;
        if (v >= 9.2e18) return INT64_MAX;
        if (v <= -9.2e18) return INT64_MIN;
        return (int64_t)v;
    }
    }
}

void tensor_set_double(nnq_tensor *t, int64_t i, double v) {
    switch (t->dtype) {
    case NNQ_FLOAT: ((float *)t->data)[i] = (float)v; break;
    case NNQ_DOUBLE: ((double *)t->data)[i] = v; break;
    case NNQ_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)(int64_t)v; break;
    case NNQ_INT8: ((int8_t *)t->data)[i] = (int8_t)(int64_t)v; break;
    case NNQ_UINT16: ((uint16_t *)t->data)[i] = (uint16_t)(int64_t)v; break;
    case NNQ_INT16: ((int16_t *)t->data)[i] = (int16_t)(int64_t)v; break;
    case NNQ_INT32: ((int32_t *)t->data)[i] = (int32_t)(int64_t)v; break;
    case NNQ_INT64: ((int64_t *)t->data)[i] = (int64_t)v; break;
    case NNQ_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)(int64_t)v; break;
    case NNQ_UINT64: ((uint64_t *)t->data)[i] = (uint64_t)v; break;
    case NNQ_BOOL: ((uint8_t *)t->data)[i] = v != 0.0; break;
    case NNQ_FLOAT16: ((uint16_t *)t->data)[i] = float_to_float16((float)v); break;
    default: break;
    }
}

const char *dims_format(const int64_t *dims, int rank, char *buf, size_t size) {
    if (rank < 0) {
        snprintf(buf, size, "[?]");
        return buf;
    }
    size_t used = 0;
    used += (size_t)snprintf(buf + used, size - used, "[");
    for (int i = 0; i < rank && used < size; i++) {
        if (dims[i] < 0)
            used += (size_t)snprintf(buf + used, size - used, "%s?", i ? "," : "");
        else
            used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? "," : "", (long long)dims[i]);
    }
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

/* IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. */
float float16_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { /* subnormal: value = mantissa * 2^-24, normalize */
            int shift = 0;
            while (!(mantissa & 0x400u)) {
                mantissa <<= 1;
                shift++;
            }
            mantissa &= 0x3ffu;
            bits = sign | ((uint32_t)(127 - 15 + 1 - shift) << 23) | (mantissa << 13);
        }
    } else if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent - 15 + 127) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t float_to_float16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
    uint32_t abs = bits & 0x7fffffffu;
    if (abs >= 0x7f800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0));
    if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: inf */
    if (abs < 0x38800000u) { /* below 2^-14: subnormal half, round to nearest even */
        if (abs < 0x33000000u) return sign; /* below 2^-25 rounds to zero */
        uint32_t exponent = abs >> 23;
        uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - exponent; /* 14 + 112 bias offset */
        uint32_t half = mantissa >> shift;
        uint32_t rest = mantissa & ((1u << shift) - 1);
        uint32_t midpoint = 1u << (shift - 1);
        if (rest > midpoint || (rest == midpoint && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u); /* round to nearest even at bit 13 */
    return (uint16_t)(sign | ((rounded - 0x38000000u) >> 13));
}
