/* Elementwise operators: binary arithmetic and comparisons with ONNX
 * multidirectional (numpy) broadcasting (and the pre-opset-7 `broadcast` /
 * `axis` attributes), the variadic
 * Sum / Mean / Max / Min, Where, unary math, and Cast / CastLike.
 *
 * Every operator is a table lookup (op_type, input dtype) -> typed kernel
 * run by broadcast_apply(); the kernels are generated from one expression
 * per operator by the macros in broadcast.h. */
#include <limits.h>
#include <string.h>
#include <tgmath.h> /* sqrt(a), exp(a), ... pick the float or double function from a's type */

#include "ops/broadcast.h"
#include "ops/op.h"

/* ---------------------------------------------------------------------------
 * Integer helpers
 * ------------------------------------------------------------------------- */

/* Float to integer: ONNX Cast (like C) truncates toward zero. Values outside
 * the target's range are undefined in both; to stay defined we give NaN 0,
 * convert values in [-2^63, 2^64) exactly and everything else to 2^63 (the
 * x86 "integer indefinite" value). The result is the integer's bit pattern
 * modulo 2^64, so narrower targets wrap like numpy's astype. */
static uint64_t float_to_integer_bits(double v) {
    const double two_63 = 9223372036854775808.0;
    if (v >= -two_63 && v < two_63) return (uint64_t)(int64_t)v;
    if (v >= two_63 && v < 2.0 * two_63) return (uint64_t)v;
    return (uint64_t)1 << 63;
}

/* base^exp in wrapping integer arithmetic. A negative exponent gives the
 * truncated integer quotient 1 / base^|exp|: 0 unless |base| is 1. */
static uint64_t integer_pow(int64_t base, int64_t exp) {
    if (exp < 0) {
        if (base == 1) return 1;
        if (base == -1) return (exp & 1) ? UINT64_MAX : 1;
        return 0;
    }
    uint64_t result = 1, factor = (uint64_t)base;
    for (uint64_t e = (uint64_t)exp; e; e >>= 1) {
        if (e & 1) result *= factor;
        factor *= factor;
    }
    return result;
}

/* ---------------------------------------------------------------------------
 * Binary kernels: expressions over `a` and `b` of C type T, wrap type W.
 * ------------------------------------------------------------------------- */

#define EXPR_add(T, W) (T)((W)a + (W)b)
#define EXPR_sub(T, W) (T)((W)a - (W)b)
#define EXPR_mul(T, W) (T)((W)a * (W)b)
#define EXPR_fdiv(T, W) (a / b)
/* Integer Div truncates toward zero like C. Division by zero is undefined in
 * ONNX (and traps in C): we return 0. INT_MIN / -1 wraps to INT_MIN. */
#define EXPR_sdiv(T, W) (b == 0 ? (T)0 : b == -1 ? (T)((W)0 - (W)a) : (T)(a / b))
#define EXPR_udiv(T, W) (b == 0 ? (T)0 : (T)(a / b))
/* Min/Max propagate NaN from either operand, as numpy's minimum/maximum. */
#define EXPR_fmin(T, W) ((a < b || isnan(a)) ? a : b)
#define EXPR_fmax(T, W) ((a > b || isnan(a)) ? a : b)
#define EXPR_imin(T, W) (a < b ? a : b)
#define EXPR_imax(T, W) (a > b ? a : b)
#define EXPR_equal(T, W) (uint8_t)(a == b)
#define EXPR_less(T, W) (uint8_t)(a < b)
#define EXPR_greater(T, W) (uint8_t)(a > b)
#define EXPR_less_equal(T, W) (uint8_t)(a <= b)
#define EXPR_greater_equal(T, W) (uint8_t)(a >= b)
#define EXPR_and(T, W) (uint8_t)(a && b)
#define EXPR_or(T, W) (uint8_t)(a || b)
#define EXPR_xor(T, W) (uint8_t)((a != 0) != (b != 0))
/* Mod with fmod=0 (integers only): the sign of the result follows the divisor,
 * as Python's %. With fmod=1: C's fmod / %, the sign follows the dividend.
 * x % 0 is undefined (we return 0); x % -1 is 0 (avoids INT_MIN % -1). */
#define EXPR_smod(T, W)                                                                      \
    (b == 0 || b == -1 ? (T)0                                                                \
     : (a % b != 0 && ((a % b < 0) != (b < 0))) ? (T)(a % b + b) : (T)(a % b))
#define EXPR_umod(T, W) (b == 0 ? (T)0 : (T)(a % b))
#define EXPR_strunc_mod(T, W) (b == 0 || b == -1 ? (T)0 : (T)(a % b))
#define EXPR_fmod(T, W) fmod(a, b)
/* BitShift (unsigned types): shifting by the bit width or more gives 0. */
#define EXPR_shl(T, W) (b >= 8 * sizeof(T) ? (T)0 : (T)((W)a << b))
#define EXPR_shr(T, W) (b >= 8 * sizeof(T) ? (T)0 : (T)(a >> b))

