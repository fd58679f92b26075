#include "base/progress.h"

#include <stdio.h>
#include <unistd.h>

#include "base/wall_clock.h"

enum { BAR_WIDTH = 30 };

void progress_begin(progress_bar *bar, const char *label) {
    bar->label = label;
    bar->enabled = isatty(STDERR_FILENO) == 1;
    bar->drawn = false;
    bar->start_seconds = wall_clock_seconds();
    bar->last_draw_seconds = -1.0;
}

void progress_update(progress_bar *bar, int64_t done, int64_t total) {
    if (!bar->enabled || total <= 0) return;
    double now = wall_clock_seconds();
    bool finished = done >= total;
    if (!finished && bar->last_draw_seconds >= 0 && now - bar->last_draw_seconds < 1.0 / PROGRESS_REDRAWS_PER_SECOND)
        return;
    bar->last_draw_seconds = now;
    int filled = (int)(BAR_WIDTH * (double)done / (double)total);
    if (filled > BAR_WIDTH) filled = BAR_WIDTH;
    char cells[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++) cells[i] = i < filled ? '#' : '.';
    cells[BAR_WIDTH] = '\0';
    double elapsed = now - bar->start_seconds;
    double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
    fprintf(stderr, "\r%s [%s] %lld/%lld  %.0f/s ", bar->label, cells, (long long)done, (long long)total, rate);
    fflush(stderr);
    bar->drawn = true;
}

void progress_end(progress_bar *bar) {
    if (bar->drawn) {
        fprintf(stderr, "\r\033[K"); /* ANSI "erase in line" */
        fflush(stderr);
    }
    bar->drawn = false;
}

void progress_callback(void *bar, int64_t done, int64_t total) { progress_update(bar, done, total); }
