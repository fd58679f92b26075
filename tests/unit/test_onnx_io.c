/* ONNX I/O: load -> save -> load keeps what the issue lists (opset imports,
 * metadata, doc strings, value_info, initializers bit for bit, identical
 * outputs), external data round-trips, and bad files fail with messages that
 * name the file, node or tensor. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_io.h"
#include "run/executor.h"
#include "test_model.h"

#define TESTDATA "/usr/share/libonnx-testdata/data"

static char temp_dir[] = "/tmp/nnq_onnx_io_XXXXXX";

static void path_in_temp(char *buf, size_t size, const char *name) { snprintf(buf, size, "%s/%s", temp_dir, name); }

/* y = Relu(x + w), with metadata, doc strings and value_info to preserve. */
static void build_sample(nnq_model *m) {
    test_model_init(m, 13);
    m->opset_imports = realloc(m->opset_imports, 2 * sizeof *m->opset_imports);
    m->opset_imports[1].domain = strdup("com.example");
    m->opset_imports[1].version = 3;
    m->n_opset_imports = 2;
    m->metadata = calloc(1, sizeof *m->metadata);
    m->metadata[0].key = strdup("author");
    m->metadata[0].value = strdup("tests");
    m->n_metadata = 1;
    free(m->doc_string);
    m->doc_string = strdup("model doc");
    m->graph.doc_string = strdup("graph doc");
    int64_t dims[2] = {-1, 4};
    test_add_input(m, "x", NNQ_FLOAT, 2, dims);
    m->graph.inputs[0].dim_params[0] = strdup("batch");
    test_add_output(m, "y", NNQ_FLOAT, 2, dims);
    int64_t wdims[1] = {4};
    float w[4] = {0.5f, -1.0f, 2.0f, -3.5f};
    test_add_floats(m, "w", 1, wdims, w);
    nnq_node *add = test_add_node(m, "Add", "add", (const char *[]){"x", "w", NULL}, (const char *[]){"s", NULL});
    add->doc_string = strdup("node doc");
    test_add_node(m, "Relu", "relu", (const char *[]){"s", NULL}, (const char *[]){"y", NULL});
    m->graph.value_infos = calloc(1, sizeof *m->graph.value_infos);
    m->graph.value_infos[0] = test_value("s", NNQ_FLOAT, 2, dims);
    m->graph.n_value_infos = 1;
}

/* Runs m on a fixed [2,4] input; returns the output (caller frees). */
static bool run_sample(const nnq_model *m, nnq_tensor *out) {
    nnq_executor *ex = NULL;
    if (executor_create(m, &ex) != NNQ_OK) {
        fprintf(stderr, "executor_create: %s\n", nnq_last_error());
        return false;
    }
    nnq_tensor x = {0};
    int64_t dims[2] = {2, 4};
    tensor_create(&x, NNQ_FLOAT, 2, dims);
    x.name = strdup("x");
    for (int i = 0; i < 8; i++) ((float *)x.data)[i] = (float)i - 3.25f;
    nnq_status st = executor_run(ex, &x, 1, out);
    if (st != NNQ_OK) fprintf(stderr, "executor_run: %s\n", nnq_last_error());
    tensor_free(&x);
    executor_free(ex);
    return st == NNQ_OK;
}

static bool same_tensor(const nnq_tensor *a, const nnq_tensor *b) {
    if (a->dtype != b->dtype || a->rank != b->rank) return false;
    if (memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank) != 0) return false;
    return memcmp(a->data, b->data, (size_t)tensor_numel(a) * dtype_size(a->dtype)) == 0;
}

