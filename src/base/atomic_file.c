#include "base/atomic_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/status.h"

static void release(nnq_atomic_file *file) {
    free(file->final_path);
    free(file->temp_path);
    file->final_path = file->temp_path = NULL;
    file->stream = NULL;
}

nnq_status atomic_file_open(nnq_atomic_file *file, const char *path) {
    memset(file, 0, sizeof *file);
    size_t len = strlen(path);
    file->final_path = strdup(path);
    file->temp_path = malloc(len + sizeof ".tmp-XXXXXX");
    if (!file->final_path || !file->temp_path) {
        release(file);
        return nnq_fail(NNQ_ERR_NOMEM, "out of memory opening '%s'", path);
    }
    memcpy(file->temp_path, path, len);
    memcpy(file->temp_path + len, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
    int fd = mkstemp(file->temp_path);
    if (fd < 0) {
        nnq_status st = nnq_fail(NNQ_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
        release(file);
        return st;
    }
    /* mkstemp creates the file 0600; give it the mode a plain fopen would. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) { /* keep 0600: still a correct file */ }
    file->stream = fdopen(fd, "wb");
    if (!file->stream) {
        nnq_status st = nnq_fail(NNQ_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        close(fd);
        unlink(file->temp_path);
        release(file);
        return st;
    }
    return NNQ_OK;
}

nnq_status atomic_file_commit(nnq_atomic_file *file) {
    nnq_status st = NNQ_OK;
    bool failed = ferror(file->stream) != 0;
    if (fflush(file->stream) != 0 || fsync(fileno(file->stream)) != 0) failed = true;
    int saved_errno = errno;
    if (fclose(file->stream) != 0) failed = true;
    if (failed) {
        st = nnq_fail(NNQ_ERR_IO, "cannot write '%s': %s", file->final_path, strerror(saved_errno));
        unlink(file->temp_path);
    } else if (rename(file->temp_path, file->final_path) != 0) {
        st = nnq_fail(NNQ_ERR_IO, "cannot replace '%s': %s", file->final_path, strerror(errno));
        unlink(file->temp_path);
    }
    release(file);
    return st;
}

void atomic_file_abort(nnq_atomic_file *file) {
    if (file->stream) fclose(file->stream);
    if (file->temp_path) unlink(file->temp_path);
    release(file);
}

nnq_status atomic_file_write_all(const char *path, const void *data, size_t size) {
    nnq_atomic_file file;
    NNQ_TRY(atomic_file_open(&file, path));
    if (size && fwrite(data, 1, size, file.stream) != size) {
        nnq_status st = nnq_fail(NNQ_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        atomic_file_abort(&file);
        return st;
    }
    return atomic_file_commit(&file);
}
