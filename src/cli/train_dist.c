/* train_dist.c: `mpirun -np N ember train`: the model built on every rank, the epochs, early
 * stopping, checkpoints written by rank 0, and the report printed once; see train_dist.h. */
#define _POSIX_C_SOURCE 200809L
#include "train_dist.h"

#include "cli_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int train_dist_launched(void) {
    /* Open MPI, MPICH/Hydra (and Slurm with PMI), PMIx launchers. */
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]) != NULL) return 1;
    return 0;
}

#ifdef EMBER_CLI_WITH_DIST
#include "train_dist_internal.h"
#include "wd_epochs.h"
#include "wd_hash.h"

static void dtrainer_free(dtrainer *t) {
    ember_reader_close(t->train);
    ember_reader_close(t->test);
    ember_reader_close(t->valid);
    ember_batch_free(t->b);
    ember_rare_ids_free(&t->rare);
    ember_eval_free(&t->ev);
    free(t->probs);
    free(t->best);
    dist_wd_free(t->m);
    ember_context_destroy(t->ctx);
    ember_features_free(t->fx_owned);
    if (t->have_ck) ember_checkpoint_free(&t->ck);
    ember_schema_free(t->schema);
}

/* The features: the checkpoint's when resuming (with its architecture), else those the
 * options ask for. Every rank reads the checkpoint itself. */
static ember_status features(dtrainer *t, ember_model_err *err) {
    const ember_train_opts *o = t->o;
    if (o->resume == NULL) {
        EMBER_FORWARD_IF_ERROR(ember_schema_for(o, &t->schema, err));
        EMBER_FORWARD_IF_ERROR(ember_train_features(o, t->schema, &t->fx_owned, err));
        t->fx = t->fx_owned;
    } else {
        EMBER_FORWARD_IF_ERROR(ember_checkpoint_read(o->resume, &t->ck, err));
        t->have_ck = 1;
        t->fx = t->ck.fx;
        t->cfg.emb_dim = t->ck.cfg.emb_dim;
        t->cfg.nhidden = t->ck.cfg.nhidden;
        memcpy(t->cfg.hidden, t->ck.cfg.hidden, sizeof t->cfg.hidden);
        if (ember_schema_copy(t->fx->schema, &t->schema) != EMBER_STATUS_SUCCESS)
            return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    t->cfg.fx = t->fx;
    return EMBER_STATUS_SUCCESS;
}

static ember_status open_reader(dtrainer *t, const char *path, ember_reader **r,
                                ember_model_err *err) {
    if (path == NULL) return EMBER_STATUS_SUCCESS;
    EMBER_FORWARD_IF_ERROR(ember_reader_open(r, path, t->schema, err));
    ember_reader_set_skip_bad(*r, t->o->skip_bad);
    return EMBER_STATUS_SUCCESS;
}

/* Features, readers and the statistics pass: this rank alone (the caller agrees). */
static ember_status prepare_data(dtrainer *t, ember_train_result *res, ember_model_err *err) {
    const ember_train_opts *o = t->o;
    EMBER_FORWARD_IF_ERROR(features(t, err));
    t->threshold = ember_holdout_threshold(o);
    if (t->threshold == UINT64_MAX)
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "holdout must be below 1");
    EMBER_FORWARD_IF_ERROR(open_reader(t, o->data, &t->train, err));
    EMBER_FORWARD_IF_ERROR(open_reader(t, o->test, &t->test, err));
    EMBER_FORWARD_IF_ERROR(open_reader(t, o->valid, &t->valid, err));
    t->has_valid = t->valid != NULL || t->threshold > 0;
    t->has_test = t->test != NULL;
    ember_train_valid_on(o, t->valid_on, sizeof t->valid_on);
    if (t->fx_owned != NULL)
        EMBER_FORWARD_IF_ERROR(ember_train_stats_pass(o, t->train, t->fx_owned, t->cfg.seed,
                                                      t->threshold, &t->rows_expected, res, err));
    /* Every rank counts the whole file, so every rank's tables get the same padding rows. */
    return ember_rare_ids_count(&t->rare, t->fx, t->cfg.emb_min_count, t->train, t->cfg.seed,
                                t->threshold, err);
}

