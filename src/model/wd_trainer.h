/* wd_trainer.h: the training loop behind `ember train` (and the model tests): schema and
 * feature statistics from a first pass, epochs streamed from the file, evaluation,
 * early stopping on validation AUC, checkpoints, NaN detection. */
#ifndef EMBER_MODEL_TRAINER_H
#define EMBER_MODEL_TRAINER_H

#include "wd_checkpoint.h"
#include "wd_metrics.h"

/* Progress within a pass over the training data, every 0.2 s and once when the pass is
 * done. epoch 0 is the first pass of a new model, which reads the data for its statistics
 * and row count (no loss yet; rows_expected is set by its last report). */
typedef struct ember_train_progress {
    int epoch, epochs;
    int64_t rows, rows_expected; /* rows_expected 0 when unknown */
    double running_loss, rows_per_s, elapsed_s;
} ember_train_progress;

typedef struct ember_epoch_report {
    int epoch, epochs;
    double train_loss;
    int64_t train_rows;
    double train_seconds, samples_per_s;
    int has_test, has_valid;
    ember_metrics test, valid;
    int improved; /* validation AUC improved (or no validation) */
    int saved;    /* a checkpoint was written after this epoch */
} ember_epoch_report;

typedef struct ember_train_opts {
    const char *data, *test, *valid;
    ember_data_format format;
    const char *schema;   /* csv */
    char delim;           /* csv */
    int header;           /* csv: skip a header line */
    const char *positive; /* csv/arff positive class */
    const char *label;    /* arff: the label attribute (NULL: "class", else the last) */
    /* features (ignored with resume: the checkpoint's are used) */
    int64_t cat_buckets; /* every categorical field's buckets; 0: sized from the data (see
                            ember_features_size_buckets_from_data), at most
                            EMBER_AUTO_BUCKETS_MAX */
    int64_t cross_buckets;
    const char *field_buckets; /* "NAME=N,..." per-field overrides of cat_buckets */
    int num_bins;
    ember_numeric_mode numeric_mode;
    const char *crosses;   /* NULL: the format's default (Adult: the census crosses) */
    ember_wd_config model; /* fx is set by the trainer */
    int epochs;
    int64_t batch;
    double holdout; /* fraction of the training file held out for validation; < 0: auto
                       (0 with --valid, 0.1 with --test, else 0.2) */
    int shuffle;    /* shuffle buffer of that many lines for training passes (0: file order) */
    int patience;   /* epochs without validation AUC gain before stopping; 0 = never */
    int skip_bad;
    const char *save, *resume;
    ember_backend_kind backend;
    int device;
    int threads; /* CPU threads: > 0 that many, 0 the idle cores (ember_context_set_threads),
                    -1 (default) automatic: one thread for small models (per-op work of a
                    few microseconds, where fork/join costs more than it gains), else the
                    idle cores */
    void (*on_progress)(void *user, const ember_train_progress *p);
    void (*on_epoch)(void *user, const ember_epoch_report *r);
    /* Called once the model exists, before training (the parameter breakdown). */
    void (*on_start)(void *user, const ember_wd_config *cfg, const ember_param_count *pc,
                     const char *device_name);
    void *user;
} ember_train_opts;

void ember_train_opts_defaults(ember_train_opts *o);

typedef struct ember_train_result {
    ember_metrics final;  /* on the test file, else the validation rows */
    const char *final_on; /* "test" or "validation" */
    double train_loss;
    double samples_per_s; /* training rows / training seconds */
    int64_t params;
    ember_param_count count;
    int epochs_run, best_epoch; /* best_epoch 0: resumed, and no epoch beat the checkpoint's
                                   validation AUC (its model is kept) */
    int optimizer_resumed;      /* --resume restored the optimizer state */
    int saves; /* checkpoints written to o->save (0: none, e.g. no epoch improved) */
    int64_t train_rows, skipped_train, skipped_test;
    char first_skip[512];
    double seconds;
} ember_train_result;

ember_status ember_train(const ember_train_opts *o, ember_train_result *res, ember_model_err *err);

