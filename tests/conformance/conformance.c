/* Runs ONNX's backend test cases (Debian's libonnx-testdata) through
 * nnquant's loader and executor and compares with ONNX's expected outputs,
 * using ONNX's own tolerance (rtol 1e-3, atol 1e-7; integers exact).
 *
 * A case is selected when every operator of its model is in nnquant's
 * registry. Selected cases that fail must be listed, with a reason, in
 * known_failures.txt, and that list must stay under 3% of the selected
 * cases; any other failure fails the run.
 *
 * --upgrade OPSET first upgrades every selected model importing an older
 * default-domain opset (pass_upgrade_opset), runs it, then saves, reloads and
 * runs it again; a model that cannot be upgraded fails like any other case
 * unless listed in the file given by --upgrade-known-failures. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/status.h"
#include "onnx/onnx_io.h"
#include "ir/passes/passes.h"
#include "ops/op.h"
#include "run/executor.h"

#define RTOL 1e-3
#define ATOL 1e-7
#define MAX_KNOWN_FAILURE_FRACTION 0.03

typedef struct options {
    const char *data_root;
    const char *suites;
    const char *filter;
    const char *known_failures_path;
    bool verbose;
    bool passes; /* infer shapes, fold constants and remove dead nodes before running */
    int upgrade_opset; /* --upgrade: models below this opset are upgraded first (0: off) */
    const char *upgrade_known_failures_path;
    const char *keep_upgraded_dir; /* --keep-upgraded: upgraded models stay there, for outside checkers */
} options;

/* --upgrade: models upgraded, and those the upgrade refused (NNQ_ERR_UNSUPPORTED). */
static int models_upgraded, models_not_upgradable;

/* Shape inference checked against the real outputs (--passes). */
static int outputs_inferred, outputs_total;

typedef struct known_list {
    char **names;
    int count;
} known_list;

typedef struct counts {
    int passed, failed, known_failed, unexpected_passes, skipped_op, skipped_load, selected;
} counts;

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists directory entries starting with prefix, sorted. */
static int list_dir(const char *dir, const char *prefix, char ***out) {
    DIR *d = opendir(dir);
    *out = NULL;
    if (!d) return 0;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = realloc(*out, sizeof(char *) * (size_t)cap);
        }
        (*out)[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(*out, (size_t)n, sizeof(char *), compare_names);
    return n;
}

static void free_list(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* known_failures.txt: "suite/case  reason" per line, '#' comments. */
static known_list load_known_failures(const char *path) {
    known_list list = {0};
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return list;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char name[512];
        if (line[0] == '#' || sscanf(line, "%511s", name) != 1) continue;
        list.names = realloc(list.names, sizeof(char *) * (size_t)(list.count + 1));
        list.names[list.count++] = strdup(name);
    }
    fclose(f);
    return list;
}

static bool is_known(const known_list *list, const char *name) {
    for (int i = 0; i < list->count; i++)
        if (strcmp(list->names[i], name) == 0) return true;
    return false;
}

static bool all_ops_supported(const nnq_model *model, char *missing, size_t size) {
    return executor_list_unsupported(model, missing, size) == 0;
}

static bool is_integer(nnq_dtype t) { return t != NNQ_FLOAT && t != NNQ_DOUBLE && t != NNQ_FLOAT16; }

static bool compare_tensors(const nnq_tensor *got, const nnq_tensor *want, char *why, size_t size) {
    char a[128], b[128];
    bool float_pair = !is_integer(got->dtype) && !is_integer(want->dtype);
    if (got->dtype != want->dtype && !float_pair) {
        snprintf(why, size, "element type %s, expected %s", dtype_name(got->dtype), dtype_name(want->dtype));
        return false;
    }
    if (got->rank != want->rank || memcmp(got->dims, want->dims, sizeof(int64_t) * (size_t)got->rank) != 0) {
        snprintf(why, size, "shape %s, expected %s", dims_format(got->dims, got->rank, a, sizeof a),
                 dims_format(want->dims, want->rank, b, sizeof b));
        return false;
    }
    int64_t n = tensor_numel(want);
    for (int64_t i = 0; i < n; i++) {
        if (is_integer(want->dtype)) {
            if (tensor_get_int64(got, i) != tensor_get_int64(want, i)) {
                snprintf(why, size, "element %lld is %lld, expected %lld", (long long)i,
                         (long long)tensor_get_int64(got, i), (long long)tensor_get_int64(want, i));
                return false;
            }
            continue;
        }
        double g = tensor_get_double(got, i), w = tensor_get_double(want, i);
        if (isnan(w) && isnan(g)) continue;
        if (isinf(w) && g == w) continue;
        if (!(fabs(g - w) <= ATOL + RTOL * fabs(w))) {
            snprintf(why, size, "element %lld is %.9g, expected %.9g", (long long)i, g, w);
            return false;
        }
    }
    return true;
}