static void test_round_trip_keeps_fields(void) {
    nnq_model original, reloaded;
    build_sample(&original);
    char path[512];
    path_in_temp(path, sizeof path, "sample.onnx");
    CHECK(onnx_save_model(&original, path, NULL) == NNQ_OK);
    CHECK(onnx_load_model(path, &reloaded) == NNQ_OK);
    CHECK(reloaded.n_opset_imports == 2);
    CHECK(model_opset(&reloaded, "") == 13 && model_opset(&reloaded, "com.example") == 3);
    CHECK(reloaded.n_metadata == 1 && strcmp(reloaded.metadata[0].key, "author") == 0 &&
          strcmp(reloaded.metadata[0].value, "tests") == 0);
    CHECK(strcmp(reloaded.doc_string, "model doc") == 0);
    CHECK(reloaded.graph.doc_string && strcmp(reloaded.graph.doc_string, "graph doc") == 0);
    CHECK(reloaded.graph.n_nodes == 2 && reloaded.graph.nodes[0].doc_string &&
          strcmp(reloaded.graph.nodes[0].doc_string, "node doc") == 0);
    CHECK(reloaded.graph.n_value_infos == 1 && strcmp(reloaded.graph.value_infos[0].name, "s") == 0 &&
          reloaded.graph.value_infos[0].rank == 2 && reloaded.graph.value_infos[0].dims[1] == 4);
    CHECK(reloaded.graph.inputs[0].dim_params[0] && strcmp(reloaded.graph.inputs[0].dim_params[0], "batch") == 0);
    CHECK(reloaded.graph.n_initializers == 1 && same_tensor(&reloaded.graph.initializers[0], &original.graph.initializers[0]));
    nnq_tensor a = {0}, b = {0};
    CHECK(run_sample(&original, &a));
    CHECK(run_sample(&reloaded, &b));
    CHECK(a.data && b.data && same_tensor(&a, &b));
    /* Relu(x + w) at x = -3.25: max(0, -3.25 + 0.5) = 0; at x = 3.75 (index 7): 3.75 - 3.5 = 0.25. */
    if (a.data) {
        CHECK_NEAR(((float *)a.data)[0], 0.0, 0);
        CHECK_NEAR(((float *)a.data)[7], 0.25, 1e-6);
    }
    tensor_free(&a);
    tensor_free(&b);
    model_free(&original);
    model_free(&reloaded);
}

static void test_external_data(void) {
    nnq_model original, reloaded;
    build_sample(&original);
    char path[512], side[512];
    path_in_temp(path, sizeof path, "external.onnx");
    path_in_temp(side, sizeof side, "external.onnx.data");
    onnx_save_options opts = {.external_min_bytes = 16};
    CHECK(onnx_save_model(&original, path, &opts) == NNQ_OK);
    struct stat info;
    CHECK(stat(side, &info) == 0 && info.st_size >= 16);
    CHECK(onnx_load_model(path, &reloaded) == NNQ_OK);
    CHECK(reloaded.graph.n_initializers == 1 &&
          same_tensor(&reloaded.graph.initializers[0], &original.graph.initializers[0]));
    nnq_tensor a = {0}, b = {0};
    CHECK(run_sample(&original, &a) && run_sample(&reloaded, &b) && same_tensor(&a, &b));
    tensor_free(&a);
    tensor_free(&b);
    model_free(&reloaded);
    /* A missing side file is an error naming the tensor. */
    unlink(side);
    CHECK(onnx_load_model(path, &reloaded) == NNQ_ERR_IO);
    CHECK_MSG(strstr(nnq_last_error(), "'w'") != NULL, "%s", nnq_last_error());
    model_free(&original);
}

/* A conformance model and its data: save, reload, outputs bit-identical. */
static void test_round_trip_real_model(void) {
    const char *case_dir = TESTDATA "/pytorch-converted/test_Conv2d_groups";
    char src[512], dst[512], input_path[512];
    snprintf(src, sizeof src, "%s/model.onnx", case_dir);
    snprintf(input_path, sizeof input_path, "%s/test_data_set_0/input_0.pb", case_dir);
    path_in_temp(dst, sizeof dst, "conv.onnx");
    nnq_model a, b;
    CHECK(onnx_load_model(src, &a) == NNQ_OK);
    CHECK(onnx_save_model(&a, dst, NULL) == NNQ_OK);
    CHECK(onnx_load_model(dst, &b) == NNQ_OK);
    CHECK(a.graph.n_nodes == b.graph.n_nodes && a.graph.nodes[0].n_attrs == b.graph.nodes[0].n_attrs);
    for (int i = 0; i < a.graph.n_initializers && i < b.graph.n_initializers; i++)
        CHECK(same_tensor(&a.graph.initializers[i], &b.graph.initializers[i]));
    nnq_tensor input;
    CHECK(onnx_load_tensor(input_path, &input) == NNQ_OK);
    free(input.name);
    input.name = strdup(a.graph.inputs[0].name);
    nnq_executor *ea = NULL, *eb = NULL;
    nnq_tensor oa = {0}, ob = {0};
    CHECK(executor_create(&a, &ea) == NNQ_OK && executor_run(ea, &input, 1, &oa) == NNQ_OK);
    CHECK(executor_create(&b, &eb) == NNQ_OK && executor_run(eb, &input, 1, &ob) == NNQ_OK);
    CHECK(oa.data && ob.data && same_tensor(&oa, &ob));
    tensor_free(&oa);
    tensor_free(&ob);
    tensor_free(&input);
    executor_free(ea);
    executor_free(eb);
    model_free(&a);
    model_free(&b);
}

