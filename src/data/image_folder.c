#include "data/image_folder.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/status.h"

/* A growable list of owned strings. */
typedef struct string_list {
    char **items;
    size_t count, capacity;
} string_list;

static bool list_push(string_list *list, char *item) {
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 16;
        char **items = realloc(list->items, capacity * sizeof *items);
        if (!items) return false;
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count++] = item;
    return true;
}

static void list_free(string_list *list) {
    for (size_t i = 0; i < list->count; i++) free(list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join_path(const char *dir, const char *name) {
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    if (path) snprintf(path, len, "%s/%s", dir, name);
    return path;
}

static bool has_image_extension(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") ||
                   !strcasecmp(dot, ".jpeg"));
}

/* Whether dir/name (following symlinks) is a directory or an image file. */
static bool wanted(const char *dir, const char *name, bool want_dirs) {
    if (name[0] == '.' || (!want_dirs && !has_image_extension(name))) return false;
    char *path = join_path(dir, name);
    struct stat info;
    bool ok = path && stat(path, &info) == 0 &&
              (want_dirs ? S_ISDIR(info.st_mode) : S_ISREG(info.st_mode));
    free(path);
    return ok;
}

/* The sorted names of dir's class subfolders (want_dirs) or image files. */
static nnq_status list_dir(const char *dir, bool want_dirs, string_list *out) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return nnq_fail(NNQ_ERR_IO, "cannot open folder '%s': %s", dir, strerror(errno));
    nnq_status st = NNQ_OK;
    for (struct dirent *entry; st == NNQ_OK && (entry = readdir(d)) != NULL;) {
        if (!wanted(dir, entry->d_name, want_dirs)) continue;
        char *name = strdup(entry->d_name);
        if (!name || !list_push(out, name)) {
            free(name);
            st = nnq_fail(NNQ_ERR_NOMEM, "out of memory listing '%s'", dir);
        }
    }
    closedir(d);
    if (st != NNQ_OK) list_free(out);
    else if (out->count) qsort(out->items, out->count, sizeof *out->items, compare_strings);
    return st;
}

static nnq_status add_label(image_folder *folder, size_t *capacity, int label) {
    if (folder->count >= *capacity) {
        *capacity = folder->count * 2 + 16;
        int *labels = realloc(folder->labels, *capacity * sizeof *labels);
        if (!labels) return nnq_fail(NNQ_ERR_NOMEM, "out of memory listing images");
        folder->labels = labels;
    }
    folder->labels[folder->count] = label;
    return NNQ_OK;
}

/* Appends class `label`'s images to the folder's paths and labels. */
static nnq_status add_class(image_folder *folder, string_list *paths, size_t *label_capacity,
                            const char *class_dir, int label) {
    string_list files;
    NNQ_TRY(list_dir(class_dir, false, &files));
    nnq_status st = NNQ_OK;
    for (size_t i = 0; i < files.count && st == NNQ_OK; i++) {
        char *path = join_path(class_dir, files.items[i]);
        st = path ? add_label(folder, label_capacity, label)
                  : nnq_fail(NNQ_ERR_NOMEM, "out of memory listing '%s'", class_dir);
        if (st == NNQ_OK && !list_push(paths, path))
            st = nnq_fail(NNQ_ERR_NOMEM, "out of memory listing '%s'", class_dir);
        if (st != NNQ_OK) free(path);
        else folder->count++;
    }
    list_free(&files);
    return st;
}

static nnq_status list_classes(const char *root, image_folder *out, string_list *classes,
                               string_list *paths) {
    NNQ_TRY(list_dir(root, true, classes));
    if (classes->count == 0)
        return nnq_fail(NNQ_ERR_INVALID, "'%s' has no class subfolders (expected "
                        "root/<class>/<image>)", root);
    size_t label_capacity = 0;
    for (size_t c = 0; c < classes->count; c++) {
        char *class_dir = join_path(root, classes->items[c]);
        if (!class_dir) return nnq_fail(NNQ_ERR_NOMEM, "out of memory listing '%s'", root);
        nnq_status st = add_class(out, paths, &label_capacity, class_dir, (int)c);
        free(class_dir);
        NNQ_TRY(st);
    }
    return NNQ_OK;
}

nnq_status image_folder_list(const char *root, image_folder *out) {
    memset(out, 0, sizeof *out);
    string_list classes = {0}, paths = {0};
    nnq_status st = list_classes(root, out, &classes, &paths);
    out->class_names = classes.items;
    out->class_count = classes.count;
    out->paths = paths.items;
    if (st != NNQ_OK) image_folder_free(out);
    return st;
}

void image_folder_free(image_folder *folder) {
    for (size_t i = 0; i < folder->class_count; i++) free(folder->class_names[i]);
    for (size_t i = 0; i < folder->count; i++) free(folder->paths[i]);
    free(folder->class_names);
    free(folder->paths);
    free(folder->labels);
    memset(folder, 0, sizeof *folder);
}
