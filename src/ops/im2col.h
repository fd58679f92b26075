/* Sliding-window geometry shared by the convolution and pooling operators,
 * and the im2col / col2im transforms that turn an N-d convolution into GEMM.
 *
 * Layout conventions (one image of one group, row-major):
 *   image   [channels][image_dims...]                 (e.g. C x H x W)
 *   columns [channels][kernel...][col_dims...]        (rows = channels * kernel_size,
 *                                                      cols = product of col_dims)
 * For Conv the image is the input X and col_dims are the output spatial dims, so
 *   Y_group[M/g x col_count] = W_group[M/g x (C/g * kernel_size)] * columns.
 * For ConvTranspose the roles swap: columns come from a GEMM over the input
 * and col2im scatters (adds) them into the output image.
 *
 * im2col is type-generic (elements of elem_size bytes, padding filled with a
 * given value) so integer convolutions (ConvInteger, QLinearConv) reuse it
 * with pad_value = the input zero point. */
#ifndef NNQ_OPS_IM2COL_H
#define NNQ_OPS_IM2COL_H

#include <stddef.h>
#include <stdint.h>

#include "ops/op.h"

/* Geometry of one window sweep over `spatial_rank` dims. */
typedef struct im2col_geometry {
    int spatial_rank;
    int64_t image[NNQ_MAX_RANK];      /* spatial dims of the image */
    int64_t cols[NNQ_MAX_RANK];       /* spatial dims of the window grid (conv output) */
    int64_t kernel[NNQ_MAX_RANK];
    int64_t strides[NNQ_MAX_RANK];
    int64_t dilations[NNQ_MAX_RANK];
    int64_t pads[2 * NNQ_MAX_RANK];   /* ONNX order: all begins, then all ends */
} im2col_geometry;

/* Products of the image, kernel and window-grid dims. */
int64_t im2col_image_size(const im2col_geometry *g);
int64_t im2col_kernel_size(const im2col_geometry *g);
int64_t im2col_col_count(const im2col_geometry *g);

/* True when the columns equal the image (kernel all 1, strides 1, no pads):
 * then a convolution can run its GEMM directly on the image. */
bool im2col_is_identity(const im2col_geometry *g);

/* Writes columns [channels * kernel_size][col_count] from image
 * [channels][image_size]; elements are elem_size bytes and positions that
 * fall into the padding get the elem_size bytes at pad_value. */
void im2col(const im2col_geometry *g, int64_t channels, const void *image, size_t elem_size,
            const void *pad_value, void *columns);

/* For float and one channel: out[col] += sum over kernel offsets k of
 * weights[k] * columns[k][col], the columns being im2col's with pad value 0,
 * without writing them: a one-channel-per-group (depthwise) convolution with
 * im2col fused into its 1-row GEMM. Terms are added in kernel order. */
void im2col_dot_f32(const im2col_geometry *g, const float *image, const float *weights,
                    float *out);

/* The adjoint for float: ADDS every column entry into the image element it
 * came from (entries that fall into padding are dropped). The caller zeroes
 * or pre-fills the image. */
void col2im_f32(const im2col_geometry *g, int64_t channels, const float *columns, float *image);

/* ---- Attribute handling shared by Conv, ConvTranspose, ConvInteger, QLinearConv, pools ---- */

/* Window attribute values (kernel, stride, dilation, pad, group) above
 * CONV_ATTR_MAX and spatial dims above CONV_SPATIAL_DIM_MAX are rejected:
 * they describe no real tensor, and the bounds keep every window formula
 * far from int64 overflow. */
#define CONV_ATTR_MAX ((int64_t)1 << 31)
#define CONV_SPATIAL_DIM_MAX ((int64_t)1 << 40)

typedef enum conv_auto_pad {
    CONV_AUTO_PAD_NOTSET,
    CONV_AUTO_PAD_SAME_UPPER,
    CONV_AUTO_PAD_SAME_LOWER,
    CONV_AUTO_PAD_VALID
} conv_auto_pad;

/* Window attributes of a node for `spatial_rank` dims:
 *   kernel_shape (read into kernel when kernel_from_weights is NULL, else
 *   checked against it), strides, dilations (default 1, must be >= 1),
 *   pads (default 0, must be >= 0) and auto_pad. */
typedef struct conv_window_attrs {
    int spatial_rank;
    conv_auto_pad auto_pad;
    int64_t kernel[NNQ_MAX_RANK];
    int64_t strides[NNQ_MAX_RANK];
    int64_t dilations[NNQ_MAX_RANK];
    int64_t pads[2 * NNQ_MAX_RANK];
} conv_window_attrs;

nnq_status conv_window_attrs_read(const nnq_op_context *ctx, int spatial_rank,
                                  const int64_t *kernel_from_weights, conv_window_attrs *attrs);

/* Output spatial dims of a convolution (the floor formula of the ONNX Conv
 * spec) and the pads auto_pad implies, into g (image dims copied from
 * in_spatial; entries of -1 give -1 outputs). Fails when a window does not fit. */
nnq_status conv_window_resolve(const nnq_op_context *ctx, const conv_window_attrs *attrs,
                               const int64_t *in_spatial, im2col_geometry *g);

/* The same with the pooling operators' ceil_mode: output dims rounded up,
 * dropping a last window that would start in the end padding. */
nnq_status window_resolve(const nnq_op_context *ctx, const conv_window_attrs *attrs,
                          const int64_t *in_spatial, bool ceil_mode, im2col_geometry *g);

/* Reads `group` (>= 1) and checks that X [N, C, spatial...] and W have the
 * same rank >= 3; *spatial_rank = rank - 2, or -1 when both ranks are unknown. */
nnq_status conv_read_layout(const nnq_op_context *ctx, const nnq_tensor *x, const nnq_tensor *w,
                            int64_t *group, int *spatial_rank);

/* A Conv-like node (Conv, ConvInteger, QLinearConv) resolved against the
 * shapes of X [N, C, spatial...] and W [M, C/group, kernel...]. */
typedef struct conv_params {
    int spatial_rank;      /* -1 when neither X nor W has a known rank */
    int64_t batch;         /* N, -1 when unknown */
    int64_t in_channels;   /* C, -1 when unknown */
    int64_t out_channels;  /* M, -1 when unknown */
    int64_t group;
    im2col_geometry geom;  /* image = X spatial, cols = Y spatial (-1 where unknown) */
} conv_params;

/* Reads group, kernel_shape, strides, dilations, pads and auto_pad of
 * ctx->node, checks them against x and w (rank, C == group * W.dims[1],
 * M divisible by group) and computes the output spatial dims. */
nnq_status conv_params_resolve(const nnq_op_context *ctx, const nnq_tensor *x,
                               const nnq_tensor *w, conv_params *params);

/* Sets out's rank and dims [N, M, out spatial...] (rank -1 when unknown);
 * the caller sets the dtype. */
void conv_params_output_shape(const conv_params *params, nnq_tensor *out);

#endif
