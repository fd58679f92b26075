#include "calib/observer_file.h"

#include <stdlib.h>
#include <string.h>

#include "base/atomic_file.h"
#include "base/read_file.h"
#include "base/status.h"

static const char MAGIC[8] = {'N', 'N', 'Q', 'O', 'B', 'S', '0', '1'};
enum { MAX_NAME_BYTES = 1 << 16, MAX_OBSERVERS = 1 << 20 };
#define MAX_RESERVOIR_FLOATS ((int64_t)1 << 28)

/* ---- writing ---- */

static void put(FILE *f, const void *data, size_t size) { fwrite(data, 1, size, f); }
#define PUT(f, value) put((f), &(value), sizeof(value))

static void write_observer(FILE *f, const char *name, const nnq_observer *o) {
    uint32_t name_len = (uint32_t)strlen(name);
    PUT(f, name_len);
    put(f, name, name_len);
    PUT(f, o->finite_count);
    PUT(f, o->nan_count);
    PUT(f, o->positive_inf_count);
    PUT(f, o->negative_inf_count);
    PUT(f, o->min);
    PUT(f, o->max);
    PUT(f, o->ema_min);
    PUT(f, o->ema_max);
    PUT(f, o->ema_batches);
    PUT(f, o->ema_constant);
    PUT(f, o->moments);
    const nnq_histogram *h = &o->histogram;
    PUT(f, h->n_bins);
    PUT(f, h->width_exponent);
    PUT(f, h->first_bin);
    PUT(f, h->total);
    PUT(f, h->min);
    PUT(f, h->max);
    put(f, h->counts, sizeof *h->counts * (size_t)h->n_bins);
    uint8_t is_logits = o->is_logits;
    PUT(f, is_logits);
    PUT(f, o->reservoir_seed);
    if (!o->is_logits) return;
    const nnq_logit_reservoir *r = &o->reservoir;
    PUT(f, r->classes);
    PUT(f, r->capacity);
    PUT(f, r->kept);
    PUT(f, r->seen);
    PUT(f, r->skipped);
    PUT(f, r->rng_state);
    put(f, r->vectors, sizeof(float) * (size_t)r->kept * (size_t)r->classes);
}

nnq_status observer_file_write(const char *path, const observer_set *set) {
    nnq_atomic_file file;
    NNQ_TRY(atomic_file_open(&file, path));
    put(file.stream, MAGIC, sizeof MAGIC);
    uint32_t count = (uint32_t)set->count;
    PUT(file.stream, count);
    for (int i = 0; i < set->count; i++) write_observer(file.stream, set->names[i], &set->observers[i]);
    return atomic_file_commit(&file);
}

/* ---- reading ---- */

typedef struct reader {
    const uint8_t *bytes;
    size_t size, at;
    const char *path;
} reader;

static bool take(reader *r, void *out, size_t size) {
    if (size > r->size - r->at) return false;
    memcpy(out, r->bytes + r->at, size);
    r->at += size;
    return true;
}
#define TAKE(r, value) take((r), &(value), sizeof(value))

static nnq_status corrupt(const reader *r, const char *what) {
    return nnq_fail(NNQ_ERR_PARSE, "calibration file '%s' is corrupt or truncated (%s)", r->path, what);
}

static nnq_status read_reservoir(reader *r, nnq_observer *o) {
    nnq_logit_reservoir header;
    if (!TAKE(r, header.classes) || !TAKE(r, header.capacity) || !TAKE(r, header.kept) || !TAKE(r, header.seen) ||
        !TAKE(r, header.skipped) || !TAKE(r, header.rng_state))
        return corrupt(r, "logit reservoir");
    if (header.classes < 1 || header.capacity < 1 || header.kept < 0 || header.kept > header.capacity ||
        header.classes * header.capacity > MAX_RESERVOIR_FLOATS)
        return corrupt(r, "logit reservoir size");
    NNQ_TRY(logit_reservoir_init(&o->reservoir, header.classes, header.capacity, 0));
    o->is_logits = true;
    o->reservoir.kept = header.kept;
    o->reservoir.seen = header.seen;
    o->reservoir.skipped = header.skipped;
    o->reservoir.rng_state = header.rng_state;
    if (!take(r, o->reservoir.vectors, sizeof(float) * (size_t)header.kept * (size_t)header.classes))
        return corrupt(r, "logit vectors");
    return NNQ_OK;
}

