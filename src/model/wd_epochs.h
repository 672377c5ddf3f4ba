/* wd_epochs.h: the epochs of a training run, whatever holds the model: after each training
 * pass the validation and test metrics, early stopping on validation AUC (the best epoch's
 * parameters kept), checkpoints after each improving epoch, and the final metrics. One
 * process (wd_trainer.c) and the ranks of an MPI job (src/cli/train_dist.c) run the same
 * loop over their own passes, evaluations and saves. */
#ifndef EMBER_MODEL_EPOCHS_H
#define EMBER_MODEL_EPOCHS_H

#include "wd_trainer.h"

typedef enum ember_eval_rows {
    EMBER_EVAL_VALID,   /* the --valid file, else the held-out rows of --data */
    EMBER_EVAL_TEST,    /* the --test file */
    EMBER_EVAL_TRAINING /* every row of --data */
} ember_eval_rows;

/* What the loop asks of the trainer; self is passed back. */
typedef struct ember_epoch_driver {
    void *self;
    int has_valid, has_test;
    float *best; /* room for every parameter: the best epoch's copy */
    /* One pass over the training rows; fills rep's training fields. */
    ember_status (*train_epoch)(void *self, int epoch, ember_epoch_report *rep,
                                ember_model_err *err);
    ember_status (*evaluate)(void *self, ember_eval_rows rows, ember_metrics *out,
                             ember_model_err *err);
    ember_status (*get_params)(void *self, float *host, ember_model_err *err);
    ember_status (*set_params)(void *self, const float *host, ember_model_err *err);
    /* Writes the model with its optimizer state to path. */
    ember_status (*save)(void *self, const char *path, ember_model_err *err);
    int64_t (*epochs_done)(void *self);
    /* Which rows validate (ember_train_valid_on), and a resumed run's best validation AUC on
     * them (ember_train_resumed_best; NAN: none): only epochs that beat it are saved, and if
     * none does the checkpoint's model is kept (best epoch 0). */
    const char *valid_on;
    double resumed_best_auc;
    /* Keeps the best validation AUC with the model, so that its checkpoints carry it. */
    void (*set_best_valid)(void *self, double auc, const char *valid_on);
    /* Set by the loop: a checkpoint was written in this run, after that epoch. */
    int saved, saved_epoch;
} ember_epoch_driver;

/* The epochs o asks for (o->epochs, early stopping after o->patience), then the final
 * metrics; fills res's epoch, loss, rate, save and final fields. */
ember_status ember_run_epochs(const ember_train_opts *o, ember_epoch_driver *d,
                              ember_train_result *res, ember_model_err *err);

/* The end of a divergence message: what became of the checkpoint (said only of what this
 * run did; "" without --save). */
void ember_epochs_kept_note(const ember_train_opts *o, const ember_epoch_driver *d, char *buf,
                            size_t n);

#endif /* EMBER_MODEL_EPOCHS_H */
