/* wd_trainer.c: streaming epochs, evaluation, early stopping, checkpoints; see wd_trainer.h. */
#include "wd_trainer.h"

#include "wd_epochs.h"
#include "wd_hash.h"
#include "wd_rare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ember_train_opts_defaults(ember_train_opts *o) {
    memset(o, 0, sizeof *o);
    o->format = EMBER_FORMAT_ADULT;
    o->delim = ',';
    o->cat_buckets = 0; /* sized from the data */
    o->cross_buckets = 10000;
    o->num_bins = 10;
    o->numeric_mode = EMBER_NUMERIC_STD;
    ember_wd_config_defaults(&o->model);
    o->epochs = 12; /* early stopping usually ends training before */
    o->batch = 64;
    o->holdout = -1.0;
    o->patience = 2;
    /* File order trains on whatever order the file has (sorted by time or by label); a
     * shuffled order gained 0.0005-0.005 AUC on Adult and MovieLens (docs/quality.md). */
    o->shuffle = 100000;
    o->backend = EMBER_BACKEND_CPU;
    o->device = -1;
    o->threads = -1;
}

/* Floats one step's dense layers touch per example: below about a million per batch the
 * ops take microseconds, and a second thread costs more than it gains (on a loaded
 * machine, far more: spinning OpenMP and OpenBLAS threads). */
int ember_auto_threads(const ember_wd_config *cfg, int64_t batch) {
    const ember_features *fx = cfg->fx;
    double width = (double)fx->n_deep * (double)cfg->emb_dim + fx->n_num;
    double work = width;
    for (int l = 0; l < cfg->nhidden; l++) {
        work += width * (double)cfg->hidden[l];
        width = (double)cfg->hidden[l];
    }
    return (double)batch * work < 64.0 * 1024 * 1024 ? 1 : 0;
}

ember_status ember_train_features(const ember_train_opts *o, const ember_schema *schema,
                                  ember_features **out, ember_model_err *err) {
    const char *crosses = o->crosses != NULL ? o->crosses : ember_default_crosses(o->format);
    const int64_t buckets = o->cat_buckets > 0 ? o->cat_buckets : EMBER_AUTO_BUCKETS_MAX;
    EMBER_FORWARD_IF_ERROR(ember_features_create(out, schema, buckets, o->cross_buckets,
                                                 o->num_bins, o->numeric_mode, crosses, err));
    ember_status st = o->cat_buckets > 0 ? EMBER_STATUS_SUCCESS
                                         : ember_features_size_buckets_from_data(*out, err);
    if (st == EMBER_STATUS_SUCCESS)
        st = ember_features_set_field_buckets(*out, o->field_buckets, err);
    if (st != EMBER_STATUS_SUCCESS) {
        ember_features_free(*out);
        *out = NULL;
    }
    return st;
}

const char *ember_default_crosses(ember_data_format fmt) {
    /* The census crosses of the Wide&Deep tutorial (age enters through its buckets). */
    if (fmt == EMBER_FORMAT_ADULT)
        return "education*occupation,age*education*occupation,native-country*occupation";
    return "";
}

ember_status ember_schema_for(const ember_train_opts *o, ember_schema **out, ember_model_err *err) {
    switch (o->format) {
    case EMBER_FORMAT_ADULT:
    case EMBER_FORMAT_CRITEO:
        return ember_schema_preset(o->format, out, err);
    case EMBER_FORMAT_ARFF:
        return ember_schema_from_arff(o->data, o->label, o->positive, out, err);
    case EMBER_FORMAT_CSV: {
        ember_status st =
            ember_schema_from_spec(o->schema, o->delim, o->header, o->positive, out, err);
        if (st == EMBER_STATUS_SUCCESS &&
            (st = ember_schema_names_from_header(*out, o->data, err)) != EMBER_STATUS_SUCCESS) {
            ember_schema_free(*out);
            *out = NULL;
        }
        return st;
    }
    }
    return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "unknown format");
}

