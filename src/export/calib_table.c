#include "export/calib_table.h"

#include "base/atomic_file.h"
#include "base/json_writer.h"
#include "base/status.h"

static bool in_table(const nnq_quantizer *q) { return q->role == NNQ_ROLE_ACTIVATION; }

nnq_status calib_table_write_json(const nnq_plan *plan, const char *path) {
    nnq_atomic_file file;
    NNQ_TRY(atomic_file_open(&file, path));
    json_writer w;
    json_init(&w, file.stream);
    json_begin_object(&w);
    for (int i = 0; i < plan->n_quantizers; i++) {
        const nnq_quantizer *q = &plan->quantizers[i];
        if (!in_table(q)) continue;
        json_key(&w, q->tensor);
        json_begin_object(&w);
        json_key(&w, "min");
        json_double(&w, q->observed_min);
        json_key(&w, "max");
        json_double(&w, q->observed_max);
        json_key(&w, "range");
        json_begin_array(&w);
        json_double(&w, q->range_min);
        json_double(&w, q->range_max);
        json_end_array(&w);
        json_key(&w, "method");
        json_string(&w, q->method ? q->method : "");
        json_key(&w, "scale");
        json_double(&w, q->scales[0]);
        json_key(&w, "zero_point");
        json_int(&w, q->zero_points[0]);
        json_key(&w, "bits");
        json_int(&w, q->scheme.bits);
        json_key(&w, "signed");
        json_bool(&w, q->scheme.is_signed);
        json_end_object(&w);
    }
    json_end_object(&w);
    json_finish(&w);
    return atomic_file_commit(&file);
}

nnq_status calib_table_write_text(const nnq_plan *plan, const char *path) {
    nnq_atomic_file file;
    NNQ_TRY(atomic_file_open(&file, path));
    fprintf(file.stream, "# tensor  observed_min observed_max  range_min range_max  method  scale zero_point  grid\n");
    for (int i = 0; i < plan->n_quantizers; i++) {
        const nnq_quantizer *q = &plan->quantizers[i];
        if (!in_table(q)) continue;
        char grid[48];
        fprintf(file.stream, "%s  %.9g %.9g  %.9g %.9g  %s  %.9g %d  %s\n", q->tensor, q->observed_min, q->observed_max,
                q->range_min, q->range_max, q->method ? q->method : "-", q->scales[0], q->zero_points[0],
                qscheme_describe(&q->scheme, grid, sizeof grid));
    }
    return atomic_file_commit(&file);
}
