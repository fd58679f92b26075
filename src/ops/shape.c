/* Shape manipulation operators: Shape, Size, Reshape, Flatten, Squeeze,
 * Unsqueeze, Transpose, Expand, Identity and Dropout (inference only).
 *
 * Most of these only reinterpret the shape: run copies the input bytes
 * unchanged, so every stored dtype works. Transpose and Expand move
 * elements through a strided view (movement_util.h). */
#include <string.h>

#include "ops/movement_util.h"
#include "ops/op.h"

/* ---- shared helpers ---------------------------------------------------- */

/* Output 0 holds input 0's elements unchanged (Reshape, Flatten, Squeeze,
 * Unsqueeze, Identity, Dropout). */
static nnq_status run_copy_input(nnq_op_context *ctx) {
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    int64_t n = tensor_numel(in);
    if (n != tensor_numel(out))
        return op_fail(ctx, NNQ_ERR_INVALID, "output has %lld elements, input %lld",
                       (long long)tensor_numel(out), (long long)n);
    if (n > 0) memcpy(out->data, in->data, (size_t)n * dtype_size(in->dtype));
    return NNQ_OK;
}

/* Axes come from the `axes` attribute before opset 13 and from input 1 from
 * opset 13 on (Squeeze, Unsqueeze). *known is false when the input exists but
 * its value is not known yet (static inference); *count is 0 when absent. */
static nnq_status read_axes(const nnq_op_context *ctx, int64_t *axes, int *count, bool *known) {
    *count = 0;
    *known = true;
    if (ctx->opset < 13) {
        int64_t n;
        const int64_t *attr = node_attr_ints(ctx->node, "axes", &n);
        if (n > NNQ_MAX_RANK)
            return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "%lld axes exceed the maximum rank %d",
                           (long long)n, NNQ_MAX_RANK);
        for (int64_t i = 0; i < n; i++) axes[i] = attr[i];
        *count = (int)n;
        return NNQ_OK;
    }
    const nnq_tensor *t = op_input(ctx, 1);
    if (!t) return NNQ_OK;
    if (!t->data) {
        *known = false;
        return NNQ_OK;
    }
    return read_int_list(ctx, t, "axes", axes, NNQ_MAX_RANK, count);
}

/* Normalizes axes against rank into a per-axis mask; repeated axes are invalid. */
static nnq_status axes_to_mask(const nnq_op_context *ctx, const int64_t *axes, int count, int rank,
                               bool *mask) {
    for (int i = 0; i < rank; i++) mask[i] = false;
    for (int i = 0; i < count; i++) {
        int axis;
        NNQ_TRY(op_normalize_axis(ctx, axes[i], rank, &axis));
        if (mask[axis]) return op_fail(ctx, NNQ_ERR_INVALID, "axis %d is repeated", axis);
        mask[axis] = true;
    }
    return NNQ_OK;
}

/* ---- Shape, Size --------------------------------------------------------- */

/* Opset 15 Shape slices the dims with start/end, clamped like Python slicing. */
static void shape_range(const nnq_op_context *ctx, int rank, int *start, int *end) {
    int64_t s = 0, e = rank;
    if (ctx->opset >= 15) {
        s = node_attr_int(ctx->node, "start", 0);
        e = node_attr_int(ctx->node, "end", rank);
    }
    if (s < 0) s += rank;
    if (e < 0) e += rank;
    s = s < 0 ? 0 : (s > rank ? rank : s);
    e = e < 0 ? 0 : (e > rank ? rank : e);
    *start = (int)s;
    *end = (int)(e > s ? e : s);
}

static nnq_status shape_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    out->dtype = NNQ_INT64;
    if (in->rank == NNQ_UNKNOWN_RANK) {
        set_unknown_shape(out, out->dtype, 1);
        return NNQ_OK;
    }
    int start, end;
    shape_range(ctx, in->rank, &start, &end);
    out->rank = 1;
    out->dims[0] = end - start;
    return NNQ_OK;
}

static nnq_status shape_run(nnq_op_context *ctx) {
    const nnq_tensor *in = ctx->inputs[0];
    int start, end;
    shape_range(ctx, in->rank, &start, &end);
    int64_t *dst = ctx->outputs[0].data;
    for (int i = start; i < end; i++) dst[i - start] = in->dims[i];
    return NNQ_OK;
}