#define DEFINE_SAME_TYPE_BINARY(OP, tag, T, W, DT) \
    DEFINE_BINARY_KERNEL(OP##_##tag, T, T, T, EXPR_##OP(T, W))
#define DEFINE_PREDICATE_BINARY(OP, tag, T, W, DT) \
    DEFINE_BINARY_KERNEL(OP##_##tag, uint8_t, T, T, EXPR_##OP(T, W))

NUMERIC_TYPES(DEFINE_SAME_TYPE_BINARY, add)
NUMERIC_TYPES(DEFINE_SAME_TYPE_BINARY, sub)
NUMERIC_TYPES(DEFINE_SAME_TYPE_BINARY, mul)
FLOAT_TYPES(DEFINE_SAME_TYPE_BINARY, fdiv)
SIGNED_TYPES(DEFINE_SAME_TYPE_BINARY, sdiv)
UNSIGNED_TYPES(DEFINE_SAME_TYPE_BINARY, udiv)
FLOAT_TYPES(DEFINE_SAME_TYPE_BINARY, fmin)
FLOAT_TYPES(DEFINE_SAME_TYPE_BINARY, fmax)
INTEGER_TYPES(DEFINE_SAME_TYPE_BINARY, imin)
INTEGER_TYPES(DEFINE_SAME_TYPE_BINARY, imax)
NUMERIC_TYPES(DEFINE_PREDICATE_BINARY, equal)
BOOL_TYPE(DEFINE_PREDICATE_BINARY, equal)
NUMERIC_TYPES(DEFINE_PREDICATE_BINARY, less)
NUMERIC_TYPES(DEFINE_PREDICATE_BINARY, greater)
NUMERIC_TYPES(DEFINE_PREDICATE_BINARY, less_equal)
NUMERIC_TYPES(DEFINE_PREDICATE_BINARY, greater_equal)
BOOL_TYPE(DEFINE_PREDICATE_BINARY, and)
BOOL_TYPE(DEFINE_PREDICATE_BINARY, or)
BOOL_TYPE(DEFINE_PREDICATE_BINARY, xor)
SIGNED_TYPES(DEFINE_SAME_TYPE_BINARY, smod)
UNSIGNED_TYPES(DEFINE_SAME_TYPE_BINARY, umod)
SIGNED_TYPES(DEFINE_SAME_TYPE_BINARY, strunc_mod)
FLOAT_TYPES(DEFINE_SAME_TYPE_BINARY, fmod)
UNSIGNED_TYPES(DEFINE_SAME_TYPE_BINARY, shl)
UNSIGNED_TYPES(DEFINE_SAME_TYPE_BINARY, shr)

/* A binary operator whose inputs share one dtype. */
typedef struct binary_op {
    const char *op_type;
    bool bool_output;                        /* comparisons and logic give bool */
    broadcast_kernel kernels[DTYPE_SLOTS];   /* by the inputs' dtype; NULL = unsupported */
} binary_op;

static const binary_op binary_ops[] = {
    {"Add", false, {NUMERIC_TYPES(KERNEL_ENTRY, add)}},
    {"Sub", false, {NUMERIC_TYPES(KERNEL_ENTRY, sub)}},
    {"Mul", false, {NUMERIC_TYPES(KERNEL_ENTRY, mul)}},
    {"Div", false,
     {FLOAT_TYPES(KERNEL_ENTRY, fdiv) SIGNED_TYPES(KERNEL_ENTRY, sdiv)
          UNSIGNED_TYPES(KERNEL_ENTRY, udiv)}},
    {"Max", false, {FLOAT_TYPES(KERNEL_ENTRY, fmax) INTEGER_TYPES(KERNEL_ENTRY, imax)}},
    {"Min", false, {FLOAT_TYPES(KERNEL_ENTRY, fmin) INTEGER_TYPES(KERNEL_ENTRY, imin)}},
    {"Equal", true, {NUMERIC_TYPES(KERNEL_ENTRY, equal) BOOL_TYPE(KERNEL_ENTRY, equal)}},
    {"Less", true, {NUMERIC_TYPES(KERNEL_ENTRY, less)}},
    {"Greater", true, {NUMERIC_TYPES(KERNEL_ENTRY, greater)}},
    {"LessOrEqual", true, {NUMERIC_TYPES(KERNEL_ENTRY, less_equal)}},
    {"GreaterOrEqual", true, {NUMERIC_TYPES(KERNEL_ENTRY, greater_equal)}},
    {"And", true, {BOOL_TYPE(KERNEL_ENTRY, and)}},
    {"Or", true, {BOOL_TYPE(KERNEL_ENTRY, or)}},
    {"Xor", true, {BOOL_TYPE(KERNEL_ENTRY, xor)}},
    /* Operators whose attributes pick the kernels (see binary_table_name). */
    {"Mod", false, {SIGNED_TYPES(KERNEL_ENTRY, smod) UNSIGNED_TYPES(KERNEL_ENTRY, umod)}},
    {"Mod fmod=1", false,
     {FLOAT_TYPES(KERNEL_ENTRY, fmod) SIGNED_TYPES(KERNEL_ENTRY, strunc_mod)
          UNSIGNED_TYPES(KERNEL_ENTRY, umod)}},
    {"BitShift LEFT", false, {UNSIGNED_TYPES(KERNEL_ENTRY, shl)}},
    {"BitShift RIGHT", false, {UNSIGNED_TYPES(KERNEL_ENTRY, shr)}},
};

static const binary_op *find_binary_op(const char *op_type) {
    for (size_t i = 0; i < sizeof binary_ops / sizeof binary_ops[0]; i++)
        if (strcmp(binary_ops[i].op_type, op_type) == 0) return &binary_ops[i];
    return NULL;
}

/* The kernel of `op` for dtype, or an UNSUPPORTED failure naming the dtype. */
static nnq_status lookup_kernel(const nnq_op_context *ctx, const broadcast_kernel *kernels,
                                nnq_dtype dtype, broadcast_kernel *out) {
    *out = (dtype > NNQ_UNDEFINED && dtype < DTYPE_SLOTS) ? kernels[dtype] : NULL;
    if (!*out)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "element type %s is not supported",
                       dtype_name(dtype));
    return NNQ_OK;
}

static nnq_status check_same_dtype(const nnq_op_context *ctx, const nnq_tensor *a,
                                   const nnq_tensor *b) {
    if (a->dtype != b->dtype)
        return op_fail(ctx, NNQ_ERR_INVALID, "inputs have different element types %s and %s",
                       dtype_name(a->dtype), dtype_name(b->dtype));
    return NNQ_OK;
}

/* Sets out's shape to the broadcast of all n inputs (in order). */
static nnq_status infer_broadcast_all(nnq_op_context *ctx, int n, const nnq_tensor *const *in,
                                      nnq_tensor *out) {
    nnq_tensor acc = {0};
    acc.rank = in[0]->rank;
    if (acc.rank > 0) memcpy(acc.dims, in[0]->dims, sizeof(int64_t) * (size_t)acc.rank);
    for (int k = 1; k < n; k++) {
        nnq_tensor next = {0};
        NNQ_TRY(op_broadcast_shape(ctx, &acc, in[k], &next.rank, next.dims));
        acc = next;
    }
    out->rank = acc.rank;
    if (acc.rank > 0) memcpy(out->dims, acc.dims, sizeof(int64_t) * (size_t)acc.rank);
    return NNQ_OK;
}

/* ---------------------------------------------------------------------------
 * Pow: the base's dtype is the output's; the exponent may have any numeric
 * dtype (opset 12+). Float bases use C pow; integer bases use exact wrapping
 * integer powers for integer exponents, and for float exponents the float
 * result truncated toward zero (numpy's pow followed by astype).
 * ------------------------------------------------------------------------- */

#define POW_EXPR(T, E)                                                                         \
    (IS_FLOATING_TYPE(T)   ? (T)pow((double)a, (double)b)                                      \
     : IS_FLOATING_TYPE(E) ? (T)float_to_integer_bits(pow((double)a, (double)b))               \
                           : (T)integer_pow((int64_t)a, (int64_t)b))
#define DEFINE_POW(BASE, tag, E, W, DT) \
    DEFINE_BINARY_KERNEL(pow_##BASE##_##tag, BASE, BASE, E, POW_EXPR(BASE, E))
#define POW_ENTRY(BASE, tag, E, W, DT) [DT] = pow_##BASE##_##tag,
/* The supported base types: one line each, as a type list cannot be nested in itself. */
#define POW_BASES(Y) \
    Y(float, NNQ_FLOAT) Y(double, NNQ_DOUBLE) Y(int32_t, NNQ_INT32) Y(int64_t, NNQ_INT64)
#define DEFINE_POWS_FOR_BASE(BASE, BASE_DT) NUMERIC_TYPES(DEFINE_POW, BASE)
#define POW_ROW(BASE, BASE_DT) [BASE_DT] = {NUMERIC_TYPES(POW_ENTRY, BASE)},

POW_BASES(DEFINE_POWS_FOR_BASE)
static const broadcast_kernel pow_kernels[DTYPE_SLOTS][DTYPE_SLOTS] = {POW_BASES(POW_ROW)};

static nnq_status pow_lookup(const nnq_op_context *ctx, broadcast_kernel *kernel) {
    nnq_dtype base = ctx->inputs[0]->dtype, exponent = ctx->inputs[1]->dtype;
    if (base <= NNQ_UNDEFINED || base >= DTYPE_SLOTS || exponent <= NNQ_UNDEFINED ||
        exponent >= DTYPE_SLOTS || !pow_kernels[base][exponent])
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "%s raised to %s is not supported",
                       dtype_name(base), dtype_name(exponent));
    *kernel = pow_kernels[base][exponent];
    return NNQ_OK;
}

/* ---------------------------------------------------------------------------
 * Running a binary operator (the table above, or Pow).
 * ------------------------------------------------------------------------- */

typedef struct binary_call {
    broadcast_kernel kernel;
    nnq_dtype out_dtype;
    const nnq_tensor *operands[2];
    nnq_tensor b_view;   /* B reshaped for the pre-opset-7 `axis` form */
} binary_call;

/* Before opset 7, B broadcasts to A only when attribute broadcast=1, and an
 * attribute `axis` may say where B's dims (a contiguous run of A's) start;
 * without it B is suffix-aligned, which numpy broadcasting already does. */
static nnq_status legacy_broadcast_operand(nnq_op_context *ctx, binary_call *call) {
    const nnq_tensor *a = call->operands[0], *b = call->operands[1];
    if (ctx->opset >= 7 || !node_attr_int(ctx->node, "broadcast", 0) ||
        !node_find_attr(ctx->node, "axis"))
        return NNQ_OK;
    if (a->rank == NNQ_UNKNOWN_RANK || b->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    int64_t axis = node_attr_int(ctx->node, "axis", 0);
    if (axis < 0) axis += a->rank;
    if (axis < 0 || axis + b->rank > a->rank)
        return op_fail(ctx, NNQ_ERR_INVALID,
                       "axis %lld cannot place B (rank %d) inside A (rank %d)",
                       (long long)node_attr_int(ctx->node, "axis", 0), b->rank, a->rank);
    broadcast_view_at_axis(b, (int)axis, a->rank, &call->b_view);
    call->operands[1] = &call->b_view;
    return NNQ_OK;
}

/* The binary_ops row for the node: its op type, refined by the attribute that
 * selects the semantics for Mod (fmod) and BitShift (direction). */
static nnq_status binary_table_name(nnq_op_context *ctx, const char **name) {
    *name = ctx->node->op_type;
    if (strcmp(*name, "Mod") == 0) {
        int64_t fmod_attr = node_attr_int(ctx->node, "fmod", 0);
        if (fmod_attr != 0 && fmod_attr != 1)
            return op_fail(ctx, NNQ_ERR_INVALID, "fmod must be 0 or 1, is %lld",
                           (long long)fmod_attr);
        if (fmod_attr) *name = "Mod fmod=1";
    } else if (strcmp(*name, "BitShift") == 0) {
        const char *direction = node_attr_string(ctx->node, "direction", "");
        if (strcmp(direction, "LEFT") == 0) *name = "BitShift LEFT";
        else if (strcmp(direction, "RIGHT") == 0) *name = "BitShift RIGHT";
        else
            return op_fail(ctx, NNQ_ERR_INVALID, "direction must be LEFT or RIGHT, is '%s'",
                           direction);
    }
    return NNQ_OK;
}

static nnq_status binary_prepare(nnq_op_context *ctx, binary_call *call) {
    NNQ_TRY(op_check_arity(ctx, 2, 2, 1, 1));
    const nnq_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    call->operands[0] = a;
    call->operands[1] = b;
    if (strcmp(ctx->node->op_type, "Pow") == 0) {
        NNQ_TRY(pow_lookup(ctx, &call->kernel));
        call->out_dtype = a->dtype;
    } else {
        const char *name;
        NNQ_TRY(binary_table_name(ctx, &name));
        const binary_op *op = find_binary_op(name);
        if (!op) return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "not an elementwise binary operator");
        NNQ_TRY(check_same_dtype(ctx, a, b));
        NNQ_TRY(lookup_kernel(ctx, op->kernels, a->dtype, &call->kernel));
        call->out_dtype = op->bool_output ? NNQ_BOOL : a->dtype;
    }
    return legacy_broadcast_operand(ctx, call);
}

static nnq_status binary_infer(nnq_op_context *ctx) {
    binary_call call = {0};
    NNQ_TRY(binary_prepare(ctx, &call));
    ctx->outputs[0].dtype = call.out_dtype;
    return infer_broadcast_all(ctx, 2, call.operands, &ctx->outputs[0]);
}

static nnq_status binary_run(nnq_op_context *ctx) {
    binary_call call = {0};
    NNQ_TRY(binary_prepare(ctx, &call));
    broadcast_apply(&ctx->outputs[0], 2, call.operands, call.kernel, NULL);
    return NNQ_OK;
}

/* ---------------------------------------------------------------------------
 * Variadic Sum, Mean, Max, Min: all inputs broadcast together. The output is
 * filled with input 0, then combined in place with each further input.
 * ------------------------------------------------------------------------- */

/* Broadcasting copies, by element size. */
DEFINE_UNARY_KERNEL(copy_1, uint8_t, uint8_t, a)
DEFINE_UNARY_KERNEL(copy_2, uint16_t, uint16_t, a)
DEFINE_UNARY_KERNEL(copy_4, uint32_t, uint32_t, a)
DEFINE_UNARY_KERNEL(copy_8, uint64_t, uint64_t, a)

static broadcast_kernel copy_kernel(size_t elem_size) {
    switch (elem_size) {
    case 1: return copy_1;
    case 2: return copy_2;
    case 4: return copy_4;
    case 8: return copy_8;
    default: return NULL;
    }
}

/* Mean's final step: divides by the input count (*(const int64_t *)arg). */
#define DEFINE_DIVIDE_BY_COUNT(OP, tag, T, W, DT) \
    DEFINE_UNARY_KERNEL(OP##_##tag, T, T, a / (T)(*(const int64_t *)arg))
FLOAT_TYPES(DEFINE_DIVIDE_BY_COUNT, divide_by_count)
static const broadcast_kernel divide_by_count_kernels[DTYPE_SLOTS] = {
    FLOAT_TYPES(KERNEL_ENTRY, divide_by_count)};

typedef struct variadic_op {
    const char *op_type;
    const char *combine;   /* the binary_op that folds two inputs */
    bool average;          /* divide by the input count at the end (Mean) */
} variadic_op;

static const variadic_op variadic_ops[] = {
    {"Sum", "Add", false},
    {"Mean", "Add", true},
    {"Max", "Max", false},
    {"Min", "Min", false},
};

static const variadic_op *find_variadic_op(const char *op_type) {
    for (size_t i = 0; i < sizeof variadic_ops / sizeof variadic_ops[0]; i++)
        if (strcmp(variadic_ops[i].op_type, op_type) == 0) return &variadic_ops[i];
    return NULL;
}

/* Finds the operator and the combining kernel for the inputs' dtype. */
static nnq_status variadic_prepare(nnq_op_context *ctx, const variadic_op **op,
                                   broadcast_kernel *combine) {
    *op = find_variadic_op(ctx->node->op_type);
    if (!*op) return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "not a variadic elementwise operator");
    NNQ_TRY(op_check_arity(ctx, 1, INT_MAX, 1, 1));
    for (int k = 1; k < ctx->n_inputs; k++) {
        if (!ctx->inputs[k]) return op_fail(ctx, NNQ_ERR_INVALID, "input %d is missing", k);
        NNQ_TRY(check_same_dtype(ctx, ctx->inputs[0], ctx->inputs[k]));
    }
    nnq_dtype dtype = ctx->inputs[0]->dtype;
    const binary_op *binary = find_binary_op((*op)->combine);
    NNQ_TRY(lookup_kernel(ctx, binary->kernels, dtype, combine));
    if ((*op)->average) {
        broadcast_kernel divide = NULL;
        NNQ_TRY(lookup_kernel(ctx, divide_by_count_kernels, dtype, &divide));
    }
    return NNQ_OK;
}

static nnq_status variadic_infer(nnq_op_context *ctx) {
    const variadic_op *op = NULL;
    broadcast_kernel combine = NULL;
    NNQ_TRY(variadic_prepare(ctx, &op, &combine));
    ctx->outputs[0].dtype = ctx->inputs[0]->dtype;
    return infer_broadcast_all(ctx, ctx->n_inputs, ctx->inputs, &ctx->outputs[0]);
}

static nnq_status variadic_run(nnq_op_context *ctx) {
    const variadic_op *op = NULL;
    broadcast_kernel combine = NULL;
    NNQ_TRY(variadic_prepare(ctx, &op, &combine));
    nnq_tensor *out = &ctx->outputs[0];
    broadcast_apply(out, 1, ctx->inputs, copy_kernel(dtype_size(out->dtype)), NULL);
    for (int k = 1; k < ctx->n_inputs; k++) {
        const nnq_tensor *pair[2] = {out, ctx->inputs[k]};
        broadcast_apply(out, 2, pair, combine, NULL);
    }
    if (op->average) {
        const nnq_tensor *self[1] = {out};
        int64_t count = ctx->n_inputs;
        broadcast_apply(out, 1, self, divide_by_count_kernels[out->dtype], &count);
    }
    return NNQ_OK;
}

/* ---------------------------------------------------------------------------
 * Where(condition, X, Y): X where condition else Y, all three broadcast.
 * Any dtype: the kernels move elements by size.
 * ------------------------------------------------------------------------- */

#define DEFINE_SELECT(name, T)                                                                 \
    static void name(void *out_, const void *const *in, const int64_t *step, int64_t count,    \
                     const void *arg) {                                                        \
        (void)arg;                                                                             \
        T *out = out_;                                                                         \
        const uint8_t *cond = in[0];                                                           \
        const T *x = in[1], *y = in[2];                                                        \
        for (int64_t i = 0; i < count; i++)                                                    \
            out[i] = cond[i * step[0]] ? x[i * step[1]] : y[i * step[2]];                      \
    }
DEFINE_SELECT(select_1, uint8_t)
DEFINE_SELECT(select_2, uint16_t)
DEFINE_SELECT(select_4, uint32_t)
DEFINE_SELECT(select_8, uint64_t)

static broadcast_kernel select_kernel(nnq_dtype dtype) {
    if (!dtype_is_supported(dtype)) return NULL;
    switch (dtype_size(dtype)) {
    case 1: return select_1;
    case 2: return select_2;
    case 4: return select_4;
    case 8: return select_8;
    default: return NULL;
    }
}

static nnq_status where_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 3, 3, 1, 1));
    NNQ_TRY(op_check_dtype(ctx, ctx->inputs[0], "condition", NNQ_BOOL, NNQ_UNDEFINED));
    NNQ_TRY(check_same_dtype(ctx, ctx->inputs[1], ctx->inputs[2]));
    if (!select_kernel(ctx->inputs[1]->dtype))
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "element type %s is not supported",
                       dtype_name(ctx->inputs[1]->dtype));
    ctx->outputs[0].dtype = ctx->inputs[1]->dtype;
    return infer_broadcast_all(ctx, 3, ctx->inputs, &ctx->outputs[0]);
}

