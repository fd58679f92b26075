/* A progress bar on stderr for long loops (evaluation, calibration). It is
 * drawn only when stderr is a terminal, so logs and pipes stay clean, and
 * redrawn at most PROGRESS_REDRAWS_PER_SECOND times a second. */
#ifndef NNQ_BASE_PROGRESS_H
#define NNQ_BASE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

enum { PROGRESS_REDRAWS_PER_SECOND = 10 };

typedef struct progress_bar {
    const char *label;     /* e.g. "eval"; not owned */
    bool enabled;          /* stderr is a terminal */
    bool drawn;            /* something is on the line */
    double start_seconds;
    double last_draw_seconds;
} progress_bar;

/* Starts a bar; label must outlive it. */
void progress_begin(progress_bar *bar, const char *label);
/* Reports done of total items; redraws if enough time has passed or done == total. */
void progress_update(progress_bar *bar, int64_t done, int64_t total);
/* Clears the bar's line so what follows starts on a clean line. */
void progress_end(progress_bar *bar);

/* Adapter for callbacks of the form void (*)(void *user, int64_t done, int64_t total). */
void progress_callback(void *bar, int64_t done, int64_t total);

#endif
