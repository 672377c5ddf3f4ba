/* test_train.c: training end to end on the CPU: Adult reaches the quality bar quickly, the
 * same seed gives the same checkpoint bytes, a diverging run names its step and keeps the
 * last good checkpoint, --skip-bad counts. */
#include "test_util.h"

#include "wd_rare.h"
#include "wd_trainer.h"

#include <criterion/criterion.h>
#include <math.h>

#define ADULT_DIR EMBER_SHARED_DATA_DIR "/adult"

static int have_adult(void) {
    return access(ADULT_DIR "/adult.data", R_OK) == 0 && access(ADULT_DIR "/adult.test", R_OK) == 0;
}

static void adult_opts(ember_train_opts *o) {
    ember_train_opts_defaults(o);
    o->data = ADULT_DIR "/adult.data";
    o->format = EMBER_FORMAT_ADULT;
    o->threads = 1; /* the machine is shared; one thread keeps timings steady */
}

Test(train, adult_reaches_auc_090_within_a_minute, .timeout = 120) {
    if (!have_adult()) cr_skip_test("no Adult data in %s", ADULT_DIR);
    ember_train_opts o;
    adult_opts(&o);
    o.test = ADULT_DIR "/adult.test";
    o.epochs = 2;
    ember_train_result r;
    ember_model_err err = {""};
    double t0 = ember_now();
    ember_status st = ember_train(&o, &r, &err);
    double secs = ember_now() - t0;
    cr_assert_eq(st, EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_str_eq(r.final_on, "test");
    cr_assert_eq(r.final.n, 16281);
    cr_assert(r.final.auc >= 0.90, "test AUC %.4f < 0.90", r.final.auc);
    cr_assert(r.final.accuracy >= 0.84, "test accuracy %.4f", r.final.accuracy);
    cr_assert(secs < 60.0, "took %.1f s", secs);
    cr_assert_eq(r.params, r.count.allocated);
    cr_log_info("Adult, 2 epochs: auc %.4f logloss %.4f accuracy %.4f in %.1f s", r.final.auc,
                r.final.logloss, r.final.accuracy, secs);
}

Test(train, same_seed_gives_identical_checkpoint_bytes, .timeout = 120) {
    if (!have_adult()) cr_skip_test("no Adult data in %s", ADULT_DIR);
    char paths[2][256];
    for (int k = 0; k < 2; k++) {
        snprintf(paths[k], sizeof paths[k], "/tmp/ember_det_%d_%d.safetensors", (int)getpid(), k);
        ember_train_opts o;
        adult_opts(&o);
        o.epochs = 1;
        o.holdout = 0.1;
        o.model.seed = 1234;
        o.model.reduction = EMBER_REDUCTION_DETERMINISTIC;
        o.save = paths[k];
        ember_train_result r;
        ember_model_err err = {""};
        cr_assert_eq(ember_train(&o, &r, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    }
    FILE *a = fopen(paths[0], "rb"), *b = fopen(paths[1], "rb");
    cr_assert(a && b);
    long n = 0;
    int ca, cb;
    do {
        ca = fgetc(a);
        cb = fgetc(b);
        cr_assert_eq(ca, cb, "checkpoints differ at byte %ld", n);
        n++;
    } while (ca != EOF);
    cr_assert(n > 100000);
    fclose(a);
    fclose(b);
    unlink(paths[0]);
    unlink(paths[1]);
}

/* One epoch on every row of Adult, saved to path; o keeps the options. */
static void train_adult_epoch(ember_train_opts *o, const char *path, int64_t emb_min_count) {
    adult_opts(o);
    o->epochs = 1;
    o->holdout = 0;
    o->model.emb_min_count = emb_min_count;
    o->save = path;
    ember_train_result r;
    ember_model_err err = {""};
    cr_assert_eq(ember_train(o, &r, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
}

Test(train, nan_loss_names_the_step_and_keeps_the_last_good_checkpoint, .timeout = 120) {
    if (!have_adult()) cr_skip_test("no Adult data in %s", ADULT_DIR);
    char path[256];
    snprintf(path, sizeof path, "/tmp/ember_nan_%d.safetensors", (int)getpid());
    ember_train_opts o;
    train_adult_epoch(&o, path, 0);
    ember_train_result r;
    ember_model_err err = {""};
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size_before = ftell(f);
    fclose(f);
    /* resume from it with an absurd learning rate */
    o.resume = path;
    o.model.wide_lr = o.model.deep_lr = o.model.emb_lr = 1e30f;
    o.model.deep_opt = EMBER_OPTIMIZER_SGD;
    ember_status st = ember_train(&o, &r, &err);
    cr_assert_eq(st, EMBER_STATUS_NUMERIC_ERROR, "%s", ember_status_name(st));
    cr_assert(strstr(err.msg, "step") != NULL && strstr(err.msg, "epoch 1") != NULL, "%s", err.msg);
    ember_checkpoint ck;
    cr_assert_eq(ember_checkpoint_read(path, &ck, &err), EMBER_STATUS_SUCCESS,
                 "the last good checkpoint is intact: %s", err.msg);
    f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    cr_assert_eq(ftell(f), size_before);
    fclose(f);
    for (int64_t i = 0; i < ck.st.total_floats; i++)
        cr_assert(isfinite(ck.st.blob[i]), "float %lld is not finite", (long long)i);
    ember_checkpoint_free(&ck);
    unlink(path);
}

Test(train, skip_bad_counts_malformed_lines_and_otherwise_fails_naming_them) {
    char text[8192] = "";
    for (int i = 0; i < 60; i++) {
        char line[128];
        snprintf(line, sizeof line, "%d,%d.5,%s,%s\n", i % 2, i, i % 3 ? "red" : "blue",
                 i == 17 ? "oops,extra" : "x");
        strcat(text, line);
    }
    strcat(text, "1,notanumber,red,x\n");
    const char *p = write_temp(4, ".csv", text);
    ember_train_opts o;
    ember_train_opts_defaults(&o);
    o.data = p;
    o.format = EMBER_FORMAT_CSV;
    o.schema = "label,v:num,color:cat,tag:cat";
    o.epochs = 1;
    o.threads = 1;
    o.batch = 8;
    ember_train_result r;
    ember_model_err err = {""};
    ember_status st = ember_train(&o, &r, &err);
    cr_assert_eq(st, EMBER_STATUS_BAD_DATA);
    cr_assert(strstr(err.msg, ":18: column 5") != NULL, "%s", err.msg);
    o.skip_bad = 1;
    st = ember_train(&o, &r, &err);
    cr_assert_eq(st, EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(r.skipped_train, 2);
    unlink(p);
}

/* The same model on every other backend compiled in and usable: one epoch matches the CPU
 * backend's AUC closely (GEMM and reduction order differ, the model does not). */
static void backend_parity(ember_backend_kind kind) {
    if (!have_adult()) cr_skip_test("no Adult data in %s", ADULT_DIR);
    ember_context *ctx = NULL;
    ember_status cs = ember_context_create(&ctx, kind, kind == EMBER_BACKEND_OPENCL ? -1 : 0);
    if (cs != EMBER_STATUS_SUCCESS)
        cr_skip_test("%s backend unusable here: %s: %s", ember_backend_name(kind),
                     ember_status_name(cs), ember_last_error());
    ember_context_destroy(ctx);
    double auc[2];
    for (int k = 0; k < 2; k++) {
        ember_train_opts o;
        adult_opts(&o);
        o.test = ADULT_DIR "/adult.test";
        o.epochs = 1;
        o.batch = 512;
        o.backend = k == 0 ? EMBER_BACKEND_CPU : kind;
        ember_train_result r;
        ember_model_err err = {""};
        cr_assert_eq(ember_train(&o, &r, &err), EMBER_STATUS_SUCCESS, "%s: %s",
                     ember_backend_name(o.backend), err.msg);
        auc[k] = r.final.auc;
    }
    cr_assert(fabs(auc[0] - auc[1]) < 1e-3, "cpu AUC %.5f vs %s %.5f", auc[0],
              ember_backend_name(kind), auc[1]);
    cr_log_info("Adult, 1 epoch: cpu AUC %.5f, %s AUC %.5f", auc[0], ember_backend_name(kind),
                auc[1]);
}

Test(train, opencl_trains_the_same_model, .timeout = 240) {
    backend_parity(EMBER_BACKEND_OPENCL);
}

Test(train, cuda_trains_the_same_model, .timeout = 240) {
    backend_parity(EMBER_BACKEND_CUDA);
}

static int same_bytes(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

/* 1 epoch, then --resume for 1 more, equals 2 epochs in one go, bit for bit: the optimizer
 * state and the step count carry over (in the checkpoint); the rare ids' counts are
 * counted again from the same rows. */
static void resume_case(int shuffle, int64_t emb_min_count) {
    if (!have_adult()) cr_skip_test("no Adult data in %s", ADULT_DIR);
    char p2[256], p1[256], p1b[256];
    snprintf(p2, sizeof p2, "/tmp/ember_res2_%d.st", (int)getpid());
    snprintf(p1, sizeof p1, "/tmp/ember_res1_%d.st", (int)getpid());
    snprintf(p1b, sizeof p1b, "/tmp/ember_res1b_%d.st", (int)getpid());
    ember_train_result r;
    ember_model_err err = {""};
    ember_train_opts o;
    adult_opts(&o);
    o.holdout = 0;
    o.epochs = 2;
    o.shuffle = shuffle;
    o.model.emb_min_count = emb_min_count;
    o.save = p2;
    cr_assert_eq(ember_train(&o, &r, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    o.epochs = 1;
    o.save = p1;
    cr_assert_eq(ember_train(&o, &r, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    o.resume = p1;
    o.save = p1b;
    cr_assert_eq(ember_train(&o, &r, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(r.optimizer_resumed, 1);
    cr_assert(same_bytes(p2, p1b), "resumed training differs from uninterrupted training");
    const char *paths[3] = {p2, p1, p1b};
    for (int k = 0; k < 3; k++) unlink(paths[k]);
}

typedef struct epoch_log {
    int n;
    double valid_auc[64];
} epoch_log;

static void log_epoch(void *user, const ember_epoch_report *r) {
    epoch_log *l = user;
    if (l->n < 64) l->valid_auc[l->n++] = r->valid.auc;
}

/* Early stopping: with a fast-overfitting setting the run stops after `patience` epochs
 * without validation AUC gain, and the model kept is the best epoch's. */
Test(train, early_stopping_keeps_the_best_epoch, .timeout = 120) {
    if (!have_adult()) cr_skip_test("no Adult data in %s", ADULT_DIR);
    ember_train_opts o;
    adult_opts(&o);
    o.holdout = 0.2;
    o.epochs = 40;
    o.patience = 2;
    o.model.wide_lr = 0.2f; /* the crosses overfit within a few epochs */
    o.cross_buckets = 100000;
    epoch_log log = {0};
    o.on_epoch = log_epoch;
    o.user = &log;
    ember_train_result r;
    ember_model_err err = {""};
    cr_assert_eq(ember_train(&o, &r, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_str_eq(r.final_on, "validation");
    cr_assert(r.epochs_run < 40, "no early stop in 40 epochs");
    cr_assert_eq(r.epochs_run, r.best_epoch + 2, "stops after patience epochs without gain");
    double best = 0;
    for (int i = 0; i < log.n; i++)
        if (log.valid_auc[i] > best) best = log.valid_auc[i];
    cr_assert_float_eq(r.final.auc, best, 1e-12, "final %.6f is the best epoch's %.6f", r.final.auc,
                       best);
}

Test(train, resume_continues_exactly, .timeout = 120) {
    resume_case(0, 0);
}

/* With a shuffle buffer too: each epoch's order is fixed by the seed and the epochs already
 * trained, which the optimizer state file carries. */
Test(train, resume_continues_exactly_with_shuffle, .timeout = 120) {
    resume_case(1000, 0);
}

Test(train, resume_continues_exactly_with_rare_ids, .timeout = 120) {
    resume_case(1000, 200);
}

typedef struct rare_rows {
    int rare, rare_moved; /* buckets of 1 to min_count - 1 training rows; those not zero */
    int frequent, frequent_moved;
} rare_rows;

/* Trains Adult for 1 epoch with --emb-min-count 200 (or none) and sorts the embedding rows
 * of every field by the training rows of their bucket, counted at 200. */
static rare_rows rare_case(int64_t emb_min_count) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/ember_rare_%d.st", (int)getpid());
    ember_train_opts o;
    train_adult_epoch(&o, path, emb_min_count);
    ember_model_err err = {""};
    ember_checkpoint ck;
    cr_assert_eq(ember_checkpoint_read(path, &ck, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(ck.cfg.emb_min_count, emb_min_count, "the checkpoint records the threshold");
    const ember_features *fx = ck.fx;
    ember_rare_ids counts;
    ember_reader *rd = NULL;
    cr_assert_eq(ember_reader_open(&rd, o.data, fx->schema, &err), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_rare_ids_count(&counts, fx, 200, rd, ck.cfg.seed, 0, &err),
                 EMBER_STATUS_SUCCESS, "%s", err.msg);
    rare_rows rows = {0};
    for (int f = 0; f < fx->n_deep; f++) {
        char name[160];
        snprintf(name, sizeof name, "deep.emb.%s", fx->schema->cols[fx->deep_col[f]].name);
        const ember_st_tensor *t = ember_st_find(&ck.st, name);
        cr_assert_not_null(t, "no tensor %s", name);
        for (int64_t i = 0; i < fx->field_buckets[f]; i++) {
            int moved = 0;
            for (int64_t k = 0; k < ck.cfg.emb_dim; k++)
                moved |= t->data[i * ck.cfg.emb_dim + k] != 0;
            const int64_t n = counts.rows[f][i];
            if (n >= 200)
                rows.frequent++, rows.frequent_moved += moved;
            else if (n > 0)
                rows.rare++, rows.rare_moved += moved;
        }
    }
    ember_reader_close(rd);
    ember_rare_ids_free(&counts);
    ember_checkpoint_free(&ck);
    unlink(path);
    return rows;
}

/* An id of fewer than --emb-min-count training rows keeps the zero row an unseen id has,
 * while the frequent ones learn; without the threshold the rare rows move too. */
Test(train, rare_ids_keep_a_zero_embedding, .timeout = 120) {
    if (!have_adult()) cr_skip_test("no Adult data in %s", ADULT_DIR);
    rare_rows with = rare_case(200), without = rare_case(0);
    cr_assert(with.rare >= 10, "only %d buckets of Adult have 1-199 rows", with.rare);
    cr_assert_eq(with.rare_moved, 0, "%d of %d rare rows moved", with.rare_moved, with.rare);
    cr_assert_eq(with.frequent_moved, with.frequent, "%d of %d frequent rows moved",
                 with.frequent_moved, with.frequent);
    cr_assert_eq(without.rare_moved, without.rare, "without the threshold: %d of %d moved",
                 without.rare_moved, without.rare);
}

/* A file sorted by label: file order trains badly, the shuffle buffer fixes it. */
Test(train, shuffle_buffer_rescues_a_sorted_file, .timeout = 120) {
    char text[64 * 1024] = "";
    uint64_t x = 99;
    for (int pos = 0; pos < 2; pos++) {
        for (int i = 0; i < 1500; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            double v = (double)(x >> 11) / 9007199254740992.0;
            /* positives have larger v on average */
            char line[64];
            snprintf(line, sizeof line, "%d,%.4f\n", pos, pos ? v + 0.8 : v);
            strcat(text, line);
        }
    }
    const char *p = write_temp(5, ".csv", text);
    const char *test = write_temp(6, ".csv", text);
    double auc[2], logloss[2];
    for (int k = 0; k < 2; k++) {
        ember_train_opts o;
        ember_train_opts_defaults(&o);
        o.data = p;
        o.test = test;
        o.format = EMBER_FORMAT_CSV;
        o.schema = "label,v:num";
        o.epochs = 2;
        o.shuffle = k ? 4000 : 0;
        o.threads = 1;
        ember_train_result r;
        ember_model_err err = {""};
        cr_assert_eq(ember_train(&o, &r, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
        auc[k] = r.final.auc;
        logloss[k] = r.final.logloss;
    }
    /* the best possible AUC here is 1 - 0.2^2 / 2 = 0.98 */
    cr_assert(auc[1] > 0.95, "shuffled AUC %.4f", auc[1]);
    cr_assert(logloss[1] < logloss[0], "shuffled logloss %.4f, file order %.4f", logloss[1],
              logloss[0]);
    cr_log_info("sorted file: AUC %.4f / logloss %.4f in file order, %.4f / %.4f shuffled", auc[0],
                logloss[0], auc[1], logloss[1]);
    unlink(p);
    unlink(test);
}
