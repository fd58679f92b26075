/* The integer engine's rescale granularity options, one parser for run, eval
 * and export (the default is intq_lowering_defaults()'s). */
#include <string.h>

#include "cli/cli.h"

bool cli_parse_rescale_granularity(const char *arg, intq_lowering_options *lowering) {
    if (strcmp(arg, "--rescale-per-output") == 0) {
        lowering->rescale_per_output = true;
    } else if (strcmp(arg, "--rescale-per-layer") == 0) {
        lowering->rescale_per_output = false; /* N2D2's -act-rescale-per-output 0 */
    } else {
        return false;
    }
    return true;
}