static nnq_status size_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    tensor_set_shape(&ctx->outputs[0], NNQ_INT64, 0, NULL);
    return NNQ_OK;
}

static nnq_status size_run(nnq_op_context *ctx) {
    *(int64_t *)ctx->outputs[0].data = tensor_numel(ctx->inputs[0]);
    return NNQ_OK;
}

/* ---- Reshape ------------------------------------------------------------- */

/* Fills the -1 entry of a requested shape so the element count is kept. */
static nnq_status infer_minus_one(const nnq_op_context *ctx, const nnq_tensor *in, nnq_tensor *out,
                                  int minus_one) {
    int64_t known_product = 1;
    for (int i = 0; i < out->rank; i++) {
        if (i == minus_one) continue;
        if (out->dims[i] < 0) return NNQ_OK; /* unknown: the -1 dim stays unknown */
        known_product *= out->dims[i];
    }
    int64_t numel = tensor_numel(in);
    if (numel < 0) return NNQ_OK;
    if (known_product == 0 || numel % known_product != 0)
        return op_fail(ctx, NNQ_ERR_INVALID, "cannot reshape %lld elements with a -1 dim",
                       (long long)numel);
    out->dims[minus_one] = numel / known_product;
    return NNQ_OK;
}

/* Output shape from the requested one (ONNX Reshape): 0 copies the input dim
 * at that index unless allowzero (opset 14) makes it a real 0; one -1 is
 * inferred from the element count. */
static nnq_status reshape_apply(const nnq_op_context *ctx, const nnq_tensor *in, const int64_t *shape,
                                int count, bool allow_zero, nnq_tensor *out) {
    int minus_one = -1;
    bool has_zero = false;
    out->rank = count;
    for (int i = 0; i < count; i++) {
        int64_t v = shape[i];
        if (v < -1) return op_fail(ctx, NNQ_ERR_INVALID, "shape value %lld is invalid", (long long)v);
        if (v == -1) {
            if (minus_one >= 0) return op_fail(ctx, NNQ_ERR_INVALID, "shape has more than one -1");
            minus_one = i;
            out->dims[i] = NNQ_UNKNOWN_DIM;
        } else if (v == 0 && !allow_zero) {
            if (in->rank != NNQ_UNKNOWN_RANK && i >= in->rank)
                return op_fail(ctx, NNQ_ERR_INVALID, "shape value 0 at index %d has no input dim", i);
            out->dims[i] = in->rank == NNQ_UNKNOWN_RANK ? NNQ_UNKNOWN_DIM : in->dims[i];
        } else {
            has_zero |= v == 0;
            out->dims[i] = v;
        }
    }
    if (has_zero && minus_one >= 0)
        return op_fail(ctx, NNQ_ERR_INVALID, "allowzero shape cannot hold both 0 and -1");
    if (minus_one >= 0) return infer_minus_one(ctx, in, out, minus_one);
    int64_t numel = tensor_numel(in), out_numel = tensor_numel(out);
    if (numel >= 0 && out_numel >= 0 && numel != out_numel) {
        char a[96], b[96];
        return op_fail(ctx, NNQ_ERR_INVALID, "cannot reshape %s into %s",
                       dims_format(in->dims, in->rank, a, sizeof a),
                       dims_format(out->dims, out->rank, b, sizeof b));
    }
    return NNQ_OK;
}

