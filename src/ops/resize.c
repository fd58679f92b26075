/* Resize and its predecessor Upsample.
 *
 * Both map every output coordinate x on a resized axis to a coordinate
 * x_original in the input (the coordinate_transformation_mode), then read
 * the input there with nearest, linear or cubic interpolation. Upsample (and
 * Resize at opset 10) is the asymmetric transform x_original = x / scale
 * with nearest rounding down.
 *
 * The interpolation is separable: N-d linear is 1-D linear along each
 * resized axis in turn (bilinear on images is two passes), and so is cubic.
 * Each pass precomputes, per output index, the input indices and weights it
 * reads ("taps"), then applies them to every row of the tensor. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/parallel.h"
#include "ops/movement_util.h"
#include "ops/op.h"

typedef enum interp_mode { INTERP_NEAREST, INTERP_LINEAR, INTERP_CUBIC } interp_mode;

typedef enum coord_mode {
    COORD_HALF_PIXEL,
    COORD_HALF_PIXEL_SYMMETRIC,
    COORD_PYTORCH_HALF_PIXEL,
    COORD_ALIGN_CORNERS,
    COORD_ASYMMETRIC,
    COORD_TF_HALF_PIXEL_FOR_NN,
    COORD_TF_CROP_AND_RESIZE
} coord_mode;

typedef enum nearest_mode {
    NEAREST_ROUND_PREFER_FLOOR,
    NEAREST_ROUND_PREFER_CEIL,
    NEAREST_FLOOR,
    NEAREST_CEIL
} nearest_mode;

/* Everything a resize needs, read from the node's attributes and inputs. */
typedef struct resize_spec {
    interp_mode mode;
    coord_mode coord;
    nearest_mode nearest;
    double cubic_a;
    bool exclude_outside;
    float extrapolation_value;
    int rank;
    int64_t in_dims[NNQ_MAX_RANK];
    int64_t out_dims[NNQ_MAX_RANK]; /* -1 when not known (static inference) */
    double scales[NNQ_MAX_RANK];
    double roi_start[NNQ_MAX_RANK], roi_end[NNQ_MAX_RANK];
} resize_spec;

#define MAX_OUTPUT_DIM ((int64_t)1 << 40)

/* ---- reading attributes -------------------------------------------------- */

typedef struct name_value {
    const char *name;
    int value;
} name_value;

static nnq_status parse_choice(const nnq_op_context *ctx, const char *attr, const char *fallback,
                               const name_value *choices, size_t n, int *out) {
    const char *name = node_attr_string(ctx->node, attr, fallback);
    *out = choices[0].value;
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, choices[i].name) == 0) {
            *out = choices[i].value;
            return NNQ_OK;
        }
    return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "%s '%s' is not supported", attr, name);
}

static nnq_status read_interp_mode(const nnq_op_context *ctx, bool allow_cubic, resize_spec *spec) {
    static const name_value modes[] = {
        {"nearest", INTERP_NEAREST}, {"linear", INTERP_LINEAR}, {"bilinear", INTERP_LINEAR},
        {"cubic", INTERP_CUBIC}};
    int mode;
    NNQ_TRY(parse_choice(ctx, "mode", "nearest", modes, allow_cubic ? 4 : 3, &mode));
    spec->mode = (interp_mode)mode;
    return NNQ_OK;
}

/* Upsample and Resize-10: x_original = x / scale, nearest rounds down. */
static void set_asymmetric_floor(resize_spec *spec) {
    spec->coord = COORD_ASYMMETRIC;
    spec->nearest = NEAREST_FLOOR;
    spec->cubic_a = -0.75;
    spec->exclude_outside = false;
    spec->extrapolation_value = 0.0f;
}