static nnq_status where_run(nnq_op_context *ctx) {
    broadcast_kernel kernel = select_kernel(ctx->inputs[1]->dtype);
    if (!kernel)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "element type %s is not supported",
                       dtype_name(ctx->inputs[1]->dtype));
    broadcast_apply(&ctx->outputs[0], 3, ctx->inputs, kernel, NULL);
    return NNQ_OK;
}

/* ---------------------------------------------------------------------------
 * Unary operators: expressions over `a`.
 * ------------------------------------------------------------------------- */

/* The attributes a unary kernel may read through arg (only IsInf has any). */
typedef struct unary_attributes {
    bool detect_negative, detect_positive;
} unary_attributes;

#define EXPR_sqrt(T, W) sqrt(a)
#define EXPR_exp(T, W) exp(a)
#define EXPR_log(T, W) log(a)
#define EXPR_erf(T, W) erf(a)
#define EXPR_reciprocal(T, W) ((T)1 / a)
#define EXPR_floor(T, W) floor(a)
#define EXPR_ceil(T, W) ceil(a)
/* Round: to nearest, halfway cases to even - nearbyint in the default
 * (round-to-nearest-even) floating-point environment. */
#define EXPR_round(T, W) nearbyint(a)
#define EXPR_sin(T, W) sin(a)
#define EXPR_cos(T, W) cos(a)
#define EXPR_tan(T, W) tan(a)
#define EXPR_asin(T, W) asin(a)
#define EXPR_acos(T, W) acos(a)
#define EXPR_atan(T, W) atan(a)
#define EXPR_sinh(T, W) sinh(a)
#define EXPR_cosh(T, W) cosh(a)
#define EXPR_asinh(T, W) asinh(a)
#define EXPR_acosh(T, W) acosh(a)
#define EXPR_atanh(T, W) atanh(a)
#define EXPR_fneg(T, W) (-a)
#define EXPR_ineg(T, W) (T)((W)0 - (W)a) /* wraps: -INT_MIN is INT_MIN */
#define EXPR_fabs(T, W) fabs(a)
#define EXPR_sabs(T, W) (a < 0 ? (T)((W)0 - (W)a) : a)
#define EXPR_uabs(T, W) (a)
/* Sign: -1, 0 or 1; NaN stays NaN. */
#define EXPR_fsign(T, W) (a > 0 ? (T)1 : a < 0 ? (T)-1 : a)
#define EXPR_ssign(T, W) (T)((a > 0) - (a < 0))
#define EXPR_usign(T, W) (T)(a > 0)
#define EXPR_not(T, W) (uint8_t)!a
#define EXPR_isnan(T, W) (uint8_t)(isnan(a) != 0)
/* IsInf: arg holds the detect_negative / detect_positive attributes. */
#define IS_INF_DETECTED(sign) (((const unary_attributes *)arg)->detect_##sign)
#define EXPR_isinf(T, W) \
    (uint8_t)(isinf(a) && (a < 0 ? IS_INF_DETECTED(negative) : IS_INF_DETECTED(positive)))

