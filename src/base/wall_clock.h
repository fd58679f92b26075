/* Monotonic wall-clock seconds, for timings (latency, images per second,
 * progress, the run times reports give). */
#ifndef NNQ_BASE_WALL_CLOCK_H
#define NNQ_BASE_WALL_CLOCK_H

double wall_clock_seconds(void);

#endif