/* Resize from opset 11: transformation, rounding and cubic attributes. */
static nnq_status read_resize_attrs(const nnq_op_context *ctx, resize_spec *spec) {
    static const name_value coords[] = {
        {"half_pixel", COORD_HALF_PIXEL},
        {"half_pixel_symmetric", COORD_HALF_PIXEL_SYMMETRIC},
        {"pytorch_half_pixel", COORD_PYTORCH_HALF_PIXEL},
        {"align_corners", COORD_ALIGN_CORNERS},
        {"asymmetric", COORD_ASYMMETRIC},
        {"tf_half_pixel_for_nn", COORD_TF_HALF_PIXEL_FOR_NN},
        {"tf_crop_and_resize", COORD_TF_CROP_AND_RESIZE}};
    static const name_value roundings[] = {
        {"round_prefer_floor", NEAREST_ROUND_PREFER_FLOOR},
        {"round_prefer_ceil", NEAREST_ROUND_PREFER_CEIL},
        {"floor", NEAREST_FLOOR},
        {"ceil", NEAREST_CEIL}};
    int coord, nearest;
    NNQ_TRY(read_interp_mode(ctx, true, spec));
    NNQ_TRY(parse_choice(ctx, "coordinate_transformation_mode", "half_pixel", coords,
                         sizeof coords / sizeof coords[0], &coord));
    NNQ_TRY(parse_choice(ctx, "nearest_mode", "round_prefer_floor", roundings,
                         sizeof roundings / sizeof roundings[0], &nearest));
    spec->coord = (coord_mode)coord;
    spec->nearest = (nearest_mode)nearest;
    spec->cubic_a = node_attr_float(ctx->node, "cubic_coeff_a", -0.75f);
    spec->exclude_outside = node_attr_int(ctx->node, "exclude_outside", 0) != 0;
    spec->extrapolation_value = node_attr_float(ctx->node, "extrapolation_value", 0.0f);
    if (ctx->opset >= 18 && node_attr_int(ctx->node, "antialias", 0) != 0)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "antialias is not supported");
    return NNQ_OK;
}

/* ---- output size --------------------------------------------------------- */

/* State of an optional input: omitted (or empty, which opset 11-12 models use
 * for "not given"), known, or present without a value yet. */
typedef enum input_state { INPUT_ABSENT, INPUT_KNOWN, INPUT_UNKNOWN } input_state;

static input_state optional_input(const nnq_tensor *t) {
    if (!t || tensor_numel(t) == 0) return INPUT_ABSENT;
    return t->data ? INPUT_KNOWN : INPUT_UNKNOWN;
}

/* The axes scales/sizes/roi refer to: `axes` from opset 18, else all. */
static nnq_status read_axes(const nnq_op_context *ctx, int rank, int *axes, int *count) {
    int64_t n;
    const int64_t *attr = ctx->opset >= 18 ? node_attr_ints(ctx->node, "axes", &n) : NULL;
    if (!attr) {
        for (int i = 0; i < rank; i++) axes[i] = i;
        *count = rank;
        return NNQ_OK;
    }
    if (n > rank) return op_fail(ctx, NNQ_ERR_INVALID, "%lld axes for rank %d", (long long)n, rank);
    bool seen[NNQ_MAX_RANK] = {false};
    for (int i = 0; i < n; i++) {
        NNQ_TRY(op_normalize_axis(ctx, attr[i], rank, &axes[i]));
        if (seen[axes[i]]) return op_fail(ctx, NNQ_ERR_INVALID, "axis %d is repeated", axes[i]);
        seen[axes[i]] = true;
    }
    *count = (int)n;
    return NNQ_OK;
}

/* A list of per-axis values (scales, sizes or roi halves) must match the axes. */
static nnq_status check_length(const nnq_op_context *ctx, const char *what, int64_t n, int64_t expected) {
    if (n != expected)
        return op_fail(ctx, NNQ_ERR_INVALID, "%s has %lld values, expected %lld", what, (long long)n,
                       (long long)expected);
    return NNQ_OK;
}

/* tf_crop_and_resize's region of interest, normalized [start..., end...]. */
static nnq_status apply_roi(const nnq_op_context *ctx, const nnq_tensor *roi, const int *axes, int count,
                            resize_spec *spec) {
    NNQ_TRY(check_length(ctx, "roi", tensor_numel(roi), 2 * (int64_t)count));
    for (int i = 0; i < count; i++) {
        spec->roi_start[axes[i]] = tensor_get_double(roi, i);
        spec->roi_end[axes[i]] = tensor_get_double(roi, count + i);
    }
    return NNQ_OK;
}

