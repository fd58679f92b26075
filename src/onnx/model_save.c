/* nnq_model -> ModelProto bytes -> file (atomically). The proto structs are
 * built in one scratch arena pointing at the model's own strings and tensor
 * data (nothing is copied), packed by protobuf-c, then released at once. */
#include <stdlib.h>
#include <string.h>

#include "base/atomic_file.h"
#include "base/status.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_io.h"
#include "onnx/tensor_proto.h"

/* A growable list of allocations freed together. */
typedef struct scratch {
    void **blocks;
    size_t count, capacity;
    bool failed;
} scratch;

static void *scratch_alloc(scratch *s, size_t size) {
    if (s->failed) return NULL;
    if (s->count == s->capacity) {
        size_t capacity = s->capacity ? s->capacity * 2 : 256;
        void **grown = realloc(s->blocks, capacity * sizeof *grown);
        if (!grown) {
            s->failed = true;
            return NULL;
        }
        s->blocks = grown;
        s->capacity = capacity;
    }
    void *block = calloc(1, size ? size : 1);
    if (!block) {
        s->failed = true;
        return NULL;
    }
    s->blocks[s->count++] = block;
    return block;
}

static void scratch_free(scratch *s) {
    for (size_t i = 0; i < s->count; i++) free(s->blocks[i]);
    free(s->blocks);
}

#define SCRATCH_NEW(s, type) ((type *)scratch_alloc((s), sizeof(type)))
#define SCRATCH_ARRAY(s, type, n) ((type *)scratch_alloc((s), sizeof(type) * (size_t)(n)))

/* Where tensors beyond the inline limit go. */
typedef struct external_writer {
    size_t min_bytes;
    const char *location;   /* file name relative to the model */
    nnq_atomic_file file;
    bool open;
    long long offset;
    char *path;
} external_writer;

static char *format_ll(scratch *s, long long v) {
    char *text = SCRATCH_ARRAY(s, char, 24);
    if (text) snprintf(text, 24, "%lld", v);
    return text;
}

static Onnx__StringStringEntryProto *string_entry(scratch *s, char *key, char *value) {
    Onnx__StringStringEntryProto *entry = SCRATCH_NEW(s, Onnx__StringStringEntryProto);
    if (!entry) return NULL;
    onnx__string_string_entry_proto__init(entry);
    entry->key = key;
    entry->value = value;
    return entry;
}

/* Moves a tensor's bytes to the side file, aligned as ONNX's own writer does (4 KiB). */
static nnq_status externalize(scratch *s, external_writer *ext, Onnx__TensorProto *proto) {
    enum { ALIGNMENT = 4096 };
    if (!ext->open) {
        NNQ_TRY(atomic_file_open(&ext->file, ext->path));
        ext->open = true;
    }
    long long padding = (ALIGNMENT - ext->offset % ALIGNMENT) % ALIGNMENT;
    for (long long i = 0; i < padding; i++) fputc(0, ext->file.stream);
    ext->offset += padding;
    if (fwrite(proto->raw_data.data, 1, proto->raw_data.len, ext->file.stream) != proto->raw_data.len)
        return nnq_fail(NNQ_ERR_IO, "cannot write external data '%s'", ext->path);
    Onnx__StringStringEntryProto **entries = SCRATCH_ARRAY(s, Onnx__StringStringEntryProto *, 3);
    if (!entries) return nnq_fail(NNQ_ERR_NOMEM, "out of memory saving a model");
    entries[0] = string_entry(s, "location", (char *)ext->location);
    entries[1] = string_entry(s, "offset", format_ll(s, ext->offset));
    entries[2] = string_entry(s, "length", format_ll(s, (long long)proto->raw_data.len));
    if (s->failed) return nnq_fail(NNQ_ERR_NOMEM, "out of memory saving a model");
    ext->offset += (long long)proto->raw_data.len;
    proto->n_external_data = 3;
    proto->external_data = entries;
    proto->has_raw_data = 0;
    proto->raw_data.len = 0;
    proto->raw_data.data = NULL;
    proto->has_data_location = 1;
    proto->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    return NNQ_OK;
}

