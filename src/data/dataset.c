/* The dataset spec parser and batching over any dataset_source. */
#include "data/dataset.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/status.h"
#include "data/dataset_source.h"
#include "data/tensor_convert.h"

static const char DEFAULT_FASHION_MNIST_DIR[] = "/usr/share/datasets/fashion-mnist";

struct nnq_dataset {
    char *spec;
    dataset_source source;
    int64_t count; /* after the limit */
    int64_t next;  /* index of the next sample to read */
    nnq_dtype input_dtype;
};

dataset_options dataset_options_defaults(void) {
    dataset_options o = {
        .data_dir = NULL, .image = image_preprocess_defaults(), .image_given = 0, .limit = 0,
        .input_dtype = NNQ_FLOAT,
    };
    return o;
}

static bool is_image_channel_count(int64_t c) { return c == 1 || c == 3; }

void dataset_options_fit_input(dataset_options *options, nnq_dtype dtype, int rank, const int64_t *dims) {
    options->input_dtype = dtype;
    if (rank != 4) return;
    image_preprocess *image = &options->image;
    if (!(options->image_given & DATASET_GIVEN_LAYOUT)) {
        /* [N,C,H,W] unless only the last axis looks like channels. */
        image->nhwc = !is_image_channel_count(dims[1]) && is_image_channel_count(dims[3]);
    }
    int64_t c = image->nhwc ? dims[3] : dims[1];
    int64_t h = image->nhwc ? dims[1] : dims[2], w = image->nhwc ? dims[2] : dims[3];
    if (!(options->image_given & DATASET_GIVEN_CHANNELS) && is_image_channel_count(c)) image->channels = (int)c;
    if (!(options->image_given & DATASET_GIVEN_SIZE) && h > 0 && w > 0 && h <= NNQ_IMAGE_MAX_SIDE &&
        w <= NNQ_IMAGE_MAX_SIDE) {
        image->height = (int)h;
        image->width = (int)w;
    }
}

/* ---- shared helpers for the kinds ---- */

nnq_status dataset_labels_from_tensor(const nnq_tensor *t, int64_t count, const char *what, int64_t **labels) {
    *labels = NULL;
    bool shape_ok = (t->rank == 1 && t->dims[0] == count) || (t->rank == 2 && t->dims[0] == count && t->dims[1] == 1);
    if (!shape_ok) {
        char shape[160];
        return nnq_fail(NNQ_ERR_INVALID, "%s: labels have shape %s but there are %lld inputs (labels must be [%lld])",
                        what, dims_format(t->dims, t->rank, shape, sizeof shape), (long long)count,
                        (long long)count);
    }
    bool is_float = t->dtype == NNQ_FLOAT || t->dtype == NNQ_DOUBLE;
    bool is_integer = !is_float && t->dtype != NNQ_BOOL && dtype_is_supported(t->dtype);
    if (!is_float && !is_integer)
        return nnq_fail(NNQ_ERR_INVALID, "%s: labels must be integers, not %s", what, dtype_name(t->dtype));
    int64_t *out = malloc((size_t)(count > 0 ? count : 1) * sizeof *out);
    if (!out) return nnq_fail(NNQ_ERR_NOMEM, "%s: out of memory for %lld labels", what, (long long)count);
    for (int64_t i = 0; i < count; i++) {
        if (is_integer) {
            out[i] = tensor_get_int64(t, i);
            continue;
        }
        double v = tensor_get_double(t, i);
        if (!(v == floor(v) && fabs(v) < 1e15)) {
            free(out);
            return nnq_fail(NNQ_ERR_INVALID, "%s: label %lld is %g, not an integer", what, (long long)i, v);
        }
        out[i] = (int64_t)v;
    }
    *labels = out;
    return NNQ_OK;
}

static nnq_status held_tensor_read(void *state, int64_t first, int64_t n, nnq_tensor *out) {
    const nnq_tensor *t = state;
    int64_t dims[NNQ_MAX_RANK];
    memcpy(dims, t->dims, sizeof dims);
    dims[0] = n;
    NNQ_TRY(tensor_create(out, t->dtype, t->rank, dims));
    size_t row_bytes = (size_t)dims_numel(t->dims + 1, t->rank - 1) * dtype_size(t->dtype);
    if (n > 0) memcpy(out->data, (const char *)t->data + (size_t)first * row_bytes, (size_t)n * row_bytes);
    return NNQ_OK;
}

