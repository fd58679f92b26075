/* Typed, dense, row-major tensors.
 *
 * A tensor owns its data buffer (malloc'd by tensor_alloc, released by
 * tensor_free). In shape-only contexts (static shape inference) data is NULL,
 * rank may be -1 (shape unknown) and a dim may be -1 (unknown or symbolic,
 * such as a dynamic batch). Element types use ONNX TensorProto.DataType
 * numbers so they convert to and from the file format without a table. */
#ifndef NNQ_IR_TENSOR_H
#define NNQ_IR_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nnquant.h"

#define NNQ_MAX_RANK 8
#define NNQ_UNKNOWN_DIM (-1)
#define NNQ_UNKNOWN_RANK (-1)

typedef enum nnq_dtype {
    NNQ_UNDEFINED = 0,
    NNQ_FLOAT = 1,
    NNQ_UINT8 = 2,
    NNQ_INT8 = 3,
    NNQ_UINT16 = 4,
    NNQ_INT16 = 5,
    NNQ_INT32 = 6,
    NNQ_INT64 = 7,
    NNQ_STRING = 8, /* not supported as data; named in errors only */
    NNQ_BOOL = 9,   /* stored as one byte, 0 or 1 */
    NNQ_FLOAT16 = 10, /* converted to NNQ_FLOAT when loaded */
    NNQ_DOUBLE = 11,
    NNQ_UINT32 = 12,
    NNQ_UINT64 = 13
} nnq_dtype;

typedef struct nnq_tensor {
    char *name;          /* owned; may be NULL for anonymous temporaries */
    nnq_dtype dtype;
    int rank;            /* 0 for scalars, NNQ_UNKNOWN_RANK when unknown */
    int64_t dims[NNQ_MAX_RANK];
    void *data;          /* owned; NULL when only the shape is known */
} nnq_tensor;

/* Bytes per element, 0 for types that cannot be stored densely. */
size_t dtype_size(nnq_dtype dtype);
/* ONNX spelling: "float", "uint8", ... ; "dtype(N)" style text for unknown codes. */
const char *dtype_name(nnq_dtype dtype);
/* True for the types nnquant stores as dense data. */
bool dtype_is_supported(nnq_dtype dtype);

/* Number of elements; 1 for scalars; -1 if any dim is unknown. */
int64_t tensor_numel(const nnq_tensor *t);
/* Number of elements of dims[0..rank), -1 if any is unknown. */
int64_t dims_numel(const int64_t *dims, int rank);
/* True when rank and every dim are known. */
bool tensor_shape_known(const nnq_tensor *t);

/* Sets dtype and shape; leaves data and name alone. rank <= NNQ_MAX_RANK. */
void tensor_set_shape(nnq_tensor *t, nnq_dtype dtype, int rank, const int64_t *dims);
/* Allocates zeroed data for t's current dtype and shape (freeing any old data).
 * Fails with NNQ_ERR_INVALID on unknown/negative dims and NNQ_ERR_NOMEM on overflow. */
nnq_status tensor_alloc(nnq_tensor *t);
/* tensor_set_shape + tensor_alloc. */
nnq_status tensor_create(nnq_tensor *t, nnq_dtype dtype, int rank, const int64_t *dims);
/* Deep copy (name, shape and data). dst must not hold data. */
nnq_status tensor_copy(nnq_tensor *dst, const nnq_tensor *src);
/* Frees data and name and zeroes the struct. Safe on a zeroed tensor. */
void tensor_free(nnq_tensor *t);

/* Element access independent of dtype, for small index/shape tensors and tests. */
double tensor_get_double(const nnq_tensor *t, int64_t index);
int64_t tensor_get_int64(const nnq_tensor *t, int64_t index);
/* Stores value converted to t's dtype (integers truncate toward zero as a C cast does). */
void tensor_set_double(nnq_tensor *t, int64_t index, double value);

/* "[1,3,-1,224]" into buf (returns buf). */
const char *dims_format(const int64_t *dims, int rank, char *buf, size_t size);

/* IEEE half to single precision (exact). */
float float16_to_float(uint16_t h);
/* Single to half precision, round to nearest even. */
uint16_t float_to_float16(float f);

#endif