static Onnx__TensorProto *build_tensor(scratch *s, const nnq_tensor *t) {
    Onnx__TensorProto *proto = SCRATCH_NEW(s, Onnx__TensorProto);
    int64_t *dims = SCRATCH_ARRAY(s, int64_t, NNQ_MAX_RANK);
    if (!proto || !dims) return NULL;
    onnx__tensor_proto__init(proto);
    tensor_to_proto(t, proto, dims);
    return proto;
}

static Onnx__ValueInfoProto *build_value_info(scratch *s, const nnq_value_info *info) {
    Onnx__ValueInfoProto *proto = SCRATCH_NEW(s, Onnx__ValueInfoProto);
    if (!proto) return NULL;
    onnx__value_info_proto__init(proto);
    proto->name = info->name;
    proto->doc_string = info->doc_string;
    if (info->dtype == NNQ_UNDEFINED && info->rank < 0) return proto;
    Onnx__TypeProto *type = SCRATCH_NEW(s, Onnx__TypeProto);
    Onnx__TypeProto__Tensor *tensor_type = SCRATCH_NEW(s, Onnx__TypeProto__Tensor);
    if (!type || !tensor_type) return NULL;
    onnx__type_proto__init(type);
    onnx__type_proto__tensor__init(tensor_type);
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tensor_type;
    proto->type = type;
    if (info->dtype != NNQ_UNDEFINED) {
        tensor_type->has_elem_type = 1;
        tensor_type->elem_type = (int32_t)info->dtype;
    }
    if (info->rank < 0) return proto;
    Onnx__TensorShapeProto *shape = SCRATCH_NEW(s, Onnx__TensorShapeProto);
    Onnx__TensorShapeProto__Dimension **dims = SCRATCH_ARRAY(s, Onnx__TensorShapeProto__Dimension *, info->rank);
    if (!shape || !dims) return NULL;
    onnx__tensor_shape_proto__init(shape);
    shape->n_dim = (size_t)info->rank;
    shape->dim = dims;
    for (int i = 0; i < info->rank; i++) {
        Onnx__TensorShapeProto__Dimension *dim = SCRATCH_NEW(s, Onnx__TensorShapeProto__Dimension);
        if (!dim) return NULL;
        onnx__tensor_shape_proto__dimension__init(dim);
        if (info->dims[i] >= 0) {
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dim->dim_value = info->dims[i];
        } else if (info->dim_params[i]) {
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dim->dim_param = info->dim_params[i];
        }
        dims[i] = dim;
    }
    tensor_type->shape = shape;
    return proto;
}

static Onnx__ValueInfoProto **build_value_infos(scratch *s, const nnq_value_info *infos, int n) {
    Onnx__ValueInfoProto **protos = SCRATCH_ARRAY(s, Onnx__ValueInfoProto *, n);
    for (int i = 0; protos && i < n; i++) protos[i] = build_value_info(s, &infos[i]);
    return protos;
}

static Onnx__AttributeProto *build_attribute(scratch *s, const nnq_attr *attr, Onnx__AttributeProto ***unpacked,
                                             size_t *n_unpacked) {
    if (attr->packed) {
        /* An attribute kept whole at load time (graph, sparse tensor, type proto). */
        Onnx__AttributeProto *proto = onnx__attribute_proto__unpack(NULL, attr->packed_len, attr->packed);
        if (proto) (*unpacked)[(*n_unpacked)++] = proto;
        else s->failed = true;
        return proto;
    }
    Onnx__AttributeProto *proto = SCRATCH_NEW(s, Onnx__AttributeProto);
    if (!proto) return NULL;
    onnx__attribute_proto__init(proto);
    proto->name = attr->name;
    proto->doc_string = attr->doc_string;
    proto->has_type = 1;
    proto->type = (Onnx__AttributeProto__AttributeType)attr->type;
    switch (attr->type) {
    case NNQ_ATTR_FLOAT: proto->has_f = 1; proto->f = attr->f; break;
    case NNQ_ATTR_INT: proto->has_i = 1; proto->i = attr->i; break;
    case NNQ_ATTR_STRING:
        proto->has_s = 1;
        proto->s.data = (uint8_t *)attr->s;
        proto->s.len = attr->s_len;
        break;
    case NNQ_ATTR_TENSOR: proto->t = build_tensor(s, &attr->t); break;
    case NNQ_ATTR_FLOATS: proto->n_floats = (size_t)attr->count; proto->floats = attr->floats; break;
    case NNQ_ATTR_INTS: proto->n_ints = (size_t)attr->count; proto->ints = attr->ints; break;
    case NNQ_ATTR_STRINGS: {
        ProtobufCBinaryData *strings = SCRATCH_ARRAY(s, ProtobufCBinaryData, attr->count);
        if (!strings) return NULL;
        for (int64_t i = 0; i < attr->count; i++) {
            strings[i].data = (uint8_t *)attr->strings[i];
            strings[i].len = strlen(attr->strings[i]);
        }
        proto->n_strings = (size_t)attr->count;
        proto->strings = strings;
        break;
    }
    default: break;
    }
    return proto;
}

