/* Calibration statistics saved and reloaded bit for bit (histograms, moments,
 * logit reservoirs), and damaged files refused with the file named. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib/observer_file.h"
#include "calib/range_method.h"
#include "check.h"

static void feed(nnq_observer *o, int seed, int n) {
    float values[400];
    for (int i = 0; i < n; i++) values[i] = (float)((i * 37 + seed * 11) % 101) / 7.0f - 6.0f;
    observer_feed(o, values, n);
}

int main(void) {
    nnq_calib_options options;
    calib_options_default(&options);
    nnq_observer observers[2];
    CHECK(observer_init(&observers[0], &options, 0) == NNQ_OK);
    CHECK(observer_init(&observers[1], &options, 10) == NNQ_OK);
    for (int batch = 0; batch < 5; batch++) {
        feed(&observers[0], batch, 400);
        feed(&observers[1], batch, 400); /* 40 logit vectors of 10 */
    }
    char *names[2] = {"conv_out", "logits"};
    observer_set set = {2, names, observers};
    char path[] = "/tmp/nnq_observers_XXXXXX";
    close(mkstemp(path));
    CHECK(observer_file_write(path, &set) == NNQ_OK);
    observer_set back;
    CHECK(observer_file_read(path, &back) == NNQ_OK);
    CHECK(back.count == 2);
    const nnq_observer *a = observer_set_find(&back, "conv_out"), *l = observer_set_find(&back, "logits");
    CHECK(a && l && !observer_set_find(&back, "missing"));
    if (a && l) {
        CHECK(a->finite_count == observers[0].finite_count && a->min == observers[0].min && a->max == observers[0].max);
        CHECK(a->moments.mean == observers[0].moments.mean && a->moments.m2 == observers[0].moments.m2);
        CHECK(memcmp(a->histogram.counts, observers[0].histogram.counts, sizeof(uint64_t) * 2048) == 0);
        CHECK(l->is_logits && l->reservoir.kept == observers[1].reservoir.kept &&
              memcmp(l->reservoir.vectors, observers[1].reservoir.vectors,
                     sizeof(float) * (size_t)l->reservoir.kept * 10) == 0);
        /* The same ranges come out of the reloaded statistics. */
        nnq_qscheme scheme = {8, false, false, false, false};
        nnq_range_method methods[3] = {NNQ_RANGE_MSE, NNQ_RANGE_KL, NNQ_RANGE_QUANTILE};
        for (int m = 0; m < 3; m++) {
            float lo1, hi1, lo2, hi2;
            CHECK(calib_find_range(&observers[0], methods[m], &scheme, &options, &lo1, &hi1) == NNQ_OK);
            CHECK(calib_find_range(a, methods[m], &scheme, &options, &lo2, &hi2) == NNQ_OK);
            CHECK(lo1 == lo2 && hi1 == hi2);
        }
        float lo1, hi1, lo2, hi2;
        CHECK(calib_find_range(&observers[1], NNQ_RANGE_XENT, &scheme, &options, &lo1, &hi1) == NNQ_OK);
        CHECK(calib_find_range(l, NNQ_RANGE_XENT, &scheme, &options, &lo2, &hi2) == NNQ_OK);
        CHECK(lo1 == lo2 && hi1 == hi2);
    }
    observer_set_free(&back);
    /* Truncations and a flipped histogram count are refused, naming the file. */
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    unsigned char *bytes = malloc((size_t)size);
    CHECK(fread(bytes, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    for (long cut = 0; cut < size; cut += size / 37 + 1) {
        f = fopen(path, "wb");
        fwrite(bytes, 1, (size_t)cut, f);
        fclose(f);
        CHECK(observer_file_read(path, &back) == NNQ_ERR_PARSE);
        CHECK(strstr(nnq_last_error(), path) != NULL);
    }
    bytes[200] ^= 0x40; /* inside the first histogram's counts */
    f = fopen(path, "wb");
    fwrite(bytes, 1, (size_t)size, f);
    fclose(f);
    CHECK(observer_file_read(path, &back) == NNQ_ERR_PARSE);
    free(bytes);
    unlink(path);
    observer_free(&observers[0]);
    observer_free(&observers[1]);
    return check_summary();
}