/* output_dimension = floor(input_dimension * (roi_end - roi_start) * scale) */
static nnq_status apply_scales(const nnq_op_context *ctx, const double *scales, int64_t n, const int *axes,
                               int count, resize_spec *spec) {
    NNQ_TRY(check_length(ctx, "scales", n, count));
    for (int i = 0; i < count; i++) {
        int a = axes[i];
        double s = scales[i];
        if (!(s > 0.0) || !isfinite(s)) return op_fail(ctx, NNQ_ERR_INVALID, "scale %g is invalid", s);
        spec->scales[a] = s;
        if (spec->in_dims[a] == NNQ_UNKNOWN_DIM) {
            spec->out_dims[a] = NNQ_UNKNOWN_DIM;
            continue;
        }
        double roi_len = spec->coord == COORD_TF_CROP_AND_RESIZE ? spec->roi_end[a] - spec->roi_start[a] : 1.0;
        double out = floor((double)spec->in_dims[a] * roi_len * s);
        if (!(out >= 0.0) || out > (double)MAX_OUTPUT_DIM)
            return op_fail(ctx, NNQ_ERR_INVALID, "scale %g gives an invalid output size on axis %d", s, a);
        spec->out_dims[a] = (int64_t)out;
    }
    return NNQ_OK;
}

/* Output sizes given directly; the scale is then output / input, and from
 * opset 18 keep_aspect_ratio_policy can replace them by one common scale
 * (the smallest for not_larger, the largest for not_smaller) with sizes
 * rounded half up. */
static nnq_status apply_sizes(const nnq_op_context *ctx, const nnq_tensor *sizes, const int *axes, int count,
                              resize_spec *spec) {
    NNQ_TRY(check_length(ctx, "sizes", tensor_numel(sizes), count));
    for (int i = 0; i < count; i++) {
        int a = axes[i];
        int64_t size = tensor_get_int64(sizes, i);
        int64_t in = spec->in_dims[a];
        if (size < 0 || size > MAX_OUTPUT_DIM)
            return op_fail(ctx, NNQ_ERR_INVALID, "size %lld is invalid", (long long)size);
        if (in == 0 && size != 0)
            return op_fail(ctx, NNQ_ERR_INVALID, "cannot resize an empty axis %d to %lld", a, (long long)size);
        spec->out_dims[a] = size;
        spec->scales[a] = in > 0 ? (double)size / (double)in : 1.0;
    }
    const char *policy = ctx->opset >= 18 ? node_attr_string(ctx->node, "keep_aspect_ratio_policy", "stretch")
                                          : "stretch";
    if (strcmp(policy, "stretch") == 0) return NNQ_OK;
    bool not_larger = strcmp(policy, "not_larger") == 0;
    if (!not_larger && strcmp(policy, "not_smaller") != 0)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "keep_aspect_ratio_policy '%s' is not supported", policy);
    double scale = spec->scales[axes[0]];
    for (int i = 1; i < count; i++) {
        double s = spec->scales[axes[i]];
        scale = not_larger ? fmin(scale, s) : fmax(scale, s);
    }
    for (int i = 0; i < count; i++) {
        int a = axes[i];
        spec->scales[a] = scale;
        if (spec->in_dims[a] != NNQ_UNKNOWN_DIM)
            spec->out_dims[a] = (int64_t)floor(scale * (double)spec->in_dims[a] + 0.5);
    }
    return NNQ_OK;
}

static void spec_init(resize_spec *spec, const nnq_tensor *in) {
    spec->rank = in->rank;
    for (int i = 0; i < in->rank; i++) {
        spec->in_dims[i] = spec->out_dims[i] = in->dims[i];
        spec->scales[i] = 1.0;
        spec->roi_start[i] = 0.0;
        spec->roi_end[i] = 1.0;
    }
}

