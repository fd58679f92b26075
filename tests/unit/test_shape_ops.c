/* Hand-computed checks of the data movement operators (shape, indexing,
 * constant, resize families), run through the operator registry the way the
 * executor does: infer, allocate, run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ops/op.h"

/* ---- building nodes and tensors ------------------------------------------ */

#define MAX_ATTRS 8

typedef struct test_node {
    nnq_node node;
    nnq_attr attrs[MAX_ATTRS];
} test_node;

static void node_init(test_node *t, const char *op_type) {
    memset(t, 0, sizeof *t);
    static char *no_names[1] = {(char *)""};
    t->node.name = (char *)"test";
    t->node.op_type = (char *)op_type;
    t->node.domain = (char *)"";
    t->node.inputs = no_names;
    t->node.outputs = no_names;
    t->node.attrs = t->attrs;
}

static nnq_attr *add_attr(test_node *t, const char *name, nnq_attr_type type) {
    nnq_attr *a = &t->attrs[t->node.n_attrs++];
    a->name = (char *)name;
    a->type = type;
    return a;
}

static void attr_int(test_node *t, const char *name, int64_t v) { add_attr(t, name, NNQ_ATTR_INT)->i = v; }

static void attr_string(test_node *t, const char *name, const char *v) {
    nnq_attr *a = add_attr(t, name, NNQ_ATTR_STRING);
    a->s = (char *)v;
    a->s_len = strlen(v);
}

static nnq_tensor make_tensor(nnq_dtype dtype, int rank, const int64_t *dims, const double *values) {
    nnq_tensor t;
    memset(&t, 0, sizeof t);
    tensor_create(&t, dtype, rank, dims);
    for (int64_t i = 0; values && i < tensor_numel(&t); i++) tensor_set_double(&t, i, values[i]);
    return t;
}

static nnq_tensor make_ints(int n, const int64_t *values) {
    int64_t dims[1] = {n};
    nnq_tensor t = make_tensor(NNQ_INT64, 1, dims, NULL);
    memcpy(t.data, values, sizeof(int64_t) * (size_t)n);
    return t;
}

/* 0, 1, 2, ... as float. */
static nnq_tensor make_iota(int rank, const int64_t *dims) {
    nnq_tensor t = make_tensor(NNQ_FLOAT, rank, dims, NULL);
    for (int64_t i = 0; i < tensor_numel(&t); i++) ((float *)t.data)[i] = (float)i;
    return t;
}

/* Infers, allocates and runs one node with one output. */
static nnq_status run_node(test_node *t, int opset, const nnq_tensor **inputs, int n_inputs, nnq_tensor *out) {
    memset(out, 0, sizeof *out);
    t->node.n_inputs = n_inputs;
    t->node.n_outputs = 1;
    const nnq_op_def *def = op_registry_find("", t->node.op_type, opset);
    if (!def) return NNQ_ERR_UNSUPPORTED;
    nnq_op_context ctx = {&t->node, opset, n_inputs, inputs, 1, out};
    nnq_status st = def->infer(&ctx);
    if (st == NNQ_OK) st = tensor_alloc(out);
    if (st == NNQ_OK) st = def->run(&ctx);
    return st;
}

/* Static shape inference only. */
static nnq_status infer_node(test_node *t, int opset, const nnq_tensor **inputs, int n_inputs, nnq_tensor *out) {
    memset(out, 0, sizeof *out);
    t->node.n_inputs = n_inputs;
    t->node.n_outputs = 1;
    const nnq_op_def *def = op_registry_find("", t->node.op_type, opset);
    if (!def) return NNQ_ERR_UNSUPPORTED;
    nnq_op_context ctx = {&t->node, opset, n_inputs, inputs, 1, out};
    return def->infer(&ctx);
}

static bool dims_equal(const nnq_tensor *t, int rank, const int64_t *dims) {
    if (t->rank != rank) return false;
    for (int i = 0; i < rank; i++)
        if (t->dims[i] != dims[i]) return false;
    return true;
}

static bool values_equal(const nnq_tensor *t, const double *expected, int64_t n) {
    if (tensor_numel(t) != n) return false;
    for (int64_t i = 0; i < n; i++)
        if (fabs(tensor_get_double(t, i) - expected[i]) > 1e-6) {
            fprintf(stderr, "  element %lld: %g, expected %g\n", (long long)i, tensor_get_double(t, i), expected[i]);
            return false;
        }
    return true;
}

/* ---- Reshape --------------------------------------------------------------- */

