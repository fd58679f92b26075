/* Constant-producing operators: Constant, ConstantOfShape and EyeLike. */
#include <string.h>

#include "ops/movement_util.h"
#include "ops/op.h"

/* ---- Constant ------------------------------------------------------------ */

/* The one attribute holding Constant's value. `value` (a tensor) exists at
 * every opset; value_float(s) / value_int(s) were added in opset 12. */
static nnq_status constant_attr(const nnq_op_context *ctx, const nnq_attr **out) {
    static const char *const supported[] = {"value", "value_float", "value_floats", "value_int",
                                            "value_ints"};
    static const char *const unsupported[] = {"sparse_value", "value_string", "value_strings"};
    *out = NULL;
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (node_find_attr(ctx->node, unsupported[i]))
            return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "attribute '%s' is not supported", unsupported[i]);
    for (size_t i = 0; i < sizeof supported / sizeof supported[0]; i++) {
        const nnq_attr *a = node_find_attr(ctx->node, supported[i]);
        if (!a || (i > 0 && ctx->opset < 12)) continue;
        if (*out) return op_fail(ctx, NNQ_ERR_INVALID, "more than one value attribute");
        *out = a;
    }
    if (!*out) return op_fail(ctx, NNQ_ERR_INVALID, "missing 'value' attribute");
    return NNQ_OK;
}

/* The attribute's kind must match its name (value is a tensor, value_ints ints...). */
static nnq_status constant_attr_type(const nnq_op_context *ctx, const nnq_attr *a, nnq_attr_type want) {
    if (a->type != want)
        return op_fail(ctx, NNQ_ERR_INVALID, "attribute '%s' has the wrong kind (%d)", a->name, (int)a->type);
    return NNQ_OK;
}

static nnq_status constant_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 0, 0, 1, 1));
    const nnq_attr *a;
    NNQ_TRY(constant_attr(ctx, &a));
    nnq_tensor *out = &ctx->outputs[0];
    if (strcmp(a->name, "value") == 0) {
        NNQ_TRY(constant_attr_type(ctx, a, NNQ_ATTR_TENSOR));
        if (!dtype_is_supported(a->t.dtype))
            return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "value of type %s is not supported",
                           dtype_name(a->t.dtype));
        if (!a->t.data && tensor_numel(&a->t) != 0)
            return op_fail(ctx, NNQ_ERR_INVALID, "value tensor has no data");
        tensor_set_shape(out, a->t.dtype, a->t.rank, a->t.dims);
    } else if (strcmp(a->name, "value_float") == 0) {
        NNQ_TRY(constant_attr_type(ctx, a, NNQ_ATTR_FLOAT));
        tensor_set_shape(out, NNQ_FLOAT, 0, NULL);
    } else if (strcmp(a->name, "value_int") == 0) {
        NNQ_TRY(constant_attr_type(ctx, a, NNQ_ATTR_INT));
        tensor_set_shape(out, NNQ_INT64, 0, NULL);
    } else {
        bool floats = strcmp(a->name, "value_floats") == 0;
        NNQ_TRY(constant_attr_type(ctx, a, floats ? NNQ_ATTR_FLOATS : NNQ_ATTR_INTS));
        int64_t dims[1] = {a->count};
        tensor_set_shape(out, floats ? NNQ_FLOAT : NNQ_INT64, 1, dims);
    }
    return NNQ_OK;
}

static nnq_status constant_run(nnq_op_context *ctx) {
    const nnq_attr *a;
    NNQ_TRY(constant_attr(ctx, &a));
    nnq_tensor *out = &ctx->outputs[0];
    const void *src;
    if (strcmp(a->name, "value") == 0) src = a->t.data;
    else if (strcmp(a->name, "value_float") == 0) src = &a->f;
    else if (strcmp(a->name, "value_int") == 0) src = &a->i;
    else if (strcmp(a->name, "value_floats") == 0) src = a->floats;
    else src = a->ints;
    size_t bytes = (size_t)tensor_numel(out) * dtype_size(out->dtype);
    if (bytes) memcpy(out->data, src, bytes);
    return NNQ_OK;
}

/* ---- ConstantOfShape ----------------------------------------------------- */