/* Reads a scales tensor (float) into doubles. */
static nnq_status scales_from_tensor(const nnq_op_context *ctx, const nnq_tensor *t, const int *axes, int count,
                                     resize_spec *spec) {
    double scales[NNQ_MAX_RANK];
    int64_t n = tensor_numel(t);
    NNQ_TRY(check_length(ctx, "scales", n, count));
    for (int64_t i = 0; i < n; i++) scales[i] = tensor_get_double(t, i);
    return apply_scales(ctx, scales, n, axes, count, spec);
}

/* Resize: opset 10 takes (X, scales); from 11 (X, roi, scales, sizes) with
 * exactly one of scales and sizes. *known is false when a needed input has
 * no value yet. */
static nnq_status read_resize_spec(const nnq_op_context *ctx, const nnq_tensor *in, resize_spec *spec,
                                   bool *known) {
    spec_init(spec, in);
    *known = true;
    int axes[NNQ_MAX_RANK], count;
    if (ctx->opset < 11) {
        set_asymmetric_floor(spec);
        NNQ_TRY(read_interp_mode(ctx, false, spec));
        NNQ_TRY(read_axes(ctx, in->rank, axes, &count));
        const nnq_tensor *scales = ctx->inputs[1];
        if (!scales->data) {
            *known = false;
            return NNQ_OK;
        }
        return scales_from_tensor(ctx, scales, axes, count, spec);
    }
    NNQ_TRY(read_resize_attrs(ctx, spec));
    NNQ_TRY(read_axes(ctx, in->rank, axes, &count));
    const nnq_tensor *roi = op_input(ctx, 1), *scales = op_input(ctx, 2), *sizes = op_input(ctx, 3);
    input_state roi_state = optional_input(roi), scales_state = optional_input(scales),
                sizes_state = optional_input(sizes);
    if (scales_state != INPUT_ABSENT && sizes_state != INPUT_ABSENT)
        return op_fail(ctx, NNQ_ERR_INVALID, "only one of scales and sizes may be given");
    if (scales_state == INPUT_ABSENT && sizes_state == INPUT_ABSENT)
        return op_fail(ctx, NNQ_ERR_INVALID, "one of scales and sizes is required");
    bool roi_used = spec->coord == COORD_TF_CROP_AND_RESIZE;
    if (scales_state == INPUT_UNKNOWN || sizes_state == INPUT_UNKNOWN ||
        (roi_used && roi_state == INPUT_UNKNOWN)) {
        *known = false;
        return NNQ_OK;
    }
    if (roi_used && roi_state == INPUT_KNOWN) NNQ_TRY(apply_roi(ctx, roi, axes, count, spec));
    if (scales_state == INPUT_KNOWN) return scales_from_tensor(ctx, scales, axes, count, spec);
    return apply_sizes(ctx, sizes, axes, count, spec);
}

/* Upsample: scales attribute at opset 7-8, input 1 from opset 9. */
static nnq_status read_upsample_spec(const nnq_op_context *ctx, const nnq_tensor *in, resize_spec *spec,
                                     bool *known) {
    spec_init(spec, in);
    *known = true;
    set_asymmetric_floor(spec);
    NNQ_TRY(read_interp_mode(ctx, false, spec));
    int axes[NNQ_MAX_RANK];
    for (int i = 0; i < in->rank; i++) axes[i] = i;
    if (ctx->opset >= 9) {
        const nnq_tensor *scales = ctx->inputs[1];
        if (!scales->data) {
            *known = false;
            return NNQ_OK;
        }
        return scales_from_tensor(ctx, scales, axes, in->rank, spec);
    }
    int64_t n;
    const float *attr = node_attr_floats(ctx->node, "scales", &n);
    if (!attr) return op_fail(ctx, NNQ_ERR_INVALID, "missing 'scales' attribute");
    double scales[NNQ_MAX_RANK];
    NNQ_TRY(check_length(ctx, "scales", n, in->rank));
    for (int64_t i = 0; i < n; i++) scales[i] = attr[i];
    return apply_scales(ctx, scales, n, axes, in->rank, spec);
}

typedef nnq_status (*spec_reader)(const nnq_op_context *ctx, const nnq_tensor *in, resize_spec *spec,
                                  bool *known);