#define DEFINE_SAME_TYPE_UNARY(OP, tag, T, W, DT) \
    DEFINE_UNARY_KERNEL(OP##_##tag, T, T, EXPR_##OP(T, W))
#define DEFINE_PREDICATE_UNARY(OP, tag, T, W, DT) \
    DEFINE_UNARY_KERNEL(OP##_##tag, uint8_t, T, EXPR_##OP(T, W))

FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, sqrt)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, exp)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, log)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, erf)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, reciprocal)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, floor)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, ceil)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, round)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, sin)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, cos)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, tan)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, asin)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, acos)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, atan)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, sinh)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, cosh)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, asinh)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, acosh)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, atanh)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, fneg)
SIGNED_TYPES(DEFINE_SAME_TYPE_UNARY, ineg)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, fabs)
SIGNED_TYPES(DEFINE_SAME_TYPE_UNARY, sabs)
UNSIGNED_TYPES(DEFINE_SAME_TYPE_UNARY, uabs)
FLOAT_TYPES(DEFINE_SAME_TYPE_UNARY, fsign)
SIGNED_TYPES(DEFINE_SAME_TYPE_UNARY, ssign)
UNSIGNED_TYPES(DEFINE_SAME_TYPE_UNARY, usign)
BOOL_TYPE(DEFINE_SAME_TYPE_UNARY, not)
FLOAT_TYPES(DEFINE_PREDICATE_UNARY, isnan)
FLOAT_TYPES(DEFINE_PREDICATE_UNARY, isinf)

