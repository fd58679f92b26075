/* The nnquant command line: main.c dispatches to one function per
 * subcommand; each parses its own options and calls the library. */
#ifndef NNQ_CLI_H
#define NNQ_CLI_H

#include <stdbool.h>

#include "data/dataset.h"
#include "intq/lowering.h"
#include "nnquant.h"

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*main)(int argc, char **argv); /* argv[0] is the subcommand name */
} cli_command;

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* Prints "nnquant: <message>" for the last library error; returns 1 (the exit code). */
int cli_report_error(void);
/* Prints "nnquant <command>: <message>" and a hint to use --help; returns 2. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Matches "--name value" (advancing *i) and "--name=value"; NULL if argv[*i] is not that option.
 * A missing value sets *missing. */
const char *cli_option_value(int argc, char **argv, int *i, const char *name, bool *missing);
bool cli_is_help(const char *arg);

/* Dataset specs and the data options every command reading a dataset shares
 * (eval --dataset now, quantize --calib later), parsed in one place. */

/* The spec syntax and the shared options, for --help texts. */
extern const char cli_dataset_help[];

typedef enum cli_option_result {
    CLI_OPTION_OTHER,  /* argv[*i] is not a dataset option */
    CLI_OPTION_TAKEN,  /* stored in *options; *i is past its value */
    CLI_OPTION_ERROR,  /* a usage error was printed; exit with 2 */
} cli_option_result;

/* Takes argv[*i] if it is --data-dir, --resize, --channels, --mean, --std,
 * --scale or --layout (as "--name value" or "--name=value"). */
cli_option_result cli_parse_dataset_option(const char *command, int argc, char **argv, int *i,
                                           dataset_options *options);

/* Takes argv[i] if it is --rescale-per-output or --rescale-per-layer (the
 * integer engine's rescale granularity, shared by run, eval and export). */
bool cli_parse_rescale_granularity(const char *arg, intq_lowering_options *lowering);

#endif
