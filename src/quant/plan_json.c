/* Plan <-> JSON. Floats are printed with 9 significant digits, which
 * round-trips every float exactly, so a reloaded plan quantizes bit for bit
 * as the original. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomic_file.h"
#include "base/json_writer.h"
#include "base/read_file.h"
#include "base/status.h"
#include "quant/plan.h"

#define PLAN_FORMAT "nnquant-plan"
#define PLAN_VERSION 1

static const char *const role_names[] = {"activation", "weight", "bias"};

static void write_quantizer(json_writer *w, const nnq_quantizer *q) {
    json_begin_object(w);
    json_key(w, "tensor");
    json_string(w, q->tensor);
    json_key(w, "role");
    json_string(w, role_names[q->role]);
    json_key(w, "bits");
    json_int(w, q->scheme.bits);
    json_key(w, "signed");
    json_bool(w, q->scheme.is_signed);
    json_key(w, "symmetric");
    json_bool(w, q->scheme.symmetric);
    json_key(w, "narrow_range");
    json_bool(w, q->scheme.narrow_range);
    json_key(w, "power_of_two");
    json_bool(w, q->scheme.power_of_two);
    json_key(w, "axis");
    json_int(w, q->axis);
    json_key(w, "scales");
    json_begin_array(w);
    for (int c = 0; c < q->n_channels; c++) json_double(w, q->scales[c]);
    json_end_array(w);
    json_key(w, "zero_points");
    json_begin_array(w);
    for (int c = 0; c < q->n_channels; c++) json_int(w, q->zero_points[c]);
    json_end_array(w);
    json_key(w, "method");
    json_string(w, q->method ? q->method : "");
    json_key(w, "observed");
    json_begin_array(w);
    json_double(w, q->observed_min);
    json_double(w, q->observed_max);
    json_end_array(w);
    json_key(w, "range");
    json_begin_array(w);
    json_double(w, q->range_min);
    json_double(w, q->range_max);
    json_end_array(w);
    json_end_object(w);
}

nnq_status plan_write_json(const nnq_plan *plan, const char *path) {
    nnq_atomic_file file;
    NNQ_TRY(atomic_file_open(&file, path));
    json_writer w;
    json_init(&w, file.stream);
    json_begin_object(&w);
    json_key(&w, "format");
    json_string(&w, PLAN_FORMAT);
    json_key(&w, "version");
    json_int(&w, PLAN_VERSION);
    json_key(&w, "model");
    json_string(&w, plan->model_name ? plan->model_name : "");
    if (plan->prepared_model) {
        json_key(&w, "prepared_model");
        json_string(&w, plan->prepared_model);
    }
    json_key(&w, "quantizers");
    json_begin_array(&w);
    for (int i = 0; i < plan->n_quantizers; i++) {
        fputc('\n', file.stream);
        write_quantizer(&w, &plan->quantizers[i]);
    }
    json_end_array(&w);
    json_end_object(&w);
    json_finish(&w);
    return atomic_file_commit(&file);
}

/* ---- reading ---- */

typedef struct reader {
    const char *path;
    const char *tensor; /* for messages */
} reader;

static nnq_status bad(const reader *r, const char *what) {
    if (r->tensor) return nnq_fail(NNQ_ERR_PARSE, "plan '%s', tensor '%s': %s", r->path, r->tensor, what);
    return nnq_fail(NNQ_ERR_PARSE, "plan '%s': %s", r->path, what);
}

static nnq_status read_number(const reader *r, const cJSON *obj, const char *key, double *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(item)) {
        char msg[96];
        snprintf(msg, sizeof msg, "'%s' must be a number", key);
        return bad(r, msg);
    }
    *out = item->valuedouble;
    return NNQ_OK;
}

static nnq_status read_bool(const reader *r, const cJSON *obj, const char *key, bool *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsBool(item)) {
        char msg[96];
        snprintf(msg, sizeof msg, "'%s' must be true or false", key);
        return bad(r, msg);
    }
    *out = cJSON_IsTrue(item);
    return NNQ_OK;
}

/* Reads a [a, b] pair of numbers (null, as written for non-finite values, reads as NaN). */
static nnq_status read_pair(const reader *r, const cJSON *obj, const char *key, float *a, float *b) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != 2) return bad(r, "a range must be a pair [min, max]");
    const cJSON *x = cJSON_GetArrayItem(item, 0), *y = cJSON_GetArrayItem(item, 1);
    *a = cJSON_IsNumber(x) ? (float)x->valuedouble : NAN;
    *b = cJSON_IsNumber(y) ? (float)y->valuedouble : NAN;
    return NNQ_OK;
}