static nnq_status reshape_infer(nnq_op_context *ctx) {
    bool shape_is_input = ctx->opset >= 5;
    NNQ_TRY(op_check_arity(ctx, shape_is_input ? 2 : 1, shape_is_input ? 2 : 1, 1, 1));
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    NNQ_TRY(check_movable_dtype(ctx, in));
    out->dtype = in->dtype;
    int64_t shape[NNQ_MAX_RANK];
    int count;
    if (shape_is_input) {
        const nnq_tensor *s = ctx->inputs[1];
        if (!s->data) { /* rank known only from the shape input's length */
            if (s->rank == 1 && s->dims[0] >= 0 && s->dims[0] <= NNQ_MAX_RANK)
                set_unknown_shape(out, out->dtype, (int)s->dims[0]);
            else
                out->rank = NNQ_UNKNOWN_RANK;
            return NNQ_OK;
        }
        NNQ_TRY(read_int_list(ctx, s, "shape", shape, NNQ_MAX_RANK, &count));
    } else {
        int64_t n;
        const int64_t *attr = node_attr_ints(ctx->node, "shape", &n);
        if (!attr) return op_fail(ctx, NNQ_ERR_INVALID, "missing 'shape' attribute");
        if (n > NNQ_MAX_RANK)
            return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "shape of rank %lld exceeds %d", (long long)n,
                           NNQ_MAX_RANK);
        memcpy(shape, attr, sizeof(int64_t) * (size_t)n);
        count = (int)n;
    }
    bool allow_zero = ctx->opset >= 14 && node_attr_int(ctx->node, "allowzero", 0) != 0;
    return reshape_apply(ctx, in, shape, count, allow_zero, out);
}

/* ---- Flatten ------------------------------------------------------------- */

/* Product of dims[from..to), -1 if any is unknown. */
static int64_t dims_product(const int64_t *dims, int from, int to) {
    return dims_numel(dims + from, to - from);
}

static nnq_status flatten_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    NNQ_TRY(check_movable_dtype(ctx, in));
    out->dtype = in->dtype;
    set_unknown_shape(out, out->dtype, 2);
    if (in->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    int64_t axis = node_attr_int(ctx->node, "axis", 1);
    /* axis is in [0, r]; negative values count from the end from opset 11. */
    if (axis < 0 && ctx->opset >= 11) axis += in->rank;
    if (axis < 0 || axis > in->rank)
        return op_fail(ctx, NNQ_ERR_INVALID, "axis %lld is out of range for rank %d",
                       (long long)node_attr_int(ctx->node, "axis", 1), in->rank);
    out->dims[0] = dims_product(in->dims, 0, (int)axis);
    out->dims[1] = dims_product(in->dims, (int)axis, in->rank);
    return NNQ_OK;
}

/* ---- Squeeze, Unsqueeze -------------------------------------------------- */

static nnq_status squeeze_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, ctx->opset >= 13 ? 2 : 1, 1, 1));
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    NNQ_TRY(check_movable_dtype(ctx, in));
    out->dtype = in->dtype;
    int64_t axes[NNQ_MAX_RANK];
    int count;
    bool known;
    NNQ_TRY(read_axes(ctx, axes, &count, &known));
    out->rank = NNQ_UNKNOWN_RANK;
    if (!known || in->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    bool squeeze[NNQ_MAX_RANK];
    if (count > 0) {
        NNQ_TRY(axes_to_mask(ctx, axes, count, in->rank, squeeze));
        for (int i = 0; i < in->rank; i++)
            if (squeeze[i] && in->dims[i] != 1 && in->dims[i] != NNQ_UNKNOWN_DIM)
                return op_fail(ctx, NNQ_ERR_INVALID, "cannot squeeze axis %d of size %lld", i,
                               (long long)in->dims[i]);
    } else { /* no axes: remove every dim of size 1, which needs all dims known */
        for (int i = 0; i < in->rank; i++) {
            if (in->dims[i] == NNQ_UNKNOWN_DIM) return NNQ_OK;
            squeeze[i] = in->dims[i] == 1;
        }
    }
    int rank = 0;
    for (int i = 0; i < in->rank; i++)
        if (!squeeze[i]) out->dims[rank++] = in->dims[i];
    out->rank = rank;
    return NNQ_OK;
}

