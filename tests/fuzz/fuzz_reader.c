/* fuzz_reader.c: one data-file reader format (one executable each, built with one of
 * FUZZ_READER_CSV, _ADULT, _CRITEO, _ARFF defined) fed an arbitrary file: open it (ARFF: its header
 * is the schema), read it strictly to the first error, then again skipping bad lines with labels
 * optional, through the feature statistics, and a third time shuffled through the feature encoder.
 * Every outcome but a crash, a leak or undefined behaviour is fine.
 *
 * CSV: the first byte picks the delimiter (bit 0: tab), a header line (bit 1) and a
 * positive-class string instead of a numeric label (bit 2); the rest is the file. */
#include "fuzz_common.h"

#include <stdlib.h>

#if defined(FUZZ_READER_ADULT)
#define FUZZ_PRESET EMBER_FORMAT_ADULT
#elif defined(FUZZ_READER_CRITEO)
#define FUZZ_PRESET EMBER_FORMAT_CRITEO
#elif !defined(FUZZ_READER_CSV) && !defined(FUZZ_READER_ARFF)
#error "compile with one of -DFUZZ_READER_CSV, _ADULT, _CRITEO, _ARFF"
#endif

enum { MAX_ROWS = 4096, BATCH = 16 };

static ember_status make_schema(const uint8_t **data, size_t *size, const char *path,
                                ember_schema **s, ember_model_err *err) {
#if defined(FUZZ_READER_ARFF)
    (void)data, (void)size;
    return ember_schema_from_arff(path, NULL, NULL, s, err);
#elif defined(FUZZ_READER_CSV)
    (void)path;
    unsigned mode = *size ? (*data)[0] : 0;
    return ember_schema_from_spec("label,n:num,city:cat,tags:multi:|,ignore,m:num,z:cat",
                                  (mode & 1) ? '\t' : ',', (mode >> 1) & 1,
                                  (mode & 4) ? ">50K" : NULL, s, err);
#else
    (void)data, (void)size, (void)path;
    return ember_schema_preset(FUZZ_PRESET, s, err);
#endif
}

/* Reads at most MAX_ROWS rows; fx (may be NULL) gets every row for its statistics, or with
 * b every row encoded. */
static void read_all(ember_reader *r, ember_features *fx, ember_batch *b) {
    ember_model_err err;
    ember_row row;
    int eof = 0;
    for (int n = 0; n < MAX_ROWS; n++) {
        if (ember_reader_next(r, &row, &eof, &err) != EMBER_STATUS_SUCCESS || eof) return;
        if (fx && !b) ember_features_stats_add(fx, &row);
        if (fx && b) {
            if (b->n == b->cap) ember_batch_clear(b);
            if (ember_features_encode(fx, &row, b, &err) != EMBER_STATUS_SUCCESS) return;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ember_model_err err;
    ember_schema *s = NULL;
    ember_reader *r = NULL;
    ember_features *fx = NULL;
    ember_batch *b = NULL;
#if defined(FUZZ_READER_CSV)
    const char *path = fuzz_write_file(size ? data + 1 : data, size ? size - 1 : 0, "");
#else
    const char *path = fuzz_write_file(data, size, "");
#endif
    if (make_schema(&data, &size, path, &s, &err) != EMBER_STATUS_SUCCESS) goto done;
    if (ember_reader_open(&r, path, s, &err) != EMBER_STATUS_SUCCESS) goto done;
    read_all(r, NULL, NULL);
    if (ember_features_create(&fx, s, 64, 32, 4, EMBER_NUMERIC_LOG_STD, NULL, &err) !=
        EMBER_STATUS_SUCCESS)
        goto done;
    ember_reader_set_skip_bad(r, 1);
    ember_reader_set_label_optional(r, 1);
    if (ember_reader_rewind(r, &err) != EMBER_STATUS_SUCCESS) goto done;
    read_all(r, fx, NULL);
    (void)ember_reader_skipped(r);
    (void)ember_reader_first_skip(r);
    if (ember_features_stats_finish(fx, &err) != EMBER_STATUS_SUCCESS) goto done;
    if (ember_batch_create(&b, fx, BATCH) != EMBER_STATUS_SUCCESS) goto done;
    if (ember_reader_set_shuffle(r, 8, 42) != EMBER_STATUS_SUCCESS) goto done;
    if (ember_reader_rewind(r, &err) != EMBER_STATUS_SUCCESS) goto done;
    read_all(r, fx, b);
done:
    ember_batch_free(b);
    ember_features_free(fx);
    ember_reader_close(r);
    ember_schema_free(s);
    return 0;
}
