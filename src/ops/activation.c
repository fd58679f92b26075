/* Activation functions: elementwise maps with up to three float attributes
 * (Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish, Elu, Selu, Celu,
 * Softplus, Softsign, ThresholdedRelu, Shrink), PRelu (slope broadcast to the
 * input) and Clip (bounds from attributes before opset 11, from optional
 * inputs from opset 11). All run through broadcast_apply(). */
#include <string.h>
#include <tgmath.h> /* exp(x), tanh(x), ... pick the float or double function from x's type */

#include "ops/broadcast.h"
#include "ops/op.h"

/* The attributes an activation reads, in the order of its parameter names. */
typedef struct activation_params {
    float alpha, beta, gamma;
} activation_params;

/* Expressions over `x` of type T and the parameters alpha, beta, gamma (as T). */
#define EXPR_relu(T) (x < 0 ? (T)0 : x) /* NaN passes through, as max(0, NaN) */
#define EXPR_leaky_relu(T) (x < 0 ? alpha * x : x)
/* Sigmoid 1 / (1 + e^-x), written so that exp never overflows. */
#define EXPR_sigmoid(T) (x >= 0 ? (T)1 / ((T)1 + exp(-x)) : exp(x) / ((T)1 + exp(x)))
#define EXPR_tanh(T) tanh(x)
/* HardSigmoid max(0, min(1, alpha * x + beta)). */
#define EXPR_hard_sigmoid(T) fmax((T)0, fmin((T)1, alpha * x + beta))
/* HardSwish x * HardSigmoid(x) with alpha 1/6, beta 0.5. */
#define EXPR_hard_swish(T) (x * fmax((T)0, fmin((T)1, x / (T)6 + (T)0.5)))
/* Elu alpha * (e^x - 1) for x < 0. */
#define EXPR_elu(T) (x < 0 ? alpha * expm1(x) : x)
/* Selu gamma * (alpha * e^x - alpha) for x <= 0, gamma * x otherwise. */
#define EXPR_selu(T) (x <= 0 ? gamma * (alpha * exp(x) - alpha) : gamma * x)
/* Celu max(0, x) + min(0, alpha * (e^(x / alpha) - 1)). */
#define EXPR_celu(T) (fmax((T)0, x) + fmin((T)0, alpha * expm1(x / alpha)))
/* Softplus ln(e^x + 1), as x + ln(1 + e^-x) for positive x so exp never overflows. */
#define EXPR_softplus(T) (x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)))
#define EXPR_softsign(T) (x / ((T)1 + fabs(x)))
#define EXPR_thresholded_relu(T) (x > alpha ? x : (T)0)
/* Shrink with lambd (alpha) and bias (beta):
 * x + bias below -lambd, x - bias above lambd, 0 between. */
#define EXPR_shrink(T) (x < -alpha ? x + beta : x > alpha ? x - beta : (T)0)

/* A kernel for one activation and type. The input has the output's shape, so
 * broadcast_apply() always passes step 1 (or a single element). */
