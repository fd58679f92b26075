/* nnquant: quantize ONNX models and run them. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define NNQUANT_VERSION "0.1.0"

static const cli_command commands[] = {
    {"info", "describe a model: inputs, outputs, opsets, operators, parameters", cmd_info},
    {"run", "run a model on .npy/.pb inputs and write its outputs as .npy", cmd_run},
    {"eval", "measure a classifier's top-1/top-5 accuracy on a dataset", cmd_eval},
    {"quantize", "calibrate and quantize a model, write QDQ ONNX, compare accuracy", cmd_quantize},
    {"convert", "load a model and save it again (optionally simplified, external data)", cmd_convert},
    {"export", "write a quantized model as integer-only C code (weights, kernels, test)", cmd_export},
};

static void print_usage(FILE *out) {
    fprintf(out, "usage: nnquant <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'nnquant <command> --help' describes a command's options.\n");
}

int cli_report_error(void) {
    fprintf(stderr, "nnquant: error: %s\n", nnq_last_error());
    return 1;
}

int cli_usage_error(const char *command, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "nnquant %s: ", command);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, "\n(see 'nnquant %s --help')\n", command);
    return 2;
}

bool cli_is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

const char *cli_option_value(int argc, char **argv, int *i, const char *name, bool *missing) {
    const char *arg = argv[*i];
    size_t len = strlen(name);
    if (strncmp(arg, name, len) != 0) return NULL;
    if (arg[len] == '=') return arg + len + 1;
    if (arg[len] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int main(int argc, char **argv) {
    if (argc < 2 || cli_is_help(argv[1])) {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("nnquant %s\n", NNQUANT_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "nnquant: unknown command '%s'\n", argv[1]);
    print_usage(stderr);
    return 2;
}