static void held_tensor_close(void *state) {
    if (state) tensor_free(state);
    free(state);
}

void dataset_source_set_shape(dataset_source *out, int rank, const int64_t *dims) {
    out->count = dims[0];
    out->sample_rank = rank - 1;
    memcpy(out->sample_dims, dims + 1, sizeof(int64_t) * (size_t)out->sample_rank);
}

nnq_status dataset_source_hold(nnq_tensor *samples, dataset_source *out) {
    nnq_tensor *kept = malloc(sizeof *kept);
    if (!kept) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    *kept = *samples;
    memset(samples, 0, sizeof *samples);
    out->state = kept;
    out->read = held_tensor_read;
    out->close = held_tensor_close;
    dataset_source_set_shape(out, kept->rank, kept->dims);
    return NNQ_OK;
}

/* ---- spec parsing ---- */

/* Copies text[0..len) into a new string. */
static nnq_status copy_part(const char *text, size_t len, char **out) {
    *out = strndup(text, len);
    return *out ? NNQ_OK : nnq_fail(NNQ_ERR_NOMEM, "out of memory");
}

/* Splits "A,B" at the first comma into *first and *second (NULL without a comma). */
static nnq_status split_at_comma(const char *text, char **first, char **second) {
    const char *comma = strchr(text, ',');
    *second = NULL;
    NNQ_TRY(copy_part(text, comma ? (size_t)(comma - text) : strlen(text), first));
    if (comma && copy_part(comma + 1, strlen(comma + 1), second) != NNQ_OK) {
        free(*first);
        *first = NULL;
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    }
    return NNQ_OK;
}

static nnq_status require_nonempty(const char *spec, const char *part, const char *what) {
    if (part && *part) return NNQ_OK;
    return nnq_fail(NNQ_ERR_USAGE, "dataset '%s': %s is missing", spec, what);
}

static nnq_status open_mnist_like(const char *spec, const char *rest, const char *dir, dataset_source *out) {
    if (strcmp(rest, "test") != 0 && strcmp(rest, "train") != 0)
        return nnq_fail(NNQ_ERR_USAGE, "dataset '%s': the part must be 'test' or 'train', not '%s'", spec, rest);
    return dataset_source_open_mnist(dir, rest, out);
}

static nnq_status open_fashion_mnist(const char *spec, const char *rest, const dataset_options *o,
                                     dataset_source *out) {
    return open_mnist_like(spec, rest, o->data_dir ? o->data_dir : DEFAULT_FASHION_MNIST_DIR, out);
}

static nnq_status open_mnist(const char *spec, const char *rest, const dataset_options *o, dataset_source *out) {
    if (!o->data_dir)
        return nnq_fail(NNQ_ERR_USAGE, "dataset '%s' needs --data-dir DIR (the folder holding "
                        "t10k-images-idx3-ubyte[.gz] and the other MNIST files)", spec);
    return open_mnist_like(spec, rest, o->data_dir, out);
}

/* "FIRST[,SECOND]": an inputs file and an optional labels file, opened by open_pair. */
static nnq_status open_file_pair(const char *spec, const char *rest, const char *first_what, const char *second_what,
                                 nnq_status (*open_pair)(const char *, const char *, dataset_source *),
                                 dataset_source *out) {
    char *first = NULL, *second = NULL;
    NNQ_TRY(split_at_comma(rest, &first, &second));
    nnq_status st = require_nonempty(spec, first, first_what);
    if (st == NNQ_OK && second) st = require_nonempty(spec, second, second_what);
    if (st == NNQ_OK) st = open_pair(first, second, out);
    free(first);
    free(second);
    return st;
}

static nnq_status open_idx(const char *spec, const char *rest, const dataset_options *o, dataset_source *out) {
    (void)o;
    return open_file_pair(spec, rest, "the IDX images file", "the IDX labels file after ','", dataset_source_open_idx,
                          out);
}

static nnq_status open_npy(const char *spec, const char *rest, const dataset_options *o, dataset_source *out) {
    (void)o;
    return open_file_pair(spec, rest, "the inputs .npy file", "the labels .npy file after ','", dataset_source_open_npy,
                          out);
}

