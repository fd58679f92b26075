/* The integer kernels' source files as the C export writes them: embedded in
 * the library at build time (CMakeLists.txt generates the table from
 * src/intq/kernels/), byte for byte the files the integer engine is compiled
 * from - so the exported code and the engine cannot drift apart. */
#ifndef NNQ_EXPORT_C_EXPORT_KERNELS_H
#define NNQ_EXPORT_C_EXPORT_KERNELS_H

#include <stddef.h>

typedef struct c_export_source_file {
    const char *name;            /* file name in src/intq/kernels/ ("conv_s8.c") */
    const unsigned char *text;   /* its bytes */
    size_t size;
} c_export_source_file;

extern const c_export_source_file c_export_kernel_sources[];
extern const int c_export_kernel_source_count;

/* The embedded file of that name, or NULL. */
const c_export_source_file *c_export_kernel_source(const char *name);

#endif
