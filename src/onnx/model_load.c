/* ModelProto -> nnq_model. The protobuf is unpacked by protobuf-c; this file
 * copies it into plain structs, validating what later code relies on
 * (names present, ranks within NNQ_MAX_RANK, tensor data matching shapes). */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "base/read_file.h"
#include "base/status.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_io.h"
#include "onnx/tensor_proto.h"

static char *copy_or_empty(const char *s) { return strdup(s ? s : ""); }

static nnq_status out_of_memory(void) { return nnq_fail(NNQ_ERR_NOMEM, "out of memory loading a model"); }

static nnq_status load_value_info(const Onnx__ValueInfoProto *proto, nnq_value_info *out) {
    memset(out, 0, sizeof *out);
    out->rank = NNQ_UNKNOWN_RANK;
    if (!(out->name = copy_or_empty(proto->name))) return out_of_memory();
    if (proto->doc_string && !(out->doc_string = strdup(proto->doc_string))) return out_of_memory();
    const Onnx__TypeProto *type = proto->type;
    if (!type || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !type->tensor_type) return NNQ_OK;
    const Onnx__TypeProto__Tensor *tensor_type = type->tensor_type;
    if (tensor_type->has_elem_type) out->dtype = (nnq_dtype)tensor_type->elem_type;
    const Onnx__TensorShapeProto *shape = tensor_type->shape;
    if (!shape) return NNQ_OK;
    if (shape->n_dim > NNQ_MAX_RANK)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "value '%s': rank %zu exceeds %d", out->name, shape->n_dim,
                        NNQ_MAX_RANK);
    out->rank = (int)shape->n_dim;
    for (size_t i = 0; i < shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *dim = shape->dim[i];
        out->dims[i] = NNQ_UNKNOWN_DIM;
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (dim->dim_value < 0)
                return nnq_fail(NNQ_ERR_PARSE, "value '%s': negative dim %lld", out->name,
                                (long long)dim->dim_value);
            out->dims[i] = dim->dim_value;
        } else if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dim->dim_param) {
            if (!(out->dim_params[i] = strdup(dim->dim_param))) return out_of_memory();
        }
    }
    return NNQ_OK;
}

static nnq_status load_value_infos(Onnx__ValueInfoProto **protos, size_t n, nnq_value_info **out, int *count) {
    *count = 0;
    *out = NULL;
    if (n == 0) return NNQ_OK;
    if (!(*out = calloc(n, sizeof **out))) return out_of_memory();
    for (size_t i = 0; i < n; i++) {
        (*count)++;
        NNQ_TRY(load_value_info(protos[i], &(*out)[i]));
    }
    return NNQ_OK;
}

/* Keeps an attribute nnquant does not interpret as packed bytes for saving. */
static nnq_status keep_packed(const Onnx__AttributeProto *proto, nnq_attr *out) {
    out->packed_len = onnx__attribute_proto__get_packed_size(proto);
    if (!(out->packed = malloc(out->packed_len ? out->packed_len : 1))) return out_of_memory();
    onnx__attribute_proto__pack(proto, out->packed);
    return NNQ_OK;
}

static nnq_status load_attribute(const Onnx__AttributeProto *proto, const char *base_dir, nnq_attr *out) {
    memset(out, 0, sizeof *out);
    if (!(out->name = copy_or_empty(proto->name))) return out_of_memory();
    if (proto->doc_string && !(out->doc_string = strdup(proto->doc_string))) return out_of_memory();
    out->type = (nnq_attr_type)proto->type;
    switch (out->type) {
    case NNQ_ATTR_FLOAT: out->f = proto->f; break;
    case NNQ_ATTR_INT: out->i = proto->i; break;
    case NNQ_ATTR_STRING:
        out->s_len = proto->s.len;
        if (!(out->s = malloc(proto->s.len + 1))) return out_of_memory();
        if (proto->s.len) memcpy(out->s, proto->s.data, proto->s.len);
        out->s[proto->s.len] = '\0';
        break;
    case NNQ_ATTR_TENSOR:
        if (!proto->t) return nnq_fail(NNQ_ERR_PARSE, "attribute '%s' has no tensor", out->name);
        NNQ_TRY(tensor_from_proto(proto->t, base_dir, &out->t));
        break;
    case NNQ_ATTR_FLOATS:
        out->count = (int64_t)proto->n_floats;
        if (proto->n_floats) {
            if (!(out->floats = malloc(sizeof(float) * proto->n_floats))) return out_of_memory();
            memcpy(out->floats, proto->floats, sizeof(float) * proto->n_floats);
        }
        break;
    case NNQ_ATTR_INTS:
        out->count = (int64_t)proto->n_ints;
        if (proto->n_ints) {
            if (!(out->ints = malloc(sizeof(int64_t) * proto->n_ints))) return out_of_memory();
            memcpy(out->ints, proto->ints, sizeof(int64_t) * proto->n_ints);
        }
        break;
    case NNQ_ATTR_STRINGS:
        out->count = (int64_t)proto->n_strings;
        if (proto->n_strings) {
            if (!(out->strings = calloc(proto->n_strings, sizeof(char *)))) return out_of_memory();
            for (size_t i = 0; i < proto->n_strings; i++) {
                if (!(out->strings[i] = malloc(proto->strings[i].len + 1))) return out_of_memory();
                if (proto->strings[i].len) memcpy(out->strings[i], proto->strings[i].data, proto->strings[i].len);
                out->strings[i][proto->strings[i].len] = '\0';
            }
        }
        break;
    default: return keep_packed(proto, out);
    }
    return NNQ_OK;
}

