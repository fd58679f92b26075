#include "base/read_file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/status.h"

nnq_status file_read_all(const char *path, void **bytes, size_t *size) {
    *bytes = NULL;
    *size = 0;
    struct stat info;
    if (stat(path, &info) != 0) return nnq_fail(NNQ_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    if (S_ISDIR(info.st_mode)) return nnq_fail(NNQ_ERR_IO, "'%s' is a directory, not a file", path);
    return file_read_range(path, 0, (long long)info.st_size, bytes) == NNQ_OK
               ? (*size = (size_t)info.st_size, NNQ_OK)
               : NNQ_ERR_IO;
}

nnq_status file_read_range(const char *path, long long offset, long long length, void **bytes) {
    *bytes = NULL;
    if (offset < 0 || length < 0)
        return nnq_fail(NNQ_ERR_INVALID, "'%s': negative offset or length", path);
    FILE *f = fopen(path, "rb");
    if (!f) return nnq_fail(NNQ_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    /* Check the size first, so a corrupt length cannot ask for more memory than the file holds. */
    struct stat info;
    if (fstat(fileno(f), &info) == 0 && S_ISREG(info.st_mode) && offset + length > (long long)info.st_size) {
        fclose(f);
        return nnq_fail(NNQ_ERR_IO, "'%s': expected %lld bytes at offset %lld, file has %lld", path, length,
                        offset, (long long)info.st_size);
    }
    char *buffer = malloc((size_t)length + 1);
    if (!buffer) {
        fclose(f);
        return nnq_fail(NNQ_ERR_NOMEM, "'%s': cannot allocate %lld bytes", path, length);
    }
    size_t got = 0;
    if (fseeko(f, (off_t)offset, SEEK_SET) == 0) got = fread(buffer, 1, (size_t)length, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed || got != (size_t)length) {
        free(buffer);
        return nnq_fail(NNQ_ERR_IO, "'%s': expected %lld bytes at offset %lld, file is shorter", path,
                        length, offset);
    }
    *bytes = buffer;
    return NNQ_OK;
}