typedef struct unary_op {
    const char *op_type;
    bool bool_output;
    broadcast_kernel kernels[DTYPE_SLOTS];   /* by the input's dtype */
} unary_op;

#define FLOAT_UNARY(name, OP) {name, false, {FLOAT_TYPES(KERNEL_ENTRY, OP)}}

static const unary_op unary_ops[] = {
    FLOAT_UNARY("Sqrt", sqrt),
    FLOAT_UNARY("Exp", exp),
    FLOAT_UNARY("Log", log),
    FLOAT_UNARY("Erf", erf),
    FLOAT_UNARY("Reciprocal", reciprocal),
    FLOAT_UNARY("Floor", floor),
    FLOAT_UNARY("Ceil", ceil),
    FLOAT_UNARY("Round", round),
    FLOAT_UNARY("Sin", sin),
    FLOAT_UNARY("Cos", cos),
    FLOAT_UNARY("Tan", tan),
    FLOAT_UNARY("Asin", asin),
    FLOAT_UNARY("Acos", acos),
    FLOAT_UNARY("Atan", atan),
    FLOAT_UNARY("Sinh", sinh),
    FLOAT_UNARY("Cosh", cosh),
    FLOAT_UNARY("Asinh", asinh),
    FLOAT_UNARY("Acosh", acosh),
    FLOAT_UNARY("Atanh", atanh),
    {"Neg", false, {FLOAT_TYPES(KERNEL_ENTRY, fneg) SIGNED_TYPES(KERNEL_ENTRY, ineg)}},
    {"Abs", false,
     {FLOAT_TYPES(KERNEL_ENTRY, fabs) SIGNED_TYPES(KERNEL_ENTRY, sabs)
          UNSIGNED_TYPES(KERNEL_ENTRY, uabs)}},
    {"Sign", false,
     {FLOAT_TYPES(KERNEL_ENTRY, fsign) SIGNED_TYPES(KERNEL_ENTRY, ssign)
          UNSIGNED_TYPES(KERNEL_ENTRY, usign)}},
    {"Not", false, {BOOL_TYPE(KERNEL_ENTRY, not)}},
    {"IsNaN", true, {FLOAT_TYPES(KERNEL_ENTRY, isnan)}},
    {"IsInf", true, {FLOAT_TYPES(KERNEL_ENTRY, isinf)}},
};