#define DEFINE_ACTIVATION(OP, tag, T, W, DT)                                                   \
    static void OP##_##tag(void *out_, const void *const *in, const int64_t *step,             \
                           int64_t count, const void *arg) {                                   \
        (void)step;                                                                            \
        const activation_params *params = arg;                                                 \
        const T alpha = (T)params->alpha, beta = (T)params->beta, gamma = (T)params->gamma;    \
        (void)alpha, (void)beta, (void)gamma;                                                  \
        T *out = out_;                                                                         \
        const T *px = in[0];                                                                   \
        for (int64_t i = 0; i < count; i++) {                                                  \
            const T x = px[i];                                                                 \
            out[i] = (T)(EXPR_##OP(T));                                                        \
        }                                                                                      \
    }

FLOAT_TYPES(DEFINE_ACTIVATION, relu)
SIGNED_TYPES(DEFINE_ACTIVATION, relu)
FLOAT_TYPES(DEFINE_ACTIVATION, leaky_relu)
FLOAT_TYPES(DEFINE_ACTIVATION, sigmoid)
FLOAT_TYPES(DEFINE_ACTIVATION, tanh)
FLOAT_TYPES(DEFINE_ACTIVATION, hard_sigmoid)
FLOAT_TYPES(DEFINE_ACTIVATION, hard_swish)
FLOAT_TYPES(DEFINE_ACTIVATION, elu)
FLOAT_TYPES(DEFINE_ACTIVATION, selu)
FLOAT_TYPES(DEFINE_ACTIVATION, celu)
FLOAT_TYPES(DEFINE_ACTIVATION, softplus)
FLOAT_TYPES(DEFINE_ACTIVATION, softsign)
FLOAT_TYPES(DEFINE_ACTIVATION, thresholded_relu)
FLOAT_TYPES(DEFINE_ACTIVATION, shrink)

typedef struct activation_op {
    const char *op_type;
    broadcast_kernel kernels[DTYPE_SLOTS];   /* by the input's dtype */
    const char *param_names[3];              /* attributes read into alpha, beta, gamma */
    float defaults[3];                       /* ONNX defaults (or fixed values if unnamed) */
} activation_op;

#define FLOAT_KERNELS(OP) {FLOAT_TYPES(KERNEL_ENTRY, OP)}

static const activation_op activation_ops[] = {
    {"Relu", {FLOAT_TYPES(KERNEL_ENTRY, relu) SIGNED_TYPES(KERNEL_ENTRY, relu)}, {0}, {0}},
    {"LeakyRelu", FLOAT_KERNELS(leaky_relu), {"alpha"}, {0.01f}},
    {"Sigmoid", FLOAT_KERNELS(sigmoid), {0}, {0}},
    {"Tanh", FLOAT_KERNELS(tanh), {0}, {0}},
    {"HardSigmoid", FLOAT_KERNELS(hard_sigmoid), {"alpha", "beta"}, {0.2f, 0.5f}},
    {"HardSwish", FLOAT_KERNELS(hard_swish), {0}, {0}},
    {"Elu", FLOAT_KERNELS(elu), {"alpha"}, {1.0f}},
    {"Selu", FLOAT_KERNELS(selu), {"alpha", NULL, "gamma"},
     {1.67326319217681884765625f, 0.0f, 1.05070102214813232421875f}},
    {"Celu", FLOAT_KERNELS(celu), {"alpha"}, {1.0f}},
    {"Softplus", FLOAT_KERNELS(softplus), {0}, {0}},
    {"Softsign", FLOAT_KERNELS(softsign), {0}, {0}},
    {"ThresholdedRelu", FLOAT_KERNELS(thresholded_relu), {"alpha"}, {1.0f}},
    {"Shrink", FLOAT_KERNELS(shrink), {"lambd", "bias"}, {0.5f, 0.0f}},
};

static nnq_status activation_prepare(nnq_op_context *ctx, broadcast_kernel *kernel,
                                     activation_params *params) {
    const activation_op *op = NULL;
    for (size_t i = 0; i < sizeof activation_ops / sizeof activation_ops[0]; i++)
        if (strcmp(activation_ops[i].op_type, ctx->node->op_type) == 0) op = &activation_ops[i];
    if (!op) return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "not an activation operator");
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    nnq_dtype dtype = ctx->inputs[0]->dtype;
    *kernel = (dtype > NNQ_UNDEFINED && dtype < DTYPE_SLOTS) ? op->kernels[dtype] : NULL;
    if (!*kernel)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "element type %s is not supported",
                       dtype_name(dtype));
    float values[3];
    for (int i = 0; i < 3; i++)
        values[i] = op->param_names[i]
                        ? node_attr_float(ctx->node, op->param_names[i], op->defaults[i])
                        : op->defaults[i];
    *params = (activation_params){values[0], values[1], values[2]};
    if (strcmp(op->op_type, "Celu") == 0 && params->alpha == 0.0f)
        return op_fail(ctx, NNQ_ERR_INVALID, "alpha must not be 0");
    return NNQ_OK;
}

static nnq_status activation_infer(nnq_op_context *ctx) {
    broadcast_kernel kernel = NULL;
    activation_params params = {0};
    NNQ_TRY(activation_prepare(ctx, &kernel, &params));
    op_infer_same_as(&ctx->outputs[0], ctx->inputs[0]);
    return NNQ_OK;
}

static nnq_status activation_run(nnq_op_context *ctx) {
    broadcast_kernel kernel = NULL;
    activation_params params = {0};
    NNQ_TRY(activation_prepare(ctx, &kernel, &params));
    broadcast_apply(&ctx->outputs[0], 1, ctx->inputs, kernel, &params);
    return NNQ_OK;
}

/* ---------------------------------------------------------------------------
 * PRelu: x < 0 ? slope * x : x, with slope unidirectionally broadcast to x.
 * ------------------------------------------------------------------------- */

#define EXPR_prelu(T, W) (a < 0 ? (T)((W)b * (W)a) : a)
#define DEFINE_PRELU(OP, tag, T, W, DT) DEFINE_BINARY_KERNEL(OP##_##tag, T, T, T, EXPR_##OP(T, W))
FLOAT_TYPES(DEFINE_PRELU, prelu)
SIGNED_TYPES(DEFINE_PRELU, prelu)
static const broadcast_kernel prelu_kernels[DTYPE_SLOTS] = {
    FLOAT_TYPES(KERNEL_ENTRY, prelu) SIGNED_TYPES(KERNEL_ENTRY, prelu)};