static void write_bytes(const char *path, const void *bytes, size_t size) {
    FILE *f = fopen(path, "wb");
    fwrite(bytes, 1, size, f);
    fclose(f);
}

static void test_bad_files(void) {
    nnq_model m;
    char path[512];
    CHECK(onnx_load_model("/nonexistent/model.onnx", &m) == NNQ_ERR_IO);
    CHECK(strstr(nnq_last_error(), "/nonexistent/model.onnx") != NULL);

    /* A real model cut in half. */
    void *bytes;
    size_t size;
    FILE *f = fopen(TESTDATA "/pytorch-converted/test_Conv2d/model.onnx", "rb");
    fseek(f, 0, SEEK_END);
    size = (size_t)ftell(f);
    rewind(f);
    bytes = malloc(size);
    CHECK(fread(bytes, 1, size, f) == size);
    fclose(f);
    path_in_temp(path, sizeof path, "truncated.onnx");
    write_bytes(path, bytes, size / 2);
    CHECK(onnx_load_model(path, &m) == NNQ_ERR_PARSE);
    CHECK_MSG(strstr(nnq_last_error(), "truncated.onnx") != NULL, "%s", nnq_last_error());
    free(bytes);

    path_in_temp(path, sizeof path, "garbage.onnx");
    write_bytes(path, "\xff\xff\xff\xff\x0f garbage", 14);
    CHECK(onnx_load_model(path, &m) == NNQ_ERR_PARSE);
}

/* Builds a one-initializer model through protobuf-c directly, to express
 * broken tensors the IR cannot hold. */
static nnq_status load_model_with_tensor(Onnx__TensorProto *tensor) {
    Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *opsets[1] = {&opset};
    Onnx__TensorProto *initializers[1] = {tensor};
    opset.has_version = 1;
    opset.version = 13;
    model.n_opset_import = 1;
    model.opset_import = opsets;
    model.graph = &graph;
    graph.n_initializer = 1;
    graph.initializer = initializers;
    size_t size = onnx__model_proto__get_packed_size(&model);
    uint8_t *bytes = malloc(size);
    onnx__model_proto__pack(&model, bytes);
    char base[512];
    snprintf(base, sizeof base, "%s", temp_dir);
    nnq_model m;
    nnq_status st = onnx_load_model_memory(bytes, size, base, "crafted.onnx", &m);
    if (st == NNQ_OK) model_free(&m);
    free(bytes);
    return st;
}