/* A fully inferred static shape must be the real one; a partly known one must agree where known. */
static bool inferred_shape_matches(const nnq_value_info *inferred, const nnq_tensor *want, char *why, size_t size) {
    char a[128], b[128];
    if (inferred->rank < 0) return true;
    outputs_total++;
    bool match = inferred->rank == want->rank;
    bool complete = true;
    for (int i = 0; match && i < want->rank; i++) {
        if (inferred->dims[i] < 0) complete = false;
        else match = inferred->dims[i] == want->dims[i];
    }
    if (!match) {
        snprintf(why, size, "shape inference gave %s, the output is %s",
                 dims_format(inferred->dims, inferred->rank, a, sizeof a), dims_format(want->dims, want->rank, b, sizeof b));
        return false;
    }
    outputs_inferred += complete;
    return true;
}

/* Runs one test_data_set folder; returns true on match, else fills why. */
static bool run_data_set(nnq_executor *ex, const nnq_model *model, const nnq_value_info *inferred, const char *set_dir,
                         char *why, size_t size) {
    const nnq_graph *g = &model->graph;
    int n_runtime = 0;
    for (int i = 0; i < g->n_inputs; i++) n_runtime += graph_is_runtime_input(g, g->inputs[i].name);
    nnq_tensor *inputs = calloc((size_t)n_runtime + 1, sizeof *inputs);
    nnq_tensor *outputs = calloc((size_t)g->n_outputs + 1, sizeof *outputs);
    bool ok = true;
    int given = 0;
    char path[4096];
    /* input_k.pb feeds the k-th graph input that is not an initializer. */
    for (int i = 0, k = 0; ok && i < g->n_inputs; i++) {
        if (!graph_is_runtime_input(g, g->inputs[i].name)) continue;
        snprintf(path, sizeof path, "%s/input_%d.pb", set_dir, k++);
        struct stat st;
        if (stat(path, &st) != 0) continue; /* optional input left out */
        if (onnx_load_tensor(path, &inputs[given]) != NNQ_OK) {
            snprintf(why, size, "%s", nnq_last_error());
            ok = false;
            break;
        }
        free(inputs[given].name);
        inputs[given].name = strdup(g->inputs[i].name);
        given++;
    }
    if (ok && executor_run(ex, inputs, given, outputs) != NNQ_OK) {
        snprintf(why, size, "%s", nnq_last_error());
        ok = false;
    }
    for (int o = 0; ok && o < g->n_outputs; o++) {
        nnq_tensor want;
        snprintf(path, sizeof path, "%s/output_%d.pb", set_dir, o);
        if (onnx_load_tensor(path, &want) != NNQ_OK) {
            snprintf(why, size, "%s", nnq_last_error());
            ok = false;
            break;
        }
        char detail[512];
        if (inferred && !inferred_shape_matches(&inferred[o], &want, detail, sizeof detail)) {
            snprintf(why, size, "output '%s': %s", g->outputs[o].name, detail);
            ok = false;
        } else if (!compare_tensors(&outputs[o], &want, detail, sizeof detail)) {
            snprintf(why, size, "output '%s': %s", g->outputs[o].name, detail);
            ok = false;
        }
        tensor_free(&want);
    }
    if (ok) /* outputs are only filled on success */
        for (int o = 0; o < g->n_outputs; o++) tensor_free(&outputs[o]);
    for (int i = 0; i < given; i++) tensor_free(&inputs[i]);
    free(inputs);
    free(outputs);
    return ok;
}

