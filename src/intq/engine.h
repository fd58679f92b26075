/* The integer engine: interprets an IntProgram with the portable integer
 * kernels (kernels/intq_kernels.h) - the same source the C export copies.
 * Memory for one sample comes from an arena laid out by the lowering; the
 * samples of a batch run independently (in parallel when the program is
 * integer-only). Input floats are quantized on the plan's input grid; the
 * outputs come back dequantized to float, so evaluate.c can score them. */
#ifndef NNQ_INTQ_ENGINE_H
#define NNQ_INTQ_ENGINE_H

#include "intq/int8_interface.h"
#include "intq/int_program.h"
#include "ir/tensor.h"

typedef struct nnq_int_engine nnq_int_engine;

/* program must outlive the engine. */
nnq_status int_engine_create(const intq_program *program, nnq_int_engine **out);
void int_engine_free(nnq_int_engine *engine);

/* input: float [N, per-sample shape...]; fills outputs[0 .. program->n_outputs)
 * with new float tensors [N, ...] (the caller frees them). */
nnq_status int_engine_run(nnq_int_engine *engine, const nnq_tensor *input, nnq_tensor *outputs);

/* The same with evaluate_accuracy_run's signature (user is the engine; n_inputs must be 1). */
nnq_status int_engine_run_callback(void *engine, const nnq_tensor *inputs, int n_inputs, nnq_tensor *outputs);

/* One sample from int8 input to int8 outputs, exactly as the C export's
 * model_run computes it (int8_interface.h; io found for the engine's
 * program): input holds the quantized input, outputs[o] receives output o's
 * int8 values. Runs on the engine's first worker: one call at a time. */
nnq_status int_engine_run_int8(nnq_int_engine *engine, const intq_int8_interface *io, const int8_t *input,
                               int8_t *const *outputs);

#endif