static nnq_status unsqueeze_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, ctx->opset >= 13 ? 2 : 1, ctx->opset >= 13 ? 2 : 1, 1, 1));
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    NNQ_TRY(check_movable_dtype(ctx, in));
    out->dtype = in->dtype;
    int64_t axes[NNQ_MAX_RANK];
    int count;
    bool known;
    NNQ_TRY(read_axes(ctx, axes, &count, &known));
    out->rank = NNQ_UNKNOWN_RANK;
    if (!known || in->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    if (count == 0) return op_fail(ctx, NNQ_ERR_INVALID, "axes are required");
    int rank = in->rank + count;
    if (rank > NNQ_MAX_RANK)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "output rank %d exceeds %d", rank, NNQ_MAX_RANK);
    /* Axes index the output shape, so negative ones count from its end. */
    bool inserted[NNQ_MAX_RANK];
    NNQ_TRY(axes_to_mask(ctx, axes, count, rank, inserted));
    for (int i = 0, next = 0; i < rank; i++) out->dims[i] = inserted[i] ? 1 : in->dims[next++];
    out->rank = rank;
    return NNQ_OK;
}

/* ---- Transpose ----------------------------------------------------------- */

/* perm attribute, by default the reversed axes; must be a permutation of rank axes. */
static nnq_status transpose_perm(const nnq_op_context *ctx, int rank, int *perm) {
    int64_t n;
    const int64_t *attr = node_attr_ints(ctx->node, "perm", &n);
    if (!attr) {
        for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        return NNQ_OK;
    }
    if (n != rank)
        return op_fail(ctx, NNQ_ERR_INVALID, "perm has %lld entries for rank %d", (long long)n, rank);
    bool used[NNQ_MAX_RANK] = {false};
    for (int i = 0; i < rank; i++) {
        if (attr[i] < 0 || attr[i] >= rank || used[attr[i]])
            return op_fail(ctx, NNQ_ERR_INVALID, "perm is not a permutation of %d axes", rank);
        used[attr[i]] = true;
        perm[i] = (int)attr[i];
    }
    return NNQ_OK;
}

static nnq_status transpose_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    NNQ_TRY(check_movable_dtype(ctx, in));
    out->dtype = in->dtype;
    if (in->rank == NNQ_UNKNOWN_RANK) {
        int64_t n;
        const int64_t *perm = node_attr_ints(ctx->node, "perm", &n);
        if (perm && n <= NNQ_MAX_RANK) set_unknown_shape(out, out->dtype, (int)n);
        else out->rank = NNQ_UNKNOWN_RANK;
        return NNQ_OK;
    }
    int perm[NNQ_MAX_RANK];
    NNQ_TRY(transpose_perm(ctx, in->rank, perm));
    out->rank = in->rank;
    for (int i = 0; i < in->rank; i++) out->dims[i] = in->dims[perm[i]];
    return NNQ_OK;
}

/* output[i_0..i_r] = input[j] with j[perm[k]] = i_k: a view whose axis k
 * walks the input's axis perm[k]. */
static nnq_status transpose_run(nnq_op_context *ctx) {
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    int perm[NNQ_MAX_RANK];
    NNQ_TRY(transpose_perm(ctx, in->rank, perm));
    int64_t in_strides[NNQ_MAX_RANK];
    dense_strides(in->dims, in->rank, in_strides);
    copy_view view = {.rank = out->rank, .offset = 0};
    for (int k = 0; k < out->rank; k++) {
        view.dims[k] = out->dims[k];
        view.strides[k] = in_strides[perm[k]];
    }
    copy_view_run(out->data, in->data, &view, dtype_size(in->dtype));
    return NNQ_OK;
}

/* ---- Expand -------------------------------------------------------------- */

static nnq_status expand_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 2, 2, 1, 1));
    const nnq_tensor *in = ctx->inputs[0], *shape = ctx->inputs[1];
    nnq_tensor *out = &ctx->outputs[0];
    NNQ_TRY(check_movable_dtype(ctx, in));
    out->dtype = in->dtype;
    if (!shape->data) {
        bool length_known = shape->rank == 1 && shape->dims[0] >= 0 && shape->dims[0] <= NNQ_MAX_RANK;
        if (in->rank == NNQ_UNKNOWN_RANK || !length_known) {
            out->rank = NNQ_UNKNOWN_RANK;
            return NNQ_OK;
        }
        int rank = in->rank > (int)shape->dims[0] ? in->rank : (int)shape->dims[0];
        set_unknown_shape(out, out->dtype, rank);
        return NNQ_OK;
    }
    /* Expand broadcasts bidirectionally: the result is the numpy broadcast of
     * the input shape with the requested one. */
    nnq_tensor target = {.dtype = NNQ_INT64};
    int count;
    NNQ_TRY(read_int_list(ctx, shape, "shape", target.dims, NNQ_MAX_RANK, &count));
    target.rank = count;
    for (int i = 0; i < count; i++)
        if (target.dims[i] < 0)
            return op_fail(ctx, NNQ_ERR_INVALID, "shape value %lld is negative",
                           (long long)target.dims[i]);
    return op_broadcast_shape(ctx, in, &target, &out->rank, out->dims);
}

