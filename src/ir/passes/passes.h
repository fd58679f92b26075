/* Graph passes: each rewrites the model in place, keeps its outputs equal,
 * and lives in its own file. */
#ifndef NNQ_IR_PASSES_H
#define NNQ_IR_PASSES_H

#include "ir/graph.h"

/* Reorders nodes so each comes after the producers of its inputs. */
nnq_status pass_sort_topologically(nnq_model *model);

/* Evaluates nodes whose inputs are all constant (initializers, Constant
 * nodes, Shape of a statically known shape) and replaces their outputs by
 * initializers - e.g. the Shape -> Gather -> Unsqueeze -> Concat -> Reshape
 * chains PyTorch exports for fixed shapes. Quantize/Dequantize nodes are
 * kept: they carry a quantized model's structure. *folded counts removed nodes. */
nnq_status pass_fold_constants(nnq_model *model, int *folded);

/* Removes nodes none of whose outputs reach a graph output, then
 * initializers no node reads. *removed counts removed nodes. */
nnq_status pass_remove_dead_nodes(nnq_model *model, int *removed);

/* Infers dtype and shape of every tensor (symbolic dims stay unknown) and
 * records them in graph.value_infos (graph inputs/outputs keep their own).
 * Small constant-valued tensors are evaluated along the way so that shapes
 * computed in the graph (Reshape targets) resolve. */
nnq_status pass_infer_shapes(nnq_model *model);

/* Removes Identity nodes and inference Dropouts (mask unread, training_mode
 * absent or constant false); their readers read the input instead. A graph
 * output name survives: the input's producer is renamed to it, and when the
 * input is a graph input, initializer or another graph output the node
 * stays. Graphs with subgraphs are left alone. *removed counts removed nodes. */
nnq_status pass_remove_identities(nnq_model *model, int *removed);

/* Folds inference BatchNormalization into the Conv, ConvTranspose, Gemm or
 * 2-D MatMul producing its input (white paper eq. 10-12), when that input has
 * no other reader and the weights, bias and BN parameters are initializers
 * (run constant folding first for Constant-node weights; run shape inference
 * first so a MatMul's output rank is known). Shared weights are copied, not
 * changed; a missing bias is created; a folded MatMul becomes Gemm. The layer
 * takes over the BN's output name. Other BNs stay. *folded counts folded BNs. */
nnq_status pass_fold_batchnorm(nnq_model *model, int *folded);

/* Rewrites a model of default-domain opset 1..target_opset to target_opset
 * (13..17): every node whose operator's definition changed in between is
 * converted to the new form computing the same outputs (attributes that
 * became inputs, Upsample to Resize, Softmax's coerced 2-D axis, legacy
 * broadcasting, ...); the opset import and, if older, the IR version are
 * raised. Nodes that cannot be converted fail with NNQ_ERR_UNSUPPORTED naming
 * the node and the reason, and the model may then be partly rewritten (work
 * on a copy). *converted counts nodes of operators whose definition changed. */
nnq_status pass_upgrade_opset(nnq_model *model, int target_opset, int *converted);

/* The standard clean-up before running: sort, fold constants, remove dead nodes. */
nnq_status model_simplify(nnq_model *model);

/* What model_prepare_for_quantization changed. */
/* Models below IR 4 list their initializers as graph inputs as well; this
 * drops those entries so the weights are constants (and sets IR 4). */
nnq_status pass_unlist_weight_inputs(nnq_model *model, int *removed);

typedef struct prep_report {
    int constants_folded;    /* nodes replaced by initializers */
    int identities_removed;  /* Identity and inference Dropout nodes */
    int batchnorms_folded;   /* BatchNormalization nodes folded into their layer */
    int dead_nodes_removed;  /* nodes whose outputs reached no graph output */
} prep_report;

/* The FP32 graph preparation before calibration: unlist weight inputs (IR < 4), sort, infer shapes, fold
 * constants, remove identities, fold batch norms, remove dead nodes. Outputs
 * stay equal up to float rounding. report may be NULL. */
nnq_status model_prepare_for_quantization(nnq_model *model, prep_report *report);

/* ---- Cross-layer equalization (white paper §3.2, eq. 20-22) ---- */

/* Per-channel rescaling of consecutive layers W1 -> f -> W2 (pairs as
 * src/ir/passes/layer_pairs.h finds them: joined only through Relu, PRelu,
 * LeakyRelu, MaxPool, Flatten; never across an Add/Concat join or a tensor
 * with a second reader, so inside residual blocks only). For each channel i,
 * s_i = sqrt(r1_i r2_i) / r2_i (eq. 22) with r1_i the range max|W1[i,...]| of
 * W1's output channel i and r2_i that of W2's input channel i; then
 * W1[i] /= s_i, b1[i] /= s_i, W2[:, i] *= s_i (eq. 21), sweeping over all
 * pairs until no s_i moves more than the tolerance from 1 (a layer in a
 * chain is W2 of one pair and W1 of the next). FP32 outputs stay equal up to
 * float rounding, except where a bounded Clip was replaced by Relu. */
#define CLE_DEFAULT_MAX_ITERATIONS 100
#define CLE_DEFAULT_TOLERANCE 1e-5