/* The feature map `ember train` builds from o's feature settings (crosses, the format's
 * default when o->crosses is NULL; buckets, sized by the statistics pass when
 * o->cat_buckets is 0; the per-field overrides) for a schema, before the statistics pass. */
ember_status ember_train_features(const ember_train_opts *o, const ember_schema *schema,
                                  ember_features **out, ember_model_err *err);

/* The holdout split (validation rows taken from o->data), a function of the line number
 * alone so that every reader of the file, in one process or on many ranks, picks the same
 * rows: o->holdout (or its default: 0 with --valid, 0.1 with --test, else 0.2) as a
 * threshold of 2^32 (UINT64_MAX: a fraction of 1 or more, which is refused), and whether
 * the 1-based `line` is held out. */
uint64_t ember_holdout_threshold(const ember_train_opts *o);
int ember_is_holdout_line(uint64_t seed, uint64_t threshold, int64_t line);

/* The first pass of a new model: the feature statistics (numeric means, deviations and bucket
 * bounds, distinct values per field) into fx, from every row r reads, held-out validation
 * rows included, as `ember encode` takes them: they use no label, and so do not depend on
 * the seed or the holdout fraction; then finishes fx. *rows_trained counts the rows outside
 * the holdout (seed, threshold: ember_is_holdout_line), for the progress bar; none is
 * BAD_DATA. Progress through o->on_progress every 0.2 s and once at the end. Both trainers
 * run it (the ranks of an MPI job each over the whole file, so that it is the single
 * process's whatever their number). */
ember_status ember_train_stats_pass(const ember_train_opts *o, ember_reader *r, ember_features *fx,
                                    uint64_t seed, uint64_t threshold, int64_t *rows_trained,
                                    ember_train_result *res, ember_model_err *err);
/* Which rows validate, in the words a checkpoint keeps beside its validation AUC
 * (ember.valid_on): "file PATH" for o->valid, else "holdout FRACTION". */
void ember_train_valid_on(const ember_train_opts *o, char *buf, size_t n);
/* A resumed run's best validation AUC so far: the checkpoint's, when it was measured on the
 * same rows (valid_on); NAN without a checkpoint (ck NULL), without one saved, or on other
 * rows. */
double ember_train_resumed_best(const ember_checkpoint *ck, const char *valid_on);

/* res->count and res->params of the config, checked against the floats the model holds
 * (INTERNAL when they differ). */
ember_status ember_train_count_params(const ember_wd_config *cfg, int64_t held,
                                      ember_train_result *res, ember_model_err *err);
/* res->skipped_test and res->first_skip (the training file's first, else the test file's)
 * after a run. test may be NULL. */
void ember_train_note_skips(ember_train_result *res, const ember_reader *train,
                            const ember_reader *test);

/* The default crosses of a format ("" for none). */
const char *ember_default_crosses(ember_data_format fmt);

/* The schema of o->data's format: the preset, the CSV spec (o->schema, o->delim,
 * o->header; with a header, o->data's first line names the columns the spec does not), or
 * the ARFF header (o->label); o->positive names the positive class. */
ember_status ember_schema_for(const ember_train_opts *o, ember_schema **out, ember_model_err *err);

/* The thread count `threads = -1` stands for: 1 for a model whose dense layers touch under
 * 64 Mi floats per batch, else 0 (the idle cores). */
int ember_auto_threads(const ember_wd_config *cfg, int64_t batch);

/* Creates a context by kind (device -1: the backend's default) and sets threads (> 0). */
ember_status ember_open_context(ember_backend_kind kind, int device, int threads,
                                ember_context **out, ember_model_err *err);

/* Scores every row of a reader (from its current position) with the model, adding
 * (probability, label) pairs to ev. When sel is not NULL only rows with sel(line) pass. */
ember_status ember_score_reader(ember_wd_model *m, const ember_features *fx, ember_reader *r,
                                ember_batch *b, int (*sel)(void *, int64_t), void *sel_user,
                                ember_eval *ev, ember_model_err *err);

#endif /* EMBER_MODEL_TRAINER_H */