static Onnx__NodeProto *build_node(scratch *s, const nnq_node *node, Onnx__AttributeProto ***unpacked,
                                   size_t *n_unpacked) {
    Onnx__NodeProto *proto = SCRATCH_NEW(s, Onnx__NodeProto);
    if (!proto) return NULL;
    onnx__node_proto__init(proto);
    proto->name = node->name;
    proto->op_type = node->op_type;
    proto->domain = node->domain;
    proto->doc_string = node->doc_string;
    proto->n_input = (size_t)node->n_inputs;
    proto->input = node->inputs;
    proto->n_output = (size_t)node->n_outputs;
    proto->output = node->outputs;
    proto->n_attribute = (size_t)node->n_attrs;
    proto->attribute = SCRATCH_ARRAY(s, Onnx__AttributeProto *, node->n_attrs);
    for (int i = 0; proto->attribute && i < node->n_attrs; i++)
        proto->attribute[i] = build_attribute(s, &node->attrs[i], unpacked, n_unpacked);
    return proto;
}

static size_t count_packed_attributes(const nnq_graph *g) {
    size_t n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int a = 0; a < g->nodes[i].n_attrs; a++) n += g->nodes[i].attrs[a].packed != NULL;
    return n;
}

static nnq_status build_model(scratch *s, const nnq_model *m, external_writer *ext, Onnx__ModelProto *model,
                              Onnx__AttributeProto ***unpacked, size_t *n_unpacked) {
    const nnq_graph *g = &m->graph;
    onnx__model_proto__init(model);
    model->has_ir_version = 1;
    model->ir_version = m->ir_version;
    model->producer_name = m->producer_name;
    model->producer_version = m->producer_version;
    model->domain = m->domain;
    model->has_model_version = m->model_version != 0;
    model->model_version = m->model_version;
    model->doc_string = m->doc_string;
    model->n_opset_import = (size_t)m->n_opset_imports;
    model->opset_import = SCRATCH_ARRAY(s, Onnx__OperatorSetIdProto *, m->n_opset_imports);
    for (int i = 0; model->opset_import && i < m->n_opset_imports; i++) {
        Onnx__OperatorSetIdProto *opset = SCRATCH_NEW(s, Onnx__OperatorSetIdProto);
        if (!opset) break;
        onnx__operator_set_id_proto__init(opset);
        opset->domain = m->opset_imports[i].domain;
        opset->has_version = 1;
        opset->version = m->opset_imports[i].version;
        model->opset_import[i] = opset;
    }
    model->n_metadata_props = (size_t)m->n_metadata;
    model->metadata_props = SCRATCH_ARRAY(s, Onnx__StringStringEntryProto *, m->n_metadata);
    for (int i = 0; model->metadata_props && i < m->n_metadata; i++)
        model->metadata_props[i] = string_entry(s, m->metadata[i].key, m->metadata[i].value);

    Onnx__GraphProto *graph = SCRATCH_NEW(s, Onnx__GraphProto);
    if (!graph) return nnq_fail(NNQ_ERR_NOMEM, "out of memory saving a model");
    onnx__graph_proto__init(graph);
    model->graph = graph;
    graph->name = g->name;
    graph->doc_string = g->doc_string;
    *unpacked = SCRATCH_ARRAY(s, Onnx__AttributeProto *, count_packed_attributes(g));
    graph->n_node = (size_t)g->n_nodes;
    graph->node = SCRATCH_ARRAY(s, Onnx__NodeProto *, g->n_nodes);
    for (int i = 0; graph->node && *unpacked && i < g->n_nodes; i++)
        graph->node[i] = build_node(s, &g->nodes[i], unpacked, n_unpacked);
    graph->n_initializer = (size_t)g->n_initializers;
    graph->initializer = SCRATCH_ARRAY(s, Onnx__TensorProto *, g->n_initializers);
    for (int i = 0; graph->initializer && i < g->n_initializers; i++) {
        Onnx__TensorProto *proto = build_tensor(s, &g->initializers[i]);
        if (!proto) break;
        if (ext->min_bytes && proto->raw_data.len >= ext->min_bytes) NNQ_TRY(externalize(s, ext, proto));
        graph->initializer[i] = proto;
    }
    graph->n_input = (size_t)g->n_inputs;
    graph->input = build_value_infos(s, g->inputs, g->n_inputs);
    graph->n_output = (size_t)g->n_outputs;
    graph->output = build_value_infos(s, g->outputs, g->n_outputs);
    graph->n_value_info = (size_t)g->n_value_infos;
    graph->value_info = build_value_infos(s, g->value_infos, g->n_value_infos);
    if (s->failed) return nnq_fail(NNQ_ERR_NOMEM, "out of memory saving a model");
    return NNQ_OK;
}