/* The device of this rank: --device, else one rank per GPU on each machine. */
static int rank_device(const dtrainer *t) {
    if (t->o->device >= 0 || t->o->backend == EMBER_BACKEND_CPU) return t->o->device;
    ember_device_info info[16];
    size_t count = 0;
    ember_backend_devices(t->o->backend, info, 16, &count);
    return count > 0 ? ember_dist_comm_local_rank(t->comm) % (int)count : -1;
}

/* The single-process model the sharded one starts from: a new one (the seed's weights) or
 * the checkpoint's, with its optimizer state when the optimizers are the same. Local. */
static ember_status initial_model(dtrainer *t, ember_train_result *res, ember_wd_model **init,
                                  ember_model_err *err) {
    const ember_train_opts *o = t->o;
    int threads = o->threads >= 0 ? o->threads : ember_auto_threads(&t->cfg, o->batch);
    EMBER_FORWARD_IF_ERROR(ember_open_context(o->backend, rank_device(t), threads, &t->ctx, err));
    /* Its batch capacity is the global batch: the embeddings' Adagrad accumulators start at
     * emb_init_acc / batch^2 (wd_model.c), and the batch whose mean gradient each step
     * applies is the global one, as in one process with --batch N x B. */
    const int64_t global_batch = (int64_t)t->size * o->batch;
    EMBER_FORWARD_IF_ERROR(ember_wd_create(t->ctx, &t->cfg, global_batch, init, err));
    if (t->have_ck) {
        const ember_wd_config *c = &t->ck.cfg;
        EMBER_FORWARD_IF_ERROR(ember_checkpoint_apply(&t->ck, *init, err));
        if (t->cfg.wide_opt == c->wide_opt && t->cfg.deep_opt == c->deep_opt &&
            t->cfg.emb_opt == c->emb_opt)
            EMBER_FORWARD_IF_ERROR(ember_checkpoint_load_optimizer(&t->ck, *init, o->resume,
                                                                   &res->optimizer_resumed, err));
    }
    if (ember_batch_create(&t->b, t->fx, o->batch) != EMBER_STATUS_SUCCESS ||
        (t->probs = malloc((size_t)o->batch * sizeof(float))) == NULL)
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    return EMBER_STATUS_SUCCESS;
}

/* The parameter count, checked against what the sharded model holds, and the room for the
 * best epoch's copy. Local. */
