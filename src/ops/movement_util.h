/* Helpers shared by the data movement operator families (shape, indexing,
 * constant, resize): strided copies and reading small integer inputs.
 *
 * Transpose, Expand, Slice and Tile all copy a strided view of their input
 * into a dense output: they differ only in the view's dims, strides and
 * starting offset. The copy moves whole elements of any size, so these
 * operators work for every dtype nnquant stores. */
#ifndef NNQ_OPS_MOVEMENT_UTIL_H
#define NNQ_OPS_MOVEMENT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ir/tensor.h"
#include "ops/op.h"

/* Tile splits each axis in two (repeat, original index), hence twice the rank. */
#define COPY_VIEW_MAX_RANK (2 * NNQ_MAX_RANK)

/* Element (i_0, ..., i_{rank-1}) of the view is source element
 * offset + sum_k i_k * strides[k] (strides in elements, may be 0 or negative). */
typedef struct copy_view {
    int rank;
    int64_t dims[COPY_VIEW_MAX_RANK];
    int64_t strides[COPY_VIEW_MAX_RANK];
    int64_t offset;
} copy_view;

/* Writes every element of the view, in row-major order, densely into dst. */
void copy_view_run(void *dst, const void *src, const copy_view *view, size_t elem_size);

/* Row-major strides (in elements) of a dense tensor with these dims. */
void dense_strides(const int64_t *dims, int rank, int64_t *strides);

/* Data movement works on whole elements of any stored type; fails naming
 * the node for types without dense storage (string). An undefined dtype
 * (static inference without type information) passes. */
nnq_status check_movable_dtype(const nnq_op_context *ctx, const nnq_tensor *t);

/* Sets out's dtype and rank with every dim unknown (rank may be unknown too). */
void set_unknown_shape(nnq_tensor *out, nnq_dtype dtype, int rank);

/* Copies one element of elem_size bytes; fixed sizes compile to single moves. */
static inline void copy_element(char *dst, const char *src, size_t elem_size) {
    switch (elem_size) {
    case 1: *dst = *src; break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    default: memcpy(dst, src, elem_size); break;
    }
}

/* Reads a scalar or 1-D int32/int64 tensor whose data is known into values
 * (at most max of them; more is an error naming `what`), count via *count. */
nnq_status read_int_list(const nnq_op_context *ctx, const nnq_tensor *t, const char *what,
                         int64_t *values, int max, int *count);

#endif
