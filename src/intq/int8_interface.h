/* The integer interface of an integer-only program: where int8 data enters
 * and leaves it. An integer-only program quantizes its float input once and
 * dequantizes its outputs at the end; a caller holding int8 data (the C
 * export's model_run, the engine's int_engine_run_int8) replaces the input's
 * quantize step by copying its int8 input there, and takes each output's int8
 * tensor at that output's dequantize step. Both go by this one description,
 * so the exported code and the engine agree on what "the int8 input" and
 * "the int8 outputs" are. */
#ifndef NNQ_INTQ_INT8_INTERFACE_H
#define NNQ_INTQ_INT8_INTERFACE_H

#include "intq/int_program.h"

typedef struct intq_int8_interface {
    int input_op;      /* the step quantizing the program input */
    int input;         /* its int8 output tensor: the caller's quantized input */
    int n_outputs;     /* the program's */
    int *output_ops;   /* per output: the step dequantizing it */
    int *outputs;      /* per output: the int8 tensor it is dequantized from */
} intq_int8_interface;

/* Fails, naming the steps, when the program is not integer-only (float
 * steps, several quantize steps, an output that is not dequantized from an
 * int8 tensor). */
nnq_status intq_int8_interface_find(const intq_program *p, intq_int8_interface *out);
void intq_int8_interface_free(intq_int8_interface *io);

#endif
