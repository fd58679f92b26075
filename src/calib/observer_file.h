/* Saving and reloading calibration statistics ("--calib-save" /
 * "--calib-reload", N2D2's -calib-reload): the observers of every calibrated
 * tensor, bit for bit, so range methods can be changed and rerun without
 * running the data again. The same records are what calibration shards would
 * exchange to be merged.
 *
 * Binary, little-endian (the byte order of every machine nnquant builds for),
 * versioned by its magic; every count and size is validated on reading. */
#ifndef NNQ_CALIB_OBSERVER_FILE_H
#define NNQ_CALIB_OBSERVER_FILE_H

#include "calib/observer.h"

typedef struct observer_set {
    int count;
    char **names;           /* tensor names */
    nnq_observer *observers;
} observer_set;

/* Writes the observers (atomically). */
nnq_status observer_file_write(const char *path, const observer_set *set);
/* Reads a file written by observer_file_write into *set (caller frees). */
nnq_status observer_file_read(const char *path, observer_set *set);
void observer_set_free(observer_set *set);
/* The observer for tensor, or NULL. */
const nnq_observer *observer_set_find(const observer_set *set, const char *tensor);

#endif
