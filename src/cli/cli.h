/* The nnquant command line: main.c dispatches to one function per
 * subcommand; each parses its own options and calls the library. */
#ifndef NNQ_CLI_H
#define NNQ_CLI_H

#include <stdbool.h>

#include "nnquant.h"

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*main)(int argc, char **argv); /* argv[0] is the subcommand name */
} cli_command;

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* Prints "nnquant: <message>" for the last library error; returns 1 (the exit code). */
int cli_report_error(void);
/* Prints "nnquant <command>: <message>" and a hint to use --help; returns 2. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Matches "--name value" (advancing *i) and "--name=value"; NULL if argv[*i] is not that option.
 * A missing value sets *missing. */
const char *cli_option_value(int argc, char **argv, int *i, const char *name, bool *missing);
bool cli_is_help(const char *arg);

#endif
