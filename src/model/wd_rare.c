/* wd_rare.c: rare ids left out of the deep part's training; see wd_rare.h. */
#include "wd_rare.h"

#include "wd_trainer.h"

#include <stdlib.h>
#include <string.h>

static int64_t ids_of(const ember_batch *b, int f) {
    return b->deep_multi[f] ? b->deep_offs[f][b->n] : b->n;
}

ember_status ember_rare_ids_init(ember_rare_ids *r, const ember_features *fx, int64_t min_count) {
    memset(r, 0, sizeof *r);
    r->min_count = min_count;
    if (min_count <= 1 || fx->n_deep == 0) return EMBER_STATUS_SUCCESS;
    r->n_deep = fx->n_deep;
    r->empty = malloc((size_t)fx->n_deep * sizeof(int64_t));
    r->rows = calloc((size_t)fx->n_deep, sizeof(int64_t *));
    if (r->empty == NULL || r->rows == NULL) goto oom;
    for (int f = 0; f < fx->n_deep; f++) {
        r->empty[f] = -1;
        r->rows[f] = calloc((size_t)fx->field_buckets[f], sizeof(int64_t));
        if (r->rows[f] == NULL) goto oom;
    }
    return EMBER_STATUS_SUCCESS;
oom:
    ember_rare_ids_free(r);
    return EMBER_STATUS_OUT_OF_MEMORY;
}

void ember_rare_ids_free(ember_rare_ids *r) {
    if (r->rows)
        for (int f = 0; f < r->n_deep; f++) free(r->rows[f]);
    free(r->rows);
    free(r->empty);
    memset(r, 0, sizeof *r);
}

void ember_rare_ids_count(ember_rare_ids *r, const ember_batch *b) {
    for (int f = 0; f < r->n_deep; f++) {
        const int64_t n = ids_of(b, f);
        for (int64_t k = 0; k < n; k++) r->rows[f][b->deep_ids[f][k]]++;
    }
}

void ember_rare_ids_finish(ember_rare_ids *r, const ember_features *fx) {
    for (int f = 0; f < r->n_deep; f++) {
        r->empty[f] = -1;
        for (int64_t i = 1; i < fx->field_buckets[f]; i++)
            if (r->rows[f][i] == 0) {
                r->empty[f] = i;
                break;
            }
    }
}

void ember_rare_ids_apply(const ember_rare_ids *r, ember_batch *b) {
    for (int f = 0; f < r->n_deep; f++) {
        const int64_t empty = r->empty[f];
        b->deep_pad[f] = empty;
        if (empty < 0) continue;
        const int64_t n = ids_of(b, f);
        int64_t *ids = b->deep_ids[f];
        for (int64_t k = 0; k < n; k++)
            if (r->rows[f][ids[k]] < r->min_count) ids[k] = empty;
    }
}

ember_status ember_rare_ids_pass(ember_rare_ids *r, const ember_features *fx, ember_reader *rd,
                                 ember_batch *b, uint64_t seed, uint64_t threshold,
                                 ember_model_err *err) {
    if (r->n_deep == 0) return EMBER_STATUS_SUCCESS;
    EMBER_FORWARD_IF_ERROR(ember_reader_rewind(rd, err));
    if (ember_reader_set_shuffle(rd, 0, 0) != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    ember_row row;
    int eof = 0;
    ember_batch_clear(b);
    for (;;) {
        EMBER_FORWARD_IF_ERROR(ember_reader_next(rd, &row, &eof, err));
        if (!eof && !ember_is_holdout_line(seed, threshold, row.line))
            EMBER_FORWARD_IF_ERROR(ember_features_encode(fx, &row, b, err));
        if (b->n == b->cap || eof) {
            ember_rare_ids_count(r, b);
            ember_batch_clear(b);
        }
        if (eof) break;
    }
    ember_rare_ids_finish(r, fx);
    return EMBER_STATUS_SUCCESS;
}