static nnq_status expand_run(nnq_op_context *ctx) {
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    copy_view view = {.rank = out->rank, .offset = 0};
    memcpy(view.dims, out->dims, sizeof(int64_t) * (size_t)out->rank);
    op_broadcast_strides(in->dims, in->rank, out->dims, out->rank, view.strides);
    copy_view_run(out->data, in->data, &view, dtype_size(in->dtype));
    return NNQ_OK;
}

/* ---- Identity, Dropout --------------------------------------------------- */

static nnq_status identity_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, 1, 1, 1));
    NNQ_TRY(check_movable_dtype(ctx, ctx->inputs[0]));
    op_infer_same_as(&ctx->outputs[0], ctx->inputs[0]);
    return NNQ_OK;
}

/* Dropout at inference is the identity. From opset 12 the ratio and
 * training_mode are inputs; training with a non-zero ratio would need random
 * masks, which nnquant does not produce. */
static nnq_status dropout_check_mode(const nnq_op_context *ctx) {
    if (ctx->opset < 12) return NNQ_OK;
    const nnq_tensor *ratio = op_input(ctx, 1), *training = op_input(ctx, 2);
    if (!training || !training->data || tensor_numel(training) != 1) return NNQ_OK;
    if (!tensor_get_int64(training, 0)) return NNQ_OK;
    double r = 0.5; /* default ratio */
    if (ratio) {
        if (!ratio->data || tensor_numel(ratio) != 1) return NNQ_OK;
        r = tensor_get_double(ratio, 0);
    }
    if (r != 0.0)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "training mode with ratio %g (random dropout)", r);
    return NNQ_OK;
}

static nnq_status dropout_infer(nnq_op_context *ctx) {
    NNQ_TRY(op_check_arity(ctx, 1, ctx->opset >= 12 ? 3 : 1, 1, 2));
    NNQ_TRY(check_movable_dtype(ctx, ctx->inputs[0]));
    NNQ_TRY(dropout_check_mode(ctx));
    op_infer_same_as(&ctx->outputs[0], ctx->inputs[0]);
    if (ctx->n_outputs > 1) {
        op_infer_same_as(&ctx->outputs[1], ctx->inputs[0]);
        /* The mask is bool from opset 10, the data type before. */
        if (ctx->opset >= 10) ctx->outputs[1].dtype = NNQ_BOOL;
    }
    return NNQ_OK;
}

static nnq_status dropout_run(nnq_op_context *ctx) {
    NNQ_TRY(run_copy_input(ctx));
    if (ctx->n_outputs > 1) { /* nothing is dropped: the mask keeps every element */
        nnq_tensor *mask = &ctx->outputs[1];
        int64_t n = tensor_numel(mask);
        for (int64_t i = 0; i < n; i++) tensor_set_double(mask, i, 1.0);
    }
    return NNQ_OK;
}

const nnq_op_def nnq_ops_shape[] = {
    {"Shape", "", 1, shape_infer, shape_run},
    {"Size", "", 1, size_infer, size_run},
    {"Reshape", "", 1, reshape_infer, run_copy_input},
    {"Flatten", "", 1, flatten_infer, run_copy_input},
    {"Squeeze", "", 1, squeeze_infer, run_copy_input},
    {"Unsqueeze", "", 1, unsqueeze_infer, run_copy_input},
    {"Transpose", "", 1, transpose_infer, transpose_run},
    {"Expand", "", 8, expand_infer, expand_run},
    {"Identity", "", 1, identity_infer, run_copy_input},
    {"Dropout", "", 7, dropout_infer, dropout_run},
    {NULL, NULL, 0, NULL, NULL},
};
