/* Accuracy: an Identity model turns a dataset of hand-written logits into its
 * own predictions, so the expected top-1/top-5 counts are worked out by hand
 * below; a fixed-batch model checks the padded last batch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/status.h"
#include "check.h"
#include "data/npy.h"
#include "run/evaluate.h"
#include "test_model.h"

enum { CLASSES = 10, SAMPLES = 8 };

static char temp_dir[] = "/tmp/nnq_test_evaluate_XXXXXX";
static char logits_path[256], labels_path[256], spec[600];

/* Rows 0-6 have logit[c] = c, so label L ranks 9 - L: top-1 needs L = 9,
 * top-5 needs L >= 5. Row 7 is all zeros with label 3: ties rank by class
 * index, so label 3 ranks 3 (top-5, not top-1).
 * Labels 9 5 4 0 9 7 3 | 3 -> top-1: rows 0, 4 = 2; top-5: rows 0, 1, 4, 5, 7 = 5. */
static const int64_t LABELS[SAMPLES] = {9, 5, 4, 0, 9, 7, 3, 3};
enum { EXPECTED_TOP1 = 2, EXPECTED_TOP5 = 5 };

static void write_data(void) {
    nnq_tensor logits = {0}, labels = {0};
    tensor_create(&logits, NNQ_FLOAT, 2, (const int64_t[]){SAMPLES, CLASSES});
    tensor_create(&labels, NNQ_INT64, 1, (const int64_t[]){SAMPLES});
    float *v = logits.data;
    for (int r = 0; r < SAMPLES - 1; r++)
        for (int c = 0; c < CLASSES; c++) v[r * CLASSES + c] = (float)c;
    memcpy(labels.data, LABELS, sizeof LABELS);
    snprintf(logits_path, sizeof logits_path, "%s/logits.npy", temp_dir);
    snprintf(labels_path, sizeof labels_path, "%s/labels.npy", temp_dir);
    CHECK(npy_write(logits_path, &logits) == NNQ_OK);
    CHECK(npy_write(labels_path, &labels) == NNQ_OK);
    snprintf(spec, sizeof spec, "npy:%s,%s", logits_path, labels_path);
    tensor_free(&logits);
    tensor_free(&labels);
}

/* x [batch, 10] -> Identity -> logits. */
static void identity_model(nnq_model *m, int64_t batch) {
    test_model_init(m, 13);
    const int64_t dims[2] = {batch, CLASSES};
    test_add_input(m, "x", NNQ_FLOAT, 2, dims);
    test_add_output(m, "logits", NNQ_FLOAT, 2, dims);
    test_add_node(m, "Identity", "id", (const char *[]){"x", NULL}, (const char *[]){"logits", NULL});
}

static int64_t progress_calls, progress_last;

static void count_progress(void *user, int64_t done, int64_t total) {
    (void)user;
    progress_calls++;
    progress_last = done;
    CHECK(total == SAMPLES);
}

static void evaluate_with(int64_t model_batch, int64_t batch_size, int64_t expected_batch) {
    nnq_model m;
    identity_model(&m, model_batch);
    nnq_dataset *d = NULL;
    CHECK_MSG(dataset_open(spec, NULL, &d) == NNQ_OK, "%s", nnq_last_error());
    progress_calls = progress_last = 0;
    eval_options options = {.batch_size = batch_size, .on_progress = count_progress};
    eval_result r;
    CHECK_MSG(d && evaluate_accuracy(&m, d, &options, &r) == NNQ_OK, "%s", nnq_last_error());
    CHECK(r.total == SAMPLES && r.class_count == CLASSES && r.has_top5);
    CHECK_MSG(r.correct_top1 == EXPECTED_TOP1, "top-1 %lld", (long long)r.correct_top1);
    CHECK_MSG(r.correct_top5 == EXPECTED_TOP5, "top-5 %lld", (long long)r.correct_top5);
    CHECK_NEAR(r.top1, 2.0 / 8.0, 1e-12);
    CHECK_NEAR(r.top5, 5.0 / 8.0, 1e-12);
    CHECK(r.batch_size == expected_batch);
    CHECK(progress_calls == (SAMPLES + expected_batch - 1) / expected_batch && progress_last == SAMPLES);
    CHECK(r.images_per_second > 0);
    dataset_close(d);
    model_free(&m);
}

static void test_accuracy(void) {
    evaluate_with(NNQ_UNKNOWN_DIM, 0, EVAL_DEFAULT_BATCH); /* one batch of 8 */
    evaluate_with(NNQ_UNKNOWN_DIM, 3, 3);                   /* 3 + 3 + 2 */
    evaluate_with(3, 64, 3);                                /* fixed batch: last batch padded */
    evaluate_with(1, 0, 1);
}

static void test_rank(void) {
    const float logits[4] = {1.0f, 3.0f, 3.0f, NAN};
    CHECK(logits_rank_of(logits, 4, 1) == 0); /* first of the tied maxima */
    CHECK(logits_rank_of(logits, 4, 2) == 1);
    CHECK(logits_rank_of(logits, 4, 0) == 2);
    CHECK(logits_rank_of(logits, 4, 3) == 4); /* NaN never counts as correct */
}

static void expect_evaluate_error(const char *data_spec, const char *text) {
    nnq_model m;
    identity_model(&m, NNQ_UNKNOWN_DIM);
    nnq_dataset *d = NULL;
    CHECK_MSG(dataset_open(data_spec, NULL, &d) == NNQ_OK, "%s", nnq_last_error());
    eval_result r;
    CHECK(d && evaluate_accuracy(&m, d, NULL, &r) != NNQ_OK);
    CHECK_MSG(strstr(nnq_last_error(), text), "'%s' lacks '%s'", nnq_last_error(), text);
    dataset_close(d);
    model_free(&m);
}

static void test_errors(void) {
    char no_labels[300];
    snprintf(no_labels, sizeof no_labels, "npy:%s", logits_path);
    expect_evaluate_error(no_labels, "has no labels");
    /* Labels beyond the model's classes. */
    nnq_tensor big = {0};
    tensor_create(&big, NNQ_INT64, 1, (const int64_t[]){SAMPLES});
    ((int64_t *)big.data)[5] = 10;
    char big_path[300], big_spec[700];
    snprintf(big_path, sizeof big_path, "%s/big.npy", temp_dir);
    CHECK(npy_write(big_path, &big) == NNQ_OK);
    tensor_free(&big);
    snprintf(big_spec, sizeof big_spec, "npy:%s,%s", logits_path, big_path);
    expect_evaluate_error(big_spec, "sample 5 has label 10 but the model gives 10 classes");
    /* Samples of the wrong shape for the model: the executor names the input. */
    expect_evaluate_error("fashion-mnist:test", "input 'x': expected shape");
}

int main(void) {
    if (!mkdtemp(temp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    write_data();
    test_rank();
    test_accuracy();
    test_errors();
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", temp_dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", temp_dir);
    return check_summary();
}