static ember_status count_params(dtrainer *t, ember_train_result *res, ember_model_err *err) {
    EMBER_FORWARD_IF_ERROR(ember_train_count_params(&t->cfg, dist_wd_num_params(t->m), res, err));
    t->best = malloc((size_t)res->params * sizeof(float));
    if (t->best == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    return EMBER_STATUS_SUCCESS;
}

static ember_status build_model(dtrainer *t, ember_train_result *res, FILE *plan_out,
                                ember_model_err *err) {
    ember_wd_model *init = NULL;
    ember_status st = dist_wd_agree(t->comm, initial_model(t, res, &init, err), err);
    if (st == EMBER_STATUS_SUCCESS)
        st = dist_wd_create(t->comm, t->ctx, &t->cfg, t->o->batch, init, &t->rare, plan_out, &t->m,
                            err);
    ember_wd_free(init);
    if (st == EMBER_STATUS_SUCCESS) st = dist_wd_agree(t->comm, count_params(t, res, err), err);
    return st;
}

/* One epoch's running figures. */
typedef struct epoch_acc {
    int epoch;
    double loss_sum, run_loss, e0, last_report;
    int64_t rows, steps;
} epoch_acc;

static void epoch_progress(const dtrainer *t, const epoch_acc *e) {
    double secs = ember_now() - e->e0;
    ember_train_progress p = {.epoch = e->epoch,
                              .epochs = t->o->epochs,
                              .rows = e->rows,
                              .rows_expected = t->rows_expected,
                              .running_loss = e->run_loss,
                              .rows_per_s = e->rows / (secs > 1e-9 ? secs : 1e-9),
                              .elapsed_s = secs};
    t->o->on_progress(t->o->user, &p);
}

/* One step on the global batch (the loss is the global batch's, so every rank decides the
 * same about divergence). */
static ember_status train_batch(dtrainer *t, int64_t n_global, void *user, ember_model_err *err) {
    epoch_acc *e = user;
    double loss_sum;
    t->global_step++;
    ember_rare_ids_apply(&t->rare, t->b);
    EMBER_FORWARD_IF_ERROR(dist_wd_train_step(t->m, t->b, n_global, &loss_sum, err));
    const double loss = loss_sum / (double)n_global;
    if (!isfinite(loss)) {
        char note[600];
        ember_epochs_kept_note(t->o, &t->drv, note, sizeof note);
        return ember_merr(err, EMBER_STATUS_NUMERIC_ERROR,
                          "training diverged: loss is %s at epoch %d, step %lld (global step "
                          "%lld; %s, rows %lld-%lld of the epoch)%s",
                          isnan(loss) ? "NaN" : "infinite", e->epoch, (long long)e->steps + 1,
                          (long long)t->global_step, t->o->data, (long long)e->rows + 1,
                          (long long)(e->rows + n_global), note);
    }
    e->loss_sum += loss_sum;
    e->rows += n_global;
    e->steps++;
    e->run_loss = e->steps == 1 ? loss : 0.98 * e->run_loss + 0.02 * loss;
    if (t->o->on_progress && ember_now() - e->last_report > 0.2) {
        e->last_report = ember_now();
        epoch_progress(t, e);
    }
    return EMBER_STATUS_SUCCESS;
}

/* One pass over the training rows, each epoch its own order (the seed and the epochs
 * trained, as in one process). */
static ember_status train_epoch(void *self, int epoch, ember_epoch_report *rep,
                                ember_model_err *err) {
    dtrainer *t = self;
    const ember_train_opts *o = t->o;
    ember_status st = ember_reader_rewind(t->train, err);
    uint64_t order =
        ember_hash_combine(t->cfg.seed ^ 0x5ca1ab1eull, (uint64_t)dist_wd_epochs_done(t->m));
    if (st == EMBER_STATUS_SUCCESS &&
        ember_reader_set_shuffle(t->train, o->shuffle, order) != EMBER_STATUS_SUCCESS)
        st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory (--shuffle)");
    EMBER_FORWARD_IF_ERROR(dist_wd_agree(t->comm, st, err));
    epoch_acc e = {.epoch = epoch, .e0 = ember_now()};
    e.last_report = e.e0;
    EMBER_FORWARD_IF_ERROR(dist_stream(t, t->train, DIST_ROWS_TRAINING, train_batch, &e, err));
    if (o->on_progress) epoch_progress(t, &e);
    st = ember_context_synchronize(t->ctx);
    if (st != EMBER_STATUS_SUCCESS)
        ember_merr(err, st, "synchronize: %s", ember_context_last_error(t->ctx));
    EMBER_FORWARD_IF_ERROR(dist_wd_agree(t->comm, st, err));
    dist_wd_set_epochs_done(t->m, dist_wd_epochs_done(t->m) + 1);
    rep->epoch = epoch;
    rep->epochs = o->epochs;
    rep->train_loss = e.rows ? e.loss_sum / (double)e.rows : NAN;
    rep->train_rows = e.rows;
    rep->train_seconds = ember_now() - e.e0;
    rep->samples_per_s = rep->train_seconds > 0 ? e.rows / rep->train_seconds : 0;
    if (t->rows_expected == 0) { /* resumed: no first pass counted them */
        t->rows_expected = e.rows;
        t->res->skipped_train = ember_reader_skipped(t->train);
    }
    return EMBER_STATUS_SUCCESS;
}

/* The epoch loop's calls (wd_epochs.h), each collective. */
static ember_status evaluate_rows(void *self, ember_eval_rows rows, ember_metrics *out,
                                  ember_model_err *err) {
    dtrainer *t = self;
    if (rows == EMBER_EVAL_VALID && t->valid == NULL)
        return dist_evaluate(t, t->train, DIST_ROWS_HELD_OUT, out, err);
    ember_reader *r = rows == EMBER_EVAL_VALID  ? t->valid
                      : rows == EMBER_EVAL_TEST ? t->test
                                                : t->train;
    return dist_evaluate(t, r, DIST_ROWS_ALL, out, err);
}
static ember_status get_params(void *self, float *host, ember_model_err *err) {
    return dist_wd_get_params(((dtrainer *)self)->m, host, err);
}
static ember_status set_params(void *self, const float *host, ember_model_err *err) {
    return dist_wd_set_params(((dtrainer *)self)->m, host, err);
}
static ember_status save(void *self, const char *path, ember_model_err *err) {
    return dist_wd_save(((dtrainer *)self)->m, path, err);
}
static int64_t epochs_done(void *self) {
    return dist_wd_epochs_done(((dtrainer *)self)->m);
}
static void set_best_valid(void *self, double auc, const char *valid_on) {
    dist_wd_set_best_valid(((dtrainer *)self)->m, auc, valid_on);
}

static ember_status train(dtrainer *t, ember_train_result *res, FILE *plan_out,
                          ember_model_err *err) {
    const ember_train_opts *o = t->o;
    EMBER_FORWARD_IF_ERROR(dist_wd_agree(t->comm, prepare_data(t, res, err), err));
    EMBER_FORWARD_IF_ERROR(build_model(t, res, plan_out, err));
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
    /* Each rank parsed only its share of the passes (the first pass excepted): the lines
     * skipped as bad are summed. The first one's message is rank 0's. */
    int64_t skipped[2] = {t->fx_owned ? 0 : res->skipped_train, res->skipped_test};
    MPI_Allreduce(MPI_IN_PLACE, skipped, 2, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    if (t->fx_owned == NULL) res->skipped_train = skipped[0];
    res->skipped_test = skipped[1];
    return EMBER_STATUS_SUCCESS;
}

int train_dist_run(const char *cmd, ember_train_opts *o, train_ui *u) {
    ember_dist_comm *comm = NULL;
    ember_status st = ember_dist_comm_init(NULL, NULL, &comm);
    if (st != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "ember %s: MPI initialisation failed: %s\n", cmd, ember_status_name(st));
        return 1;
    }
    dtrainer t;
    memset(&t, 0, sizeof t);
    t.o = o, t.comm = comm, t.cfg = o->model;
    t.rank = ember_dist_comm_rank(comm), t.size = ember_dist_comm_size(comm);
    if (t.rank != 0) o->on_progress = NULL, o->on_epoch = NULL, o->on_start = NULL;
    if (t.rank == 0 && !u->quiet) {
        train_report_banner(u, o);
        printf("distributed: %d rank%s, batch %lld per rank (global batch %lld)\n", t.size,
               t.size == 1 ? "" : "s", (long long)o->batch, (long long)o->batch * t.size);
        fflush(stdout);
    }
    ember_train_result res;
    memset(&res, 0, sizeof res);
    ember_model_err err = {""};
    const double t_start = ember_now();
    st = train(&t, &res, t.rank == 0 && !u->quiet ? stderr : NULL, &err);
    res.seconds = ember_now() - t_start;
    int rc = 0; /* rank 0's, which prints; the status is the same on every rank */
    if (t.rank == 0) {
        train_ui_clear_bar(u);
        if (st != EMBER_STATUS_SUCCESS)
            rc = train_report_failure(u, cmd, st, err.msg);
        else
            train_report_result(u, cmd, o, &res);
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    dtrainer_free(&t);
    ember_dist_comm_destroy(comm);
    return rc;
}

#else

int train_dist_run(const char *cmd, ember_train_opts *o, train_ui *u) {
    (void)o, (void)u;
    return cli_dist_missing(cmd, "training under mpirun (one model over the ranks)");
}

#endif