ember_status ember_open_context(ember_backend_kind kind, int device, int threads,
                                ember_context **out, ember_model_err *err) {
    ember_status st = ember_context_create(out, kind, device);
    if (st != EMBER_STATUS_SUCCESS && device == -1 && kind != EMBER_BACKEND_OPENCL)
        st = ember_context_create(out, kind, 0);
    if (st != EMBER_STATUS_SUCCESS)
        return ember_merr(err, st, "cannot create a %s context: %s: %s",
                          ember_backend_name(kind) ? ember_backend_name(kind) : "?",
                          ember_status_name(st), ember_last_error());
    if (threads > 0) {
        st = ember_context_set_threads(*out, threads);
        if (st != EMBER_STATUS_SUCCESS) {
            ember_merr(err, st, "setting %d threads: %s", threads, ember_context_last_error(*out));
            ember_context_destroy(*out);
            *out = NULL;
            return st;
        }
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_score_reader(ember_wd_model *m, const ember_features *fx, ember_reader *r,
                                ember_batch *b, int (*sel)(void *, int64_t), void *sel_user,
                                ember_eval *ev, ember_model_err *err) {
    float *probs = malloc((size_t)b->cap * sizeof(float));
    if (probs == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    ember_status st = EMBER_STATUS_SUCCESS;
    ember_row row;
    int eof = 0;
    ember_batch_clear(b);
    for (;;) {
        st = ember_reader_next(r, &row, &eof, err);
        if (st != EMBER_STATUS_SUCCESS) break;
        if (!eof) {
            if (sel != NULL && !sel(sel_user, row.line)) continue;
            st = ember_features_encode(fx, &row, b, err);
            if (st != EMBER_STATUS_SUCCESS) break;
        }
        if (b->n == b->cap || (eof && b->n > 0)) {
            st = ember_wd_predict(m, b, probs, err);
            if (st != EMBER_STATUS_SUCCESS) break;
            st = ember_eval_add(ev, probs, b->label, b->n);
            if (st != EMBER_STATUS_SUCCESS) {
                ember_merr(err, st, "%s",
                           st == EMBER_STATUS_NUMERIC_ERROR ? "the model scores a row NaN"
                                                            : "out of memory");
                break;
            }
            ember_batch_clear(b);
        }
        if (eof) break;
    }
    free(probs);
    return st;
}

typedef struct holdout_sel {
    uint64_t seed;
    uint64_t threshold; /* of 2^32 */
    int want;           /* 1: select held-out rows; 0: the others */
} holdout_sel;

/* The fraction of --data held out: o->holdout, or its default. Early stopping needs
 * validation rows even when a test file is given (the test file must not choose the epoch). */
static double holdout_fraction(const ember_train_opts *o) {
    if (o->holdout >= 0) return o->holdout;
    return o->valid != NULL ? 0.0 : o->test != NULL ? 0.1 : 0.2;
}

uint64_t ember_holdout_threshold(const ember_train_opts *o) {
    const double holdout = holdout_fraction(o);
    return holdout >= 1.0 ? UINT64_MAX : (uint64_t)(holdout * 4294967296.0);
}

void ember_train_valid_on(const ember_train_opts *o, char *buf, size_t n) {
    if (o->valid != NULL)
        snprintf(buf, n, "file %s", o->valid);
    else
        snprintf(buf, n, "holdout %.9g", holdout_fraction(o));
}

double ember_train_resumed_best(const ember_checkpoint *ck, const char *valid_on) {
    return ck != NULL && strcmp(ck->valid_on, valid_on) == 0 ? ck->best_valid_auc : NAN;
}

int ember_is_holdout_line(uint64_t seed, uint64_t threshold, int64_t line) {
    if (threshold == 0) return 0;
    uint64_t x = ember_hash_combine(seed ^ 0x5eed5eed5eed5eedull, (uint64_t)line);
    return (x >> 32) < threshold;
}

static int is_holdout(const holdout_sel *h, int64_t line) {
    return ember_is_holdout_line(h->seed, h->threshold, line);
}

static int sel_fn(void *user, int64_t line) {
    holdout_sel *h = user;
    return is_holdout(h, line) == h->want;
}

typedef struct trainer {
    const ember_train_opts *o;
    ember_wd_config cfg;
    ember_schema *schema;
    ember_features *fx_owned;
    const ember_features *fx;
    ember_checkpoint ck;
    int have_ck;
    ember_context *ctx;
    ember_wd_model *m;
    ember_reader *train, *test, *valid;
    ember_batch *b;
    ember_rare_ids rare;
    ember_eval ev;
    float *best;
    holdout_sel train_sel, valid_sel;
    int has_valid, has_test;
    char valid_on[EMBER_VALID_ON_MAX]; /* which rows validate (ember_wd_valid_on) */
    int64_t rows_expected;             /* training rows of one pass; 0 until known */
    int64_t global_step;
    ember_train_result *res;
    ember_epoch_driver drv; /* the epoch loop's view of this trainer (wd_epochs.h) */
} trainer;

static void trainer_free(trainer *t) {
    ember_reader_close(t->train);
    ember_reader_close(t->test);
    ember_reader_close(t->valid);
    ember_batch_free(t->b);
    ember_rare_ids_free(&t->rare);
    ember_eval_free(&t->ev);
    free(t->best);
    ember_wd_free(t->m);
    ember_context_destroy(t->ctx);
    ember_features_free(t->fx_owned);
    if (t->have_ck) ember_checkpoint_free(&t->ck);
    ember_schema_free(t->schema);
}

static ember_status evaluate(trainer *t, ember_reader *r, holdout_sel *sel, ember_metrics *out,
                             ember_model_err *err) {
    ember_eval_reset(&t->ev);
    EMBER_FORWARD_IF_ERROR(ember_reader_rewind(r, err));
    if (ember_reader_set_shuffle(r, 0, 0) != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    EMBER_FORWARD_IF_ERROR(
        ember_score_reader(t->m, t->fx, r, t->b, sel ? sel_fn : NULL, sel, &t->ev, err));
    *out = ember_eval_metrics(&t->ev);
    return EMBER_STATUS_SUCCESS;
}

/* The validation rows: the --valid file, else the held-out rows of --data. */
static ember_status evaluate_valid(trainer *t, ember_metrics *out, ember_model_err *err) {
    return t->valid ? evaluate(t, t->valid, NULL, out, err)
                    : evaluate(t, t->train, &t->valid_sel, out, err);
}

/* Resuming: the checkpoint's schema, features and architecture (learning settings stay
 * the caller's); an ARFF data file must declare the model's attributes. */
static ember_status features_from_checkpoint(trainer *t, ember_model_err *err) {
    const ember_train_opts *o = t->o;
    EMBER_FORWARD_IF_ERROR(ember_checkpoint_read(o->resume, &t->ck, err));
    t->have_ck = 1;
    t->fx = t->ck.fx;
    t->cfg.emb_dim = t->ck.cfg.emb_dim;
    t->cfg.nhidden = t->ck.cfg.nhidden;
    memcpy(t->cfg.hidden, t->ck.cfg.hidden, sizeof t->cfg.hidden);
    if (ember_schema_copy(t->fx->schema, &t->schema) != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    if (t->schema->format != EMBER_FORMAT_ARFF) return EMBER_STATUS_SUCCESS;
    ember_schema *fs = NULL;
    const char *label = t->schema->cols[t->schema->label_col].name;
    EMBER_FORWARD_IF_ERROR(ember_schema_from_arff(o->data, label, t->schema->positive, &fs, err));
    int same = ember_schema_equal(fs, t->schema);
    ember_schema_free(fs);
    if (!same)
        return ember_merr(err, EMBER_STATUS_BAD_DATA,
                          "%s: its attributes differ from those of the model in %s", o->data,
                          o->resume);
    return EMBER_STATUS_SUCCESS;
}

/* A new model: the schema of the format and the feature map the options ask for. */
static ember_status features_from_options(trainer *t, ember_model_err *err) {
    const ember_train_opts *o = t->o;
    EMBER_FORWARD_IF_ERROR(ember_schema_for(o, &t->schema, err));
    EMBER_FORWARD_IF_ERROR(ember_train_features(o, t->schema, &t->fx_owned, err));
    t->fx = t->fx_owned;
    return EMBER_STATUS_SUCCESS;
}

static ember_status open_reader(trainer *t, const char *path, ember_reader **r,
                                ember_model_err *err) {
    if (path == NULL) return EMBER_STATUS_SUCCESS;
    EMBER_FORWARD_IF_ERROR(ember_reader_open(r, path, t->schema, err));
    ember_reader_set_skip_bad(*r, t->o->skip_bad);
    return EMBER_STATUS_SUCCESS;
}

/* The holdout split and the readers of the training, test and validation files. */
static ember_status open_data(trainer *t, ember_model_err *err) {
    const ember_train_opts *o = t->o;
    const uint64_t threshold = ember_holdout_threshold(o);
    if (threshold == UINT64_MAX)
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "holdout must be below 1");
    holdout_sel sel = {t->cfg.seed, threshold, 0};
    t->train_sel = sel;
    t->valid_sel = sel;
    t->valid_sel.want = 1;
    EMBER_FORWARD_IF_ERROR(open_reader(t, o->data, &t->train, err));
    EMBER_FORWARD_IF_ERROR(open_reader(t, o->test, &t->test, err));
    EMBER_FORWARD_IF_ERROR(open_reader(t, o->valid, &t->valid, err));
    t->has_valid = t->valid != NULL || threshold > 0;
    t->has_test = t->test != NULL;
    ember_train_valid_on(o, t->valid_on, sizeof t->valid_on);
    return EMBER_STATUS_SUCCESS;
}

/* The first pass's progress (epoch 0): rows read so far, all of them when done. */
static void first_pass_progress(const ember_train_opts *o, int64_t rows, double t0, int done) {
    double secs = ember_now() - t0;
    ember_train_progress p = {.epoch = 0,
                              .epochs = o->epochs,
                              .rows = rows,
                              .rows_expected = done ? rows : 0,
                              .running_loss = NAN,
                              .rows_per_s = secs > 1e-9 ? rows / secs : 0,
                              .elapsed_s = secs};
    o->on_progress(o->user, &p);
}

ember_status ember_train_stats_pass(const ember_train_opts *o, ember_reader *r, ember_features *fx,
                                    uint64_t seed, uint64_t threshold, int64_t *rows_trained,
                                    ember_train_result *res, ember_model_err *err) {
    const double t0 = ember_now();
    double last_report = t0;
    ember_row row;
    int eof = 0;
    *rows_trained = 0;
    for (int64_t lines = 0;; lines++) {
        EMBER_FORWARD_IF_ERROR(ember_reader_next(r, &row, &eof, err));
        if (eof) break;
        if (o->on_progress && (lines & 1023) == 0 && ember_now() - last_report > 0.2) {
            last_report = ember_now();
            first_pass_progress(o, *rows_trained, t0, 0);
        }
        ember_features_stats_add(fx, &row);
        if (!ember_is_holdout_line(seed, threshold, row.line)) ++*rows_trained;
    }
    if (o->on_progress) first_pass_progress(o, *rows_trained, t0, 1);
    res->skipped_train = ember_reader_skipped(r);
    EMBER_FORWARD_IF_ERROR(ember_features_stats_finish(fx, err));
    if (*rows_trained == 0)
        return ember_merr(err, EMBER_STATUS_BAD_DATA, "%s: no training rows", o->data);
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_train_count_params(const ember_wd_config *cfg, int64_t held,
                                      ember_train_result *res, ember_model_err *err) {
    ember_widedeep_spec spec;
    ember_wd_spec_storage ss;
    ember_status st = ember_wd_spec_from_config(cfg, &spec, &ss);
    if (st == EMBER_STATUS_SUCCESS) {
        st = ember_widedeep_count_params(&spec, &res->count);
        ember_wd_spec_storage_free(&ss);
    }
    if (st != EMBER_STATUS_SUCCESS)
        return ember_merr(err, st, "counting parameters: %s", ember_last_error());
    res->params = res->count.allocated;
    if (res->params != held)
        return ember_merr(err, EMBER_STATUS_INTERNAL,
                          "the model holds %lld floats, the count says %lld", (long long)held,
                          (long long)res->params);
    return EMBER_STATUS_SUCCESS;
}

void ember_train_note_skips(ember_train_result *res, const ember_reader *train,
                            const ember_reader *test) {
    res->skipped_test = test ? ember_reader_skipped(test) : 0;
    const char *fs = ember_reader_first_skip(train);
    if (!fs[0] && test) fs = ember_reader_first_skip(test);
    snprintf(res->first_skip, sizeof res->first_skip, "%.500s", fs);
}

/* The context and the model (a resumed one with its parameters, and its optimizer state
 * when its optimizers are the ones asked for now), the batch and the best-epoch copy. */
static ember_status build_model(trainer *t, ember_train_result *res, ember_model_err *err) {
    const ember_train_opts *o = t->o;
    const ember_wd_config *cfg = &t->cfg;
    int threads = o->threads >= 0 ? o->threads : ember_auto_threads(cfg, o->batch);
    EMBER_FORWARD_IF_ERROR(ember_open_context(o->backend, o->device, threads, &t->ctx, err));
    EMBER_FORWARD_IF_ERROR(ember_wd_create(t->ctx, cfg, o->batch, &t->m, err));
    if (t->have_ck) {
        EMBER_FORWARD_IF_ERROR(ember_checkpoint_apply(&t->ck, t->m, err));
        if (cfg->wide_opt == t->ck.cfg.wide_opt && cfg->deep_opt == t->ck.cfg.deep_opt &&
            cfg->emb_opt == t->ck.cfg.emb_opt)
            EMBER_FORWARD_IF_ERROR(ember_checkpoint_load_optimizer(&t->ck, t->m, o->resume,
                                                                   &res->optimizer_resumed, err));
    }
    if (ember_batch_create(&t->b, t->fx, o->batch) != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    EMBER_FORWARD_IF_ERROR(ember_train_count_params(&t->cfg, ember_wd_num_params(t->m), res, err));
    t->best = malloc((size_t)res->params * sizeof(float));
    if (t->best == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    return EMBER_STATUS_SUCCESS;
}

static ember_status diverged(const trainer *t, float loss, int epoch, int64_t steps,
                             ember_model_err *err) {
    const ember_train_opts *o = t->o;
    char note[600];
    ember_epochs_kept_note(o, &t->drv, note, sizeof note);
    return ember_merr(err, EMBER_STATUS_NUMERIC_ERROR,
                      "training diverged: loss is %s at epoch %d, step %lld "
                      "(global step %lld; %s lines %lld-%lld)%s",
                      isnan(loss) ? "NaN" : "infinite", epoch, (long long)steps + 1,
                      (long long)t->global_step, o->data, (long long)t->b->line[0],
                      (long long)t->b->line[t->b->n - 1], note);
}

/* One pass over the training rows (each epoch its own order, fixed by the seed and the
 * epochs already trained, which a resumed run restores); fills rep's training fields. */
/* An epoch's progress: rows trained so far, the running loss. */
static void epoch_progress(const trainer *t, int epoch, int64_t rows, double run_loss, double e0) {
    double secs = ember_now() - e0;
    ember_train_progress p = {.epoch = epoch,
                              .epochs = t->o->epochs,
                              .rows = rows,
                              .rows_expected = t->rows_expected,
                              .running_loss = run_loss,
                              .rows_per_s = rows / (secs > 1e-9 ? secs : 1e-9),
                              .elapsed_s = secs};
    t->o->on_progress(t->o->user, &p);
}

static ember_status train_epoch(void *self, int epoch, ember_epoch_report *rep,
                                ember_model_err *err) {
    trainer *t = self;
    const ember_train_opts *o = t->o;
    EMBER_FORWARD_IF_ERROR(ember_reader_rewind(t->train, err));
    uint64_t order =
        ember_hash_combine(t->cfg.seed ^ 0x5ca1ab1eull, (uint64_t)ember_wd_epochs_done(t->m));
    if (ember_reader_set_shuffle(t->train, o->shuffle, order) != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory (--shuffle)");
    const double e0 = ember_now();
    double loss_sum = 0.0, run_loss = 0.0, last_report = e0;
    int64_t rows = 0, steps = 0;
    int eof = 0;
    ember_row row;
    ember_batch_clear(t->b);
    for (;;) {
        EMBER_FORWARD_IF_ERROR(ember_reader_next(t->train, &row, &eof, err));
        if (!eof) {
            if (is_holdout(&t->train_sel, row.line)) continue;
            EMBER_FORWARD_IF_ERROR(ember_features_encode(t->fx, &row, t->b, err));
        }
        if (t->b->n == t->b->cap || (eof && t->b->n > 0)) {
            float loss;
            ember_rare_ids_apply(&t->rare, t->b);
            t->global_step++;
            EMBER_FORWARD_IF_ERROR(ember_wd_train_step(t->m, t->b, &loss, err));
            if (!isfinite(loss)) return diverged(t, loss, epoch, steps, err);
            loss_sum += (double)loss * (double)t->b->n;
            rows += t->b->n;
            steps++;
            run_loss = steps == 1 ? loss : 0.98 * run_loss + 0.02 * loss;
            ember_batch_clear(t->b);
            if (o->on_progress && ember_now() - last_report > 0.2) {
                last_report = ember_now();
                epoch_progress(t, epoch, rows, run_loss, e0);
            }
        }
        if (eof) break;
    }
    if (o->on_progress) epoch_progress(t, epoch, rows, run_loss, e0); /* the whole epoch */
    ember_status st = ember_context_synchronize(t->ctx);
    if (st != EMBER_STATUS_SUCCESS)
        return ember_merr(err, st, "synchronize: %s", ember_context_last_error(t->ctx));
    ember_wd_set_epochs_done(t->m, ember_wd_epochs_done(t->m) + 1);
    rep->epoch = epoch;
    rep->epochs = o->epochs;
    rep->train_loss = rows ? loss_sum / (double)rows : NAN;
    rep->train_rows = rows;
    rep->train_seconds = ember_now() - e0;
    rep->samples_per_s = rep->train_seconds > 0 ? rows / rep->train_seconds : 0;
    if (t->rows_expected == 0) { /* resumed: no first pass counted them */
        t->rows_expected = rows;
        t->res->skipped_train = ember_reader_skipped(t->train);
    }
    return EMBER_STATUS_SUCCESS;
}

static ember_status evaluate_rows(void *self, ember_eval_rows rows, ember_metrics *out,
                                  ember_model_err *err) {
    trainer *t = self;
    if (rows == EMBER_EVAL_VALID) return evaluate_valid(t, out, err);
    return evaluate(t, rows == EMBER_EVAL_TEST ? t->test : t->train, NULL, out, err);
}
static ember_status get_params(void *self, float *host, ember_model_err *err) {
    return ember_wd_get_params(((trainer *)self)->m, host, err);
}
static ember_status set_params(void *self, const float *host, ember_model_err *err) {
    return ember_wd_set_params(((trainer *)self)->m, host, err);
}
static ember_status save(void *self, const char *path, ember_model_err *err) {
    return ember_checkpoint_save(((trainer *)self)->m, path, err);
}
static void set_best_valid(void *self, double auc, const char *valid_on) {
    ember_wd_set_best_valid(((trainer *)self)->m, auc, valid_on);
}
static int64_t epochs_done(void *self) {
    return ember_wd_epochs_done(((trainer *)self)->m);
}

static ember_status train(trainer *t, ember_train_result *res, ember_model_err *err) {
    const ember_train_opts *o = t->o;
    if (o->resume != NULL)
        EMBER_FORWARD_IF_ERROR(features_from_checkpoint(t, err));
    else
        EMBER_FORWARD_IF_ERROR(features_from_options(t, err));
    t->cfg.fx = t->fx;
    EMBER_FORWARD_IF_ERROR(open_data(t, err));
    if (t->fx_owned != NULL)
        EMBER_FORWARD_IF_ERROR(ember_train_stats_pass(o, t->train, t->fx_owned, t->cfg.seed,
                                                      t->train_sel.threshold, &t->rows_expected,
                                                      res, err));
    EMBER_FORWARD_IF_ERROR(build_model(t, res, err));
    EMBER_FORWARD_IF_ERROR(ember_rare_ids_count(&t->rare, t->fx, t->cfg.emb_min_count, t->train,
                                                t->cfg.seed, t->train_sel.threshold, err));
    if (o->on_start) o->on_start(o->user, &t->cfg, &res->count, ember_context_device_name(t->ctx));
    t->res = res;
    t->drv = (ember_epoch_driver){
        .self = t,
        .has_valid = t->has_valid,
        .has_test = t->has_test,
        .best = t->best,
        .train_epoch = train_epoch,
        .evaluate = evaluate_rows,
        .get_params = get_params,
        .set_params = set_params,
        .save = save,
        .epochs_done = epochs_done,
        .valid_on = t->valid_on,
        .resumed_best_auc = ember_train_resumed_best(t->have_ck ? &t->ck : NULL, t->valid_on),
        .set_best_valid = set_best_valid};
    EMBER_FORWARD_IF_ERROR(ember_run_epochs(o, &t->drv, res, err));
    ember_train_note_skips(res, t->train, t->test);
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_train(const ember_train_opts *o, ember_train_result *res, ember_model_err *err) {
    memset(res, 0, sizeof *res);
    if (o->data == NULL) return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "no training data");
    if (o->batch < 1 || o->epochs < 0)
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "bad batch size or epoch count");
    const double t_start = ember_now();
    trainer t;
    memset(&t, 0, sizeof t);
    t.o = o;
    t.cfg = o->model;
    ember_status st = train(&t, res, err);
    res->seconds = ember_now() - t_start;
    trainer_free(&t);
    return st;
}