static nnq_status infer_with(nnq_op_context *ctx, spec_reader read) {
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    out->dtype = in->dtype;
    out->rank = in->rank;
    if (in->rank == NNQ_UNKNOWN_RANK) return NNQ_OK;
    if (in->rank == 0) return op_fail(ctx, NNQ_ERR_INVALID, "input must have rank >= 1");
    resize_spec spec;
    bool known;
    NNQ_TRY(read(ctx, in, &spec, &known));
    for (int i = 0; i < in->rank; i++) out->dims[i] = known ? spec.out_dims[i] : NNQ_UNKNOWN_DIM;
    NNQ_TRY(check_movable_dtype(ctx, in));
    if (known && spec.mode != INTERP_NEAREST && in->dtype != NNQ_FLOAT && in->dtype != NNQ_UNDEFINED)
        return op_fail(ctx, NNQ_ERR_UNSUPPORTED, "linear and cubic modes need float data, not %s",
                       dtype_name(in->dtype));
    return NNQ_OK;
}

/* ---- coordinates and taps ------------------------------------------------ */

/* x_original for output coordinate x on axis a, per coordinate_transformation_mode.
 * length_resized is scale * length_original (not rounded), as in the spec's formulas. */
static double original_coordinate(const resize_spec *spec, int a, double x) {
    double scale = spec->scales[a];
    double in_len = (double)spec->in_dims[a];
    double resized_len = scale * in_len;
    switch (spec->coord) {
    case COORD_HALF_PIXEL: return (x + 0.5) / scale - 0.5;
    case COORD_HALF_PIXEL_SYMMETRIC: {
        /* half_pixel around the centre of the input, corrected for the rounding of the output size */
        double adjustment = (double)spec->out_dims[a] / resized_len;
        double offset = in_len / 2.0 * (1.0 - adjustment);
        return offset + (x + 0.5) / scale - 0.5;
    }
    case COORD_PYTORCH_HALF_PIXEL: return resized_len > 1.0 ? (x + 0.5) / scale - 0.5 : 0.0;
    case COORD_ALIGN_CORNERS: return resized_len == 1.0 ? 0.0 : x * (in_len - 1.0) / (resized_len - 1.0);
    case COORD_ASYMMETRIC: return x / scale;
    case COORD_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / scale;
    case COORD_TF_CROP_AND_RESIZE: {
        double start = spec->roi_start[a], end = spec->roi_end[a];
        double out_len = (double)spec->out_dims[a];
        if (out_len > 1.0) return start * (in_len - 1.0) + x * (end - start) * (in_len - 1.0) / (out_len - 1.0);
        return 0.5 * (start + end) * (in_len - 1.0);
    }
    }
    return x;
}

static int64_t nearest_index(nearest_mode mode, double x) {
    double f = floor(x);
    switch (mode) {
    case NEAREST_ROUND_PREFER_FLOOR: return (int64_t)(x - f <= 0.5 ? f : f + 1.0);
    case NEAREST_ROUND_PREFER_CEIL: return (int64_t)(x - f < 0.5 ? f : f + 1.0);
    case NEAREST_FLOOR: return (int64_t)f;
    case NEAREST_CEIL: return (int64_t)ceil(x);
    }
    return (int64_t)f;
}

/* Keys cubic convolution weights for the taps at floor(x) - 1 .. floor(x) + 2,
 * t = x - floor(x), coefficient A (cubic_coeff_a). */
static void cubic_weights(double t, double A, double *w) {
    double d[4] = {t + 1.0, t, 1.0 - t, 2.0 - t}; /* distances to the four taps */
    for (int i = 0; i < 4; i++) {
        double s = d[i];
        if (s <= 1.0) w[i] = ((A + 2.0) * s - (A + 3.0)) * s * s + 1.0;
        else w[i] = ((A * s - 5.0 * A) * s + 8.0 * A) * s - 4.0 * A;
    }
}

