/* test_formats.c: the file formats of docs/formats.md: a checkpoint and optimizer state
 * written by ember before the schema became JSON and the state took the model's tensor
 * names (tests/model/fixtures/legacy.st{,.optim}, written by the ember of commit 4fceedd)
 * still load and predict what that ember predicted; new optimizer state is named and shaped
 * after the model's tensors; new files get mode 0666 & ~umask. */
#include "test_util.h"

#include "wd_trainer.h"

#include <criterion/criterion.h>
#include <math.h>
#include <sys/stat.h>

#define FIXTURE(name) EMBER_MODEL_FIXTURES "/" name

typedef struct loaded {
    ember_checkpoint ck;
    ember_context *ctx;
    ember_wd_model *m;
} loaded;

static void load(loaded *l, const char *path, int64_t batch) {
    ember_model_err err = {""};
    cr_assert_eq(ember_checkpoint_read(path, &l->ck, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(ember_context_create(&l->ctx, EMBER_BACKEND_CPU, 0), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_context_set_threads(l->ctx, 1), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_wd_create(l->ctx, &l->ck.cfg, batch, &l->m, &err), EMBER_STATUS_SUCCESS,
                 "%s", err.msg);
    cr_assert_eq(ember_checkpoint_apply(&l->ck, l->m, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
}

static void unload(loaded *l) {
    ember_wd_free(l->m);
    ember_context_destroy(l->ctx);
    ember_checkpoint_free(&l->ck);
}

Test(formats, legacy_checkpoint_loads_and_predicts_as_before) {
    loaded l;
    load(&l, FIXTURE("legacy.st"), 16);
    cr_assert_eq(l.ck.fx->schema->format, EMBER_FORMAT_ADULT);
    cr_assert_eq(l.ck.fx->schema->n_label_values, 2);
    ember_model_err err = {""};
    ember_reader *r;
    cr_assert_eq(ember_reader_open(&r, FIXTURE("adult.sample.test"), l.ck.fx->schema, &err),
                 EMBER_STATUS_SUCCESS, "%s", err.msg);
    ember_batch *b;
    cr_assert_eq(ember_batch_create(&b, l.ck.fx, 16), EMBER_STATUS_SUCCESS);
    FILE *want = fopen(FIXTURE("legacy.predictions.txt"), "r");
    cr_assert_not_null(want);
    float probs[16];
    int n = 0, eof = 0;
    while (!eof) {
        ember_row row;
        cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
        if (!eof) cr_assert_eq(ember_features_encode(l.ck.fx, &row, b, &err), EMBER_STATUS_SUCCESS);
        if (b->n == b->cap || (eof && b->n > 0)) {
            cr_assert_eq(ember_wd_predict(l.m, b, probs, &err), EMBER_STATUS_SUCCESS, "%s",
                         err.msg);
            for (int64_t i = 0; i < b->n; i++, n++) {
                double w;
                cr_assert_eq(fscanf(want, "%lf", &w), 1, "fewer predictions than rows");
                /* the old ember printed "%.6f" */
                cr_assert(fabs((double)probs[i] - w) <= 5e-7, "row %d: %.7f, before %.6f", n,
                          (double)probs[i], w);
            }
            ember_batch_clear(b);
        }
    }
    double extra;
    cr_assert_eq(fscanf(want, "%lf", &extra), EOF, "more predictions than rows");
    cr_assert_eq(n, 100);
    fclose(want);
    ember_batch_free(b);
    ember_reader_close(r);
    unload(&l);
}

static float *read_all_state(ember_wd_model *m, int i, ember_st_tensor *info) {
    ember_model_err err = {""};
    ember_wd_state_info(m, i, info);
    float *h = malloc((size_t)info->count * sizeof(float));
    cr_assert_eq(ember_wd_get_state(m, i, h, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    return h;
}

/* The fixture model with its legacy PATH.optim state loaded; returns load_optimizer's flag. */
static int load_with_state(loaded *l) {
    load(l, FIXTURE("legacy.st"), 16);
    ember_model_err err = {""};
    int got = 0;
    cr_assert_eq(ember_checkpoint_load_optimizer(&l->ck, l->m, FIXTURE("legacy.st"), &got, &err),
                 EMBER_STATUS_SUCCESS, "%s", err.msg);
    return got;
}

/* The old .optim names (state.wide, state.layer0.weight, ...) and flat shapes load: each
 * state tensor gets the old file's floats. */
Test(formats, legacy_optimizer_state_loads) {
    loaded l;
    int got = load_with_state(&l);
    ember_model_err err = {""};
    cr_assert_eq(got, 1);
    cr_assert_eq(ember_wd_step(l.m), 48);
    cr_assert_eq(ember_wd_epochs_done(l.m), 2);
    ember_st_file old;
    cr_assert_eq(ember_st_read(FIXTURE("legacy.st.optim"), &old, &err), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_wd_num_state_tensors(l.m), old.ntensors);
    for (int i = 0; i < ember_wd_num_state_tensors(l.m); i++) {
        ember_st_tensor info;
        float *h = read_all_state(l.m, i, &info);
        const ember_st_tensor *t = ember_st_find(&old, ember_wd_state_legacy_name(l.m, i));
        cr_assert_not_null(t, "%s", ember_wd_state_legacy_name(l.m, i));
        cr_assert_eq(t->count, info.count);
        cr_assert(memcmp(t->data, h, (size_t)info.count * sizeof(float)) == 0, "%s", info.name);
        free(h);
    }
    ember_st_free(&old);
    unload(&l);
}

/* One file: the parameters, then the optimizer state as PARAM.SLOT with the parameter's
 * shape ([rows, 1] for row-wise Adagrad), and the step and epoch counts. */
Test(formats, checkpoint_holds_optimizer_state_named_and_shaped_after_the_parameters) {
    loaded l;
    int got = load_with_state(&l);
    ember_model_err err = {""};
    const char *p = write_temp(0, ".st", "");
    cr_assert_eq(ember_checkpoint_save(l.m, p, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    char op[300];
    snprintf(op, sizeof op, "%s.optim", p);
    cr_assert_neq(access(op, F_OK), 0, "no second file");
    ember_st_file f;
    cr_assert_eq(ember_st_read(p, &f, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(f.ntensors, ember_wd_num_tensors(l.m) + ember_wd_num_state_tensors(l.m));
    cr_assert_str_eq(ember_st_meta_get(&f, "ember.step"), "48");
    cr_assert_str_eq(ember_st_meta_get(&f, "ember.epochs"), "2");
    static const char *const slots[] = {".sum", ".exp_avg", ".exp_avg_sq"};
    int adam = 0, states = 0;
    for (int i = 0; i < f.ntensors; i++) {
        const ember_st_tensor *t = &f.tensors[i];
        if (ember_st_find(&l.ck.st, t->name) != NULL) continue; /* a parameter */
        states++;
        const char *dot = NULL;
        for (size_t k = 0; k < 3; k++) {
            size_t n = strlen(t->name), sn = strlen(slots[k]);
            if (n > sn && strcmp(t->name + n - sn, slots[k]) == 0) dot = t->name + n - sn;
        }
        cr_assert_not_null(dot, "%s has no optimizer slot suffix", t->name);
        adam += strstr(t->name, ".exp_avg_sq") != NULL;
        char param[EMBER_ST_NAME_MAX];
        snprintf(param, sizeof param, "%.*s", (int)(dot - t->name), t->name);
        const ember_st_tensor *w = ember_st_find(&l.ck.st, param);
        cr_assert_not_null(w, "%s names no model tensor", t->name);
        cr_assert_eq(t->ndim, w->ndim, "%s", t->name);
        for (int d = 0; d < w->ndim; d++) cr_assert_eq(t->shape[d], w->shape[d], "%s", t->name);
    }
    cr_assert_eq(states, ember_wd_num_state_tensors(l.m));
    cr_assert_gt(adam, 0, "the default dense optimizer is Adam");
    ember_st_free(&f);
    /* and it reads back whole: parameters counted without the state, state restored */
    ember_checkpoint ck;
    cr_assert_eq(ember_checkpoint_read(p, &ck, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert(ck.has_state);
    cr_assert_eq(ck.param_floats, ember_wd_num_params(l.m));
    ember_wd_set_step(l.m, 0);
    cr_assert_eq(ember_checkpoint_load_optimizer(&ck, l.m, p, &got, &err), EMBER_STATUS_SUCCESS,
                 "%s", err.msg);
    cr_assert_eq(ember_wd_step(l.m), 48);
    ember_checkpoint_free(&ck);
    unlink(p);
    unload(&l);
}

Test(formats, new_files_get_mode_0666_less_umask) {
    loaded l;
    load(&l, FIXTURE("legacy.st"), 16);
    ember_model_err err = {""};
    const char *p = write_temp(1, ".st", "");
    unlink(p);
    mode_t old = umask(022);
    cr_assert_eq(ember_checkpoint_save(l.m, p, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    umask(old);
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0644, "mode %o", (unsigned)(sb.st_mode & 0777));
    unlink(p);
    unload(&l);
}
