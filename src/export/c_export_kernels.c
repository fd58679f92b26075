#include "export/c_export_kernels.h"

#include <string.h>

const c_export_source_file *c_export_kernel_source(const char *name) {
    for (int i = 0; i < c_export_kernel_source_count; i++)
        if (strcmp(c_export_kernel_sources[i].name, name) == 0) return &c_export_kernel_sources[i];
    return NULL;
}