/* "FILE.npz[:INPUT_KEY[,LABEL_KEY]]": the keys follow the first ':' after the last '/'. */
static nnq_status open_npz(const char *spec, const char *rest, const dataset_options *o, dataset_source *out) {
    (void)o;
    const char *base = strrchr(rest, '/');
    const char *colon = strchr(base ? base : rest, ':');
    char *path = NULL, *input_key = NULL, *label_key = NULL;
    NNQ_TRY(copy_part(rest, colon ? (size_t)(colon - rest) : strlen(rest), &path));
    nnq_status st = require_nonempty(spec, path, "the .npz file");
    if (st == NNQ_OK && colon) st = split_at_comma(colon + 1, &input_key, &label_key);
    if (st == NNQ_OK && colon) st = require_nonempty(spec, input_key, "the input key after ':'");
    if (st == NNQ_OK && label_key) st = require_nonempty(spec, label_key, "the label key after ','");
    if (st == NNQ_OK) st = dataset_source_open_npz(path, input_key, label_key, out);
    free(path);
    free(input_key);
    free(label_key);
    return st;
}

static nnq_status open_pb(const char *spec, const char *rest, const dataset_options *o, dataset_source *out) {
    (void)o;
    return open_file_pair(spec, rest, "the inputs .pb file", "the labels .pb file after ','", dataset_source_open_pb,
                          out);
}

static nnq_status open_images(const char *spec, const char *rest, const dataset_options *o, dataset_source *out) {
    NNQ_TRY(require_nonempty(spec, rest, "the image folder"));
    return dataset_source_open_images(rest, &o->image, out);
}

typedef nnq_status (*scheme_open_fn)(const char *spec, const char *rest, const dataset_options *options,
                                     dataset_source *out);

typedef struct dataset_scheme {
    const char *name;
    scheme_open_fn open;
    bool uses_data_dir;
    bool uses_image_options;
} dataset_scheme;

static const dataset_scheme SCHEMES[] = {
    {"fashion-mnist", open_fashion_mnist, true, false},
    {"mnist", open_mnist, true, false},
    {"idx", open_idx, false, false},
    {"npy", open_npy, false, false},
    {"npz", open_npz, false, false},
    {"pb", open_pb, false, false},
    {"images", open_images, false, true},
};

static const dataset_scheme *find_scheme(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof SCHEMES / sizeof SCHEMES[0]; i++)
        if (strlen(SCHEMES[i].name) == len && strncmp(SCHEMES[i].name, name, len) == 0) return &SCHEMES[i];
    return NULL;
}

/* "word:" at the start of spec with word of lowercase letters, digits and '-'
 * (so "./a:b.npy" and "/x/y" are paths); its length, or 0. */
static size_t scheme_prefix_length(const char *spec) {
    size_t n = strspn(spec, "abcdefghijklmnopqrstuvwxyz0123456789-");
    return n > 0 && spec[n] == ':' ? n : 0;
}

static bool has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* A bare path: its kind from what it is. */
static nnq_status scheme_of_path(const char *spec, const dataset_scheme **scheme) {
    struct stat info;
    if (stat(spec, &info) == 0 && S_ISDIR(info.st_mode)) *scheme = find_scheme("images", 6);
    else if (has_suffix(spec, ".npz")) *scheme = find_scheme("npz", 3);
    else if (has_suffix(spec, ".npy")) *scheme = find_scheme("npy", 3);
    else if (has_suffix(spec, ".pb")) *scheme = find_scheme("pb", 2);
    else if (stat(spec, &info) != 0)
        return nnq_fail(NNQ_ERR_IO, "dataset '%s': no such file or directory (and not a SCHEME:... spec: "
                        "fashion-mnist, mnist, idx, npy, npz, pb, images)", spec);
    else
        return nnq_fail(NNQ_ERR_USAGE, "dataset '%s': cannot tell its kind; write idx:, npy:, npz:, pb: or images: "
                        "before the path", spec);
    return NNQ_OK;
}

static nnq_status check_options_apply(const char *spec, const dataset_scheme *scheme, const dataset_options *o) {
    if (o->data_dir && !scheme->uses_data_dir)
        return nnq_fail(NNQ_ERR_USAGE, "dataset '%s': --data-dir applies only to mnist: and fashion-mnist:", spec);
    if (o->image_given && !scheme->uses_image_options)
        return nnq_fail(NNQ_ERR_USAGE, "dataset '%s': --resize, --channels, --mean, --std, --scale and --layout "
                        "apply only to image folders (images:DIR)", spec);
    if (o->limit < 0) return nnq_fail(NNQ_ERR_USAGE, "dataset '%s': the limit must not be negative", spec);
    return NNQ_OK;
}