static nnq_status unary_prepare(nnq_op_context *ctx, const unary_op **op,
                                broadcast_kernel *kernel) {
    *op = NULL;
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++)
        if (strcmp(unary_ops[i].op_type, ctx->node->op_type) == 0) *op = &unary_ops[i];
    if (!*op) return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "not an elementwise unary operator");
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    return lookup_kernel(ctx, (*op)->kernels, ctx->inputs[0]->dtype, kernel);
}

static nnq_status unary_infer(nnq_op_context *ctx) {
    const unary_op *op = NULL;
    broadcast_kernel kernel = NULL;
    NNQ_TRY(unary_prepare(ctx, &op, &kernel));
    op_infer_same_as(&ctx->outputs[0], ctx->inputs[0]);
    if (op->bool_output) ctx->outputs[0].dtype = NNQ_BOOL;
    return NNQ_OK;
}

static nnq_status unary_run(nnq_op_context *ctx) {
    const unary_op *op = NULL;
    broadcast_kernel kernel = NULL;
    NNQ_TRY(unary_prepare(ctx, &op, &kernel));
    const unary_attributes attributes = {
        .detect_negative = node_attr_int(ctx->node, "detect_negative", 1) != 0,
        .detect_positive = node_attr_int(ctx->node, "detect_positive", 1) != 0,
    };
    broadcast_apply(&ctx->outputs[0], 1, ctx->inputs, kernel, &attributes);
    return NNQ_OK;
}