typedef enum { CASE_PASSED, CASE_FAILED, CASE_SKIPPED_OP, CASE_SKIPPED_LOAD } case_result;

/* Graph inputs/outputs of types nnquant does not carry (string, bfloat16,
 * complex): the case is about those types, not about an operator. */
static bool carried_type(nnq_dtype t) { return t == NNQ_UNDEFINED || t == NNQ_FLOAT16 || dtype_is_supported(t); }

static const char *exotic_type_name(nnq_dtype t) { return (int)t == 16 ? "bfloat16" : dtype_name(t); }

static const nnq_value_info *first_unsupported_io_type(const nnq_graph *g) {
    for (int i = 0; i < g->n_inputs; i++)
        if (!carried_type(g->inputs[i].dtype)) return &g->inputs[i];
    for (int i = 0; i < g->n_outputs; i++)
        if (!carried_type(g->outputs[i].dtype)) return &g->outputs[i];
    return NULL;
}

/* Forgets the declared output types so shape inference must produce them,
 * infers, keeps what it found, then simplifies the graph. */
static nnq_status apply_passes(nnq_model *model, nnq_value_info **inferred) {
    nnq_graph *g = &model->graph;
    for (int o = 0; o < g->n_outputs; o++) {
        g->outputs[o].rank = NNQ_UNKNOWN_RANK;
        g->outputs[o].dtype = NNQ_UNDEFINED;
    }
    NNQ_TRY(pass_infer_shapes(model));
    *inferred = calloc((size_t)g->n_outputs + 1, sizeof **inferred);
    for (int o = 0; o < g->n_outputs; o++) {
        (*inferred)[o].rank = g->outputs[o].rank;
        memcpy((*inferred)[o].dims, g->outputs[o].dims, sizeof g->outputs[o].dims);
    }
    return model_simplify(model);
}

/* Runs every test_data_set of the case on model; CASE_PASSED or CASE_FAILED with why. */
static case_result run_data_sets(const nnq_model *model, const nnq_value_info *inferred, const char *case_dir,
                                 char *why, size_t size) {
    nnq_executor *ex = NULL;
    if (executor_create(model, &ex) != NNQ_OK) {
        snprintf(why, size, "%s", nnq_last_error());
        return CASE_FAILED;
    }
    char path[4096], **sets = NULL;
    int n_sets = list_dir(case_dir, "test_data_set_", &sets);
    case_result result = CASE_PASSED;
    for (int s = 0; s < n_sets && result == CASE_PASSED; s++) {
        snprintf(path, sizeof path, "%s/%s", case_dir, sets[s]);
        if (!run_data_set(ex, model, inferred, path, why, size)) result = CASE_FAILED;
    }
    free_list(sets, n_sets);
    executor_free(ex);
    return result;
}

/* --upgrade: upgrades the model if it imports an older opset, then saves,
 * reloads and runs the saved copy (the new inputs and attributes must survive
 * serialization); run_case goes on to run the upgraded model itself. */
static case_result check_upgrade(const options *opt, nnq_model *model, const char *case_id, const char *case_dir,
                                 char *why, size_t size) {
    if (model_opset(model, "") >= opt->upgrade_opset) return CASE_PASSED;
    int converted;
    nnq_status st = pass_upgrade_opset(model, opt->upgrade_opset, &converted);
    if (st != NNQ_OK) {
        models_not_upgradable += st == NNQ_ERR_UNSUPPORTED;
        snprintf(why, size, "%s: %s", st == NNQ_ERR_UNSUPPORTED ? "not upgradable" : "upgrade failed", nnq_last_error());
        return CASE_FAILED;
    }
    models_upgraded++;
    char path[4096];
    if (opt->keep_upgraded_dir) {
        snprintf(path, sizeof path, "%s/%s.onnx", opt->keep_upgraded_dir, case_id);
        for (char *c = path + strlen(opt->keep_upgraded_dir) + 1; *c; c++)
            if (*c == '/') *c = '_';
    } else {
        snprintf(path, sizeof path, "%s/nnq_conformance_upgrade_%ld.onnx", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
                 (long)getpid());
    }
    nnq_model reloaded;
    if (onnx_save_model(model, path, NULL) != NNQ_OK || onnx_load_model(path, &reloaded) != NNQ_OK) {
        snprintf(why, size, "saving and reloading the upgraded model: %s", nnq_last_error());
        if (!opt->keep_upgraded_dir) remove(path);
        return CASE_FAILED;
    }
    if (!opt->keep_upgraded_dir) remove(path);
    case_result result = run_data_sets(&reloaded, NULL, case_dir, why, size);
    if (result != CASE_PASSED) {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", why);
        snprintf(why, size, "after save and reload: %s", detail);
    }
    model_free(&reloaded);
    return result;
}

