/* wd_epochs.c: the epoch loop with early stopping and checkpoints; see wd_epochs.h. */
#include "wd_epochs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void ember_epochs_kept_note(const ember_train_opts *o, const ember_epoch_driver *d, char *buf,
                            size_t n) {
    if (o->save == NULL)
        buf[0] = '\0';
    else if (d->saved)
        snprintf(buf, n, "; the last good checkpoint (after epoch %d) is kept in %s",
                 d->saved_epoch, o->save);
    else
        snprintf(buf, n, "; no checkpoint was written");
}

static ember_status save_checkpoint(const ember_train_opts *o, ember_epoch_driver *d,
                                    ember_model_err *err) {
    ember_status st = d->save(d->self, o->save, err);
    if (st == EMBER_STATUS_NUMERIC_ERROR) { /* the weights diverged at the end of the epoch */
        char note[600], msg[sizeof err->msg];
        ember_epochs_kept_note(o, d, note, sizeof note);
        snprintf(msg, sizeof msg, "%s", err->msg);
        return ember_merr(err, st, "training diverged: %.900s%s", msg, note);
    }
    if (st != EMBER_STATUS_SUCCESS) return st;
    d->saved_epoch = (int)d->epochs_done(d->self);
    d->saved = 1;
    return EMBER_STATUS_SUCCESS;
}

/* What early stopping tracks across epochs. */
typedef struct progress {
    double best_auc;
    int since_best, have_best;
    double train_seconds;
    int64_t train_rows;
} progress;

/* After an epoch: validation and test metrics, the best model so far and its checkpoint. */
static ember_status finish_epoch(const ember_train_opts *o, ember_epoch_driver *d,
                                 ember_epoch_report *rep, progress *pg, ember_train_result *res,
                                 ember_model_err *err) {
    if (d->has_valid) {
        EMBER_FORWARD_IF_ERROR(d->evaluate(d->self, EMBER_EVAL_VALID, &rep->valid, err));
        rep->has_valid = 1;
    }
    if (d->has_test) {
        EMBER_FORWARD_IF_ERROR(d->evaluate(d->self, EMBER_EVAL_TEST, &rep->test, err));
        rep->has_test = 1;
    }
    res->epochs_run = rep->epoch;
    res->train_loss = rep->train_loss;
    rep->improved = !d->has_valid || (rep->valid.auc > pg->best_auc);
    if (!rep->improved) {
        pg->since_best++;
        return EMBER_STATUS_SUCCESS;
    }
    pg->since_best = 0;
    res->best_epoch = rep->epoch;
    if (d->has_valid) { /* the best epoch's model is the one kept */
        pg->best_auc = rep->valid.auc;
        d->set_best_valid(d->self, rep->valid.auc, d->valid_on);
        EMBER_FORWARD_IF_ERROR(d->get_params(d->self, d->best, err));
        pg->have_best = 1;
    }
    if (o->save != NULL) {
        EMBER_FORWARD_IF_ERROR(save_checkpoint(o, d, err));
        rep->saved = 1;
        res->saves++;
    }
    return EMBER_STATUS_SUCCESS;
}

/* The final metrics: on the test file, else the validation rows, else the training rows. */
static ember_status final_metrics(ember_epoch_driver *d, ember_train_result *res,
                                  ember_model_err *err) {
    const ember_eval_rows rows = d->has_test    ? EMBER_EVAL_TEST
                                 : d->has_valid ? EMBER_EVAL_VALID
                                                : EMBER_EVAL_TRAINING;
    res->final_on = d->has_test ? "test" : d->has_valid ? "validation" : "training";
    return d->evaluate(d->self, rows, &res->final, err);
}

/* A resumed run starts from its checkpoint's validation AUC (and model) when it was measured
 * on the same rows, as the uninterrupted run would have. */
static ember_status resume_best(ember_epoch_driver *d, progress *pg, ember_model_err *err) {
    if (!d->has_valid || isnan(d->resumed_best_auc)) return EMBER_STATUS_SUCCESS;
    pg->best_auc = d->resumed_best_auc;
    pg->have_best = 1;
    d->set_best_valid(d->self, d->resumed_best_auc, d->valid_on);
    return d->get_params(d->self, d->best, err);
}

ember_status ember_run_epochs(const ember_train_opts *o, ember_epoch_driver *d,
                              ember_train_result *res, ember_model_err *err) {
    progress pg = {-1.0, 0, 0, 0.0, 0};
    EMBER_FORWARD_IF_ERROR(resume_best(d, &pg, err));
    for (int epoch = 1; epoch <= o->epochs; epoch++) {
        ember_epoch_report rep;
        memset(&rep, 0, sizeof rep);
        EMBER_FORWARD_IF_ERROR(d->train_epoch(d->self, epoch, &rep, err));
        pg.train_seconds += rep.train_seconds;
        pg.train_rows += rep.train_rows;
        EMBER_FORWARD_IF_ERROR(finish_epoch(o, d, &rep, &pg, res, err));
        if (o->on_epoch) o->on_epoch(o->user, &rep);
        if (d->has_valid && o->patience > 0 && pg.since_best >= o->patience) break;
    }
    /* Early stopping keeps the best epoch's model. */
    if (pg.have_best && res->best_epoch != res->epochs_run)
        EMBER_FORWARD_IF_ERROR(d->set_params(d->self, d->best, err));
    if (o->epochs == 0 && o->save != NULL) {
        EMBER_FORWARD_IF_ERROR(save_checkpoint(o, d, err));
        res->saves++;
    }
    res->samples_per_s = pg.train_seconds > 0 ? pg.train_rows / pg.train_seconds : 0;
    res->train_rows = pg.train_rows;
    return final_metrics(d, res, err);
}
