/* wd_trainer.c: streaming epochs, evaluation, early stopping, checkpoints; see wd_trainer.h. */
#include "wd_trainer.h"

#include "wd_hash.h"

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
    EMBER_MODEL_TRY(ember_features_create(out, schema, buckets, o->cross_buckets, o->num_bins,
                                          o->numeric_mode, crosses, err));
    ember_status st = o->cat_buckets > 0 ? EMBER_STATUS_SUCCESS
                                         : ember_features_size_buckets_from_data(*out, err);
    if (st == EMBER_STATUS_SUCCESS) st = ember_features_set_field_buckets(*out, o->field_buckets, err);
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

ember_status ember_schema_for(ember_data_format fmt, const char *path, const char *spec, char delim,
                              int header, const char *positive, ember_schema **out,
                              ember_model_err *err) {
    switch (fmt) {
    case EMBER_FORMAT_ADULT:
    case EMBER_FORMAT_CRITEO:
        return ember_schema_preset(fmt, out, err);
    case EMBER_FORMAT_ARFF:
        return ember_schema_from_arff(path, positive, out, err);
    case EMBER_FORMAT_CSV:
        return ember_schema_from_spec(spec, delim, header, positive, out, err);
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
            if (ember_eval_add(ev, probs, b->label, b->n) != EMBER_STATUS_SUCCESS) {
                st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
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

static int is_holdout(const holdout_sel *h, int64_t line) {
    if (h->threshold == 0) return 0;
    uint64_t x = ember_hash_combine(h->seed ^ 0x5eed5eed5eed5eedull, (uint64_t)line);
    return (x >> 32) < h->threshold;
}

static int sel_fn(void *user, int64_t line) {
    holdout_sel *h = user;
    return is_holdout(h, line) == h->want;
}

typedef struct trainer {
    const ember_train_opts *o;
    ember_schema *schema;
    ember_features *fx_owned;
    const ember_features *fx;
    ember_checkpoint ck;
    int have_ck;
    ember_context *ctx;
    ember_wd_model *m;
    ember_reader *train, *test, *valid;
    ember_batch *b;
    ember_eval ev;
    float *best;
} trainer;

static void trainer_free(trainer *t) {
    ember_reader_close(t->train);
    ember_reader_close(t->test);
    ember_reader_close(t->valid);
    ember_batch_free(t->b);
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
    EMBER_MODEL_TRY(ember_reader_rewind(r, err));
    if (ember_reader_set_shuffle(r, 0, 0) != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    EMBER_MODEL_TRY(
        ember_score_reader(t->m, t->fx, r, t->b, sel ? sel_fn : NULL, sel, &t->ev, err));
    *out = ember_eval_metrics(&t->ev);
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_train(const ember_train_opts *o, ember_train_result *res, ember_model_err *err) {
    trainer t;
    memset(&t, 0, sizeof t);
    memset(res, 0, sizeof *res);
    t.o = o;
    ember_status st = EMBER_STATUS_SUCCESS;
    const double t_start = ember_now();
    if (o->data == NULL) return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "no training data");
    if (o->batch < 1 || o->epochs < 0)
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "bad batch size or epoch count");
    ember_wd_config cfg = o->model;

    /* Schema and feature map: from the checkpoint when resuming, else from the data. */
    if (o->resume != NULL) {
        st = ember_checkpoint_read(o->resume, &t.ck, err);
        if (st != EMBER_STATUS_SUCCESS) goto done;
        t.have_ck = 1;
        t.fx = t.ck.fx;
        /* The architecture is the checkpoint's; learning settings stay the caller's. */
        cfg.emb_dim = t.ck.cfg.emb_dim;
        cfg.nhidden = t.ck.cfg.nhidden;
        memcpy(cfg.hidden, t.ck.cfg.hidden, sizeof cfg.hidden);
        st = ember_schema_copy(t.fx->schema, &t.schema);
        if (st != EMBER_STATUS_SUCCESS) {
            st = ember_merr(err, st, "out of memory");
            goto done;
        }
        if (t.schema->format == EMBER_FORMAT_ARFF) {
            /* ARFF files carry their own header: check the data file agrees. */
            ember_schema *fs = NULL;
            st = ember_schema_from_arff(o->data, t.schema->positive, &fs, err);
            if (st != EMBER_STATUS_SUCCESS) goto done;
            int same = ember_schema_equal(fs, t.schema);
            ember_schema_free(fs);
            if (!same) {
                st = ember_merr(err, EMBER_STATUS_BAD_DATA,
                                "%s: its attributes differ from those of the model in %s", o->data,
                                o->resume);
                goto done;
            }
        }
    } else {
        st = ember_schema_for(o->format, o->data, o->schema, o->delim, o->header, o->positive,
                              &t.schema, err);
        if (st != EMBER_STATUS_SUCCESS) goto done;
        st = ember_train_features(o, t.schema, &t.fx_owned, err);
        if (st != EMBER_STATUS_SUCCESS) goto done;
        t.fx = t.fx_owned;
    }
    cfg.fx = t.fx;

    double holdout = o->holdout;
    /* Early stopping needs validation rows even when a test file is given (the test file
     * must not choose the epoch). */
    if (holdout < 0) holdout = o->valid != NULL ? 0.0 : o->test != NULL ? 0.1 : 0.2;
    if (holdout >= 1.0) {
        st = ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "holdout must be below 1");
        goto done;
    }
    holdout_sel train_sel = {cfg.seed, (uint64_t)(holdout * 4294967296.0), 0};
    holdout_sel valid_sel = train_sel;
    valid_sel.want = 1;

    st = ember_reader_open(&t.train, o->data, t.schema, err);
    if (st != EMBER_STATUS_SUCCESS) goto done;
    ember_reader_set_skip_bad(t.train, o->skip_bad);
    if (o->test != NULL) {
        st = ember_reader_open(&t.test, o->test, t.schema, err);
        if (st != EMBER_STATUS_SUCCESS) goto done;
        ember_reader_set_skip_bad(t.test, o->skip_bad);
    }
    if (o->valid != NULL) {
        st = ember_reader_open(&t.valid, o->valid, t.schema, err);
        if (st != EMBER_STATUS_SUCCESS) goto done;
        ember_reader_set_skip_bad(t.valid, o->skip_bad);
    }

    /* First pass: numeric statistics (not on resume: the model's are kept) and a row count
     * for the progress bar. Only training rows count, never held-out ones. */
    int64_t rows_expected = 0;
    if (t.fx_owned != NULL) {
        ember_row row;
        int eof = 0;
        for (;;) {
            st = ember_reader_next(t.train, &row, &eof, err);
            if (st != EMBER_STATUS_SUCCESS) goto done;
            if (eof) break;
            if (is_holdout(&train_sel, row.line)) continue;
            ember_features_stats_add(t.fx_owned, &row);
            rows_expected++;
        }
        res->skipped_train = ember_reader_skipped(t.train);
        st = ember_features_stats_finish(t.fx_owned, err);
        if (st != EMBER_STATUS_SUCCESS) goto done;
        if (rows_expected == 0) {
            st = ember_merr(err, EMBER_STATUS_BAD_DATA, "%s: no training rows", o->data);
            goto done;
        }
    }

    st = ember_open_context(o->backend, o->device,
                            o->threads >= 0 ? o->threads : ember_auto_threads(&cfg, o->batch),
                            &t.ctx, err);
    if (st != EMBER_STATUS_SUCCESS) goto done;
    st = ember_wd_create(t.ctx, &cfg, o->batch, &t.m, err);
    if (st != EMBER_STATUS_SUCCESS) goto done;
    if (t.have_ck) {
        st = ember_checkpoint_apply(&t.ck, t.m, err);
        if (st != EMBER_STATUS_SUCCESS) goto done;
        /* The optimizer state beside it, when its optimizers are the ones asked for now. */
        if (cfg.wide_opt == t.ck.cfg.wide_opt && cfg.deep_opt == t.ck.cfg.deep_opt &&
            cfg.emb_opt == t.ck.cfg.emb_opt) {
            st = ember_checkpoint_load_optimizer(t.m, o->resume, &res->optimizer_resumed, err);
            if (st != EMBER_STATUS_SUCCESS) goto done;
        }
    }
    if (ember_batch_create(&t.b, t.fx, o->batch) != EMBER_STATUS_SUCCESS) {
        st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    {
        ember_widedeep_spec spec;
        ember_wd_spec_storage ss;
        st = ember_wd_spec_from_config(&cfg, &spec, &ss);
        if (st == EMBER_STATUS_SUCCESS) {
            st = ember_widedeep_count_params(&spec, &res->count);
            ember_wd_spec_storage_free(&ss);
        }
        if (st != EMBER_STATUS_SUCCESS) {
            st = ember_merr(err, st, "counting parameters: %s", ember_last_error());
            goto done;
        }
        res->params = res->count.allocated;
        if (res->params != ember_wd_num_params(t.m)) {
            st = ember_merr(err, EMBER_STATUS_INTERNAL,
                            "the model holds %lld floats, the count says %lld",
                            (long long)ember_wd_num_params(t.m), (long long)res->params);
            goto done;
        }
    }
    if (o->on_start) o->on_start(o->user, &cfg, &res->count, ember_context_device_name(t.ctx));

    const int has_valid = t.valid != NULL || holdout > 0;
    const int has_test = t.test != NULL;
    double best_auc = -1.0;
    int since_best = 0;
    double train_seconds = 0.0;
    int64_t train_rows_total = 0;
    int64_t global_step = 0;
    t.best = malloc((size_t)res->params * sizeof(float));
    if (t.best == NULL) {
        st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    int have_best = 0;
    for (int epoch = 1; epoch <= o->epochs; epoch++) {
        st = ember_reader_rewind(t.train, err);
        if (st != EMBER_STATUS_SUCCESS) goto done;
        /* Each epoch its own order, fixed by the seed and the epochs already trained (which
         * a resumed run restores). */
        if (ember_reader_set_shuffle(t.train, o->shuffle,
                                     ember_hash_combine(cfg.seed ^ 0x5ca1ab1eull,
                                                        (uint64_t)ember_wd_epochs_done(t.m))) !=
            EMBER_STATUS_SUCCESS) {
            st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory (--shuffle)");
            goto done;
        }
        const double e0 = ember_now();
        double loss_sum = 0.0, run_loss = 0.0, last_report = e0;
        int64_t rows = 0, steps = 0;
        int eof = 0;
        ember_row row;
        ember_batch_clear(t.b);
        for (;;) {
            st = ember_reader_next(t.train, &row, &eof, err);
            if (st != EMBER_STATUS_SUCCESS) goto done;
            if (!eof) {
                if (is_holdout(&train_sel, row.line)) continue;
                st = ember_features_encode(t.fx, &row, t.b, err);
                if (st != EMBER_STATUS_SUCCESS) goto done;
            }
            if (t.b->n == t.b->cap || (eof && t.b->n > 0)) {
                float loss;
                global_step++;
                st = ember_wd_train_step(t.m, t.b, &loss, err);
                if (st != EMBER_STATUS_SUCCESS) goto done;
                if (!isfinite(loss)) {
                    st = ember_merr(err, EMBER_STATUS_NUMERIC_ERROR,
                                    "training diverged: loss is %s at epoch %d, step %lld "
                                    "(global step %lld; %s lines %lld-%lld)%s",
                                    isnan(loss) ? "NaN" : "infinite", epoch, (long long)steps + 1,
                                    (long long)global_step, o->data, (long long)t.b->line[0],
                                    (long long)t.b->line[t.b->n - 1],
                                    o->save ? "; the last good checkpoint is kept" : "");
                    goto done;
                }
                loss_sum += (double)loss * (double)t.b->n;
                rows += t.b->n;
                steps++;
                run_loss = steps == 1 ? loss : 0.98 * run_loss + 0.02 * loss;
                ember_batch_clear(t.b);
                double now = ember_now();
                if (o->on_progress && now - last_report > 0.2) {
                    last_report = now;
                    ember_train_progress p = {epoch,    o->epochs,
                                              rows,     rows_expected,
                                              run_loss, rows / (now - e0 > 1e-9 ? now - e0 : 1e-9),
                                              now - e0};
                    o->on_progress(o->user, &p);
                }
            }
            if (eof) break;
        }
        st = ember_context_synchronize(t.ctx);
        if (st != EMBER_STATUS_SUCCESS) {
            st = ember_merr(err, st, "synchronize: %s", ember_context_last_error(t.ctx));
            goto done;
        }
        ember_wd_set_epochs_done(t.m, ember_wd_epochs_done(t.m) + 1);
        const double secs = ember_now() - e0;
        train_seconds += secs;
        train_rows_total += rows;
        if (rows_expected == 0) {
            rows_expected = rows;
            res->skipped_train = ember_reader_skipped(t.train);
        }
        ember_epoch_report rep;
        memset(&rep, 0, sizeof rep);
        rep.epoch = epoch;
        rep.epochs = o->epochs;
        rep.train_loss = rows ? loss_sum / (double)rows : NAN;
        rep.train_rows = rows;
        rep.train_seconds = secs;
        rep.samples_per_s = secs > 0 ? rows / secs : 0;
        if (has_valid) {
            st = t.valid ? evaluate(&t, t.valid, NULL, &rep.valid, err)
                         : evaluate(&t, t.train, &valid_sel, &rep.valid, err);
            if (st != EMBER_STATUS_SUCCESS) goto done;
            rep.has_valid = 1;
        }
        if (has_test) {
            st = evaluate(&t, t.test, NULL, &rep.test, err);
            if (st != EMBER_STATUS_SUCCESS) goto done;
            rep.has_test = 1;
        }
        res->epochs_run = epoch;
        res->train_loss = rep.train_loss;
        rep.improved = !has_valid || (rep.valid.auc > best_auc);
        if (rep.improved) {
            if (has_valid) best_auc = rep.valid.auc;
            since_best = 0;
            res->best_epoch = epoch;
            if (has_valid) { /* the best epoch's model is the one kept */
                st = ember_wd_get_params(t.m, t.best, err);
                if (st != EMBER_STATUS_SUCCESS) goto done;
                have_best = 1;
            }
            if (o->save != NULL) {
                st = ember_checkpoint_save(t.m, o->save, err);
                if (st == EMBER_STATUS_SUCCESS)
                    st = ember_checkpoint_save_optimizer(t.m, o->save, err);
                if (st != EMBER_STATUS_SUCCESS) goto done;
                rep.saved = 1;
            }
        } else {
            since_best++;
        }
        if (o->on_epoch) o->on_epoch(o->user, &rep);
        if (has_valid && o->patience > 0 && since_best >= o->patience) break;
    }
    /* Early stopping keeps the best epoch's model. */
    if (have_best && res->best_epoch != res->epochs_run) {
        st = ember_wd_set_params(t.m, t.best, err);
        if (st != EMBER_STATUS_SUCCESS) goto done;
    }
    if (o->epochs == 0 && o->save != NULL) {
        st = ember_checkpoint_save(t.m, o->save, err);
        if (st == EMBER_STATUS_SUCCESS) st = ember_checkpoint_save_optimizer(t.m, o->save, err);
        if (st != EMBER_STATUS_SUCCESS) goto done;
    }
    if (has_test) {
        st = evaluate(&t, t.test, NULL, &res->final, err);
        res->final_on = "test";
    } else if (has_valid) {
        st = t.valid ? evaluate(&t, t.valid, NULL, &res->final, err)
                     : evaluate(&t, t.train, &valid_sel, &res->final, err);
        res->final_on = "validation";
    } else {
        st = evaluate(&t, t.train, NULL, &res->final, err);
        res->final_on = "training";
    }
    if (st != EMBER_STATUS_SUCCESS) goto done;
    res->samples_per_s = train_seconds > 0 ? train_rows_total / train_seconds : 0;
    res->train_rows = train_rows_total;
    res->skipped_test = t.test ? ember_reader_skipped(t.test) : 0;
    const char *fs = ember_reader_first_skip(t.train);
    if (!fs[0] && t.test) fs = ember_reader_first_skip(t.test);
    snprintf(res->first_skip, sizeof res->first_skip, "%.500s", fs);
done:
    res->seconds = ember_now() - t_start;
    trainer_free(&t);
    return st;
}
