/* nnquant info MODEL [--json] */
#include <stdio.h>
#include <string.h>

#include "base/json_writer.h"
#include "cli/cli.h"
#include "ir/model_stats.h"
#include "onnx/onnx_io.h"
#include "run/executor.h"

static const char *const help =
    "usage: nnquant info MODEL [--json]\n"
    "\n"
    "Describes an ONNX model: its inputs and outputs with element types and\n"
    "shapes (symbolic dims by name), opset imports, a histogram of operators\n"
    "(and which of them nnquant cannot run), and its parameter count and bytes.\n"
    "\n"
    "  --json   print one JSON object instead of text\n";

static void format_shape(const nnq_value_info *v, char *buf, size_t size) {
    if (v->rank < 0) {
        snprintf(buf, size, "(unknown shape)");
        return;
    }
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < v->rank && used < size; i++) {
        const char *sep = i ? "," : "";
        if (v->dims[i] >= 0) used += (size_t)snprintf(buf + used, size - used, "%s%lld", sep, (long long)v->dims[i]);
        else used += (size_t)snprintf(buf + used, size - used, "%s%s", sep, v->dim_params[i] ? v->dim_params[i] : "?");
    }
    if (used < size) snprintf(buf + used, size - used, "]");
}

static void print_values_text(const char *title, const nnq_value_info *values, int n, const nnq_graph *g) {
    printf("%s:\n", title);
    for (int i = 0; i < n; i++) {
        if (graph_find_initializer(g, values[i].name)) continue; /* IR<4 lists weights as inputs */
        char shape[256];
        format_shape(&values[i], shape, sizeof shape);
        printf("  %-24s %-8s %s\n", values[i].name, dtype_name(values[i].dtype), shape);
    }
}

static void print_values_json(json_writer *w, const char *key, const nnq_value_info *values, int n,
                              const nnq_graph *g) {
    json_key(w, key);
    json_begin_array(w);
    for (int i = 0; i < n; i++) {
        if (graph_find_initializer(g, values[i].name)) continue;
        json_begin_object(w);
        json_key(w, "name");
        json_string(w, values[i].name);
        json_key(w, "type");
        json_string(w, dtype_name(values[i].dtype));
        json_key(w, "shape");
        if (values[i].rank < 0) json_null(w);
        else {
            json_begin_array(w);
            for (int d = 0; d < values[i].rank; d++) {
                if (values[i].dims[d] >= 0) json_int(w, values[i].dims[d]);
                else if (values[i].dim_params[d]) json_string(w, values[i].dim_params[d]);
                else json_null(w);
            }
            json_end_array(w);
        }
        json_end_object(w);
    }
    json_end_array(w);
}

static void print_text(const char *path, const nnq_model *m, const model_stats *stats, const char *unsupported) {
    const nnq_graph *g = &m->graph;
    printf("model: %s\n", path);
    printf("ir_version: %lld   producer: %s %s\n", (long long)m->ir_version, m->producer_name, m->producer_version);
    printf("opsets:");
    for (int i = 0; i < m->n_opset_imports; i++)
        printf(" %s %lld%s", *m->opset_imports[i].domain ? m->opset_imports[i].domain : "ai.onnx",
               (long long)m->opset_imports[i].version, i + 1 < m->n_opset_imports ? "," : "");
    printf("\n");
    print_values_text("inputs", g->inputs, g->n_inputs, g);
    print_values_text("outputs", g->outputs, g->n_outputs, g);
    printf("nodes: %d\n", g->n_nodes);
    for (int i = 0; i < stats->n_ops; i++)
        printf("  %s%s%-20s %d\n", stats->ops[i].domain, *stats->ops[i].domain ? ":" : "", stats->ops[i].op_type,
               stats->ops[i].count);
    printf("parameters: %lld (%lld bytes in %d initializers)\n", (long long)stats->parameters,
           (long long)stats->parameter_bytes, g->n_initializers);
    if (*unsupported) printf("unsupported operators: %s\n", unsupported);
}

static void print_json(const char *path, const nnq_model *m, const model_stats *stats, const char *unsupported) {
    const nnq_graph *g = &m->graph;
    json_writer w;
    json_init(&w, stdout);
    json_begin_object(&w);
    json_key(&w, "model");
    json_string(&w, path);
    json_key(&w, "ir_version");
    json_int(&w, m->ir_version);
    json_key(&w, "producer");
    json_string(&w, m->producer_name);
    json_key(&w, "opsets");
    json_begin_object(&w);
    for (int i = 0; i < m->n_opset_imports; i++) {
        json_key(&w, *m->opset_imports[i].domain ? m->opset_imports[i].domain : "ai.onnx");
        json_int(&w, m->opset_imports[i].version);
    }
    json_end_object(&w);
    print_values_json(&w, "inputs", g->inputs, g->n_inputs, g);
    print_values_json(&w, "outputs", g->outputs, g->n_outputs, g);
    json_key(&w, "nodes");
    json_int(&w, g->n_nodes);
    json_key(&w, "op_histogram");
    json_begin_object(&w);
    for (int i = 0; i < stats->n_ops; i++) {
        char key[256];
        snprintf(key, sizeof key, "%s%s%s", stats->ops[i].domain, *stats->ops[i].domain ? ":" : "",
                 stats->ops[i].op_type);
        json_key(&w, key);
        json_int(&w, stats->ops[i].count);
    }
    json_end_object(&w);
    json_key(&w, "parameters");
    json_int(&w, stats->parameters);
    json_key(&w, "parameter_bytes");
    json_int(&w, stats->parameter_bytes);
    json_key(&w, "unsupported_ops");
    json_string(&w, unsupported);
    json_end_object(&w);
    json_finish(&w);
}

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) as_json = true;
        else if (argv[i][0] == '-') return cli_usage_error("info", "unknown option '%s'", argv[i]);
        else if (path) return cli_usage_error("info", "more than one model given");
        else path = argv[i];
    }
    if (!path) return cli_usage_error("info", "no model given");
    nnq_model model;
    if (onnx_load_model(path, &model) != NNQ_OK) return cli_report_error();
    model_stats stats;
    if (model_stats_compute(&model, &stats) != NNQ_OK) {
        model_free(&model);
        return cli_report_error();
    }
    char unsupported[1024];
    executor_list_unsupported(&model, unsupported, sizeof unsupported);
    if (as_json) print_json(path, &model, &stats, unsupported);
    else print_text(path, &model, &stats, unsupported);
    model_stats_free(&stats);
    model_free(&model);
    return 0;
}
