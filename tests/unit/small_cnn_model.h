/* The small CNN the integer-path tests share: x [N,2,6,6] -> Conv 3x3 (pads 1)
 * -> Relu -> MaxPool 2x2 -> Flatten -> Gemm (27 -> 4) [-> head] -> y, with
 * random weights from seed. */
#ifndef NNQ_TESTS_SMALL_CNN_MODEL_H
#define NNQ_TESTS_SMALL_CNN_MODEL_H

#include "test_model.h"

/* head: NULL, or an op after the Gemm that has no integer form (Softmax). */
static inline void build_small_cnn(nnq_model *m, const char *head, uint32_t seed) {
    test_model_init(m, 13);
    int64_t x_dims[4] = {NNQ_UNKNOWN_DIM, 2, 6, 6}, w_dims[4] = {3, 2, 3, 3}, b_dims[1] = {3}, w2_dims[2] = {4, 27},
            b2_dims[1] = {4}, y_dims[2] = {NNQ_UNKNOWN_DIM, 4};
    test_add_input(m, "x", NNQ_FLOAT, 4, x_dims);
    test_random_seed(seed);
    test_add_random(m, "W", 4, w_dims, -0.5f, 0.5f);
    test_add_random(m, "B", 1, b_dims, -0.2f, 0.2f);
    test_add_random(m, "W2", 2, w2_dims, -0.4f, 0.4f);
    test_add_random(m, "B2", 1, b2_dims, -0.1f, 0.1f);
    static const char *conv_in[] = {"x", "W", "B", NULL}, *conv_out[] = {"c", NULL};
    static const char *relu_in[] = {"c", NULL}, *relu_out[] = {"r", NULL};
    static const char *pool_in[] = {"r", NULL}, *pool_out[] = {"p", NULL};
    static const char *flat_in[] = {"p", NULL}, *flat_out[] = {"f", NULL};
    static const char *gemm_in[] = {"f", "W2", "B2", NULL}, *gemm_out[] = {"g", NULL};
    static const char *head_in[] = {"g", NULL}, *head_out[] = {"y", NULL}, *gemm_y[] = {"y", NULL};
    nnq_node *conv = test_add_node(m, "Conv", "conv", conv_in, conv_out);
    int64_t pads[4] = {1, 1, 1, 1}, kernel[2] = {2, 2};
    test_node_set_ints(conv, "pads", 4, pads);
    test_add_node(m, "Relu", "relu", relu_in, relu_out);
    nnq_node *pool = test_add_node(m, "MaxPool", "pool", pool_in, pool_out);
    test_node_set_ints(pool, "kernel_shape", 2, kernel);
    test_node_set_ints(pool, "strides", 2, kernel);
    test_add_node(m, "Flatten", "flatten", flat_in, flat_out);
    nnq_node *gemm = test_add_node(m, "Gemm", "gemm", gemm_in, head ? gemm_out : gemm_y);
    test_node_set_int(gemm, "transB", 1);
    if (head) test_add_node(m, head, "head", head_in, head_out);
    test_add_output(m, "y", NNQ_FLOAT, 2, y_dims);
}

#endif