static void test_reshape(void) {
    int64_t in_dims[3] = {2, 3, 4};
    nnq_tensor x = make_iota(3, in_dims);
    test_node n;
    node_init(&n, "Reshape");

    /* [0, -1]: dim 0 copied (2), the rest inferred (24 / 2 = 12); data unchanged. */
    int64_t shape_a[2] = {0, -1};
    nnq_tensor s = make_ints(2, shape_a);
    const nnq_tensor *inputs[2] = {&x, &s};
    nnq_tensor out;
    CHECK(run_node(&n, 14, inputs, 2, &out) == NNQ_OK);
    int64_t want_a[2] = {2, 12};
    CHECK(dims_equal(&out, 2, want_a));
    CHECK(out.data && ((float *)out.data)[23] == 23.0f && ((float *)out.data)[5] == 5.0f);
    tensor_free(&out);
    tensor_free(&s);

    /* [4, 0, -1]: index 1 copies the input's 3, -1 = 24 / 12 = 2. */
    int64_t shape_b[3] = {4, 0, -1};
    s = make_ints(3, shape_b);
    CHECK(run_node(&n, 14, inputs, 2, &out) == NNQ_OK);
    int64_t want_b[3] = {4, 3, 2};
    CHECK(dims_equal(&out, 3, want_b));
    tensor_free(&out);
    tensor_free(&s);

    /* Two -1 entries are invalid. */
    int64_t shape_c[2] = {-1, -1};
    s = make_ints(2, shape_c);
    CHECK(run_node(&n, 14, inputs, 2, &out) == NNQ_ERR_INVALID);
    tensor_free(&out);
    tensor_free(&s);

    /* allowzero=1: 0 is a real zero, so 24 elements cannot become [0, 24]. */
    int64_t shape_d[2] = {0, 24};
    s = make_ints(2, shape_d);
    attr_int(&n, "allowzero", 1);
    CHECK(run_node(&n, 14, inputs, 2, &out) == NNQ_ERR_INVALID);
    tensor_free(&out);
    /* ...but before opset 14 allowzero does not exist and 0 copies dim 0 (2): 2 * 24 != 24. */
    CHECK(run_node(&n, 13, inputs, 2, &out) == NNQ_ERR_INVALID);
    tensor_free(&out);
    tensor_free(&s);

    /* Static inference: unknown batch dim with shape [0, 12] gives [?, 12];
     * with [0, -1] the -1 cannot be inferred; a shape without data gives its length. */
    node_init(&n, "Reshape");
    nnq_tensor sym = {.dtype = NNQ_FLOAT, .rank = 3, .dims = {-1, 3, 4}};
    int64_t shape_e[2] = {0, 12};
    s = make_ints(2, shape_e);
    const nnq_tensor *sym_inputs[2] = {&sym, &s};
    CHECK(infer_node(&n, 14, sym_inputs, 2, &out) == NNQ_OK);
    int64_t want_e[2] = {-1, 12};
    CHECK(dims_equal(&out, 2, want_e));
    ((int64_t *)s.data)[1] = -1;
    CHECK(infer_node(&n, 14, sym_inputs, 2, &out) == NNQ_OK);
    int64_t want_f[2] = {-1, -1};
    CHECK(dims_equal(&out, 2, want_f));
    nnq_tensor no_data = {.dtype = NNQ_INT64, .rank = 1, .dims = {3}};
    sym_inputs[1] = &no_data;
    CHECK(infer_node(&n, 14, sym_inputs, 2, &out) == NNQ_OK);
    int64_t want_g[3] = {-1, -1, -1};
    CHECK(dims_equal(&out, 3, want_g));
    tensor_free(&s);
    tensor_free(&x);
}

/* ---- Slice ------------------------------------------------------------------ */