static nnq_status read_quantizer(reader *r, const cJSON *obj, nnq_plan *plan) {
    const cJSON *tensor = cJSON_GetObjectItemCaseSensitive(obj, "tensor");
    if (!cJSON_IsString(tensor) || !*tensor->valuestring) return bad(r, "a quantizer has no tensor name");
    r->tensor = tensor->valuestring;
    const cJSON *role_item = cJSON_GetObjectItemCaseSensitive(obj, "role");
    int role = -1;
    for (int i = 0; i < 3 && cJSON_IsString(role_item); i++)
        if (strcmp(role_item->valuestring, role_names[i]) == 0) role = i;
    if (role < 0) return bad(r, "'role' must be activation, weight or bias");
    nnq_qscheme scheme;
    double bits = 0, axis = 0;
    NNQ_TRY(read_number(r, obj, "bits", &bits));
    NNQ_TRY(read_bool(r, obj, "signed", &scheme.is_signed));
    NNQ_TRY(read_bool(r, obj, "symmetric", &scheme.symmetric));
    NNQ_TRY(read_bool(r, obj, "narrow_range", &scheme.narrow_range));
    NNQ_TRY(read_bool(r, obj, "power_of_two", &scheme.power_of_two));
    NNQ_TRY(read_number(r, obj, "axis", &axis));
    scheme.bits = (int)bits;
    if (bits != scheme.bits || axis != (int)axis || axis < -1 || axis > 7) return bad(r, "'bits' and 'axis' must be small integers");
    const cJSON *scales = cJSON_GetObjectItemCaseSensitive(obj, "scales");
    const cJSON *zero_points = cJSON_GetObjectItemCaseSensitive(obj, "zero_points");
    if (!cJSON_IsArray(scales) || !cJSON_IsArray(zero_points) || cJSON_GetArraySize(scales) < 1 ||
        cJSON_GetArraySize(scales) != cJSON_GetArraySize(zero_points))
        return bad(r, "'scales' and 'zero_points' must be arrays of the same non-zero length");
    int n = cJSON_GetArraySize(scales);
    if (axis < 0 && n != 1) return bad(r, "a per-tensor quantizer has exactly one scale");
    nnq_quantizer *q;
    nnq_status st = plan_add(plan, r->tensor, (nnq_quant_role)role, &scheme, (int)axis, n, &q);
    if (st != NNQ_OK) return nnq_fail_context(st, "plan '%s'", r->path);
    int32_t q_min, q_max;
    qscheme_grid(&scheme, &q_min, &q_max);
    for (int c = 0; c < n; c++) {
        const cJSON *s = cJSON_GetArrayItem(scales, c), *z = cJSON_GetArrayItem(zero_points, c);
        if (!cJSON_IsNumber(s) || !(s->valuedouble > 0) || !isfinite(s->valuedouble))
            return bad(r, "every scale must be a positive finite number");
        if (!cJSON_IsNumber(z) || z->valuedouble != (int32_t)z->valuedouble)
            return bad(r, "every zero point must be an integer");
        q->scales[c] = (float)s->valuedouble;
        q->zero_points[c] = (int32_t)z->valuedouble;
        if (role != NNQ_ROLE_BIAS && (q->zero_points[c] < q_min || q->zero_points[c] > q_max))
            return bad(r, "a zero point lies outside the integer grid");
    }
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(obj, "method");
    q->method = strdup(cJSON_IsString(method) ? method->valuestring : "");
    if (!q->method) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    NNQ_TRY(read_pair(r, obj, "observed", &q->observed_min, &q->observed_max));
    NNQ_TRY(read_pair(r, obj, "range", &q->range_min, &q->range_max));
    r->tensor = NULL;
    return NNQ_OK;
}

static nnq_status read_plan(reader *r, const cJSON *root, nnq_plan *plan) {
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(format) || strcmp(format->valuestring, PLAN_FORMAT) != 0)
        return bad(r, "not an nnquant plan (\"format\" is not \"" PLAN_FORMAT "\")");
    double version = 0;
    NNQ_TRY(read_number(r, root, "version", &version));
    if (version != PLAN_VERSION) return bad(r, "unsupported plan version");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (cJSON_IsString(model) && !(plan->model_name = strdup(model->valuestring)))
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    const cJSON *prepared = cJSON_GetObjectItemCaseSensitive(root, "prepared_model");
    if (prepared) {
        /* A file name in the plan's own folder, never a path elsewhere. */
        if (!cJSON_IsString(prepared) || !*prepared->valuestring || strchr(prepared->valuestring, '/') ||
            !strcmp(prepared->valuestring, "..") || !strcmp(prepared->valuestring, "."))
            return bad(r, "'prepared_model' must be a file name next to the plan");
        if (!(plan->prepared_model = strdup(prepared->valuestring))) return nnq_fail(NNQ_ERR_NOMEM, "out of memory");
    }
    const cJSON *quantizers = cJSON_GetObjectItemCaseSensitive(root, "quantizers");
    if (!cJSON_IsArray(quantizers)) return bad(r, "'quantizers' must be an array");
    const cJSON *item;
    cJSON_ArrayForEach(item, quantizers) {
        if (!cJSON_IsObject(item)) return bad(r, "each quantizer must be an object");
        NNQ_TRY(read_quantizer(r, item, plan));
    }
    return NNQ_OK;
}

nnq_status plan_read_json(const char *path, nnq_plan *plan) {
    plan_init(plan);
    void *bytes;
    size_t size;
    NNQ_TRY(file_read_all(path, &bytes, &size));
    cJSON *root = cJSON_ParseWithLength(bytes, size);
    free(bytes);
    reader r = {path, NULL};
    nnq_status st = root ? read_plan(&r, root, plan) : bad(&r, "not valid JSON");
    cJSON_Delete(root);
    if (st != NNQ_OK) plan_free(plan);
    return st;
}
