/* nnquant convert MODEL -o OUT.onnx [--external-data [MIN_BYTES]] [--simplify] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "cli/cli.h"
#include "ir/passes/passes.h"
#include "onnx/onnx_io.h"

/* ONNX's own default threshold (onnx.external_data_helper.convert_model_to_external_data,
 * size_threshold=1024): smaller tensors stay inline. */
enum { DEFAULT_EXTERNAL_MIN_BYTES = 1024 };
static const char EXTERNAL_DATA_EQUALS[] = "--external-data=";

static const char *const usage =
    "usage: nnquant convert MODEL -o OUT.onnx [--external-data [MIN_BYTES]] [--simplify]\n"
    "\n"
    "Loads the model and writes it again with nnquant's ONNX writer (atomically:\n"
    "a failure leaves no OUT behind and an existing OUT untouched).\n"
    "\n"
    "  -o, --output OUT.onnx     the model to write\n"
    "  --external-data [N]       store tensors of at least N bytes (default 1024)\n"
    "                            in OUT.onnx.data beside the model\n"
    "  --simplify                sort nodes topologically, fold constants and remove\n"
    "                            dead nodes first (outputs stay equal)\n";

/* A whole number of bytes (>= 1), or -1. */
static long long parse_bytes(const char *text) {
    char *end;
    long long n = strtoll(text, &end, 10);
    return end != text && *end == '\0' && n >= 1 ? n : -1;
}

static bool is_digits(const char *s) { return *s && strspn(s, "0123456789") == strlen(s); }

static int convert_model(const char *model_path, const char *output_path, size_t external_min_bytes, bool simplify) {
    nnq_model model;
    if (onnx_load_model(model_path, &model) != NNQ_OK) return cli_report_error();
    int nodes_before = model.graph.n_nodes;
    nnq_status st = simplify ? model_simplify(&model) : NNQ_OK;
    onnx_save_options options = {.external_min_bytes = external_min_bytes, .external_file_name = NULL};
    if (st == NNQ_OK) st = onnx_save_model(&model, output_path, &options);
    if (st == NNQ_OK) {
        printf("wrote %s (%d nodes", output_path, model.graph.n_nodes);
        if (simplify) printf(", %d before --simplify", nodes_before);
        printf(", %d initializers", model.graph.n_initializers);
        if (external_min_bytes) printf(", tensors of %zu bytes or more in %s.data", external_min_bytes, output_path);
        printf(")\n");
    }
    int code = st == NNQ_OK ? 0 : cli_report_error();
    model_free(&model);
    return code;
}

int cmd_convert(int argc, char **argv) {
    const char *model_path = NULL, *output_path = NULL;
    size_t external_min_bytes = 0;
    bool simplify = false;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *value;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if ((value = cli_option_value(argc, argv, &i, "--output", &missing)) ||
                   (!missing && (value = cli_option_value(argc, argv, &i, "-o", &missing)))) {
            output_path = value;
        } else if (strncmp(argv[i], EXTERNAL_DATA_EQUALS, strlen(EXTERNAL_DATA_EQUALS)) == 0) {
            const char *text = argv[i] + strlen(EXTERNAL_DATA_EQUALS);
            long long n = parse_bytes(text);
            if (n < 0) return cli_usage_error("convert", "--external-data needs a byte count >= 1, not '%s'", text);
            external_min_bytes = (size_t)n;
        } else if (strcmp(argv[i], "--external-data") == 0) {
            /* The byte count is optional: take the next argument only if it is a number. */
            external_min_bytes = DEFAULT_EXTERNAL_MIN_BYTES;
            if (i + 1 < argc && is_digits(argv[i + 1])) {
                long long n = parse_bytes(argv[++i]);
                if (n < 0) return cli_usage_error("convert", "--external-data needs a byte count >= 1, not '%s'", argv[i]);
                external_min_bytes = (size_t)n;
            }
        } else if (missing) {
            return cli_usage_error("convert", "option '%s' needs a value", argv[i]);
        } else if (strcmp(argv[i], "--simplify") == 0) {
            simplify = true;
        } else if (argv[i][0] == '-') {
            return cli_usage_error("convert", "unknown option '%s'", argv[i]);
        } else if (model_path) {
            return cli_usage_error("convert", "more than one model given ('%s' and '%s')", model_path, argv[i]);
        } else {
            model_path = argv[i];
        }
    }
    if (!model_path) return cli_usage_error("convert", "no model given");
    if (!output_path) return cli_usage_error("convert", "-o OUT.onnx is required");
    return convert_model(model_path, output_path, external_min_bytes, simplify);
}