static void test_slice(void) {
    test_node n;
    node_init(&n, "Slice");
    nnq_tensor out;

    /* x = 0..9, start 8, end 1, step -3: indices 8, 5, 2. */
    int64_t dims1[1] = {10};
    nnq_tensor x = make_iota(1, dims1);
    int64_t v8 = 8, v1 = 1, vm3 = -3;
    nnq_tensor starts = make_ints(1, &v8), ends = make_ints(1, &v1), steps = make_ints(1, &vm3);
    const nnq_tensor *inputs[5] = {&x, &starts, &ends, NULL, &steps};
    CHECK(run_node(&n, 13, inputs, 5, &out) == NNQ_OK);
    double want1[3] = {8, 5, 2};
    CHECK(values_equal(&out, want1, 3));
    tensor_free(&out);
    tensor_free(&x);
    tensor_free(&starts);
    tensor_free(&ends);
    tensor_free(&steps);

    /* 2x4 [[0,1,2,3],[4,5,6,7]]: rows 0..2, columns from 3 backwards by 2 with an
     * end far below -dim (clamped to -1): columns 3, 1 -> [[3,1],[7,5]]. */
    int64_t dims2[2] = {2, 4};
    x = make_iota(2, dims2);
    int64_t s2[2] = {0, 3}, e2[2] = {2, INT64_MIN}, a2[2] = {0, -1}, st2[2] = {1, -2};
    starts = make_ints(2, s2);
    ends = make_ints(2, e2);
    nnq_tensor axes = make_ints(2, a2);
    steps = make_ints(2, st2);
    const nnq_tensor *inputs2[5] = {&x, &starts, &ends, &axes, &steps};
    CHECK(run_node(&n, 13, inputs2, 5, &out) == NNQ_OK);
    int64_t want_dims[2] = {2, 2};
    CHECK(dims_equal(&out, 2, want_dims));
    double want2[4] = {3, 1, 7, 5};
    CHECK(values_equal(&out, want2, 4));
    tensor_free(&out);

    /* A zero step is invalid. */
    ((int64_t *)steps.data)[1] = 0;
    CHECK(run_node(&n, 13, inputs2, 5, &out) == NNQ_ERR_INVALID);
    tensor_free(&out);
    tensor_free(&x);
    tensor_free(&starts);
    tensor_free(&ends);
    tensor_free(&axes);
    tensor_free(&steps);
}

/* ---- Resize ----------------------------------------------------------------- */