static char *sibling_path(const char *model_path, const char *name) {
    const char *slash = strrchr(model_path, '/');
    size_t dir_len = slash ? (size_t)(slash - model_path + 1) : 0;
    char *path = malloc(dir_len + strlen(name) + 1);
    if (!path) return NULL;
    memcpy(path, model_path, dir_len);
    strcpy(path + dir_len, name);
    return path;
}

nnq_status onnx_save_model(const nnq_model *m, const char *path, const onnx_save_options *opts) {
    scratch s = {0};
    external_writer ext = {0};
    char *default_location = NULL;
    if (opts && opts->external_min_bytes) {
        ext.min_bytes = opts->external_min_bytes;
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        if (opts->external_file_name) ext.location = opts->external_file_name;
        else if ((default_location = malloc(strlen(base) + sizeof ".data")))
            sprintf(default_location, "%s.data", base), ext.location = default_location;
        ext.path = ext.location ? sibling_path(path, ext.location) : NULL;
        if (!ext.path) {
            free(default_location);
            return nnq_fail(NNQ_ERR_NOMEM, "out of memory saving '%s'", path);
        }
    }
    Onnx__ModelProto model;
    Onnx__AttributeProto **unpacked = NULL;
    size_t n_unpacked = 0;
    nnq_status st = build_model(&s, m, &ext, &model, &unpacked, &n_unpacked);
    uint8_t *bytes = NULL;
    if (st == NNQ_OK) {
        size_t size = onnx__model_proto__get_packed_size(&model);
        bytes = malloc(size ? size : 1);
        if (!bytes) st = nnq_fail(NNQ_ERR_NOMEM, "out of memory saving '%s'", path);
        else {
            onnx__model_proto__pack(&model, bytes);
            /* The side file is complete before the model that names it appears. */
            if (ext.open) {
                st = atomic_file_commit(&ext.file);
                ext.open = false;
            }
            if (st == NNQ_OK) st = atomic_file_write_all(path, bytes, size);
        }
    }
    if (ext.open) atomic_file_abort(&ext.file);
    for (size_t i = 0; i < n_unpacked; i++) onnx__attribute_proto__free_unpacked(unpacked[i], NULL);
    free(bytes);
    free(ext.path);
    free(default_location);
    scratch_free(&s);
    if (st != NNQ_OK) return nnq_fail_context(st, "saving '%s'", path);
    return NNQ_OK;
}

nnq_status onnx_save_tensor(const char *path, const nnq_tensor *tensor) {
    Onnx__TensorProto proto;
    int64_t dims[NNQ_MAX_RANK];
    onnx__tensor_proto__init(&proto);
    tensor_to_proto(tensor, &proto, dims);
    size_t size = onnx__tensor_proto__get_packed_size(&proto);
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes) return nnq_fail(NNQ_ERR_NOMEM, "out of memory saving '%s'", path);
    onnx__tensor_proto__pack(&proto, bytes);
    nnq_status st = atomic_file_write_all(path, bytes, size);
    free(bytes);
    return st;
}