/* The input positions and weights one output index reads along an axis. */
typedef struct axis_taps {
    int axis;
    int64_t in_len, out_len;
    int n;              /* taps per output index: 1 nearest, 2 linear, 4 cubic */
    int64_t *index;     /* out_len * n input indices, clamped into [0, in_len) */
    float *weight;      /* out_len * n weights */
    bool *extrapolate;  /* out_len flags: tf_crop_and_resize outside the input */
} axis_taps;

static int taps_per_index(interp_mode mode) {
    return mode == INTERP_NEAREST ? 1 : (mode == INTERP_LINEAR ? 2 : 4);
}

static int64_t clamp_index(int64_t i, int64_t len) { return i < 0 ? 0 : (i >= len ? len - 1 : i); }

/* Fills the taps of output index j at input coordinate x. Out-of-range taps
 * read the edge element (the spec pads the input by edge replication), or
 * with exclude_outside get weight 0 and the others are renormalized. */
static void compute_taps(const resize_spec *spec, const axis_taps *t, int64_t j, double x) {
    int64_t *index = t->index + j * t->n;
    float *weight = t->weight + j * t->n;
    /* Far outside the input every tap reads the edge; bounding x (and
     * mapping a NaN from a bad roi to 0) keeps the integer conversions defined. */
    double len = (double)t->in_len;
    if (isnan(x)) x = 0.0;
    x = x < -4.0 ? -4.0 : (x > len + 4.0 ? len + 4.0 : x);
    if (spec->mode == INTERP_NEAREST) {
        index[0] = clamp_index(nearest_index(spec->nearest, x), t->in_len);
        weight[0] = 1.0f;
        return;
    }
    double f = floor(x), frac = x - f;
    int64_t base = (int64_t)f;
    double w[4];
    if (spec->mode == INTERP_LINEAR) {
        w[0] = 1.0 - frac;
        w[1] = frac;
    } else {
        cubic_weights(frac, spec->cubic_a, w);
        base -= 1;
    }
    double sum = 0.0;
    for (int k = 0; k < t->n; k++) {
        int64_t i = base + k;
        if (spec->exclude_outside && (i < 0 || i >= t->in_len)) w[k] = 0.0;
        sum += w[k];
    }
    for (int k = 0; k < t->n; k++) {
        index[k] = clamp_index(base + k, t->in_len);
        weight[k] = (float)(spec->exclude_outside && sum != 0.0 ? w[k] / sum : w[k]);
    }
}

static void build_taps(const resize_spec *spec, axis_taps *t) {
    for (int64_t j = 0; j < t->out_len; j++) {
        double x = original_coordinate(spec, t->axis, (double)j);
        /* tf_crop_and_resize returns extrapolation_value outside the input. */
        t->extrapolate[j] = spec->coord == COORD_TF_CROP_AND_RESIZE && (x < 0.0 || x > (double)(t->in_len - 1));
        compute_taps(spec, t, j, x);
    }
}

/* True when the taps read input index j with weight 1 for every j: no pass needed. */
static bool taps_are_identity(const axis_taps *t) {
    if (t->in_len != t->out_len) return false;
    for (int64_t j = 0; j < t->out_len; j++) {
        if (t->extrapolate[j]) return false;
        for (int k = 0; k < t->n; k++) {
            float w = t->weight[j * t->n + k];
            int64_t i = t->index[j * t->n + k];
            if (w != 0.0f && (i != j || w != 1.0f)) return false;
        }
    }
    return true;
}

/* ---- passes ---------------------------------------------------------------- */

/* A pass resizes one axis of a tensor seen as [outer, in_len, inner] into
 * [outer, out_len, inner]. */
typedef struct pass_shape {
    int64_t outer, inner;
} pass_shape;

static void nearest_pass(char *dst, const char *src, pass_shape s, const axis_taps *t, size_t elem) {
    size_t row = (size_t)s.inner * elem;
    int threads = nnq_threads_for((double)s.outer * (double)t->out_len * (double)s.inner,
                                  NNQ_GRAIN_ELEMENTS, s.outer);
    NNQ_PARALLEL_FOR(threads, (int64_t o = 0; o < s.outer; o++), {
        char *d = dst + (size_t)(o * t->out_len) * row;
        const char *from = src + (size_t)(o * t->in_len) * row;
        if (s.inner == 1) {
            for (int64_t j = 0; j < t->out_len; j++)
                copy_element(d + (size_t)j * elem, from + (size_t)t->index[j] * elem, elem);
        } else {
            for (int64_t j = 0; j < t->out_len; j++)
                memcpy(d + (size_t)j * row, from + (size_t)t->index[j] * row, row);
        }
    });
}