/* ---------------------------------------------------------------------------
 * Cast / CastLike between float, double, the integer types and bool.
 * ------------------------------------------------------------------------- */

/* To bool: nonzero is true. Float to integer: truncate toward zero (see
 * float_to_integer_bits). Everything else is the plain C conversion, which
 * wraps integers modulo 2^bits as ONNX's reference does. No saturation: the
 * `saturate` attribute only concerns float8 targets. */
#define CAST_EXPR(S, T, DT)                                                                    \
    ((DT) == NNQ_BOOL ? (T)(a != 0)                                                            \
     : (IS_FLOATING_TYPE(S) && !IS_FLOATING_TYPE(T)) ? (T)float_to_integer_bits((double)a)     \
                                                     : (T)a)
#define DEFINE_CAST(S, tag, T, W, DT) \
    DEFINE_UNARY_KERNEL(cast_##S##_##tag, T, S, CAST_EXPR(S, T, DT))
#define CAST_ENTRY(S, tag, T, W, DT) [DT] = cast_##S##_##tag,
#define CAST_TARGETS(X, S) NUMERIC_TYPES(X, S) BOOL_TYPE(X, S)
/* Source types, one line each as a type list cannot be nested in itself;
 * bool sources are bytes holding 0 or 1, converted as uint8. */
#define CAST_SOURCES(Y)                                                                        \
    Y(float, NNQ_FLOAT) Y(double, NNQ_DOUBLE) Y(int8_t, NNQ_INT8) Y(int16_t, NNQ_INT16)        \
    Y(int32_t, NNQ_INT32) Y(int64_t, NNQ_INT64) Y(uint8_t, NNQ_UINT8) Y(uint16_t, NNQ_UINT16)   \
    Y(uint32_t, NNQ_UINT32) Y(uint64_t, NNQ_UINT64)
#define DEFINE_CASTS_FROM(S, S_DT) CAST_TARGETS(DEFINE_CAST, S)
#define CAST_ROW(S, S_DT) [S_DT] = {CAST_TARGETS(CAST_ENTRY, S)},

CAST_SOURCES(DEFINE_CASTS_FROM)
static const broadcast_kernel cast_kernels[DTYPE_SLOTS][DTYPE_SLOTS] = {
    CAST_SOURCES(CAST_ROW) CAST_ROW(uint8_t, NNQ_BOOL)};

/* Float16 targets: nnquant holds float16 data as float (converted when
 * loaded), so a cast to float16 produces float values rounded to half
 * precision (round to nearest even). */
DEFINE_UNARY_KERNEL(round_to_half, float, float, float16_to_float(float_to_float16(a)))

/* The dtype Cast/CastLike produces for an ONNX target type; *to_half is set
 * for float16, which is stored as float. */
static nnq_status cast_target(const nnq_op_context *ctx, int64_t to, nnq_dtype *dtype,
                              bool *to_half) {
    *dtype = NNQ_UNDEFINED;
    *to_half = to == NNQ_FLOAT16;
    if (*to_half) to = NNQ_FLOAT;
    if (to <= NNQ_UNDEFINED || to >= DTYPE_SLOTS || !dtype_is_supported((nnq_dtype)to))
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "cast to element type %s is not supported",
                       dtype_name((nnq_dtype)to));
    *dtype = (nnq_dtype)to;
    return NNQ_OK;
}