typedef struct prelu_call {
    broadcast_kernel kernel;
    const nnq_tensor *operands[2];
    nnq_tensor slope_view;   /* the slope aligned at the channel axis (before opset 7) */
} prelu_call;

static nnq_status prelu_prepare(nnq_op_context *ctx, prelu_call *call) {
    NNQ_TRY(op_check_arity(ctx, 2, 2, 1, 1));
    const nnq_tensor *x = ctx->inputs[0], *slope = ctx->inputs[1];
    if (x->dtype != slope->dtype)
        return op_fail(ctx, NNQ_ERR_INVALID, "slope type %s differs from input type %s",
                       dtype_name(slope->dtype), dtype_name(x->dtype));
    call->kernel = (x->dtype > NNQ_UNDEFINED && x->dtype < DTYPE_SLOTS) ? prelu_kernels[x->dtype]
                                                                        : NULL;
    if (!call->kernel)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "element type %s is not supported",
                       dtype_name(x->dtype));
    call->operands[0] = x;
    call->operands[1] = slope;
    /* Before opset 7 a slope of C values applies per channel to an input
     * [N, C, ...]; from opset 7 it broadcasts numpy-style. */
    if (ctx->opset < 7 && x->rank >= 2 && slope->rank == 1 && slope->dims[0] > 1 &&
        slope->dims[0] == x->dims[1]) {
        broadcast_view_at_axis(slope, 1, x->rank, &call->slope_view);
        call->operands[1] = &call->slope_view;
    }
    return NNQ_OK;
}

static nnq_status prelu_infer(nnq_op_context *ctx) {
    prelu_call call = {0};
    NNQ_TRY(prelu_prepare(ctx, &call));
    const nnq_tensor *x = call.operands[0], *slope = call.operands[1];
    /* Unidirectional: broadcasting slope against x must give x's own shape. */
    int rank;
    int64_t dims[NNQ_MAX_RANK];
    NNQ_TRY(op_broadcast_shape(ctx, x, slope, &rank, dims));
    if (rank != NNQ_UNKNOWN_RANK) {
        bool fits = rank == x->rank;
        for (int d = 0; fits && d < rank; d++)
            fits = x->dims[d] == NNQ_UNKNOWN_DIM || dims[d] == x->dims[d];
        if (!fits) {
            char sx[96], ss[96];
            return op_fail(ctx, NNQ_ERR_INVALID, "slope %s does not broadcast to input %s",
                           dims_format(slope->dims, slope->rank, ss, sizeof ss),
                           dims_format(x->dims, x->rank, sx, sizeof sx));
        }
    }
    op_infer_same_as(&ctx->outputs[0], x);
    return NNQ_OK;
}

static nnq_status prelu_run(nnq_op_context *ctx) {
    prelu_call call = {0};
    NNQ_TRY(prelu_prepare(ctx, &call));
    broadcast_apply(&ctx->outputs[0], 2, call.operands, call.kernel, NULL);
    return NNQ_OK;
}

/* ---------------------------------------------------------------------------
 * Clip: y = min(max(x, min), max), so min > max gives max everywhere (as the
 * spec says). An absent bound does not clip (the spec's defaults are the
 * type's lowest and highest values).
 * ------------------------------------------------------------------------- */

typedef struct clip_bounds {
    bool has_min, has_max;
    unsigned char min[8], max[8]; /* one element of the input's type */
} clip_bounds;

#define DEFINE_CLIP(OP, tag, T, W, DT)                                                          \
    static void OP##_##tag(void *out_, const void *const *in, const int64_t *step,              \
                           int64_t count, const void *arg) {                                    \
        (void)step; /* same shape as the output */                                              \
        const clip_bounds *bounds = arg;                                                        \
        T lo, hi;                                                                               \
        memcpy(&lo, bounds->min, sizeof lo);                                                    \
        memcpy(&hi, bounds->max, sizeof hi);                                                    \
        const bool has_min = bounds->has_min, has_max = bounds->has_max;                        \
        T *out = out_;                                                                          \
        const T *px = in[0];                                                                    \
        for (int64_t i = 0; i < count; i++) {                                                   \
            T v = px[i];                                                                        \
            if (has_min && v < lo) v = lo;                                                      \
            if (has_max && v > hi) v = hi;                                                      \
            out[i] = v;                                                                         \
        }                                                                                       \
    }
NUMERIC_TYPES(DEFINE_CLIP, clip)
static const broadcast_kernel clip_kernels[DTYPE_SLOTS] = {NUMERIC_TYPES(KERNEL_ENTRY, clip)};