typedef struct cle_options {
    /* A Clip(0, max) with finite max (ReLU6) between the layers is not
     * scale-equivariant. false (the default): the pair is skipped and FP32
     * outputs stay equal. true: the Clip becomes a Relu first (N2D2's option)
     * - an FP32 change, counted in cle_report.clips_replaced. */
    bool replace_bounded_relu;
    int max_iterations;      /* sweeps over all pairs, at least 1 */
    double tolerance;        /* stop when max_i |s_i - 1| of a sweep is below it */
} cle_options;

/* The defaults above: skip ReLU6 pairs, CLE_DEFAULT_MAX_ITERATIONS, CLE_DEFAULT_TOLERANCE. */
void cle_options_init(cle_options *options);

/* One equalized pair. */
typedef struct cle_pair_report {
    char *first, *second;     /* node display names of W1 and W2 */
    char *tensor;             /* W1's output, whose channels were rescaled */
    int64_t channels;
    /* The factor W1's output channel i was multiplied by in all: the product
     * of 1/s_i over the sweeps. Statistics of `tensor` taken before CLE (BN's
     * beta and gamma, observed ranges) scale by it. */
    float *channel_scale;
    /* Spread of W1's per-output-channel ranges, max_i r1_i / min_i r1_i
     * over channels with r1_i > 0, before and after the pass. */
    double spread_before, spread_after;
} cle_pair_report;

typedef struct cle_report {
    int pairs_equalized;
    int iterations;           /* sweeps performed */
    bool converged;           /* the last sweep moved no s_i more than the tolerance */
    int clips_replaced;       /* bounded Clips turned into Relu (FP32 changed) */
    int clips_skipped;        /* pairs left alone for a bounded Clip */
    int shared_skipped;       /* pairs left alone for a weight or bias another node reads */
    double worst_spread_before, worst_spread_after; /* the largest spread over the pairs */
    int n_pairs;
    cle_pair_report *pairs;
} cle_report;

void cle_report_free(cle_report *report);
/* The channel_scale of the pair whose W1 produces tensor (its count via *channels), or NULL. */
const float *cle_report_channel_scale(const cle_report *report, const char *tensor, int64_t *channels);

/* Equalizes the model in place (sorted, prepared graph: BN folded). options
 * may be NULL for the defaults; report may be NULL, else free it with
 * cle_report_free. Graphs with subgraphs are left alone. */
nnq_status pass_equalize_cross_layer(nnq_model *model, const cle_options *options, cle_report *report);

/* ---- High-bias absorption (white paper §3.2, eq. 23-24) ---- */

/* Where the shift c of W1's output channels comes from. Set exactly one
 * callback; each fills `channels` values for W1's pre-activation output
 * `tensor` and returns false when it does not know that tensor (the pair is
 * then skipped).
 *   channel_minimum: empirical, min over calibration data of channel i of
 *     W1 x + b1 (run on the model as it is now, after CLE):
 *     c_i = max(0, minimum_i) (eq. 24). FP32 outputs stay equal on that data.
 *   batchnorm_statistics: data-free, the shift beta and scale gamma of the BN
 *     folded into W1: c_i = max(0, beta_i - 3 |gamma_i|) (white paper §3.2,
 *     after eq. 24; |gamma| because it stands for a standard deviation). An
 *     approximation: outputs change where an input falls below c. When CLE
 *     ran after the statistics were taken, set equalization to its report:
 *     beta_i and gamma_i are multiplied by its channel_scale. */
typedef struct high_bias_source {
    bool (*channel_minimum)(void *user, const char *tensor, int64_t channels, float *minimum);
    bool (*batchnorm_statistics)(void *user, const char *tensor, int64_t channels, float *beta, float *gamma);
    void *user;
    const cle_report *equalization; /* may be NULL */
    /* A W2 Conv with zero padding reads a padded 0 where h - c would have
     * held -c: absorbing into it moves its border outputs (the paper's
     * formulation accepts this). false (the default): such pairs are skipped
     * and FP32 outputs stay equal on data with x >= c; true: absorbed anyway. */
    bool allow_padded_convolution;
} high_bias_source;

/* The shift absorbed from one layer: its output (and the Relu's) is now lower by shift_i. */
typedef struct high_bias_shift {
    char *tensor;             /* W1's output */
    int64_t channels;
    float *shift;             /* c_i >= 0 */
} high_bias_shift;

typedef struct high_bias_report {
    int layers_absorbed;      /* W1 layers with some c_i > 0 */
    int channels_absorbed;    /* channels with c_i > 0 */
    int padded_skipped;       /* pairs left alone for a zero-padding Conv W2 (allow_padded_convolution off) */
    int n_shifts;
    high_bias_shift *shifts;
} high_bias_report;

void high_bias_report_free(high_bias_report *report);

/* For every pair W1 -> Relu [-> MaxPool/Flatten] -> W2 (Conv or Gemm W2),
 * moves c out of W1's bias into W2's (eq. 23): b1 -= c, b2 += W2 c, where
 * W2 c sums W2[o, i, kernel...] c_i over the input channels and kernel
 * positions of a Conv, and is B^T c for a Gemm (scaled by alpha/beta). A
 * missing bias is created. Exact where every pre-activation x_i >= c_i when
 * W2 does not zero-pad (see allow_padded_convolution). report may be NULL. */
nnq_status pass_absorb_high_bias(nnq_model *model, const high_bias_source *source, high_bias_report *report);

#endif