/* The fill value: a one-element `value` tensor, by default float 0. */
static nnq_status fill_value(const nnq_op_context *ctx, const nnq_tensor **value) {
    *value = node_attr_tensor(ctx->node, "value");
    if (!*value) return NNQ_OK;
    if (tensor_numel(*value) != 1 || !(*value)->data)
        return op_fail(ctx, NNQ_ERR_INVALID, "value must hold exactly one element");
    if (!dtype_is_supported((*value)->dtype))
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "value of type %s is not supported",
                       dtype_name((*value)->dtype));
    return NNQ_OK;
}

static nnq_status constant_of_shape_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    const nnq_tensor *shape = ctx->inputs[0], *value;
    nnq_tensor *out = &ctx->outputs[0];
    NNQ_TRY(fill_value(ctx, &value));
    out->dtype = value ? value->dtype : NNQ_FLOAT;
    if (!shape->data) { /* the rank is the shape input's length, when known */
        bool length_known = shape->rank == 1 && shape->dims[0] >= 0 && shape->dims[0] <= NNQ_MAX_RANK;
        set_unknown_shape(out, out->dtype, length_known ? (int)shape->dims[0] : NNQ_UNKNOWN_RANK);
        return NNQ_OK;
    }
    int count;
    NNQ_TRY(read_int_list(ctx, shape, "shape", out->dims, NNQ_MAX_RANK, &count));
    for (int i = 0; i < count; i++)
        if (out->dims[i] < 0)
            return op_fail(ctx, NNQ_ERR_INVALID, "shape value %lld is negative", (long long)out->dims[i]);
    out->rank = count;
    return NNQ_OK;
}

static nnq_status constant_of_shape_run(nnq_op_context *ctx) {
    const nnq_tensor *value;
    nnq_tensor *out = &ctx->outputs[0];
    NNQ_TRY(fill_value(ctx, &value));
    size_t elem = dtype_size(out->dtype);
    int64_t n = tensor_numel(out);
    if (!value) {
        memset(out->data, 0, (size_t)n * elem);
        return NNQ_OK;
    }
    char *dst = out->data;
    for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * elem, value->data, elem);
    return NNQ_OK;
}

/* ---- EyeLike ------------------------------------------------------------- */

/* Output type: the `dtype` attribute, else the input's. */
static nnq_status eye_like_dtype(const nnq_op_context *ctx, nnq_dtype *dtype) {
    int64_t code = node_attr_int(ctx->node, "dtype", (int64_t)ctx->inputs[0]->dtype);
    if (code < 0 || code > NNQ_UINT64 || !dtype_is_supported((nnq_dtype)code))
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "dtype %lld is not supported", (long long)code);
    *dtype = (nnq_dtype)code;
    return NNQ_OK;
}

static nnq_status eye_like_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    if (in->rank != 2 && in->rank != NNQ_UNKNOWN_RANK)
        return op_fail(ctx, NNQ_ERR_INVALID, "input must be 2-D, has rank %d", in->rank);
    op_infer_same_as(out, in);
    if (in->dtype == NNQ_UNDEFINED && !node_find_attr(ctx->node, "dtype")) return NNQ_OK;
    return eye_like_dtype(ctx, &out->dtype);
}

/* Ones on the k-th diagonal (output[i][i + k] = 1), zeros elsewhere. */
static nnq_status eye_like_run(nnq_op_context *ctx) {
    nnq_tensor *out = &ctx->outputs[0];
    int64_t rows = out->dims[0], cols = out->dims[1];
    int64_t k = node_attr_int(ctx->node, "k", 0);
    memset(out->data, 0, (size_t)(rows * cols) * dtype_size(out->dtype));
    if (k <= -rows || k >= cols) return NNQ_OK; /* the diagonal misses the matrix */
    for (int64_t i = 0; i < rows; i++) {
        int64_t j = i + k;
        if (j >= 0 && j < cols) tensor_set_double(out, i * cols + j, 1.0);
    }
    return NNQ_OK;
}

const nnq_op_def nnq_ops_constant[] = {
    {"Constant", "", 1, constant_infer, constant_run},
    {"ConstantOfShape", "", 9, constant_of_shape_infer, constant_of_shape_run},
    {"EyeLike", "", 9, eye_like_infer, eye_like_run},
    {NULL, NULL, 0, NULL, NULL},
};