static void test_resize(void) {
    int64_t dims[4] = {1, 1, 2, 2};
    double pixels[4] = {1, 2, 3, 4};
    nnq_tensor x = make_tensor(NNQ_FLOAT, 4, dims, pixels);
    int64_t scale_dims[1] = {4};
    double scale_values[4] = {1, 1, 2, 2};
    nnq_tensor scales = make_tensor(NNQ_FLOAT, 1, scale_dims, scale_values);
    const nnq_tensor *inputs[3] = {&x, NULL, &scales};
    nnq_tensor out;
    test_node n;

    /* Nearest, asymmetric: x_original = x / 2 = 0, 0.5, 1, 1.5; round_prefer_floor
     * rounds the halves down, so each pixel becomes a 2x2 block. */
    node_init(&n, "Resize");
    attr_string(&n, "mode", "nearest");
    attr_string(&n, "coordinate_transformation_mode", "asymmetric");
    CHECK(run_node(&n, 13, inputs, 3, &out) == NNQ_OK);
    int64_t want_dims[4] = {1, 1, 4, 4};
    CHECK(dims_equal(&out, 4, want_dims));
    double want_nearest[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    CHECK(values_equal(&out, want_nearest, 16));
    tensor_free(&out);

    /* Upsample (opset 9) is the same nearest asymmetric resize. */
    node_init(&n, "Upsample");
    const nnq_tensor *up_inputs[2] = {&x, &scales};
    CHECK(run_node(&n, 9, up_inputs, 2, &out) == NNQ_OK);
    CHECK(values_equal(&out, want_nearest, 16));
    tensor_free(&out);

    /* Bilinear, half_pixel: x_original = (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25,
     * clamped to the edges, so a row [a, b] becomes [a, .75a + .25b, .25a + .75b, b]:
     * [1, 2] -> [1, 1.25, 1.75, 2], [3, 4] -> [3, 3.25, 3.75, 4], then the same
     * along the columns: row 1 = .75 * row0 + .25 * row3. */
    node_init(&n, "Resize");
    attr_string(&n, "mode", "linear");
    CHECK(run_node(&n, 13, inputs, 3, &out) == NNQ_OK);
    double want_linear[16] = {1,   1.25, 1.75, 2,   1.5, 1.75, 2.25, 2.5,
                              2.5, 2.75, 3.25, 3.5, 3,   3.25, 3.75, 4};
    CHECK(values_equal(&out, want_linear, 16));
    tensor_free(&out);

    /* Both scales and sizes given is invalid. */
    int64_t sizes_v[4] = {1, 1, 3, 3};
    nnq_tensor sizes = make_ints(4, sizes_v);
    const nnq_tensor *both[4] = {&x, NULL, &scales, &sizes};
    CHECK(run_node(&n, 13, both, 4, &out) == NNQ_ERR_INVALID);
    tensor_free(&out);
    tensor_free(&sizes);
    tensor_free(&scales);
    tensor_free(&x);
}

/* ---- other data movement ------------------------------------------------------ */

static void test_pad_reflect(void) {
    /* numpy 'reflect' of [1, 2, 3] by 2 on each side: [3, 2, 1, 2, 3, 2, 1]. */
    int64_t dims[1] = {3};
    double values[3] = {1, 2, 3};
    nnq_tensor x = make_tensor(NNQ_INT32, 1, dims, values);
    int64_t pads_v[2] = {2, 2};
    nnq_tensor pads = make_ints(2, pads_v);
    test_node n;
    node_init(&n, "Pad");
    attr_string(&n, "mode", "reflect");
    const nnq_tensor *inputs[2] = {&x, &pads};
    nnq_tensor out;
    CHECK(run_node(&n, 13, inputs, 2, &out) == NNQ_OK);
    double want[7] = {3, 2, 1, 2, 3, 2, 1};
    CHECK(out.dtype == NNQ_INT32 && values_equal(&out, want, 7));
    tensor_free(&out);
    tensor_free(&pads);
    tensor_free(&x);
}

static void test_transpose_tile_bool(void) {
    /* bool [[1,0,0],[0,1,1]] transposed -> [[1,0],[0,1],[0,1]]. */
    int64_t dims[2] = {2, 3};
    double values[6] = {1, 0, 0, 0, 1, 1};
    nnq_tensor x = make_tensor(NNQ_BOOL, 2, dims, values);
    test_node n;
    node_init(&n, "Transpose");
    const nnq_tensor *inputs[2] = {&x, NULL};
    nnq_tensor out;
    CHECK(run_node(&n, 13, inputs, 1, &out) == NNQ_OK);
    double want_t[6] = {1, 0, 0, 1, 0, 1};
    CHECK(out.dtype == NNQ_BOOL && values_equal(&out, want_t, 6));
    tensor_free(&out);

    /* Tile by [2, 1]: the two rows repeated. */
    int64_t reps_v[2] = {2, 1};
    nnq_tensor reps = make_ints(2, reps_v);
    node_init(&n, "Tile");
    inputs[1] = &reps;
    CHECK(run_node(&n, 13, inputs, 2, &out) == NNQ_OK);
    double want_tile[12] = {1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1};
    int64_t want_dims[2] = {4, 3};
    CHECK(dims_equal(&out, 2, want_dims) && values_equal(&out, want_tile, 12));
    tensor_free(&out);
    tensor_free(&reps);
    tensor_free(&x);
}

/* NCHW -> NHWC on a tensor big enough for the tiled transpose path:
 * out[n][h][w][c] = in[n][c][h][w], whose value is its flat NCHW index. */
static void test_transpose_large(void) {
    const int64_t N = 2, C = 37, H = 10, W = 9;
    int64_t dims[4] = {N, C, H, W};
    nnq_tensor x = make_iota(4, dims);
    test_node n;
    node_init(&n, "Transpose");
    static int64_t perm[4] = {0, 2, 3, 1};
    nnq_attr *a = add_attr(&n, "perm", NNQ_ATTR_INTS);
    a->ints = perm;
    a->count = 4;
    const nnq_tensor *inputs[1] = {&x};
    nnq_tensor out;
    CHECK(run_node(&n, 13, inputs, 1, &out) == NNQ_OK);
    int64_t want_dims[4] = {N, H, W, C};
    CHECK(dims_equal(&out, 4, want_dims));
    int64_t mismatches = 0;
    const float *y = out.data;
    for (int64_t b = 0; y && b < N; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t w = 0; w < W; w++)
                for (int64_t c = 0; c < C; c++)
                    mismatches += y[((b * H + h) * W + w) * C + c] != (float)(((b * C + c) * H + h) * W + w);
    CHECK(mismatches == 0);
    tensor_free(&out);
    tensor_free(&x);
}

static void test_gather_negative(void) {
    /* int64 data [[10,11],[20,21],[30,31]], indices [-1, 0] on axis 0. */
    int64_t dims[2] = {3, 2};
    double values[6] = {10, 11, 20, 21, 30, 31};
    nnq_tensor data = make_tensor(NNQ_INT64, 2, dims, values);
    int64_t idx_v[2] = {-1, 0};
    nnq_tensor idx = make_ints(2, idx_v);
    test_node n;
    node_init(&n, "Gather");
    const nnq_tensor *inputs[2] = {&data, &idx};
    nnq_tensor out;
    CHECK(run_node(&n, 13, inputs, 2, &out) == NNQ_OK);
    double want[4] = {30, 31, 10, 11};
    CHECK(values_equal(&out, want, 4));
    tensor_free(&out);
    /* Index 3 is out of range for a dim of 3. */
    ((int64_t *)idx.data)[0] = 3;
    CHECK(run_node(&n, 13, inputs, 2, &out) == NNQ_ERR_INVALID);
    tensor_free(&out);
    tensor_free(&idx);
    tensor_free(&data);
}

int main(void) {
    test_reshape();
    test_slice();
    test_resize();
    test_pad_reflect();
    test_transpose_tile_bool();
    test_transpose_large();
    test_gather_negative();
    return check_summary();
}