static nnq_status load_names(char **names, size_t n, char ***out) {
    *out = NULL;
    if (n == 0) return NNQ_OK;
    if (!(*out = calloc(n, sizeof **out))) return out_of_memory();
    for (size_t i = 0; i < n; i++)
        if (!((*out)[i] = copy_or_empty(names[i]))) return out_of_memory();
    return NNQ_OK;
}

static nnq_status load_node(const Onnx__NodeProto *proto, const char *base_dir, nnq_node *out) {
    memset(out, 0, sizeof *out);
    if (!proto->op_type || !*proto->op_type)
        return nnq_fail(NNQ_ERR_PARSE, "node '%s' has no op_type", proto->name ? proto->name : "");
    if (!(out->name = copy_or_empty(proto->name)) || !(out->op_type = strdup(proto->op_type)) ||
        !(out->domain = copy_or_empty(proto->domain)))
        return out_of_memory();
    if (proto->doc_string && !(out->doc_string = strdup(proto->doc_string))) return out_of_memory();
    out->n_inputs = (int)proto->n_input;
    NNQ_TRY(load_names(proto->input, proto->n_input, &out->inputs));
    out->n_outputs = (int)proto->n_output;
    NNQ_TRY(load_names(proto->output, proto->n_output, &out->outputs));
    if (proto->n_attribute) {
        if (!(out->attrs = calloc(proto->n_attribute, sizeof *out->attrs))) return out_of_memory();
        for (size_t i = 0; i < proto->n_attribute; i++) {
            out->n_attrs++;
            nnq_status st = load_attribute(proto->attribute[i], base_dir, &out->attrs[i]);
            if (st != NNQ_OK) return nnq_fail_context(st, "node '%s' (%s)", node_display_name(out), out->op_type);
        }
    }
    return NNQ_OK;
}

/* Graph inputs and outputs must be tensors: sequences, maps and optionals are
 * outside what nnquant runs. A missing type is accepted (inferred later). */
