/* Graph passes on the pattern PyTorch exports for x.view(x.size(0), -1):
 *   Shape(x) -> Gather(0) -> Unsqueeze -> Concat(with [-1]) -> Reshape(x, .)
 * With a static input shape the whole shape computation folds into one
 * initializer; dead nodes go; outputs stay identical; shape inference gives
 * the Reshape its real output shape. */
#include <string.h>

#include "check.h"
#include "ir/graph_consumers.h"
#include "ir/graph_order.h"
#include "ir/passes/passes.h"
#include "run/executor.h"
#include "test_model.h"

static void add_int64(nnq_model *m, const char *name, int rank, const int64_t *dims, const int64_t *values) {
    nnq_tensor t = {0};
    tensor_create(&t, NNQ_INT64, rank, dims);
    t.name = strdup(name);
    memcpy(t.data, values, sizeof(int64_t) * (size_t)tensor_numel(&t));
    graph_add_initializer(&m->graph, &t);
}

/* batch < 0 declares the batch dim symbolic. */
static void build_flatten_chain(nnq_model *m, int64_t batch) {
    test_model_init(m, 13);
    int64_t in_dims[4] = {batch, 2, 3, 4}, out_dims[2] = {batch, 24};
    test_add_input(m, "x", NNQ_FLOAT, 4, in_dims);
    test_add_output(m, "y", NNQ_FLOAT, 2, out_dims);
    m->graph.outputs[0].rank = NNQ_UNKNOWN_RANK; /* left for shape inference */
    int64_t scalar_dims[1] = {0}, one[1] = {1}, zero_value[1] = {0}, minus_one[1] = {-1};
    add_int64(m, "zero", 0, scalar_dims, zero_value);
    add_int64(m, "axes0", 1, one, zero_value);
    add_int64(m, "minus_one", 1, one, minus_one);
    add_int64(m, "unused", 1, one, minus_one);
    /* Deliberately out of order: the passes must sort. */
    test_add_node(m, "Reshape", "reshape", (const char *[]){"x", "shape", NULL}, (const char *[]){"y", NULL});
    nnq_node *concat = test_add_node(m, "Concat", "concat", (const char *[]){"batch1", "minus_one", NULL},
                                     (const char *[]){"shape", NULL});
    test_node_set_int(concat, "axis", 0);
    test_add_node(m, "Unsqueeze", "unsqueeze", (const char *[]){"batch0", "axes0", NULL}, (const char *[]){"batch1", NULL});
    nnq_node *gather = test_add_node(m, "Gather", "gather", (const char *[]){"shape_x", "zero", NULL},
                                     (const char *[]){"batch0", NULL});
    test_node_set_int(gather, "axis", 0);
    test_add_node(m, "Shape", "shape_of_x", (const char *[]){"x", NULL}, (const char *[]){"shape_x", NULL});
    test_add_node(m, "Relu", "dead_relu", (const char *[]){"x", NULL}, (const char *[]){"nobody_reads_this", NULL});
}

static bool run(const nnq_model *m, int64_t batch, nnq_tensor *y) {
    nnq_executor *ex = NULL;
    if (executor_create(m, &ex) != NNQ_OK) return false;
    nnq_tensor x = {0};
    int64_t dims[4] = {batch, 2, 3, 4};
    tensor_create(&x, NNQ_FLOAT, 4, dims);
    x.name = strdup("x");
    for (int64_t i = 0; i < tensor_numel(&x); i++) ((float *)x.data)[i] = (float)(i % 7) - 3.0f;
    nnq_status st = executor_run(ex, &x, 1, y);
    if (st != NNQ_OK) fprintf(stderr, "%s\n", nnq_last_error());
    tensor_free(&x);
    executor_free(ex);
    return st == NNQ_OK;
}

static bool node_present(const nnq_model *m, const char *name) {
    for (int i = 0; i < m->graph.n_nodes; i++)
        if (strcmp(m->graph.nodes[i].name, name) == 0) return true;
    return false;
}