static nnq_status read_observer(reader *r, char **name, nnq_observer *o) {
    uint32_t name_len;
    if (!TAKE(r, name_len) || name_len > MAX_NAME_BYTES) return corrupt(r, "tensor name");
    if (!(*name = calloc(name_len + 1, 1))) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    if (!take(r, *name, name_len)) return corrupt(r, "tensor name");
    nnq_histogram h = {0};
    if (!TAKE(r, o->finite_count) || !TAKE(r, o->nan_count) || !TAKE(r, o->positive_inf_count) ||
        !TAKE(r, o->negative_inf_count) || !TAKE(r, o->min) || !TAKE(r, o->max) || !TAKE(r, o->ema_min) ||
        !TAKE(r, o->ema_max) || !TAKE(r, o->ema_batches) || !TAKE(r, o->ema_constant) || !TAKE(r, o->moments) ||
        !TAKE(r, h.n_bins) || !TAKE(r, h.width_exponent) || !TAKE(r, h.first_bin) || !TAKE(r, h.total) ||
        !TAKE(r, h.min) || !TAKE(r, h.max))
        return corrupt(r, "statistics");
    if (h.n_bins < CALIB_MIN_HISTOGRAM_BINS || h.n_bins > CALIB_MAX_HISTOGRAM_BINS) return corrupt(r, "histogram size");
    NNQ_TRY(histogram_init(&o->histogram, h.n_bins));
    o->histogram.width_exponent = h.width_exponent;
    o->histogram.first_bin = h.first_bin;
    o->histogram.total = h.total;
    o->histogram.min = h.min;
    o->histogram.max = h.max;
    uint64_t sum = 0;
    if (!take(r, o->histogram.counts, sizeof(uint64_t) * (size_t)h.n_bins)) return corrupt(r, "histogram");
    for (int b = 0; b < h.n_bins; b++) sum += o->histogram.counts[b];
    if (sum != h.total) return corrupt(r, "histogram counts");
    uint8_t is_logits;
    if (!TAKE(r, is_logits) || !TAKE(r, o->reservoir_seed)) return corrupt(r, "observer kind");
    return is_logits ? read_reservoir(r, o) : NNQ_OK;
}

static nnq_status read_all(reader *r, observer_set *set) {
    char magic[sizeof MAGIC];
    uint32_t count;
    if (!take(r, magic, sizeof magic) || memcmp(magic, MAGIC, sizeof MAGIC) != 0)
        return nnq_fail(NNQ_ERR_PARSE, "'%s' is not an nnquant calibration file", r->path);
    if (!TAKE(r, count) || count > MAX_OBSERVERS) return corrupt(r, "observer count");
    set->names = calloc((size_t)count + 1, sizeof *set->names);
    set->observers = calloc((size_t)count + 1, sizeof *set->observers);
    if (!set->names || !set->observers) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < count; i++) {
        set->count = (int)i + 1;
        NNQ_TRY(read_observer(r, &set->names[i], &set->observers[i]));
    }
    return r->at == r->size ? NNQ_OK : corrupt(r, "trailing bytes");
}

nnq_status observer_file_read(const char *path, observer_set *set) {
    memset(set, 0, sizeof *set);
    void *bytes;
    size_t size;
    NNQ_TRY(file_read_all(path, &bytes, &size));
    reader r = {bytes, size, 0, path};
    nnq_status st = read_all(&r, set);
    free(bytes);
    if (st != NNQ_OK) observer_set_free(set);
    return st;
}

void observer_set_free(observer_set *set) {
    for (int i = 0; i < set->count; i++) {
        free(set->names[i]);
        /* A partly read observer has a zeroed or initialized histogram: both free cleanly. */
        observer_free(&set->observers[i]);
    }
    free(set->names);
    free(set->observers);
    memset(set, 0, sizeof *set);
}

const nnq_observer *observer_set_find(const observer_set *set, const char *tensor) {
    for (int i = 0; i < set->count; i++)
        if (strcmp(set->names[i], tensor) == 0) return &set->observers[i];
    return NULL;
}