static void source_close(dataset_source *source) {
    if (source->close) source->close(source->state);
    free(source->labels);
    memset(source, 0, sizeof *source);
}

nnq_status dataset_open(const char *spec, const dataset_options *options, nnq_dataset **out) {
    *out = NULL;
    dataset_options defaults = dataset_options_defaults();
    if (!options) options = &defaults;
    size_t prefix = scheme_prefix_length(spec);
    const dataset_scheme *scheme = NULL;
    const char *rest = spec;
    if (prefix) {
        scheme = find_scheme(spec, prefix);
        if (!scheme)
            return nnq_fail(NNQ_ERR_USAGE, "dataset '%s': unknown scheme '%.*s' (known: fashion-mnist, mnist, idx, "
                            "npy, npz, images; or give a directory, .npy or .npz path)", spec, (int)prefix, spec);
        rest = spec + prefix + 1;
    } else {
        NNQ_TRY(scheme_of_path(spec, &scheme));
    }
    NNQ_TRY(check_options_apply(spec, scheme, options));
    nnq_dataset *d = calloc(1, sizeof *d);
    if (!d || !(d->spec = strdup(spec))) {
        free(d);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    }
    nnq_status st = scheme->open(spec, rest, options, &d->source);
    if (st == NNQ_OK && d->source.count == 0) st = nnq_fail(NNQ_ERR_INVALID, "dataset '%s' has no samples", spec);
    if (st != NNQ_OK) {
        dataset_close(d);
        return st;
    }
    d->count = options->limit > 0 && options->limit < d->source.count ? options->limit : d->source.count;
    d->input_dtype = options->input_dtype;
    *out = d;
    return NNQ_OK;
}

void dataset_close(nnq_dataset *dataset) {
    if (!dataset) return;
    source_close(&dataset->source);
    free(dataset->spec);
    free(dataset);
}

int64_t dataset_count(const nnq_dataset *dataset) { return dataset->count; }
bool dataset_has_labels(const nnq_dataset *dataset) { return dataset->source.labels != NULL; }
int dataset_sample_rank(const nnq_dataset *dataset) { return dataset->source.sample_rank; }
const int64_t *dataset_sample_dims(const nnq_dataset *dataset) { return dataset->source.sample_dims; }
const char *dataset_spec(const nnq_dataset *dataset) { return dataset->spec; }
void dataset_rewind(nnq_dataset *dataset) { dataset->next = 0; }

static bool dtype_is_integer(nnq_dtype dtype) {
    switch (dtype) {
    case NNQ_UINT8: case NNQ_INT8: case NNQ_UINT16: case NNQ_INT16: case NNQ_INT32: case NNQ_INT64:
    case NNQ_UINT32: case NNQ_UINT64: case NNQ_BOOL:
        return true;
    default:
        return false;
    }
}

/* float64 always becomes float32; integers do unless the model input is integer. */
static nnq_status convert_for_model(nnq_tensor *t, nnq_dtype model_dtype) {
    bool keep_integer = dtype_is_integer(t->dtype) && dtype_is_integer(model_dtype);
    if (t->dtype == NNQ_FLOAT || keep_integer) return NNQ_OK;
    return tensor_convert_to_float(t);
}

nnq_status dataset_next_batch(nnq_dataset *dataset, int64_t max_batch, nnq_tensor *inputs, int64_t *labels,
                              int64_t *count) {
    memset(inputs, 0, sizeof *inputs);
    *count = 0;
    if (max_batch < 1) return nnq_fail(NNQ_ERR_USAGE, "dataset '%s': batch size must be at least 1", dataset->spec);
    int64_t n = dataset->count - dataset->next;
    if (n > max_batch) n = max_batch;
    if (n <= 0) return NNQ_OK;
    nnq_status st = dataset->source.read(dataset->source.state, dataset->next, n, inputs);
    if (st == NNQ_OK) st = convert_for_model(inputs, dataset->input_dtype);
    if (st != NNQ_OK) {
        tensor_free(inputs);
        return nnq_fail_context(st, "reading dataset '%s'", dataset->spec);
    }
    if (labels && dataset->source.labels)
        memcpy(labels, dataset->source.labels + dataset->next, (size_t)n * sizeof *labels);
    dataset->next += n;
    *count = n;
    return NNQ_OK;
}
