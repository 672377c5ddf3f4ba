/* train_resume.c: --resume takes the checkpoint's model; flags that disagree are refused
 * (see train_resume.h). */
#include "train_resume.h"

#include "cli_util.h"

#include <stdio.h>
#include <string.h>

/* Writes into why (when still empty) that flag asked for `given` where the checkpoint has
 * `saved`. */
static void differs(char *why, size_t cap, const char *flag, long long given, long long saved) {
    if (why[0] == '\0' && given != saved)
        snprintf(why, cap, "%s %lld: the checkpoint has %lld", flag, given, saved);
}

/* The columns --schema, --header, --delim and --positive describe, against the checkpoint's
 * (the format's own when the flag is absent). */
static void check_columns(const ember_train_opts *o, const cli_data_values *dv,
                          const ember_schema *saved, char *why, size_t cap) {
    if (why[0] != '\0' ||
        (o->schema == NULL && !o->header && dv->delim == NULL && o->positive == NULL))
        return;
    if (o->positive != NULL && strlen(o->positive) >= sizeof saved->positive) {
        snprintf(why, cap, "--positive '%.20s...' is longer than %d bytes", o->positive,
                 (int)sizeof saved->positive - 1);
        return;
    }
    if (o->header && !saved->header) {
        snprintf(why, cap, "--header: the checkpoint's data has no header line");
        return;
    }
    char delim = dv->delim != NULL ? o->delim : saved->delim;
    const char *positive = o->positive != NULL ? o->positive : saved->positive;
    ember_schema *s = NULL;
    ember_model_err err = {""};
    ember_status st =
        saved->format == EMBER_FORMAT_CSV && o->schema != NULL
            ? ember_schema_from_spec(o->schema, delim, saved->header, positive, &s, &err)
            : ember_schema_copy(saved, &s);
    if (st == EMBER_STATUS_SUCCESS && saved->format == EMBER_FORMAT_CSV && o->schema != NULL)
        st = ember_schema_names_from_header(s, o->data, &err); /* as training named them */
    if (st == EMBER_STATUS_SUCCESS && s->format != EMBER_FORMAT_CSV && o->schema != NULL) {
        snprintf(why, cap, "--schema: the checkpoint's data is %s, not csv",
                 ember_format_name(saved->format));
    } else if (st == EMBER_STATUS_SUCCESS) {
        s->delim = delim;
        if (o->positive != NULL) snprintf(s->positive, sizeof s->positive, "%s", o->positive);
        if (!ember_schema_equal(s, saved))
            snprintf(why, cap,
                     "--schema, --delim or --positive: other columns than the "
                     "checkpoint's");
    } else {
        snprintf(why, cap, "%s", err.msg);
    }
    ember_schema_free(s);
}

/* --buckets N gives every categorical field N buckets: the checkpoint's fields must all
 * have N (a model sized from the data has a count of its own per field). */
static void check_buckets(int64_t buckets, const ember_features *saved, char *why, size_t cap) {
    for (int f = 0; f < saved->n_deep && why[0] == '\0'; f++)
        if (saved->field_buckets[f] != buckets)
            snprintf(why, cap, "--buckets %lld: the checkpoint's field '%.100s' has %lld",
                     (long long)buckets, saved->schema->cols[saved->deep_col[f]].name,
                     (long long)saved->field_buckets[f]);
}

/* The crosses of --cross and the per-field buckets of --field-buckets (over the checkpoint's
 * own counts), against the checkpoint's. */
static void check_features(const ember_train_opts *o, const ember_features *saved, char *why,
                           size_t cap) {
    if (why[0] != '\0' || (o->crosses == NULL && o->field_buckets == NULL)) return;
    ember_features *fx = NULL;
    ember_model_err err = {""};
    if (ember_features_create(&fx, saved->schema, saved->cat_buckets, saved->cross_buckets,
                              saved->num_bins, saved->numeric_mode,
                              o->crosses != NULL ? o->crosses : "", &err) ||
        ember_features_set_bucket_list(fx, saved->field_buckets, &err) ||
        ember_features_set_field_buckets(fx, o->field_buckets, &err)) {
        snprintf(why, cap, "%s", err.msg);
    } else {
        int same = 1;
        if (o->crosses != NULL) {
            same = fx->ncross == saved->ncross;
            for (int k = 0; same && k < fx->ncross; k++)
                same = fx->cross_len[k] == saved->cross_len[k] &&
                       memcmp(fx->cross_cols[k], saved->cross_cols[k],
                              sizeof(int) * (size_t)fx->cross_len[k]) == 0;
        }
        for (int f = 0; same && o->field_buckets != NULL && f < fx->n_deep; f++)
            same = fx->field_buckets[f] == saved->field_buckets[f];
        if (!same)
            snprintf(why, cap, "%s: not the checkpoint's",
                     o->crosses != NULL ? "--cross" : "--field-buckets");
    }
    ember_features_free(fx);
}

/* The first flag given that disagrees with the checkpoint, into why ("" when none does). */
static void find_conflict(const ember_train_opts *o, const cli_data_values *dv,
                          const train_given *g, const ember_checkpoint *ck, char *why, size_t cap) {
    const ember_features *fx = ck->fx;
    const ember_wd_config *m = &o->model;
    why[0] = '\0';
    if (dv->format != NULL && o->format != fx->schema->format)
        snprintf(why, cap, "--format %s: the checkpoint's data is %s", dv->format,
                 ember_format_name(fx->schema->format));
    if (g->emb_dim) differs(why, cap, "--emb-dim", m->emb_dim, ck->cfg.emb_dim);
    if (g->hidden) {
        differs(why, cap, "--hidden: layers", m->nhidden, ck->cfg.nhidden);
        for (int l = 0; l < m->nhidden && l < ck->cfg.nhidden; l++)
            differs(why, cap, "--hidden: a layer of", m->hidden[l], ck->cfg.hidden[l]);
    }
    if (g->seed) differs(why, cap, "--seed", (long long)m->seed, (long long)ck->cfg.seed);
    if (dv->buckets_set) check_buckets(o->cat_buckets, fx, why, cap);
    if (dv->cross_buckets_set)
        differs(why, cap, "--cross-buckets", o->cross_buckets, fx->cross_buckets);
    if (dv->num_buckets_set) differs(why, cap, "--num-buckets", o->num_bins, fx->num_bins);
    if (dv->numeric_set && why[0] == '\0' && o->numeric_mode != fx->numeric_mode)
        snprintf(why, cap, "--numeric %s: the checkpoint's is %s",
                 ember_numeric_mode_name(o->numeric_mode),
                 ember_numeric_mode_name(fx->numeric_mode));
    check_columns(o, dv, fx->schema, why, cap);
    check_features(o, fx, why, cap);
}

int train_resume_adopt(const char *cmd, ember_train_opts *o, const cli_data_values *dv,
                       const train_given *given) {
    ember_checkpoint ck;
    ember_model_err err = {""};
    if (ember_checkpoint_read(o->resume, &ck, &err) != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
        return 2;
    }
    char why[512];
    find_conflict(o, dv, given, &ck, why, sizeof why);
    o->model.seed = ck.cfg.seed;
    o->format = ck.fx->schema->format;
    ember_checkpoint_free(&ck);
    if (why[0] != '\0')
        return cli_usage_error(cmd,
                               "%s (--resume %s continues the checkpoint's model; leave "
                               "the flag out)",
                               why, o->resume);
    return 0;
}
