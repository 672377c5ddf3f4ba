/* train_dist_data.c: the distributed trainer's passes over a file: each rank's share of the
 * rows in global batches (block stride), the agreement at each batch's end, and the metrics
 * of a scoring pass gathered on rank 0. See train_dist.h. */
#include "train_dist_internal.h"

#include <stdlib.h>
#include <string.h>

/* Whether a row of line `line` takes part in a pass that wants `want`. */
static int selected(const dtrainer *t, dist_rows want, int64_t line) {
    if (want == DIST_ROWS_ALL) return 1;
    int held = ember_is_holdout_line(t->cfg.seed, t->threshold, line);
    return want == DIST_ROWS_HELD_OUT ? held : !held;
}

/* The end of a global batch (or of the pass, or this rank's failure): every rank's row
 * count summed and every failure agreed on, in one all-reduce. */
static ember_status batch_end(dtrainer *t, ember_status st, int64_t *n_global,
                              ember_model_err *err) {
    int64_t v[2] = {st == EMBER_STATUS_SUCCESS ? t->b->n : 0, st != EMBER_STATUS_SUCCESS};
    MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    if (v[1] > 0) return dist_wd_agree(t->comm, st, err);
    *n_global = v[0];
    return EMBER_STATUS_SUCCESS;
}

/* The reader's filter: counts the rows the pass wants (every rank sees every line, unparsed)
 * and keeps the k-th when its block, k / B, is this rank's (block mod N). */
typedef struct stripe {
    const dtrainer *t;
    dist_rows want;
    int64_t seen; /* rows of the pass so far, all ranks' */
    int64_t kept; /* the index of the last row kept */
} stripe;

static int keep_line(void *user, int64_t line) {
    stripe *s = user;
    if (!selected(s->t, s->want, line)) return 0;
    const int64_t k = s->seen++;
    if ((k / s->t->o->batch) % s->t->size != s->t->rank) return 0;
    s->kept = k;
    return 1;
}

/* Ends global batch *j: agrees (st: this rank's failure), runs fn when any rank has rows. */
static ember_status end_batch(dtrainer *t, ember_status st, int64_t *j, dist_batch_fn fn,
                              void *user, ember_model_err *err) {
    int64_t n_global = 0;
    EMBER_FORWARD_IF_ERROR(batch_end(t, st, &n_global, err));
    if (n_global > 0) EMBER_FORWARD_IF_ERROR(fn(t, n_global, user, err));
    ember_batch_clear(t->b);
    ++*j;
    return EMBER_STATUS_SUCCESS;
}

/* The pass proper. Rank r's rows of global batch j are rows [j NB + r B, j NB + (r + 1) B)
 * of the pass: its batch j ends when it holds B rows, when a later row of its own comes (a
 * row before was skipped as bad), or at the end, where every rank has counted every row and
 * so knows how many global batches there were. */
static ember_status stream(dtrainer *t, ember_reader *r, stripe *s, dist_batch_fn fn, void *user,
                           ember_model_err *err) {
    const int64_t B = t->o->batch, NB = B * t->size;
    int64_t j = 0;
    ember_batch_clear(t->b);
    for (;;) {
        ember_row row;
        int eof = 0;
        ember_status st = ember_reader_next(r, &row, &eof, err);
        if (st != EMBER_STATUS_SUCCESS) return end_batch(t, st, &j, fn, user, err);
        if (eof) {
            for (const int64_t batches = (s->seen + NB - 1) / NB; j < batches;)
                EMBER_FORWARD_IF_ERROR(end_batch(t, st, &j, fn, user, err));
            return EMBER_STATUS_SUCCESS;
        }
        while (j < s->kept / NB) EMBER_FORWARD_IF_ERROR(end_batch(t, st, &j, fn, user, err));
        st = ember_features_encode(t->fx, &row, t->b, err);
        if (st != EMBER_STATUS_SUCCESS || t->b->n == B)
            EMBER_FORWARD_IF_ERROR(end_batch(t, st, &j, fn, user, err));
    }
}

ember_status dist_stream(dtrainer *t, ember_reader *r, dist_rows want, dist_batch_fn fn, void *user,
                         ember_model_err *err) {
    stripe s = {t, want, 0, -1};
    ember_reader_set_filter(r, keep_line, &s);
    ember_status st = stream(t, r, &s, fn, user, err);
    ember_reader_set_filter(r, NULL, NULL);
    return st;
}

/* Scores this rank's share of a batch into t->ev. */
static ember_status score_batch(dtrainer *t, int64_t n_global, void *user, ember_model_err *err) {
    (void)n_global, (void)user;
    EMBER_FORWARD_IF_ERROR(dist_wd_predict(t->m, t->b, t->probs, err));
    ember_status st = ember_eval_add(&t->ev, t->probs, t->b->label, t->b->n);
    if (st != EMBER_STATUS_SUCCESS)
        ember_merr(err, st, "%s",
                   st == EMBER_STATUS_NUMERIC_ERROR ? "the model scores a row NaN"
                                                    : "out of memory");
    return dist_wd_agree(t->comm, st, err);
}

/* Every rank's (probability, label) pairs gathered on rank 0, which computes the exact
 * metrics and shares them. */
static ember_status gather_metrics(dtrainer *t, ember_metrics *out, ember_model_err *err) {
    int n = (int)t->ev.n, *counts = NULL, *displs = NULL, total = 0;
    ember_eval all = {0};
    ember_status st = EMBER_STATUS_SUCCESS;
    if (t->rank == 0) {
        counts = calloc((size_t)t->size, sizeof *counts);
        displs = calloc((size_t)t->size, sizeof *displs);
        if (!counts || !displs) st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    st = dist_wd_agree(t->comm, st, err);
    if (st == EMBER_STATUS_SUCCESS) {
        MPI_Gather(&n, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
        for (int r = 0; t->rank == 0 && r < t->size; r++) displs[r] = total, total += counts[r];
        if (t->rank == 0) {
            all.prob = malloc((size_t)(total > 0 ? total : 1) * sizeof(float));
            all.label = malloc((size_t)(total > 0 ? total : 1) * sizeof(float));
            all.n = all.cap = total;
            if (!all.prob || !all.label)
                st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
        }
        st = dist_wd_agree(t->comm, st, err);
    }
    if (st == EMBER_STATUS_SUCCESS) {
        MPI_Gatherv(t->ev.prob, n, MPI_FLOAT, all.prob, counts, displs, MPI_FLOAT, 0,
                    MPI_COMM_WORLD);
        MPI_Gatherv(t->ev.label, n, MPI_FLOAT, all.label, counts, displs, MPI_FLOAT, 0,
                    MPI_COMM_WORLD);
        if (t->rank == 0) *out = ember_eval_metrics(&all);
        MPI_Bcast(out, (int)sizeof *out, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
    free(counts);
    free(displs);
    ember_eval_free(&all);
    return st;
}

ember_status dist_evaluate(dtrainer *t, ember_reader *r, dist_rows want, ember_metrics *out,
                           ember_model_err *err) {
    ember_eval_reset(&t->ev);
    ember_status st = ember_reader_rewind(r, err);
    if (st == EMBER_STATUS_SUCCESS && ember_reader_set_shuffle(r, 0, 0) != EMBER_STATUS_SUCCESS)
        st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    EMBER_FORWARD_IF_ERROR(dist_wd_agree(t->comm, st, err));
    EMBER_FORWARD_IF_ERROR(dist_stream(t, r, want, score_batch, NULL, err));
    return gather_metrics(t, out, err);
}
