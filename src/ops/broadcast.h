/* The loop driver shared by every elementwise operator (unary maps, binary
 * arithmetic and comparisons, Where, PRelu, Clip, ...), and the macros that
 * generate its typed kernels.
 *
 * broadcast_apply() walks a dense output in row-major order and hands a
 * kernel one contiguous run of output elements at a time, with a pointer and
 * an element step (0 or 1 after merging, see below) into each input. Inputs
 * follow ONNX multidirectional (numpy) broadcasting: a size-1 or missing axis
 * is read with stride 0. Adjacent axes along which every operand is laid out
 * contiguously are merged first, so equal shapes become one run with step 1
 * and a scalar operand one run with step 0: the common cases cost a single
 * kernel call per chunk. Large outputs are split into chunks run in parallel. */
#ifndef NNQ_OPS_BROADCAST_H
#define NNQ_OPS_BROADCAST_H

#include <stdint.h>

#include "ir/tensor.h"

#define BROADCAST_MAX_INPUTS 3
/* One slot per ONNX dtype number nnquant stores (NNQ_UINT64 is the largest). */
#define DTYPE_SLOTS (NNQ_UINT64 + 1)

/* Computes count output elements at out from inputs in[k], whose i-th element
 * is in[k][i * step[k]] (in elements of the input's dtype). */
typedef void (*broadcast_kernel)(void *out, const void *const *in, const int64_t *step,
                                 int64_t count, const void *arg);

/* Runs kernel over all of out (dtype, shape and data set). Each input's shape
 * must broadcast to out's shape (the operator's infer checked it); an input
 * may alias out when it has out's shape (in-place accumulation). arg is passed
 * to every kernel call unchanged. */
void broadcast_apply(nnq_tensor *out, int n_in, const nnq_tensor *const *in,
                     broadcast_kernel kernel, const void *arg);

/* Sets *view to src (sharing its data) with its dims placed to start at `axis`
 * of a tensor of `target_rank` dims: trailing 1s are appended so numpy
 * alignment lines them up. This expresses the pre-opset-7 broadcasting
 * forms (an explicit `axis` attribute, PRelu's per-channel slope). The
 * caller ensures 0 <= axis and axis + src->rank <= target_rank. */
void broadcast_view_at_axis(const nnq_tensor *src, int axis, int target_rank, nnq_tensor *view);

/* ---- Type lists: X(ARG, tag, C type, wrap type, dtype) for each type. ----
 * The wrap type is the unsigned type integer arithmetic is done in, because
 * signed overflow is undefined in C while ONNX integer arithmetic wraps. */
#define FLOAT_TYPES(X, ARG) \
    X(ARG, f32, float, float, NNQ_FLOAT) X(ARG, f64, double, double, NNQ_DOUBLE)
#define SIGNED_TYPES(X, ARG)                                                                    \
    X(ARG, i8, int8_t, uint32_t, NNQ_INT8) X(ARG, i16, int16_t, uint32_t, NNQ_INT16)            \
    X(ARG, i32, int32_t, uint32_t, NNQ_INT32) X(ARG, i64, int64_t, uint64_t, NNQ_INT64)
#define UNSIGNED_TYPES(X, ARG)                                                                  \
    X(ARG, u8, uint8_t, uint32_t, NNQ_UINT8) X(ARG, u16, uint16_t, uint32_t, NNQ_UINT16)        \
    X(ARG, u32, uint32_t, uint32_t, NNQ_UINT32) X(ARG, u64, uint64_t, uint64_t, NNQ_UINT64)
#define INTEGER_TYPES(X, ARG) SIGNED_TYPES(X, ARG) UNSIGNED_TYPES(X, ARG)
#define NUMERIC_TYPES(X, ARG) FLOAT_TYPES(X, ARG) INTEGER_TYPES(X, ARG)
/* bool is stored as one byte holding 0 or 1. */
#define BOOL_TYPE(X, ARG) X(ARG, b8, uint8_t, uint32_t, NNQ_BOOL)

/* A constant expression, true when the C type T is a floating type. */
#define IS_FLOATING_TYPE(T) ((T)0.5 != (T)0)

/* `[NNQ_FLOAT] = add_f32,` : one designated entry of a per-dtype kernel table. */
#define KERNEL_ENTRY(OP, tag, T, W, DT) [DT] = OP##_##tag,

/* The loop of a kernel with one input: out[i] = EXPR, where EXPR reads `a`
 * (the input element) and may read `arg`. Step 1 gets its own loop so the
 * compiler can vectorize it. */
#define DEFINE_UNARY_KERNEL(name, TO, TA, EXPR)                                                 \
    static void name(void *out_, const void *const *in, const int64_t *step, int64_t count,     \
                     const void *arg) {                                                         \
        (void)arg;                                                                              \
        TO *out = out_;                                                                         \
        const TA *pa = in[0];                                                                   \
        const int64_t sa = step[0];                                                             \
        if (sa == 1) {                                                                          \
            for (int64_t i = 0; i < count; i++) {                                               \
                const TA a = pa[i];                                                             \
                out[i] = (EXPR);                                                                \
            }                                                                                   \
        } else {                                                                                \
            for (int64_t i = 0; i < count; i++) {                                               \
                const TA a = pa[i * sa];                                                        \
                out[i] = (EXPR);                                                                \
            }                                                                                   \
        }                                                                                       \
    }

/* The same for two inputs `a` and `b`, with loops specialised for the
 * same-shape and the scalar-operand steps. */
#define BINARY_KERNEL_LOOP(SA, SB, TA, TB, EXPR)                                                \
    for (int64_t i = 0; i < count; i++) {                                                       \
        const TA a = pa[i * (SA)];                                                              \
        const TB b = pb[i * (SB)];                                                              \
        out[i] = (EXPR);                                                                        \
    }
#define DEFINE_BINARY_KERNEL(name, TO, TA, TB, EXPR)                                            \
    static void name(void *out_, const void *const *in, const int64_t *step, int64_t count,     \
                     const void *arg) {                                                         \
        (void)arg;                                                                              \
        TO *out = out_;                                                                         \
        const TA *pa = in[0];                                                                   \
        const TB *pb = in[1];                                                                   \
        const int64_t sa = step[0], sb = step[1];                                               \
        if (sa == 1 && sb == 1) BINARY_KERNEL_LOOP(1, 1, TA, TB, EXPR)                          \
        else if (sa == 1 && sb == 0) BINARY_KERNEL_LOOP(1, 0, TA, TB, EXPR)                     \
        else if (sa == 0 && sb == 1) BINARY_KERNEL_LOOP(0, 1, TA, TB, EXPR)                     \
        else BINARY_KERNEL_LOOP(sa, sb, TA, TB, EXPR)                                           \
    }

#endif