/* Opset < 11: float attributes `min` / `max` (float and double inputs only). */
static nnq_status clip_bounds_from_attributes(nnq_op_context *ctx, nnq_dtype dtype,
                                              clip_bounds *bounds) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    NNQ_TRY(op_check_dtype(ctx, ctx->inputs[0], "input", NNQ_FLOAT, NNQ_DOUBLE, NNQ_UNDEFINED));
    const char *names[2] = {"min", "max"};
    bool *present[2] = {&bounds->has_min, &bounds->has_max};
    unsigned char *slots[2] = {bounds->min, bounds->max};
    for (int i = 0; i < 2; i++) {
        *present[i] = node_find_attr(ctx->node, names[i]) != NULL;
        float value = node_attr_float(ctx->node, names[i], 0.0f);
        if (dtype == NNQ_DOUBLE) {
            double wide = value;
            memcpy(slots[i], &wide, sizeof wide);
        } else {
            memcpy(slots[i], &value, sizeof value);
        }
    }
    return NNQ_OK;
}

/* Opset >= 11: optional scalar inputs 1 (min) and 2 (max) of the input's type.
 * Their values are read only when known (they may be unknown in shape inference). */
static nnq_status clip_bounds_from_inputs(nnq_op_context *ctx, nnq_dtype dtype,
                                          clip_bounds *bounds) {
    NNQ_TRY(op_check_arity(ctx, 1, 3, 1, 1));
    bool *present[2] = {&bounds->has_min, &bounds->has_max};
    unsigned char *slots[2] = {bounds->min, bounds->max};
    for (int i = 0; i < 2; i++) {
        const nnq_tensor *bound = op_input(ctx, i + 1);
        if (!bound) continue;
        if (bound->dtype != dtype)
            return op_fail(ctx, NNQ_ERR_INVALID, "%s has type %s, the input has %s",
                           i == 0 ? "min" : "max", dtype_name(bound->dtype), dtype_name(dtype));
        int64_t n = tensor_numel(bound);
        if (n >= 0 && n != 1)
            return op_fail(ctx, NNQ_ERR_INVALID, "%s must be a scalar, has %lld elements",
                           i == 0 ? "min" : "max", (long long)n);
        if (!bound->data || n != 1) continue;
        *present[i] = true;
        memcpy(slots[i], bound->data, dtype_size(dtype));
    }
    return NNQ_OK;
}

static nnq_status clip_prepare(nnq_op_context *ctx, broadcast_kernel *kernel,
                               clip_bounds *bounds) {
    *bounds = (clip_bounds){0};
    if (ctx->n_inputs < 1 || !ctx->inputs[0])
        return op_fail(ctx, NNQ_ERR_INVALID, "the input is missing");
    nnq_dtype dtype = ctx->inputs[0]->dtype;
    *kernel = (dtype > NNQ_UNDEFINED && dtype < DTYPE_SLOTS) ? clip_kernels[dtype] : NULL;
    if (!*kernel)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "element type %s is not supported",
                       dtype_name(dtype));
    if (ctx->opset < 11) return clip_bounds_from_attributes(ctx, dtype, bounds);
    return clip_bounds_from_inputs(ctx, dtype, bounds);
}

static nnq_status clip_infer(nnq_op_context *ctx) {
    broadcast_kernel kernel = NULL;
    clip_bounds bounds = {0};
    NNQ_TRY(clip_prepare(ctx, &kernel, &bounds));
    op_infer_same_as(&ctx->outputs[0], ctx->inputs[0]);
    return NNQ_OK;
}

static nnq_status clip_run(nnq_op_context *ctx) {
    broadcast_kernel kernel = NULL;
    clip_bounds bounds = {0};
    NNQ_TRY(clip_prepare(ctx, &kernel, &bounds));
    broadcast_apply(&ctx->outputs[0], 1, ctx->inputs, kernel, &bounds);
    return NNQ_OK;
}

#define ACTIVATION_ROW(name, since) {name, "", since, activation_infer, activation_run}

const nnq_op_def nnq_ops_activation[] = {
    ACTIVATION_ROW("Relu", 1),
    ACTIVATION_ROW("LeakyRelu", 1),
    ACTIVATION_ROW("Sigmoid", 1),
    ACTIVATION_ROW("Tanh", 1),
    ACTIVATION_ROW("HardSigmoid", 1),
    ACTIVATION_ROW("HardSwish", 14),
    ACTIVATION_ROW("Elu", 1),
    ACTIVATION_ROW("Selu", 1),
    ACTIVATION_ROW("Celu", 12),
    ACTIVATION_ROW("Softplus", 1),
    ACTIVATION_ROW("Softsign", 1),
    ACTIVATION_ROW("ThresholdedRelu", 10),
    ACTIVATION_ROW("Shrink", 9),
    {"PRelu", "", 1, prelu_infer, prelu_run},
    {"Clip", "", 1, clip_infer, clip_run},
    {NULL, NULL, 0, NULL, NULL},
};
