#include "data/npz.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "data/npy.h"
#include "data/zip.h"

static const char NPY_SUFFIX[] = ".npy";

static bool is_npy_member(const char *name) {
    size_t len = strlen(name), suffix = sizeof NPY_SUFFIX - 1;
    return len > suffix && strcmp(name + len - suffix, NPY_SUFFIX) == 0;
}

/* Extracts and parses one member into t, named without its suffix. */
static nnq_status read_member(zip_reader *zip, const zip_entry *e, nnq_tensor *t) {
    unsigned char *bytes = NULL;
    NNQ_TRY(zip_extract(zip, e, &bytes));
    size_t what_len = strlen(zip->path) + strlen(e->name) + 2;
    char *what = malloc(what_len);
    nnq_status st = NNQ_ERR_NOMEM;
    if (what) {
        snprintf(what, what_len, "%s:%s", zip->path, e->name); /* "data.npz:x.npy" in errors */
        st = npy_read_memory(bytes, (size_t)e->size, what, t);
    } else {
        nnq_fail(st, "'%s': out of memory", zip->path);
    }
    free(what);
    free(bytes);
    if (st != NNQ_OK) return st;
    t->name = strndup(e->name, strlen(e->name) - (sizeof NPY_SUFFIX - 1));
    if (!t->name) return nnq_fail(NNQ_ERR_NOMEM, "'%s': out of memory", zip->path);
    return NNQ_OK;
}

static nnq_status read_members(zip_reader *zip, npz_archive *out) {
    out->tensors = calloc(zip->count ? zip->count : 1, sizeof *out->tensors);
    if (!out->tensors) return nnq_fail(NNQ_ERR_NOMEM, "'%s': out of memory", zip->path);
    for (size_t i = 0; i < zip->count; i++) {
        if (!is_npy_member(zip->entries[i].name)) continue;
        nnq_status st = read_member(zip, &zip->entries[i], &out->tensors[out->count]);
        out->count++; /* counted even on failure so npz_free releases a partial name */
        NNQ_TRY(st);
    }
    return NNQ_OK;
}

nnq_status npz_read(const char *path, npz_archive *out) {
    memset(out, 0, sizeof *out);
    zip_reader zip;
    NNQ_TRY(zip_open(&zip, path));
    nnq_status st = read_members(&zip, out);
    zip_close(&zip);
    if (st != NNQ_OK) npz_free(out);
    return st;
}

const nnq_tensor *npz_find(const npz_archive *archive, const char *name) {
    for (size_t i = 0; i < archive->count; i++)
        if (archive->tensors[i].name && strcmp(archive->tensors[i].name, name) == 0)
            return &archive->tensors[i];
    return NULL;
}

void npz_free(npz_archive *archive) {
    for (size_t i = 0; i < archive->count; i++) tensor_free(&archive->tensors[i]);
    free(archive->tensors);
    memset(archive, 0, sizeof *archive);
}