static void test_bad_tensors(void) {
    Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[2] = {2, 3};
    float values[4] = {1, 2, 3, 4};
    t.name = "weights";
    t.has_data_type = 1;
    t.data_type = NNQ_FLOAT;
    t.n_dims = 2;
    t.dims = dims;
    t.n_float_data = 4; /* the shape needs 6 */
    t.float_data = values;
    CHECK(load_model_with_tensor(&t) == NNQ_ERR_PARSE);
    CHECK_MSG(strstr(nnq_last_error(), "'weights'") && strstr(nnq_last_error(), "crafted.onnx"), "%s",
              nnq_last_error());

    dims[0] = -2;
    CHECK(load_model_with_tensor(&t) == NNQ_ERR_PARSE);
    CHECK_MSG(strstr(nnq_last_error(), "negative dim") != NULL, "%s", nnq_last_error());

    /* Absurd dims must fail cleanly, not allocate. */
    dims[0] = (int64_t)1 << 40;
    dims[1] = (int64_t)1 << 40;
    CHECK(load_model_with_tensor(&t) == NNQ_ERR_PARSE);
    CHECK_MSG(strstr(nnq_last_error(), "too large") != NULL, "%s", nnq_last_error());

    /* A shape that fits the limit (~480 GB, as a fuzzed Constant declared) with 4
     * values: the mismatch is reported before any allocation is attempted. */
    dims[0] = 120000;
    dims[1] = 1000000;
    CHECK(load_model_with_tensor(&t) == NNQ_ERR_PARSE);
    CHECK_MSG(strstr(nnq_last_error(), "holds 4 values") != NULL, "%s", nnq_last_error());

    dims[0] = 2;
    dims[1] = 3;
    t.n_float_data = 0;
    t.has_data_location = 1;
    t.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    Onnx__StringStringEntryProto location = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    Onnx__StringStringEntryProto *entries[1] = {&location};
    location.key = "location";
    location.value = "../../etc/passwd";
    t.n_external_data = 1;
    t.external_data = entries;
    CHECK(load_model_with_tensor(&t) == NNQ_ERR_INVALID);
    CHECK_MSG(strstr(nnq_last_error(), "leaves the model's folder") != NULL, "%s", nnq_last_error());

    t.data_type = NNQ_STRING;
    t.has_data_location = 0;
    t.n_external_data = 0;
    CHECK(load_model_with_tensor(&t) == NNQ_ERR_UNSUPPORTED);
}

static void test_unsupported_ops_named(void) {
    nnq_model m;
    test_model_init(&m, 13);
    int64_t dims[1] = {4};
    test_add_input(&m, "x", NNQ_FLOAT, 1, dims);
    test_add_output(&m, "y", NNQ_FLOAT, 1, dims);
    test_add_node(&m, "NoSuchOp", "mystery", (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
    nnq_executor *ex = NULL;
    CHECK(executor_create(&m, &ex) == NNQ_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(nnq_last_error(), "mystery") && strstr(nnq_last_error(), "NoSuchOp"), "%s", nnq_last_error());
    free(m.graph.nodes[0].domain);
    m.graph.nodes[0].domain = strdup("com.vendor");
    CHECK(executor_create(&m, &ex) == NNQ_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(nnq_last_error(), "com.vendor") != NULL, "%s", nnq_last_error());
    model_free(&m);
}

static void test_wrong_inputs_named(void) {
    nnq_model m;
    build_sample(&m);
    nnq_executor *ex = NULL;
    CHECK(executor_create(&m, &ex) == NNQ_OK);
    nnq_tensor x = {0}, y = {0};
    int64_t dims[2] = {2, 5};
    tensor_create(&x, NNQ_FLOAT, 2, dims);
    x.name = strdup("x");
    CHECK(executor_run(ex, &x, 1, &y) == NNQ_ERR_INVALID);
    CHECK_MSG(strstr(nnq_last_error(), "input 'x'") && strstr(nnq_last_error(), "[?,4]"), "%s", nnq_last_error());
    tensor_free(&x);
    int64_t good[2] = {2, 4};
    tensor_create(&x, NNQ_INT32, 2, good);
    x.name = strdup("x");
    CHECK(executor_run(ex, &x, 1, &y) == NNQ_ERR_INVALID);
    CHECK_MSG(strstr(nnq_last_error(), "int32") != NULL, "%s", nnq_last_error());
    tensor_free(&x);
    CHECK(executor_run(ex, NULL, 0, &y) == NNQ_ERR_INVALID);
    CHECK_MSG(strstr(nnq_last_error(), "'x' was not given") != NULL, "%s", nnq_last_error());
    executor_free(ex);
    model_free(&m);
}

int main(void) {
    if (!mkdtemp(temp_dir)) return 1;
    test_round_trip_keeps_fields();
    test_external_data();
    test_round_trip_real_model();
    test_bad_files();
    test_bad_tensors();
    test_unsupported_ops_named();
    test_wrong_inputs_named();
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", temp_dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", temp_dir);
    return check_summary();
}
