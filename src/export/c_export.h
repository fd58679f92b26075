/* C export: an integer-only IntProgram written out as a self-contained C99
 * module (issue 5, item 4; DESIGN.md "one integer lowering, two consumers").
 *
 * The folder holds:
 *   NAME.h, NAME.c     the model: weights, biases and requantization
 *                      parameters as const arrays, and
 *                        int NAME_run(const int8_t *input, int8_t *output, void *scratch)
 *                      which calls the integer kernels in program order on
 *                      pointers into one scratch arena (the static memory
 *                      plan, memory_plan.h: liveness with buffer reuse);
 *   NAME_io.c          host helpers (float): quantize an input, dequantize the outputs;
 *   *_s8.c, intq_kernels.h, intq_requantize.h
 *                      the kernels it calls: the very files the integer
 *                      engine is built from, copied verbatim (embedded in
 *                      nnquant at build time);
 *   main.c, Makefile   an example program; `make` builds it with
 *                      -std=c99 -Wall -Wextra -Werror -O2, `make test` runs it
 *                      on the test samples and fails on any byte that differs
 *                      from the integer engine's output;
 *   test_inputs.bin, test_outputs.bin [, test_labels.bin]
 *                      the quantized test inputs (int8, one sample after the
 *                      other), the engine's int8 outputs for them, and their
 *                      labels (int32, host byte order) when the data has some.
 *
 * Without float rescaling (every mode but `float`) the Makefile defines
 * INTQ_INTEGER_ONLY and the inference path (NAME.c and the kernels it calls)
 * has no floating-point operation. Every file is written atomically. */
#ifndef NNQ_EXPORT_C_EXPORT_H
#define NNQ_EXPORT_C_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "intq/int_program.h"

/* Test samples: the integer engine's int8 outputs for quantized inputs. */
typedef struct c_export_samples {
    int64_t count;
    int32_t input_size, output_size;   /* int8 values per sample (all outputs, one after the other) */
    int8_t *inputs;                    /* [count][input_size] */
    int8_t *outputs;                   /* [count][output_size] */
    int32_t *labels;                   /* [count], or NULL when the data has none */
} c_export_samples;

typedef struct c_export_options {
    const char *dir;             /* the output folder (created if missing; its parent must exist) */
    const char *name;            /* C identifier for files and symbols ("model": model.h, model_run, MODEL_...) */
    const char *provenance;      /* one line for the header comment (model, plan, rescale mode) */
    const c_export_samples *samples; /* may be NULL: no test samples */
} c_export_options;

/* What the module costs, for `nnquant export`'s report. Byte counts of const
 * data use this host's type sizes (pointers in the parameter structs). */
typedef struct c_export_report {
    size_t weight_bytes;         /* int8 weights */
    size_t bias_bytes;           /* int32 biases */
    size_t constant_bytes;       /* int8 constant operands (Add, Concat) */
    size_t table_bytes;          /* int8 lookup tables (Tanh, Sigmoid, ...) */
    size_t parameter_bytes;      /* requantization tables, window geometry, zero points */
    size_t flash_bytes;          /* all of the above */
    size_t flash_bound;          /* weights + biases + constants + tables: the model's parameters themselves */
    size_t ram_bytes;            /* the scratch arena: activations and conv accumulators */
    size_t ram_bound;            /* the largest set of simultaneously live tensors (and accumulators) */
    size_t ram_unshared;         /* the arena without reuse: one region per tensor and accumulator */
    int ram_peak_step;           /* the step where that set is live */
    const char *ram_peak_node;   /* its node (points into the program) */
    bool integer_only;           /* no float rescale: INTQ_INTEGER_ONLY */
    int n_steps, n_kernel_files;
} c_export_report;

/* Checks that the program can be exported: integer-only (else the error
 * names the float nodes), every op kind known to the exporter, int8 tensors. */
nnq_status c_export_check(const intq_program *program);

/* Writes the module into options->dir. */
nnq_status c_export_write(const intq_program *program, const c_export_options *options, c_export_report *report);

/* Takes up to max_samples samples from data (float, shaped as the program
 * input), quantizes them as NAME_quantize_input does and runs the integer
 * engine from int8 to int8 on them. */
nnq_status c_export_samples_make(const intq_program *program, nnq_dataset *data, int64_t max_samples,
                                 c_export_samples *out);
void c_export_samples_free(c_export_samples *samples);

#endif