/* Weighted sum of the taps of output index j when rows are single elements. */
static float interpolate_element(const float *from, const axis_taps *t, int64_t j) {
    const int64_t *index = t->index + j * t->n;
    const float *weight = t->weight + j * t->n;
    float sum = 0.0f;
    for (int k = 0; k < t->n; k++) sum += weight[k] * from[index[k]];
    return sum;
}

/* Weighted sum of whole rows of `inner` elements. */
static void interpolate_row(float *d, const float *from, int64_t inner, const axis_taps *t, int64_t j) {
    for (int64_t i = 0; i < inner; i++) d[i] = 0.0f;
    for (int k = 0; k < t->n; k++) {
        float w = t->weight[j * t->n + k];
        if (w == 0.0f) continue;
        const float *srow = from + t->index[j * t->n + k] * inner;
        for (int64_t i = 0; i < inner; i++) d[i] += w * srow[i];
    }
}

static void interpolate_pass(float *dst, const float *src, pass_shape s, const axis_taps *t, float extrapolation) {
    int threads = nnq_threads_for((double)s.outer * (double)t->out_len * (double)(s.inner * t->n),
                                  NNQ_GRAIN_ELEMENTS, s.outer);
    NNQ_PARALLEL_FOR(threads, (int64_t o = 0; o < s.outer; o++), {
        float *d = dst + o * t->out_len * s.inner;
        const float *from = src + o * t->in_len * s.inner;
        for (int64_t j = 0; j < t->out_len; j++, d += s.inner) {
            if (t->extrapolate[j]) {
                for (int64_t i = 0; i < s.inner; i++) d[i] = extrapolation;
            } else if (s.inner == 1) {
                *d = interpolate_element(from, t, j);
            } else {
                interpolate_row(d, from, s.inner, t, j);
            }
        }
    });
}

/* Runs the passes of all non-identity axes, each on the previous one's
 * output, ping-ponging between two scratch buffers. */
static nnq_status run_passes(nnq_op_context *ctx, const resize_spec *spec, axis_taps *taps, int n_taps) {
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    size_t elem = dtype_size(in->dtype);
    int64_t dims[NNQ_MAX_RANK];
    memcpy(dims, spec->in_dims, sizeof dims);
    int64_t largest = 0; /* the biggest intermediate, in elements */
    for (int p = 0; p + 1 < n_taps; p++) {
        dims[taps[p].axis] = taps[p].out_len;
        int64_t n = dims_numel(dims, spec->rank);
        if (n > largest) largest = n;
    }
    char *scratch = NULL;
    if (largest > 0) {
        scratch = malloc((size_t)largest * 2 * elem);
        if (!scratch) return op_fail(ctx, NNQ_ERR_NOMEM, "out of memory for resize buffers");
    }
    memcpy(dims, spec->in_dims, sizeof dims);
    const char *src = in->data;
    for (int p = 0; p < n_taps; p++) {
        const axis_taps *t = &taps[p];
        char *dst = p + 1 == n_taps ? out->data : scratch + (size_t)(p % 2) * (size_t)largest * elem;
        pass_shape s = {1, 1};
        for (int k = 0; k < t->axis; k++) s.outer *= dims[k];
        for (int k = t->axis + 1; k < spec->rank; k++) s.inner *= dims[k];
        if (spec->mode == INTERP_NEAREST) nearest_pass(dst, src, s, t, elem);
        else interpolate_pass((float *)dst, (const float *)src, s, t, spec->extrapolation_value);
        dims[t->axis] = t->out_len;
        src = dst;
    }
    free(scratch);
    return NNQ_OK;
}