/* Resolves the target of Cast (attribute `to`) or CastLike (input 1's dtype). */
static nnq_status cast_prepare(nnq_op_context *ctx, nnq_dtype *target, bool *to_half,
                               broadcast_kernel *kernel) {
    int64_t to;
    if (strcmp(ctx->node->op_type, "CastLike") == 0) {
        NNQ_TRY(op_check_arity(ctx, 2, 2, 1, 1));
        to = ctx->inputs[1]->dtype;
    } else {
        NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
        if (!node_find_attr(ctx->node, "to"))
            return op_fail(ctx, NNQ_ERR_INVALID, "attribute 'to' is required");
        to = node_attr_int(ctx->node, "to", 0);
    }
    NNQ_TRY(cast_target(ctx, to, target, to_half));
    nnq_dtype source = ctx->inputs[0]->dtype;
    *kernel = (source > NNQ_UNDEFINED && source < DTYPE_SLOTS) ? cast_kernels[source][*target]
                                                               : NULL;
    if (!*kernel)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "cast from %s to %s is not supported",
                       dtype_name(source), dtype_name(*target));
    return NNQ_OK;
}

static nnq_status cast_infer(nnq_op_context *ctx) {
    nnq_dtype target = NNQ_UNDEFINED;
    bool to_half = false;
    broadcast_kernel kernel = NULL;
    NNQ_TRY(cast_prepare(ctx, &target, &to_half, &kernel));
    op_infer_same_as(&ctx->outputs[0], ctx->inputs[0]);
    ctx->outputs[0].dtype = target;
    return NNQ_OK;
}

static nnq_status cast_run(nnq_op_context *ctx) {
    nnq_dtype target = NNQ_UNDEFINED;
    bool to_half = false;
    broadcast_kernel kernel = NULL;
    NNQ_TRY(cast_prepare(ctx, &target, &to_half, &kernel));
    nnq_tensor *out = &ctx->outputs[0];
    broadcast_apply(out, 1, ctx->inputs, kernel, NULL);
    if (to_half) {
        const nnq_tensor *self[1] = {out};
        broadcast_apply(out, 1, self, round_to_half, NULL);
    }
    return NNQ_OK;
}

/* ---------------------------------------------------------------------------
 * The family table.
 * ------------------------------------------------------------------------- */

#define BINARY_ROW(name, since) {name, "", since, binary_infer, binary_run}
#define UNARY_ROW(name, since) {name, "", since, unary_infer, unary_run}
#define VARIADIC_ROW(name) {name, "", 1, variadic_infer, variadic_run}

const nnq_op_def nnq_ops_elementwise[] = {
    BINARY_ROW("Add", 1),
    BINARY_ROW("Sub", 1),
    BINARY_ROW("Mul", 1),
    BINARY_ROW("Div", 1),
    BINARY_ROW("Equal", 1),
    BINARY_ROW("Less", 1),
    BINARY_ROW("Greater", 1),
    BINARY_ROW("LessOrEqual", 12),
    BINARY_ROW("GreaterOrEqual", 12),
    BINARY_ROW("And", 1),
    BINARY_ROW("Or", 1),
    BINARY_ROW("Xor", 1),
    BINARY_ROW("Pow", 1),
    BINARY_ROW("Mod", 10),
    BINARY_ROW("BitShift", 11),
    VARIADIC_ROW("Sum"),
    VARIADIC_ROW("Mean"),
    VARIADIC_ROW("Max"),
    VARIADIC_ROW("Min"),
    {"Where", "", 9, where_infer, where_run},
    UNARY_ROW("Sqrt", 1),
    UNARY_ROW("Exp", 1),
    UNARY_ROW("Log", 1),
    UNARY_ROW("Erf", 9),
    UNARY_ROW("Reciprocal", 1),
    UNARY_ROW("Floor", 1),
    UNARY_ROW("Ceil", 1),
    UNARY_ROW("Round", 11),
    UNARY_ROW("Sin", 7),
    UNARY_ROW("Cos", 7),
    UNARY_ROW("Tan", 7),
    UNARY_ROW("Asin", 7),
    UNARY_ROW("Acos", 7),
    UNARY_ROW("Atan", 7),
    UNARY_ROW("Sinh", 9),
    UNARY_ROW("Cosh", 9),
    UNARY_ROW("Asinh", 9),
    UNARY_ROW("Acosh", 9),
    UNARY_ROW("Atanh", 9),
    UNARY_ROW("Neg", 1),
    UNARY_ROW("Abs", 1),
    UNARY_ROW("Sign", 9),
    UNARY_ROW("Not", 1),
    UNARY_ROW("IsNaN", 9),
    UNARY_ROW("IsInf", 10),
    {"Cast", "", 1, cast_infer, cast_run},
    {"CastLike", "", 15, cast_infer, cast_run},
    {NULL, NULL, 0, NULL, NULL},
};
