/* test_reliability.c: the model-side items of the reliability pass (issue 10): nothing
 * non-finite is saved, scored or loaded; every count and number in a checkpoint is checked;
 * `params --model`, predict and resume share one validation; readers name every bad
 * input; ARFF labels are binary or chosen. Each case failed before its fix. */
#include "test_util.h"

#include "wd_trainer.h"

#include <criterion/criterion.h>
#include <math.h>
#include <sys/stat.h>

#define FIXTURE(name) EMBER_MODEL_FIXTURES "/" name

/* A copy of a safetensors file with one metadata value replaced (value NULL: unchanged)
 * and, when tensor is given, its element 0 set to x or the tensor renamed to new_name. */
static void rewrite(const char *from, const char *to, const char *key, const char *value,
                    const char *tensor, float x, const char *new_name) {
    ember_st_file f;
    ember_model_err err = {""};
    cr_assert_eq(ember_st_read(from, &f, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    for (int i = 0; key != NULL && i < f.nmeta; i++)
        if (strcmp(f.meta[i].key, key) == 0) {
            free(f.meta[i].value);
            f.meta[i].value = strdup(value);
        }
    for (int i = 0; tensor != NULL && i < f.ntensors; i++)
        if (strcmp(f.tensors[i].name, tensor) == 0) {
            if (new_name != NULL)
                snprintf(f.tensors[i].name, sizeof f.tensors[i].name, "%s", new_name);
            else
                f.tensors[i].data[0] = x;
        }
    cr_assert_eq(ember_st_write(to, f.tensors, f.ntensors, f.meta, f.nmeta, &err),
                 EMBER_STATUS_SUCCESS, "%s", err.msg);
    ember_st_free(&f);
}

/* The fixture checkpoint read into *ck and applied to a new CPU model. */
static ember_wd_model *fixture_model(ember_checkpoint *ck, ember_context **ctx) {
    ember_model_err err = {""};
    cr_assert_eq(ember_checkpoint_read(FIXTURE("legacy.st"), ck, &err), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_context_create(ctx, EMBER_BACKEND_CPU, 0), EMBER_STATUS_SUCCESS);
    ember_wd_model *m;
    cr_assert_eq(ember_wd_create(*ctx, &ck->cfg, 8, &m, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(ember_checkpoint_apply(ck, m, &err), EMBER_STATUS_SUCCESS);
    return m;
}

/* A one-file checkpoint (parameters and state) of the fixture model. */
static const char *saved_checkpoint(int slot) {
    ember_checkpoint ck;
    ember_model_err err = {""};
    ember_context *ctx;
    ember_wd_model *m = fixture_model(&ck, &ctx);
    int got;
    cr_assert_eq(ember_checkpoint_load_optimizer(&ck, m, FIXTURE("legacy.st"), &got, &err),
                 EMBER_STATUS_SUCCESS, "%s", err.msg);
    ember_wd_set_best_valid(m, 0.75, "holdout 0.1");
    const char *p = write_temp(slot, ".st", "");
    cr_assert_eq(ember_checkpoint_save(m, p, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    ember_wd_free(m);
    ember_context_destroy(ctx);
    ember_checkpoint_free(&ck);
    return p;
}

static void expect_corrupt(const char *path, const char *words) {
    ember_checkpoint ck;
    ember_model_err err = {""};
    cr_assert_eq(ember_checkpoint_read(path, &ck, &err), EMBER_STATUS_CORRUPT_FILE, "%s", words);
    cr_assert(strstr(err.msg, words) != NULL && strstr(err.msg, path) != NULL, "%s", err.msg);
    /* `params --model` reads through the same checks */
    ember_param_count pc;
    int64_t floats;
    cr_assert_eq(ember_checkpoint_params(path, &pc, &floats, &err), EMBER_STATUS_CORRUPT_FILE, "%s",
                 words);
}

/* item 5: a model with a non-finite weight is never saved */
Test(reliability, non_finite_weights_are_never_saved) {
    ember_checkpoint ck;
    ember_model_err err = {""};
    ember_context *ctx;
    ember_wd_model *m = fixture_model(&ck, &ctx);
    int64_t n = ember_wd_num_params(m);
    float *h = calloc((size_t)n, sizeof(float));
    h[n - 1] = INFINITY; /* out.bias */
    cr_assert_eq(ember_wd_set_params(m, h, &err), EMBER_STATUS_SUCCESS);
    const char *p = write_temp(0, ".st", "");
    unlink(p);
    cr_assert_eq(ember_checkpoint_save(m, p, &err), EMBER_STATUS_NUMERIC_ERROR);
    cr_assert(strstr(err.msg, "out.bias") != NULL, "%s", err.msg);
    cr_assert_neq(access(p, F_OK), 0, "nothing written");
    /* and a model that scores NaN is an error, not a probability */
    h[n - 1] = NAN;
    cr_assert_eq(ember_wd_set_params(m, h, &err), EMBER_STATUS_SUCCESS);
    ember_batch *b;
    cr_assert_eq(ember_batch_create(&b, ck.fx, 8), EMBER_STATUS_SUCCESS);
    ember_reader *r;
    cr_assert_eq(ember_reader_open(&r, FIXTURE("adult.sample.test"), ck.fx->schema, &err),
                 EMBER_STATUS_SUCCESS);
    ember_row row;
    int eof;
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_features_encode(ck.fx, &row, b, &err), EMBER_STATUS_SUCCESS);
    float prob;
    cr_assert_eq(ember_wd_predict(m, b, &prob, &err), EMBER_STATUS_NUMERIC_ERROR);
    cr_assert(strstr(err.msg, "line 2") != NULL, "%s", err.msg);
    ember_reader_close(r);
    ember_batch_free(b);
    free(h);
    ember_wd_free(m);
    ember_context_destroy(ctx);
    ember_checkpoint_free(&ck);
}

/* item 5: NaN scores have no AUC, and an evaluation refuses them */
Test(reliability, nan_scores_are_an_error_in_metrics) {
    float s[4] = {0.1f, NAN, 0.7f, 0.2f}, y[4] = {0, 1, 1, 0};
    cr_assert(isnan(ember_auc(s, y, 4)));
    ember_eval ev = {0};
    cr_assert_eq(ember_eval_add(&ev, s, y, 4), EMBER_STATUS_NUMERIC_ERROR);
    cr_assert_eq(ev.n, 0);
    ember_eval_free(&ev);
}

/* item 5: a run that diverges before any save does not claim to keep a checkpoint */
Test(reliability, divergence_without_a_save_says_none_was_written) {
    ember_train_opts o;
    ember_train_opts_defaults(&o);
    o.data = FIXTURE("adult.sample.test");
    o.format = EMBER_FORMAT_ADULT;
    o.threads = 1;
    o.epochs = 2;
    o.holdout = 0;
    o.model.wide_lr = o.model.deep_lr = o.model.emb_lr = 1e30f;
    o.model.deep_opt = o.model.wide_opt = o.model.emb_opt = EMBER_OPTIMIZER_SGD;
    const char *p = write_temp(1, ".st", "");
    unlink(p);
    o.save = p;
    ember_train_result r;
    ember_model_err err = {""};
    cr_assert_eq(ember_train(&o, &r, &err), EMBER_STATUS_NUMERIC_ERROR, "%s", err.msg);
    cr_assert(strstr(err.msg, "no checkpoint was written") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "kept") == NULL, "%s", err.msg);
    cr_assert_neq(access(p, F_OK), 0);
}

/* items 9 and 12: step and epoch counts are whole numbers in [0, 2^53] */
Test(reliability, checkpoint_counts_are_checked) {
    const char *good = saved_checkpoint(2);
    const char *p = write_temp(3, ".st", "");
    rewrite(good, p, "ember.step", "9223372036854775807", NULL, 0, NULL);
    expect_corrupt(p, "ember.step");
    rewrite(good, p, "ember.epochs", "abc", NULL, 0, NULL);
    expect_corrupt(p, "ember.epochs");
    /* the same in an old .optim beside a checkpoint: the message names the .optim file */
    char op[300];
    const char *legacy = write_temp(4, ".st", "");
    rewrite(FIXTURE("legacy.st"), legacy, NULL, NULL, NULL, 0, NULL);
    snprintf(op, sizeof op, "%s.optim", legacy);
    rewrite(FIXTURE("legacy.st.optim"), op, "ember.step", "12abc", NULL, 0, NULL);
    ember_checkpoint ck;
    ember_model_err err = {""};
    cr_assert_eq(ember_checkpoint_read(legacy, &ck, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    ember_context *ctx;
    cr_assert_eq(ember_context_create(&ctx, EMBER_BACKEND_CPU, 0), EMBER_STATUS_SUCCESS);
    ember_wd_model *m;
    cr_assert_eq(ember_wd_create(ctx, &ck.cfg, 8, &m, &err), EMBER_STATUS_SUCCESS);
    int got;
    cr_assert_eq(ember_checkpoint_load_optimizer(&ck, m, legacy, &got, &err),
                 EMBER_STATUS_CORRUPT_FILE);
    cr_assert(strstr(err.msg, op) != NULL && strstr(err.msg, "ember.step") != NULL, "%s", err.msg);
    ember_wd_free(m);
    ember_context_destroy(ctx);
    ember_checkpoint_free(&ck);
    unlink(op);
}

/* item 17: the best validation AUC travels with the checkpoint (for --resume), is an AUC, and
 * checkpoints from before it (the fixture) load without one; cat_buckets 0 means "one count
 * per field", and needs the list */
Test(reliability, checkpoint_best_valid_auc_and_field_buckets) {
    const char *good = saved_checkpoint(2);
    ember_checkpoint ck;
    ember_model_err err = {""};
    cr_assert_eq(ember_checkpoint_read(good, &ck, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(ck.best_valid_auc, 0.75);
    cr_assert_str_eq(ck.valid_on, "holdout 0.1");
    ember_checkpoint_free(&ck);
    cr_assert_eq(ember_checkpoint_read(FIXTURE("legacy.st"), &ck, &err), EMBER_STATUS_SUCCESS);
    cr_assert(isnan(ck.best_valid_auc) && ck.valid_on[0] == '\0');
    ember_checkpoint_free(&ck);
    const char *p = write_temp(3, ".st", "");
    rewrite(good, p, "ember.best_valid_auc", "1.5", NULL, 0, NULL);
    expect_corrupt(p, "ember.best_valid_auc");
    rewrite(good, p, "ember.cat_buckets", "0", NULL, 0, NULL);
    cr_assert_eq(ember_checkpoint_read(p, &ck, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    ember_checkpoint_free(&ck);
    rewrite(good, p, "ember.cat_buckets", "1", NULL, 0, NULL);
    expect_corrupt(p, "ember.cat_buckets");
}

/* item 12: NaN or infinity in weights, state, statistics or bucket bounds is corrupt */
Test(reliability, non_finite_numbers_in_a_checkpoint_are_corrupt) {
    const char *good = saved_checkpoint(2);
    const char *p = write_temp(3, ".st", "");
    rewrite(good, p, NULL, NULL, "deep.fc0.weight", NAN, NULL);
    expect_corrupt(p, "deep.fc0.weight");
    rewrite(good, p, NULL, NULL, "wide.weight.sum", INFINITY, NULL);
    expect_corrupt(p, "wide.weight.sum");
    ember_st_file f;
    ember_model_err err = {""};
    cr_assert_eq(ember_st_read(good, &f, &err), EMBER_STATUS_SUCCESS);
    char mean[512];
    snprintf(mean, sizeof mean, "nan%s", strchr(ember_st_meta_get(&f, "ember.num_mean"), ','));
    ember_st_free(&f);
    rewrite(good, p, "ember.num_mean", mean, NULL, 0, NULL);
    expect_corrupt(p, "numeric statistics");
    rewrite(good, p, "ember.wide_lr", "inf", NULL, 0, NULL);
    expect_corrupt(p, "ember.wide_lr");
}

/* item 12: a tensor renamed (same float count) passed `params --model` but not predict */
Test(reliability, params_predict_and_resume_reject_the_same_files) {
    const char *good = saved_checkpoint(2);
    const char *p = write_temp(3, ".st", "");
    rewrite(good, p, NULL, NULL, "out.bias", 0, "out.bogus");
    expect_corrupt(p, "out.bias");
    rewrite(good, p, NULL, NULL, "deep.fc0.bias.exp_avg", 0, "deep.fc0.bias.bogus");
    expect_corrupt(p, "optimizer state");
}

/* item 12: the duplicate-name check is not quadratic (60,000 tensors read in well under a
 * second; it took tens of seconds) */
Test(reliability, many_tensor_names_are_checked_quickly, .timeout = 60) {
    enum { N = 60000 };
    ember_st_tensor *t = calloc(N, sizeof *t);
    float x = 0;
    for (int i = 0; i < N; i++) {
        snprintf(t[i].name, sizeof t[i].name, "t%07d", (i * 7919) % N);
        t[i].ndim = 1;
        t[i].shape[0] = 0;
        t[i].data = &x;
    }
    const char *p = write_temp(5, ".st", "");
    ember_model_err err = {""};
    cr_assert_eq(ember_st_write(p, t, N, NULL, 0, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    ember_st_file f;
    double t0 = ember_now();
    cr_assert_eq(ember_st_read(p, &f, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    double secs = ember_now() - t0;
    cr_assert_not_null(ember_st_find(&f, "t0000042"));
    cr_assert_lt(secs, 1.0, "%.2f s", secs);
    ember_st_free(&f);
    /* and a duplicate among them is still found */
    snprintf(t[N - 1].name, sizeof t[N - 1].name, "%s", t[3].name);
    cr_assert_eq(ember_st_write(p, t, N, NULL, 0, &err), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_st_read(p, &f, &err), EMBER_STATUS_CORRUPT_FILE);
    cr_assert(strstr(err.msg, "appears twice") != NULL, "%s", err.msg);
    free(t);
    unlink(p);
}

/* item 11: two label columns: an error naming both, no use after free (ASan) */
Test(reliability, two_label_columns_are_named) {
    ember_schema *s = NULL;
    ember_model_err err = {""};
    cr_assert_eq(ember_schema_from_spec("num,label,label", ',', 0, NULL, &s, &err),
                 EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert(strstr(err.msg, "two label columns (2 and 3)") != NULL, "%s", err.msg);
}

static ember_status read_one(const char *spec, const char *text, ember_model_err *err) {
    ember_schema *s;
    cr_assert_eq(ember_schema_from_spec(spec, ',', 0, NULL, &s, err), EMBER_STATUS_SUCCESS);
    const char *p = write_temp(6, ".csv", text);
    ember_reader *r;
    ember_status st = ember_reader_open(&r, p, s, err);
    if (st == EMBER_STATUS_SUCCESS) {
        ember_row row;
        int eof;
        st = ember_reader_next(r, &row, &eof, err);
        ember_reader_close(r);
    }
    ember_schema_free(s);
    return st;
}

/* item 13: long numbers, numbers beyond float, a directory, an ARFF BOM */
Test(reliability, readers_name_every_bad_input) {
    ember_model_err err = {""};
    char line[256];
    snprintf(line, sizeof line, "1,0.%0100d1\n", 0); /* 103 characters, a fine number */
    cr_assert_eq(read_one("label,x:num", line, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(read_one("label,x:num", "1,1e39\n", &err), EMBER_STATUS_BAD_DATA);
    cr_assert(strstr(err.msg, ":1: column 2 (x)") != NULL && strstr(err.msg, "float") != NULL, "%s",
              err.msg);
    ember_schema *s;
    cr_assert_eq(ember_schema_from_spec("label,x:num", ',', 0, NULL, &s, &err),
                 EMBER_STATUS_SUCCESS);
    ember_reader *r;
    cr_assert_eq(ember_reader_open(&r, "/tmp", s, &err), EMBER_STATUS_IO_ERROR);
    cr_assert(strstr(err.msg, "directory") != NULL, "%s", err.msg);
    ember_schema_free(s);
    const char *p = write_temp(7, ".arff",
                               "\xef\xbb\xbf@relation r\n@attribute a numeric\n"
                               "@attribute class {no,yes}\n@data\n1,yes\n");
    cr_assert_eq(ember_schema_from_arff(p, NULL, NULL, &s, &err), EMBER_STATUS_SUCCESS, "%s",
                 err.msg);
    cr_assert_str_eq(s->cols[0].name, "a");
    ember_schema_free(s);
}

/* item 14: the label is binary or chosen: a numeric target, a three-class label */
Test(reliability, arff_labels_are_binary_or_chosen) {
    ember_schema *s = NULL;
    ember_model_err err = {""};
    /* like cpu.with.vendor: a nominal feature first, a numeric target last */
    const char *p = write_temp(0, ".arff",
                               "@relation cpu\n@attribute vendor {adviser,amdahl}\n"
                               "@attribute MYCT numeric\n@attribute class numeric\n@data\n"
                               "adviser,125,198\n");
    cr_assert_eq(ember_schema_from_arff(p, NULL, NULL, &s, &err), EMBER_STATUS_BAD_DATA);
    cr_assert(strstr(err.msg, "'class' is not nominal") != NULL, "%s", err.msg);
    cr_assert_eq(ember_schema_from_arff(p, "vendor", NULL, &s, &err), EMBER_STATUS_SUCCESS, "%s",
                 err.msg);
    cr_assert_str_eq(s->cols[s->label_col].name, "vendor");
    cr_assert_str_eq(s->positive, "amdahl");
    ember_schema_free(s);
    p = write_temp(1, ".arff",
                   "@relation iris\n@attribute w numeric\n"
                   "@attribute class {setosa,versicolor,virginica}\n@data\n1,setosa\n");
    cr_assert_eq(ember_schema_from_arff(p, NULL, NULL, &s, &err), EMBER_STATUS_BAD_DATA);
    cr_assert(strstr(err.msg, "3 classes") != NULL && strstr(err.msg, "--positive") != NULL, "%s",
              err.msg);
    cr_assert_eq(ember_schema_from_arff(p, NULL, "virginica", &s, &err), EMBER_STATUS_SUCCESS);
    cr_assert_str_eq(s->positive, "virginica");
    ember_schema_free(s);
    cr_assert_eq(ember_schema_from_arff(p, "nope", NULL, &s, &err), EMBER_STATUS_INVALID_ARGUMENT);
}

/* Column names go into the checkpoint's JSON header and key its tensors: a name that is not
 * UTF-8 (JSON text must be) and two columns of one name are refused wherever a schema comes
 * from, naming the columns. */
Test(reliability, column_names_are_utf8_and_unique) {
    ember_schema *s = NULL;
    ember_model_err err = {""};
    cr_assert_eq(ember_schema_from_spec("label,caf\xe9:num", ',', 0, NULL, &s, &err),
                 EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert(strstr(err.msg, "column 2 is not UTF-8") != NULL, "%s", err.msg);
    cr_assert_eq(ember_schema_from_spec("label,x:num,k:cat,x:cat", ',', 0, NULL, &s, &err),
                 EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert(strstr(err.msg, "columns 2 and 4 are both named 'x'") != NULL, "%s", err.msg);
    /* a name given to one column and the default name (cN) of another */
    cr_assert_eq(ember_schema_from_spec("c3:num,label,num", ',', 0, NULL, &s, &err),
                 EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert(strstr(err.msg, "columns 1 and 3") != NULL, "%s", err.msg);
    cr_assert_eq(ember_schema_from_spec("label,x:num", ',', 0, "o\xffui", &s, &err),
                 EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert(strstr(err.msg, "positive class") != NULL, "%s", err.msg);
    /* a delimiter or separator byte beyond ASCII (JSON would need it UTF-8; found by
     * fuzz_schema_spec in a legacy checkpoint's delim=252) */
    cr_assert_eq(ember_schema_from_spec("label,t:multi:\xfc", ',', 0, NULL, &s, &err),
                 EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert(strstr(err.msg, "separator of column 2 (byte 252)") != NULL, "%s", err.msg);
    cr_assert_eq(ember_schema_from_spec("label,x:num", (char)0xfc, 0, NULL, &s, &err),
                 EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert(strstr(err.msg, "delimiter (byte 252)") != NULL, "%s", err.msg);
    /* UTF-8 names up to 63 bytes; one byte more is refused, never cut (see
     * names_are_never_cut) */
    char spec[200];
    snprintf(spec, sizeof spec, "label,caf\xc3\xa9:num,%062d\xc3\xa9:cat", 0);
    cr_assert_eq(ember_schema_from_spec(spec, ',', 0, NULL, &s, &err),
                 EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert(strstr(err.msg, "column 3: name") != NULL && strstr(err.msg, "63 bytes") != NULL,
              "%s", err.msg);
    snprintf(spec, sizeof spec, "label,caf\xc3\xa9:num,%061d\xc3\xa9:cat", 0);
    cr_assert_eq(ember_schema_from_spec(spec, ',', 0, NULL, &s, &err), EMBER_STATUS_SUCCESS, "%s",
                 err.msg);
    cr_assert_eq(strlen(s->cols[2].name), 63, "%s", s->cols[2].name);
    char *text = ember_schema_to_json(s);
    ember_schema *t = NULL;
    cr_assert_eq(ember_schema_from_checkpoint(text, &t, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert(ember_schema_equal(s, t));
    free(text);
    ember_schema_free(t);
    ember_schema_free(s);
    /* an ARFF header */
    const char *p = write_temp(2, ".arff",
                               "@relation r\n@attribute 'caf\xe9' numeric\n"
                               "@attribute class {no,yes}\n@data\n1,yes\n");
    cr_assert_eq(ember_schema_from_arff(p, NULL, NULL, &s, &err), EMBER_STATUS_BAD_DATA);
    cr_assert(strstr(err.msg, p) != NULL && strstr(err.msg, "column 1 is not UTF-8") != NULL, "%s",
              err.msg);
    p = write_temp(3, ".arff",
                   "@relation r\n@attribute a numeric\n@attribute b numeric\n@attribute a {u,v}\n"
                   "@attribute class {no,yes}\n@data\n1,2,u,yes\n");
    cr_assert_eq(ember_schema_from_arff(p, NULL, NULL, &s, &err), EMBER_STATUS_BAD_DATA);
    cr_assert(strstr(err.msg, "columns 1 and 3 are both named 'a'") != NULL, "%s", err.msg);
    /* a checkpoint's schema: raw bytes that are not UTF-8, and two columns alike, in the
     * JSON form and in the older text form */
    static const char *corrupt[] = {
        "{\"format\":\"csv\",\"delimiter\":\",\",\"header\":false,\"positive\":\"\","
        "\"positive_prefix\":false,\"label_values\":[],\"columns\":[{\"name\":\"y\",\"kind\":"
        "\"label\"},{\"name\":\"caf\xe9\",\"kind\":\"num\"}]}",
        "{\"format\":\"csv\",\"delimiter\":\",\",\"header\":false,\"positive\":\"\","
        "\"positive_prefix\":false,\"label_values\":[],\"columns\":[{\"name\":\"y\",\"kind\":"
        "\"label\"},{\"name\":\"y\",\"kind\":\"num\"}]}",
        "format=csv;delim=44;header=0;cols=y:1:0|caf%E9:2:0",
        "format=csv;delim=252;header=0;cols=y:1:0|x:2:0",
        "format=csv;delim=44;header=0;cols=y:1:0|x:2:0|x:3:0",
    };
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(ember_schema_from_checkpoint(corrupt[i], &s, &err), EMBER_STATUS_CORRUPT_FILE,
                     "%s", corrupt[i]);
        cr_assert_null(s);
    }
    cr_assert(strstr(err.msg, "columns 2 and 3 are both named 'x'") != NULL, "%s", err.msg);
}

/* Names and label values hold at most 63 bytes. A longer one is refused where it comes from
 * (file and line, or the column), never cut: two classes sharing their first 63 bytes would
 * have become one class. */
Test(reliability, names_are_never_cut) {
    ember_schema *s = NULL;
    ember_model_err err = {""};
    char text[600], a[80], b[80];
    snprintf(a, sizeof a, "%063dA", 0); /* 64 bytes, the same first 63 as b */
    snprintf(b, sizeof b, "%063dB", 0);
    snprintf(text, sizeof text,
             "@relation r\n@attribute x numeric\n@attribute class {'%s','%s'}\n@data\n1,%s\n", a, b,
             a);
    const char *p = write_temp(4, ".arff", text);
    cr_assert_eq(ember_schema_from_arff(p, NULL, NULL, &s, &err), EMBER_STATUS_BAD_DATA);
    cr_assert_null(s);
    cr_assert(strstr(err.msg, p) != NULL && strstr(err.msg, ":3: attribute class: nominal value") &&
                  strstr(err.msg, "longer than 63 bytes"),
              "%s", err.msg);
    snprintf(text, sizeof text,
             "@relation r\n%% c\n@attribute '%s' numeric\n@attribute class {no,yes}\n@data\n", a);
    unlink(p);
    p = write_temp(4, ".arff", text);
    cr_assert_eq(ember_schema_from_arff(p, NULL, NULL, &s, &err), EMBER_STATUS_BAD_DATA);
    cr_assert(strstr(err.msg, ":3: attribute name") != NULL, "%s", err.msg);
    /* 63 bytes fit */
    a[63] = '\0';
    snprintf(text, sizeof text,
             "@relation r\n@attribute '%s' numeric\n@attribute class {no,'%s'}\n@data\n", a, a);
    unlink(p);
    p = write_temp(4, ".arff", text);
    cr_assert_eq(ember_schema_from_arff(p, NULL, NULL, &s, &err), EMBER_STATUS_SUCCESS, "%s",
                 err.msg);
    cr_assert_str_eq(s->cols[0].name, a);
    cr_assert_str_eq(s->positive, a);
    ember_schema_free(s);
    unlink(p);
    /* a positive class named in a spec */
    cr_assert_eq(ember_schema_from_spec("label,x:num", ',', 0, b, &s, &err),
                 EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert_null(s);
    cr_assert(strstr(err.msg, "--positive") != NULL && strstr(err.msg, "63 bytes"), "%s", err.msg);
}
