/* train_dist_internal.h: what train_dist.c (the run) and train_dist_data.c (the passes over
 * a file) share. */
#ifndef EMBER_CLI_TRAIN_DIST_INTERNAL_H
#define EMBER_CLI_TRAIN_DIST_INTERNAL_H

#include "train_dist.h"
#include "train_dist_model.h"
#include "wd_epochs.h"
#include "wd_rare.h"

typedef struct dtrainer {
    const ember_train_opts *o;
    ember_dist_comm *comm;
    int rank, size;
    ember_wd_config cfg;
    ember_schema *schema;
    ember_features *fx_owned;
    const ember_features *fx;
    ember_checkpoint ck;
    int have_ck;
    ember_context *ctx;
    dist_wd *m;
    ember_reader *train, *test, *valid;
    ember_batch *b; /* this rank's rows of the global batch */
    ember_rare_ids rare;
    ember_eval ev; /* this rank's scores of a pass */
    float *probs, *best;
    uint64_t threshold;                /* the holdout split (ember_holdout_threshold) */
    char valid_on[EMBER_VALID_ON_MAX]; /* which rows validate (ember_train_valid_on) */
    int has_valid, has_test;
    int64_t rows_expected; /* training rows of one pass (all ranks) */
    int64_t global_step;
    ember_train_result *res;
    ember_epoch_driver drv; /* the epoch loop's view of this trainer */
} dtrainer;

typedef enum dist_rows { DIST_ROWS_ALL, DIST_ROWS_TRAINING, DIST_ROWS_HELD_OUT } dist_rows;

/* Called with this rank's rows of each global batch in t->b (n_global rows on all ranks);
 * collective. */
typedef ember_status (*dist_batch_fn)(dtrainer *t, int64_t n_global, void *user,
                                      ember_model_err *err);

/* Streams r from where it stands: the rows `want` selects, this rank's share of each global
 * batch in t->b, fn at each batch's end. Collective. */
ember_status dist_stream(dtrainer *t, ember_reader *r, dist_rows want, dist_batch_fn fn, void *user,
                         ember_model_err *err);

/* Scores the rows `want` selects of r (from its start, in file order) on every rank and
 * gives every rank the metrics of all of them. Collective. */
ember_status dist_evaluate(dtrainer *t, ember_reader *r, dist_rows want, ember_metrics *out,
                           ember_model_err *err);

#endif /* EMBER_CLI_TRAIN_DIST_INTERNAL_H */