static nnq_status require_tensor_types(Onnx__ValueInfoProto **protos, size_t n, const char *role) {
    for (size_t i = 0; i < n; i++) {
        const Onnx__TypeProto *type = protos[i]->type;
        if (type && type->value_case != ONNX__TYPE_PROTO__VALUE__NOT_SET &&
            type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
            return nnq_fail(NNQ_ERR_UNSUPPORTED, "graph %s '%s' is not a tensor (sequence, map or optional types are not supported)",
                            role, protos[i]->name ? protos[i]->name : "");
    }
    return NNQ_OK;
}

static nnq_status load_graph(const Onnx__GraphProto *proto, const char *base_dir, nnq_graph *g) {
    if (!(g->name = copy_or_empty(proto->name))) return out_of_memory();
    if (proto->doc_string && !(g->doc_string = strdup(proto->doc_string))) return out_of_memory();
    if (proto->n_sparse_initializer)
        return nnq_fail(NNQ_ERR_UNSUPPORTED, "sparse initializers are not supported");
    if (proto->n_node) {
        if (!(g->nodes = calloc(proto->n_node, sizeof *g->nodes))) return out_of_memory();
        g->nodes_capacity = (int)proto->n_node;
        for (size_t i = 0; i < proto->n_node; i++) {
            g->n_nodes++;
            NNQ_TRY(load_node(proto->node[i], base_dir, &g->nodes[i]));
        }
    }
    if (proto->n_initializer) {
        if (!(g->initializers = calloc(proto->n_initializer, sizeof *g->initializers))) return out_of_memory();
        g->initializers_capacity = (int)proto->n_initializer;
        for (size_t i = 0; i < proto->n_initializer; i++) {
            NNQ_TRY(tensor_from_proto(proto->initializer[i], base_dir, &g->initializers[i]));
            g->n_initializers++;
            if (!g->initializers[i].name || !*g->initializers[i].name)
                return nnq_fail(NNQ_ERR_PARSE, "initializer #%zu has no name", i);
        }
    }
    NNQ_TRY(require_tensor_types(proto->input, proto->n_input, "input"));
    NNQ_TRY(require_tensor_types(proto->output, proto->n_output, "output"));
    NNQ_TRY(load_value_infos(proto->input, proto->n_input, &g->inputs, &g->n_inputs));
    NNQ_TRY(load_value_infos(proto->output, proto->n_output, &g->outputs, &g->n_outputs));
    NNQ_TRY(load_value_infos(proto->value_info, proto->n_value_info, &g->value_infos, &g->n_value_infos));
    return NNQ_OK;
}

static nnq_status load_model(const Onnx__ModelProto *proto, const char *base_dir, nnq_model *m) {
    m->ir_version = proto->ir_version;
    m->model_version = proto->model_version;
    if (!(m->producer_name = copy_or_empty(proto->producer_name)) ||
        !(m->producer_version = copy_or_empty(proto->producer_version)) ||
        !(m->domain = copy_or_empty(proto->domain)) || !(m->doc_string = copy_or_empty(proto->doc_string)))
        return out_of_memory();
    if (proto->n_opset_import) {
        if (!(m->opset_imports = calloc(proto->n_opset_import, sizeof *m->opset_imports))) return out_of_memory();
        for (size_t i = 0; i < proto->n_opset_import; i++) {
            m->n_opset_imports++;
            if (!(m->opset_imports[i].domain = copy_or_empty(proto->opset_import[i]->domain))) return out_of_memory();
            m->opset_imports[i].version = proto->opset_import[i]->version;
        }
    }
    if (proto->n_metadata_props) {
        if (!(m->metadata = calloc(proto->n_metadata_props, sizeof *m->metadata))) return out_of_memory();
        for (size_t i = 0; i < proto->n_metadata_props; i++) {
            m->n_metadata++;
            if (!(m->metadata[i].key = copy_or_empty(proto->metadata_props[i]->key)) ||
                !(m->metadata[i].value = copy_or_empty(proto->metadata_props[i]->value)))
                return out_of_memory();
        }
    }
    if (!proto->graph) return nnq_fail(NNQ_ERR_PARSE, "the model has no graph");
    if (m->n_opset_imports == 0)
        return nnq_fail(NNQ_ERR_PARSE, "the model imports no opset (opset_import is empty)");
    return load_graph(proto->graph, base_dir, &m->graph);
}

nnq_status onnx_load_model_memory(const void *bytes, size_t size, const char *base_dir, const char *what,
                                  nnq_model *out) {
    memset(out, 0, sizeof *out);
    Onnx__ModelProto *proto = onnx__model_proto__unpack(NULL, size, bytes);
    if (!proto)
        return nnq_fail(NNQ_ERR_PARSE, "'%s' is not a valid ONNX model (corrupt or truncated protobuf)", what);
    nnq_status st = load_model(proto, base_dir, out);
    onnx__model_proto__free_unpacked(proto, NULL);
    if (st != NNQ_OK) {
        model_free(out);
        return nnq_fail_context(st, "'%s'", what);
    }
    return NNQ_OK;
}

nnq_status onnx_load_model(const char *path, nnq_model *out) {
    memset(out, 0, sizeof *out);
    void *bytes = NULL;
    size_t size = 0;
    NNQ_TRY(file_read_all(path, &bytes, &size));
    char *path_copy = strdup(path);
    if (!path_copy) {
        free(bytes);
        return out_of_memory();
    }
    nnq_status st = onnx_load_model_memory(bytes, size, dirname(path_copy), path, out);
    free(path_copy);
    free(bytes);
    return st;
}

nnq_status onnx_load_tensor_memory(const void *bytes, size_t size, const char *what, nnq_tensor *out) {
    memset(out, 0, sizeof *out);
    Onnx__TensorProto *proto = onnx__tensor_proto__unpack(NULL, size, bytes);
    if (!proto) return nnq_fail(NNQ_ERR_PARSE, "'%s' is not a valid ONNX TensorProto", what);
    nnq_status st = tensor_from_proto(proto, NULL, out);
    onnx__tensor_proto__free_unpacked(proto, NULL);
    if (st != NNQ_OK) return nnq_fail_context(st, "'%s'", what);
    return NNQ_OK;
}

nnq_status onnx_load_tensor(const char *path, nnq_tensor *out) {
    memset(out, 0, sizeof *out);
    void *bytes = NULL;
    size_t size = 0;
    NNQ_TRY(file_read_all(path, &bytes, &size));
    nnq_status st = onnx_load_tensor_memory(bytes, size, path, out);
    free(bytes);
    return st;
}
