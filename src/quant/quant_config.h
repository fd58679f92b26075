/* What the user asks of quantization: bit widths, schemes, granularity,
 * range-setting methods and which nodes take part - ONNX Runtime's option
 * names where it has one (op_types_to_quantize, nodes_to_quantize,
 * nodes_to_exclude, activation_type, weight_type, per_channel). */
#ifndef NNQ_QUANT_QUANT_CONFIG_H
#define NNQ_QUANT_QUANT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum activation_type {
    ACTIVATION_TYPE_AUTO,  /* signed, unsigned where the sign map proves a tensor non-negative */
    ACTIVATION_TYPE_UINT8, /* unsigned everywhere (ONNX Runtime's default QUInt8) */
    ACTIVATION_TYPE_INT8,  /* signed everywhere */
} activation_type;

typedef enum join_mode {
    JOIN_REQUANTIZE, /* each input of Add/Concat keeps its own grid (ONNX Runtime) */
    JOIN_SHARED,     /* inputs and output share one grid covering them all (Aidge's max arbitration) */
} join_mode;

typedef enum bias_absorption_mode {
    BIAS_ABSORPTION_NONE,
    BIAS_ABSORPTION_DATA_FREE, /* c = max(0, beta - 3 gamma) from the folded BN (eq. 24's data-free form) */
    BIAS_ABSORPTION_EMPIRICAL, /* c = max(0, min over the calibration data) */
} bias_absorption_mode;

typedef enum bias_correction_mode {
    BIAS_CORRECTION_NONE,
    BIAS_CORRECTION_EMPIRICAL, /* eq. 27 on the calibration data */
    BIAS_CORRECTION_ANALYTIC,  /* expected inputs from BN statistics (data-free) */
} bias_correction_mode;

/* AdaRound's user-facing knobs (adaround.h has their meaning and defaults). */
typedef struct adaround_tuning {
    int64_t samples, iterations, batch_size;
    float regularization, beta_start, beta_end, warmup;
} adaround_tuning;

#define QUANT_MAX_NAMES 256

typedef struct name_list {
    int count;
    const char *names[QUANT_MAX_NAMES];
} name_list;

typedef struct quant_config {
    int weight_bits, activation_bits;   /* 2..16 each */
    bool per_channel;                   /* weights per output channel */
    bool weight_signed;                 /* int8 (symmetric) weights, else uint8 (asymmetric) */
    bool weight_full_range;             /* signed weights on [-2^(b-1), 2^(b-1)-1] instead of the narrow grid */
    bool activation_symmetric;
    activation_type activations;
    bool sign_optimization;             /* unsigned grids for non-negative tensors (--no-unsigned: off) */
    bool power_of_two;                  /* power-of-two scales */
    join_mode joins;
    const char *weight_method;          /* "minmax", "mse", "kl" */
    const char *activation_method;      /* "minmax", "ema", "quantile", "mse", "kl", "meanstd", "bn" */
    const char *logits_method;          /* for the final outputs: "xent" by default, or any activation method */
    bool cross_layer_equalization;      /* white paper §3.2 before quantizing (--cle) */
    bool replace_relu6;                 /* CLE through ReLU6 by making it a Relu (an FP32 change) */
    bias_absorption_mode bias_absorption;
    bias_correction_mode bias_correction;
    bool adaround;                      /* learned weight rounding (§3.4); excludes bias correction */
    adaround_tuning adaround_tuning;    /* its knobs; 0 fields keep adaround_options_defaults */
    name_list op_types;                 /* empty: every op nnquant quantizes */
    name_list nodes_to_quantize;        /* empty: all */
    name_list nodes_to_exclude;
} quant_config;

/* Push-button defaults (white paper §3.5, the issue): weights symmetric int8
 * per channel with MSE ranges; activations 8-bit asymmetric, unsigned where
 * sign optimization allows, MSE ranges, cross-entropy for the logits. */
void quant_config_defaults(quant_config *config);

/* Appends a comma-separated list ("Conv,MatMul") to a name list; the
 * strings are borrowed from text's storage, which must outlive the config. */
bool name_list_add_csv(name_list *list, char *text);
bool name_list_contains(const name_list *list, const char *name);

#endif
