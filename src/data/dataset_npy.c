/* .npy datasets: inputs streamed from the file batch by batch (the first axis
 * is the sample axis), labels from an optional second .npy read whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "data/dataset_source.h"
#include "data/npy.h"

static nnq_status npy_read_samples(void *state, int64_t first, int64_t n, nnq_tensor *out) {
    return npy_row_reader_read(state, first, n, out);
}

static void npy_close(void *state) {
    if (state) npy_row_reader_close(state);
    free(state);
}

nnq_status dataset_source_open_npy(const char *inputs_path, const char *labels_path, dataset_source *out) {
    memset(out, 0, sizeof *out);
    npy_row_reader *reader = calloc(1, sizeof *reader);
    if (!reader) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    nnq_status st = npy_row_reader_open(reader, inputs_path);
    if (st != NNQ_OK) {
        free(reader);
        return st;
    }
    out->state = reader;
    out->read = npy_read_samples;
    out->close = npy_close;
    dataset_source_set_shape(out, reader->rank, reader->dims);
    if (!labels_path) return NNQ_OK;
    nnq_tensor labels;
    st = npy_read(labels_path, &labels);
    if (st == NNQ_OK) {
        char what[4200];
        snprintf(what, sizeof what, "'%s' (labels of '%s')", labels_path, inputs_path);
        st = dataset_labels_from_tensor(&labels, out->count, what, &out->labels);
    }
    tensor_free(&labels);
    if (st != NNQ_OK) {
        npy_close(reader);
        memset(out, 0, sizeof *out);
    }
    return st;
}