static void test_static_chain_folds(void) {
    nnq_model m;
    build_flatten_chain(&m, 5);
    nnq_tensor before = {0}, after = {0};
    CHECK(run(&m, 5, &before));
    CHECK(pass_infer_shapes(&m) == NNQ_OK);
    /* Shape inference alone already knows y: [5, 24]. */
    CHECK(m.graph.outputs[0].rank == 2 && m.graph.outputs[0].dims[0] == 5 && m.graph.outputs[0].dims[1] == 24);
    int folded = 0, removed = 0;
    CHECK(pass_fold_constants(&m, &folded) == NNQ_OK);
    CHECK_MSG(folded == 4, "folded %d", folded); /* Shape, Gather, Unsqueeze, Concat */
    CHECK(pass_remove_dead_nodes(&m, &removed) == NNQ_OK);
    CHECK_MSG(removed == 1, "removed %d", removed); /* dead_relu */
    CHECK(m.graph.n_nodes == 1 && node_present(&m, "reshape"));
    const nnq_tensor *shape = graph_find_initializer(&m.graph, "shape");
    CHECK(shape && shape->dtype == NNQ_INT64 && tensor_numel(shape) == 2);
    if (shape) CHECK(((int64_t *)shape->data)[0] == 5 && ((int64_t *)shape->data)[1] == -1);
    CHECK(graph_find_initializer(&m.graph, "unused") == NULL);
    CHECK(run(&m, 5, &after));
    CHECK(before.data && after.data && before.rank == 2 && after.dims[0] == 5 && after.dims[1] == 24 &&
          memcmp(before.data, after.data, sizeof(float) * 120) == 0);
    tensor_free(&before);
    tensor_free(&after);
    model_free(&m);
}

static void test_symbolic_batch_stays_dynamic(void) {
    nnq_model m;
    build_flatten_chain(&m, NNQ_UNKNOWN_DIM);
    CHECK(model_simplify(&m) == NNQ_OK);
    /* The batch is only known at run time: the chain must stay, and run for any batch. */
    CHECK(node_present(&m, "shape_of_x") && node_present(&m, "reshape") && !node_present(&m, "dead_relu"));
    /* The target shape's values are unknown, its length (2) is not: the rank is. */
    CHECK_MSG(m.graph.outputs[0].rank == 2, "rank %d", m.graph.outputs[0].rank);
    nnq_tensor y = {0};
    CHECK(run(&m, 3, &y) && y.dims[0] == 3 && y.dims[1] == 24);
    tensor_free(&y);
    model_free(&m);
}

static void test_order_and_cycles(void) {
    nnq_model m;
    build_flatten_chain(&m, 2);
    CHECK(pass_sort_topologically(&m) == NNQ_OK);
    /* Every node's inputs are produced before it. */
    for (int i = 0; i < m.graph.n_nodes; i++)
        for (int k = 0; k < m.graph.nodes[i].n_inputs; k++)
            for (int j = i; j < m.graph.n_nodes; j++)
                for (int o = 0; o < m.graph.nodes[j].n_outputs; o++)
                    CHECK(strcmp(m.graph.nodes[j].outputs[o], m.graph.nodes[i].inputs[k]) != 0);
    /* Make shape_of_x read the reshape's output: a cycle, reported by node name. */
    free(m.graph.nodes[0].inputs[0]);
    m.graph.nodes[0].inputs[0] = strdup("y");
    int order[16];
    CHECK(graph_topological_order(&m.graph, order) == NNQ_ERR_INVALID);
    CHECK_MSG(strstr(nnq_last_error(), "cycle") != NULL, "%s", nnq_last_error());
    model_free(&m);
}

static void test_consumer_map(void) {
    nnq_model m;
    build_flatten_chain(&m, 2);
    graph_consumers consumers;
    CHECK(graph_map_consumers(&m.graph, &consumers) == NNQ_OK);
    const int *readers;
    /* x is read by reshape (node 0), shape_of_x (4) and dead_relu (5), in graph order. */
    CHECK(graph_consumers_of(&consumers, "x", &readers) == 3);
    CHECK(readers[0] == 0 && readers[1] == 4 && readers[2] == 5);
    CHECK(graph_consumers_of(&consumers, "shape", &readers) == 1 && readers[0] == 0);
    CHECK(graph_consumers_of(&consumers, "y", &readers) == 0);
    graph_consumers_free(&consumers);
    name_map producers;
    CHECK(graph_map_producers(&m.graph, &producers) == NNQ_OK);
    CHECK(name_map_get(&producers, "shape") == 1 && name_map_get(&producers, "x") == -1);
    name_map_free(&producers);
    model_free(&m);
}

int main(void) {
    test_consumer_map();
    test_static_chain_folds();
    test_symbolic_batch_stays_dynamic();
    test_order_and_cycles();
    return check_summary();
}