static case_result run_case(const options *opt, const char *case_id, const char *case_dir, char *why, size_t size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", case_dir);
    nnq_model model;
    nnq_status st = onnx_load_model(path, &model);
    if (st == NNQ_ERR_UNSUPPORTED) {
        snprintf(why, size, "%s", nnq_last_error());
        return CASE_SKIPPED_LOAD;
    }
    if (st != NNQ_OK) {
        snprintf(why, size, "%s", nnq_last_error());
        return CASE_FAILED;
    }
    const nnq_value_info *exotic = first_unsupported_io_type(&model.graph);
    if (exotic) {
        snprintf(why, size, "'%s' has element type %s", exotic->name, exotic_type_name(exotic->dtype));
        model_free(&model);
        return CASE_SKIPPED_LOAD;
    }
    char missing[512];
    if (!all_ops_supported(&model, missing, sizeof missing)) {
        snprintf(why, size, "unsupported: %s", missing);
        model_free(&model);
        return CASE_SKIPPED_OP;
    }
    nnq_executor *ex = NULL;
    nnq_value_info *inferred = NULL;
    case_result result = opt->upgrade_opset ? check_upgrade(opt, &model, case_id, case_dir, why, size) : CASE_PASSED;
    if (result != CASE_PASSED) {
        /* why says what failed */
    } else if (opt->passes && apply_passes(&model, &inferred) != NNQ_OK) {
        snprintf(why, size, "graph passes: %s", nnq_last_error());
        result = CASE_FAILED;
    } else if (executor_create(&model, &ex) != NNQ_OK) {
        snprintf(why, size, "%s", nnq_last_error());
        result = CASE_FAILED;
    }
    char **sets = NULL;
    int n_sets = result == CASE_PASSED ? list_dir(case_dir, "test_data_set_", &sets) : 0;
    for (int s = 0; s < n_sets && result == CASE_PASSED; s++) {
        snprintf(path, sizeof path, "%s/%s", case_dir, sets[s]);
        if (!run_data_set(ex, &model, inferred, path, why, size)) result = CASE_FAILED;
    }
    free(inferred);
    free_list(sets, n_sets);
    executor_free(ex);
    model_free(&model);
    return result;
}

static void run_suite(const options *opt, const char *suite, const known_list *known, counts *c) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", opt->data_root, suite);
    char **cases = NULL;
    int n = list_dir(dir, "test_", &cases);
    for (int i = 0; i < n; i++) {
        char id[1024], case_dir[4096], why[1024] = "";
        snprintf(id, sizeof id, "%s/%s", suite, cases[i]);
        if (opt->filter && !strstr(id, opt->filter)) continue;
        snprintf(case_dir, sizeof case_dir, "%s/%s", dir, cases[i]);
        case_result r = run_case(opt, id, case_dir, why, sizeof why);
        bool listed = is_known(known, id);
        if (r == CASE_SKIPPED_OP || r == CASE_SKIPPED_LOAD) {
            r == CASE_SKIPPED_OP ? c->skipped_op++ : c->skipped_load++;
            if (opt->verbose) printf("SKIP %s: %s\n", id, why);
            continue;
        }
        c->selected++;
        if (r == CASE_PASSED) {
            c->passed++;
            if (listed) {
                c->unexpected_passes++;
                printf("UNEXPECTED PASS %s (remove it from the known failures)\n", id);
            } else if (opt->verbose) {
                printf("PASS %s\n", id);
            }
        } else if (listed) {
            c->known_failed++;
            if (opt->verbose) printf("KNOWN FAIL %s: %s\n", id, why);
        } else {
            c->failed++;
            printf("FAIL %s: %s\n", id, why);
        }
    }
    free_list(cases, n);
}

