/* wd_rare.c: rare ids left out of the deep part's training; see wd_rare.h. */
#include "wd_rare.h"

#include "wd_trainer.h"

#include <stdlib.h>
#include <string.h>

static int64_t ids_of(const ember_batch *b, int f) {
    return b->deep_multi[f] ? b->deep_offs[f][b->n] : b->n;
}

void ember_rare_ids_free(ember_rare_ids *r) {
    if (r->rows)
        for (int f = 0; f < r->n_deep; f++) free(r->rows[f]);
    free(r->rows);
    free(r->padding);
    free(r->multi);
    memset(r, 0, sizeof *r);
}

static ember_status alloc_counts(ember_rare_ids *r, const ember_features *fx) {
    const size_t nd = (size_t)fx->n_deep;
    r->n_deep = fx->n_deep;
    r->multi = calloc(nd, 1);
    r->padding = malloc(nd * sizeof(int64_t));
    r->rows = calloc(nd, sizeof(int64_t *));
    if (r->multi == NULL || r->padding == NULL || r->rows == NULL)
        return EMBER_STATUS_OUT_OF_MEMORY;
    for (int f = 0; f < fx->n_deep; f++) {
        r->multi[f] = fx->schema->cols[fx->deep_col[f]].kind == EMBER_COL_MULTI;
        r->padding[f] = -1;
        r->rows[f] = calloc((size_t)fx->field_buckets[f], sizeof(int64_t));
        if (r->rows[f] == NULL) return EMBER_STATUS_OUT_OF_MEMORY;
    }
    return EMBER_STATUS_SUCCESS;
}

static void add_batch(ember_rare_ids *r, const ember_batch *b) {
    for (int f = 0; f < r->n_deep; f++) {
        const int64_t n = ids_of(b, f);
        for (int64_t k = 0; k < n; k++) r->rows[f][b->deep_ids[f][k]]++;
    }
}

/* Each single-valued field's padding row: its first empty bucket after the missing id. */
static void choose_padding(ember_rare_ids *r, const ember_features *fx) {
    for (int f = 0; f < r->n_deep; f++) {
        if (r->multi[f]) continue;
        for (int64_t i = 1; i < fx->field_buckets[f] && r->padding[f] < 0; i++)
            if (r->rows[f][i] == 0) r->padding[f] = i;
    }
}

static ember_status count_rows(ember_rare_ids *r, const ember_features *fx, ember_reader *rd,
                               ember_batch *b, uint64_t seed, uint64_t threshold,
                               ember_model_err *err) {
    EMBER_FORWARD_IF_ERROR(ember_reader_rewind(rd, err));
    if (ember_reader_set_shuffle(rd, 0, 0) != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    ember_row row;
    int eof = 0;
    while (!eof) {
        EMBER_FORWARD_IF_ERROR(ember_reader_next(rd, &row, &eof, err));
        if (!eof && !ember_is_holdout_line(seed, threshold, row.line))
            EMBER_FORWARD_IF_ERROR(ember_features_encode(fx, &row, b, err));
        if (b->n == b->cap || eof) {
            add_batch(r, b);
            ember_batch_clear(b);
        }
    }
    choose_padding(r, fx);
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_rare_ids_count(ember_rare_ids *r, const ember_features *fx, int64_t min_count,
                                  ember_reader *rd, uint64_t seed, uint64_t threshold,
                                  ember_model_err *err) {
    memset(r, 0, sizeof *r);
    r->min_count = min_count;
    if (min_count <= 1 || fx->n_deep == 0) return EMBER_STATUS_SUCCESS;
    ember_batch *b = NULL;
    ember_status st = alloc_counts(r, fx);
    if (st == EMBER_STATUS_SUCCESS) st = ember_batch_create(&b, fx, 1024);
    if (st != EMBER_STATUS_SUCCESS)
        st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    else
        st = count_rows(r, fx, rd, b, seed, threshold, err);
    ember_batch_free(b);
    if (st != EMBER_STATUS_SUCCESS) ember_rare_ids_free(r);
    return st;
}

int64_t ember_rare_ids_padding(const ember_rare_ids *r, int f) {
    return f < r->n_deep ? r->padding[f] : -1;
}

/* A bag field: the rare ids leave their bags, which close up. */
static void drop_from_bags(const ember_rare_ids *r, int f, ember_batch *b) {
    int64_t *ids = b->deep_ids[f], *offs = b->deep_offs[f];
    int64_t kept = 0, start = 0;
    for (int64_t i = 0; i < b->n; i++) {
        const int64_t end = offs[i + 1];
        for (int64_t k = start; k < end; k++)
            if (r->rows[f][ids[k]] >= r->min_count) ids[kept++] = ids[k];
        start = end;
        offs[i + 1] = kept;
    }
}

void ember_rare_ids_apply(const ember_rare_ids *r, ember_batch *b) {
    for (int f = 0; f < r->n_deep; f++) {
        if (r->multi[f]) {
            drop_from_bags(r, f, b);
            continue;
        }
        const int64_t padding = r->padding[f];
        if (padding < 0) continue;
        b->deep_pad[f] = padding;
        int64_t *ids = b->deep_ids[f];
        for (int64_t k = 0; k < b->n; k++)
            if (r->rows[f][ids[k]] < r->min_count) ids[k] = padding;
    }
}