/* Pass order: shrinking axes first, so later passes see less data; among
 * equal ratios the pass over single elements (the innermost axis, slowest per
 * element) runs while the tensor is smallest: first when growing, last when
 * shrinking. */
static bool runs_before(const axis_taps *a, const axis_taps *b) {
    double ratio_a = (double)a->out_len / (double)a->in_len, ratio_b = (double)b->out_len / (double)b->in_len;
    if (ratio_a != ratio_b) return ratio_a < ratio_b;
    return ratio_a > 1.0 ? a->axis > b->axis : a->axis < b->axis;
}

/* Builds the taps of every resized axis (in one allocation), orders the
 * passes and runs them; with no resized axis the output is a copy. */
static nnq_status run_with(nnq_op_context *ctx, spec_reader read) {
    const nnq_tensor *in = ctx->inputs[0];
    nnq_tensor *out = &ctx->outputs[0];
    resize_spec spec;
    bool known;
    NNQ_TRY(read(ctx, in, &spec, &known));
    if (!known) return op_fail(ctx, NNQ_ERR_INVALID, "scales or sizes have no value");
    if (tensor_numel(out) == 0) return NNQ_OK;
    int n = taps_per_index(spec.mode);
    size_t total = 0;
    for (int a = 0; a < spec.rank; a++) total += (size_t)spec.out_dims[a];
    /* One block: all indices, then all weights, then all flags (keeps each aligned). */
    char *block = malloc(total * (size_t)n * (sizeof(int64_t) + sizeof(float)) + total * sizeof(bool));
    if (!block) return op_fail(ctx, NNQ_ERR_NOMEM, "out of memory for resize taps");
    int64_t *next_index = (int64_t *)block;
    float *next_weight = (float *)(next_index + total * (size_t)n);
    bool *next_flag = (bool *)(next_weight + total * (size_t)n);
    axis_taps taps[NNQ_MAX_RANK];
    int n_taps = 0;
    for (int a = 0; a < spec.rank; a++) {
        axis_taps *t = &taps[n_taps];
        *t = (axis_taps){.axis = a, .in_len = spec.in_dims[a], .out_len = spec.out_dims[a], .n = n,
                         .index = next_index, .weight = next_weight, .extrapolate = next_flag};
        next_index += t->out_len * n;
        next_weight += t->out_len * n;
        next_flag += t->out_len;
        build_taps(&spec, t);
        if (!taps_are_identity(t)) n_taps++;
    }
    for (int i = 1; i < n_taps; i++) { /* insertion sort into pass order */
        axis_taps cur = taps[i];
        int j = i - 1;
        while (j >= 0 && runs_before(&cur, &taps[j])) {
            taps[j + 1] = taps[j];
            j--;
        }
        taps[j + 1] = cur;
    }
    nnq_status st = NNQ_OK;
    if (n_taps == 0) memcpy(out->data, in->data, (size_t)tensor_numel(in) * dtype_size(in->dtype));
    else st = run_passes(ctx, &spec, taps, n_taps);
    free(block);
    return st;
}

/* ---- operator entry points ----------------------------------------------- */

static nnq_status resize_infer(nnq_op_context *ctx) {
    if (ctx->opset < 11) NNQ_TRY(op_check_arity(ctx, 2, 2, 1, 1));
    else NNQ_TRY(op_check_arity(ctx, 1, 4, 1, 1));
    return infer_with(ctx, read_resize_spec);
}

static nnq_status resize_run(nnq_op_context *ctx) { return run_with(ctx, read_resize_spec); }

static nnq_status upsample_infer(nnq_op_context *ctx) {
    int inputs = ctx->opset >= 9 ? 2 : 1;
    NNQ_TRY(op_check_arity(ctx, inputs, inputs, 1, 1));
    return infer_with(ctx, read_upsample_spec);
}

static nnq_status upsample_run(nnq_op_context *ctx) { return run_with(ctx, read_upsample_spec); }

const nnq_op_def nnq_ops_resize[] = {
    {"Resize", "", 10, resize_infer, resize_run},
    {"Upsample", "", 7, upsample_infer, upsample_run},
    {NULL, NULL, 0, NULL, NULL},
};