int main(int argc, char **argv) {
    options opt = {"/usr/share/libonnx-testdata/data", "node,pytorch-converted,pytorch-operator", NULL, NULL, false, false, 0, NULL, NULL};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) opt.verbose = true;
        else if (strcmp(argv[i], "--passes") == 0) opt.passes = true;
        else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) opt.filter = argv[++i];
        else if (strcmp(argv[i], "--data-root") == 0 && i + 1 < argc) opt.data_root = argv[++i];
        else if (strcmp(argv[i], "--suites") == 0 && i + 1 < argc) opt.suites = argv[++i];
        else if (strcmp(argv[i], "--known-failures") == 0 && i + 1 < argc) opt.known_failures_path = argv[++i];
        else if (strcmp(argv[i], "--upgrade") == 0 && i + 1 < argc) opt.upgrade_opset = atoi(argv[++i]);
        else if (strcmp(argv[i], "--upgrade-known-failures") == 0 && i + 1 < argc)
            opt.upgrade_known_failures_path = argv[++i];
        else if (strcmp(argv[i], "--keep-upgraded") == 0 && i + 1 < argc) opt.keep_upgraded_dir = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [-v] [--passes] [--upgrade OPSET [--upgrade-known-failures FILE] [--keep-upgraded DIR]]\n"
                    "       [--filter SUBSTRING] [--data-root DIR] [--suites a,b] [--known-failures FILE]\n",
                    argv[0]);
            return 2;
        }
    }
    struct stat st;
    if (stat(opt.data_root, &st) != 0) {
        fprintf(stderr, "conformance: ONNX test data not found at %s (install libonnx-testdata)\n", opt.data_root);
        return 1;
    }
    known_list known = load_known_failures(opt.known_failures_path);
    if (opt.upgrade_opset) {
        known_list upgrade_known = load_known_failures(opt.upgrade_known_failures_path);
        known.names = realloc(known.names, sizeof(char *) * (size_t)(known.count + upgrade_known.count + 1));
        for (int i = 0; i < upgrade_known.count; i++) known.names[known.count++] = upgrade_known.names[i];
        free(upgrade_known.names);
    }
    counts c = {0};
    char suites[256];
    snprintf(suites, sizeof suites, "%s", opt.suites);
    for (char *suite = strtok(suites, ","); suite; suite = strtok(NULL, ",")) run_suite(&opt, suite, &known, &c);
    double fraction = c.selected ? (double)c.known_failed / c.selected : 0.0;
    printf("conformance: %d selected (all ops supported), %d skipped for unsupported ops, %d for unsupported types\n",
           c.selected, c.skipped_op, c.skipped_load);
    printf("conformance: %d known failures (%.2f%% of selected, limit %.0f%%)\n", c.known_failed, 100.0 * fraction,
           100.0 * MAX_KNOWN_FAILURE_FRACTION);
    if (opt.passes)
        printf("conformance: shape inference fully determined %d of %d output shapes it was checked on\n",
               outputs_inferred, outputs_total);
    if (opt.upgrade_opset)
        printf("conformance: %d models upgraded to opset %d, %d not upgradable (NNQ_ERR_UNSUPPORTED)\n",
               models_upgraded, opt.upgrade_opset, models_not_upgradable);
    bool ok = c.failed == 0 && fraction <= MAX_KNOWN_FAILURE_FRACTION;
    printf("conformance: %d passed, %d failed, %d skipped\n", c.passed, c.failed + c.known_failed,
           c.skipped_op + c.skipped_load);
    for (int i = 0; i < known.count; i++) free(known.names[i]);
    free(known.names);
    return ok ? 0 : 1;
}
