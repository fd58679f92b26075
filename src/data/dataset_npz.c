/* .npz datasets: one member holds the inputs (first axis = samples), another
 * optionally the labels. The archive is held in memory as read (members may
 * be deflated, so there is no cheap way to read part of one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "data/dataset_source.h"
#include "data/npz.h"

/* Member names taken as labels when no label key is given. */
static const char *const LABEL_NAMES[] = {"labels", "label", "y"};

static bool is_label_name(const char *name) {
    for (size_t i = 0; i < sizeof LABEL_NAMES / sizeof LABEL_NAMES[0]; i++)
        if (strcmp(name, LABEL_NAMES[i]) == 0) return true;
    return false;
}

static const nnq_tensor *default_inputs(const npz_archive *archive) {
    for (size_t i = 0; i < archive->count; i++)
        if (!is_label_name(archive->tensors[i].name)) return &archive->tensors[i];
    return NULL;
}

static const nnq_tensor *default_labels(const npz_archive *archive) {
    for (size_t i = 0; i < sizeof LABEL_NAMES / sizeof LABEL_NAMES[0]; i++) {
        const nnq_tensor *t = npz_find(archive, LABEL_NAMES[i]);
        if (t) return t;
    }
    return NULL;
}

/* Picks the input and label members, checking that the keys exist. */
static nnq_status choose_members(const npz_archive *archive, const char *path, const char *input_key,
                                 const char *label_key, const nnq_tensor **inputs, const nnq_tensor **labels) {
    *inputs = input_key ? npz_find(archive, input_key) : default_inputs(archive);
    if (!*inputs && input_key)
        return nnq_fail(NNQ_ERR_INVALID, "'%s' has no array named '%s'", path, input_key);
    if (!*inputs) return nnq_fail(NNQ_ERR_INVALID, "'%s' has no input array", path);
    *labels = label_key ? npz_find(archive, label_key) : default_labels(archive);
    if (!*labels && label_key) return nnq_fail(NNQ_ERR_INVALID, "'%s' has no array named '%s'", path, label_key);
    if (*labels == *inputs) *labels = NULL; /* "npz:f.npz:labels" evaluates the labels array itself */
    if ((*inputs)->rank < 1)
        return nnq_fail(NNQ_ERR_INVALID, "'%s': array '%s' is 0-dimensional, it has no sample axis", path,
                        (*inputs)->name);
    return NNQ_OK;
}

nnq_status dataset_source_open_npz(const char *path, const char *input_key, const char *label_key,
                                   dataset_source *out) {
    memset(out, 0, sizeof *out);
    npz_archive archive;
    NNQ_TRY(npz_read(path, &archive));
    const nnq_tensor *inputs = NULL, *labels = NULL;
    nnq_status st = choose_members(&archive, path, input_key, label_key, &inputs, &labels);
    if (st == NNQ_OK && labels) {
        char what[4200];
        snprintf(what, sizeof what, "'%s' (array '%s')", path, labels->name);
        st = dataset_labels_from_tensor(labels, inputs->dims[0], what, &out->labels);
    }
    if (st == NNQ_OK) st = dataset_source_hold((nnq_tensor *)inputs, out); /* the archive gives up the inputs */
    if (st != NNQ_OK) {
        free(out->labels);
        memset(out, 0, sizeof *out);
    }
    npz_free(&archive);
    return st;
}
