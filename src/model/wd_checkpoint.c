/* wd_checkpoint.c: model config <-> safetensors metadata, save/load of the parameters, and the
 * ember_widedeep_spec of a config. */
#include "wd_checkpoint.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int opt_parse(const char *s, ember_optimizer_kind *k) {
    for (int i = 0; i <= EMBER_OPTIMIZER_ADAM; i++)
        if (strcmp(s, ember_optimizer_name((ember_optimizer_kind)i)) == 0) {
            *k = (ember_optimizer_kind)i;
            return 0;
        }
    return -1;
}

/* A growable string for the list-valued metadata. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static int sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int sb_printf(sbuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (w < 0) return -1;
        if (b->p && b->n + (size_t)w < b->cap) {
            b->n += (size_t)w;
            return 0;
        }
        size_t nc = (b->cap + (size_t)w + 64) * 2;
        char *q = realloc(b->p, nc);
        if (q == NULL) return -1;
        if (b->p == NULL) q[0] = '\0';
        b->p = q;
        b->cap = nc;
    }
}

#define NMETA 32

/* The first non-finite float of the tensors, or -1: a diverged model is never saved, and
 * a file holding one is corrupt. */
static int64_t first_non_finite(const ember_st_tensor *t) {
    for (int64_t i = 0; i < t->count; i++)
        if (!isfinite(t->data[i])) return i;
    return -1;
}

/* The model's parameters, then its optimizer state, downloaded into one host array (*host,
 * the caller frees it) that ts[0..*nt) point into. */
static ember_status gather_tensors(ember_wd_model *m, const char *path, float **host,
                                   ember_st_tensor **ts, int *nt, ember_model_err *err) {
    int np = ember_wd_num_tensors(m), ns = ember_wd_num_state_tensors(m);
    int64_t total = ember_wd_num_params(m);
    *ts = calloc((size_t)(np + ns), sizeof **ts);
    for (int i = 0; i < ns && *ts; i++) {
        ember_wd_state_info(m, i, &(*ts)[np + i]);
        total += (*ts)[np + i].count;
    }
    *host = malloc((size_t)(total > 0 ? total : 1) * sizeof(float));
    if (*ts == NULL || *host == NULL)
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory saving %s", path);
    EMBER_FORWARD_IF_ERROR(ember_wd_get_params(m, *host, err));
    float *p = *host;
    for (int i = 0; i < np + ns; i++) {
        if (i < np) ember_wd_tensor_info(m, i, &(*ts)[i]);
        (*ts)[i].data = p;
        if (i >= np) EMBER_FORWARD_IF_ERROR(ember_wd_get_state(m, i - np, p, err));
        p += (*ts)[i].count;
        int64_t bad = first_non_finite(&(*ts)[i]);
        if (bad >= 0)
            return ember_merr(err, EMBER_STATUS_NUMERIC_ERROR,
                              "not saving %s: %s holds %g at element %lld (the model diverged)",
                              path, (*ts)[i].name, (double)(*ts)[i].data[bad], (long long)bad);
    }
    *nt = np + ns;
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_checkpoint_save(ember_wd_model *m, const char *path, ember_model_err *err) {
    const ember_wd_config *cfg = ember_wd_get_config(m);
    const ember_features *fx = cfg->fx;
    int nt = 0;
    float *host = NULL;
    ember_st_tensor *ts = NULL;
    char *schema = ember_schema_to_json(fx->schema);
    sbuf mean = {0}, sd = {0}, bounds = {0}, hidden = {0}, fbuckets = {0};
    char vals[NMETA][64];
    char crosses[EMBER_CROSSES_TEXT_MAX];
    ember_st_meta meta[NMETA];
    int nm = 0;
    ember_status st = gather_tensors(m, path, &host, &ts, &nt, err);
    if (st != EMBER_STATUS_SUCCESS) goto done;
    if (schema == NULL) {
        st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory saving %s", path);
        goto done;
    }
    int bad = sb_printf(&mean, "%s", "") || sb_printf(&sd, "%s", "") ||
              sb_printf(&bounds, "%s", "") || sb_printf(&hidden, "%s", "");
    int nb = fx->num_bins > 1 ? fx->num_bins - 1 : 1;
    for (int f = 0; f < fx->n_num && !bad; f++) {
        bad |= sb_printf(&mean, "%s%.17g", f ? "," : "", fx->mean[f]);
        bad |= sb_printf(&sd, "%s%.17g", f ? "," : "", fx->std[f]);
        if (f) bad |= sb_printf(&bounds, ";");
        for (int k = 0; k < fx->nbounds[f]; k++)
            bad |= sb_printf(&bounds, "%s%.17g", k ? "," : "",
                             fx->bounds[(size_t)f * (size_t)nb + (size_t)k]);
    }
    bad |= sb_printf(&fbuckets, "%s", "");
    for (int f = 0; f < fx->n_deep && !bad; f++)
        bad |= sb_printf(&fbuckets, "%s%lld", f ? "," : "", (long long)fx->field_buckets[f]);
    for (int l = 0; l < cfg->nhidden && !bad; l++)
        bad |= sb_printf(&hidden, "%s%lld", l ? "," : "", (long long)cfg->hidden[l]);
    if (bad) {
        st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory saving %s", path);
        goto done;
    }
    if (ember_features_crosses_string(fx, crosses, sizeof crosses) != 0) {
        st = ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "saving %s: the crosses' text is cut",
                        path);
        goto done;
    }
#define META(k, v) (meta[nm].key = (char *)(k), meta[nm].value = (char *)(v), nm++)
#define METAF(k, fmt, x) (snprintf(vals[nm], sizeof vals[nm], fmt, x), META(k, vals[nm]))
    META("ember.model", "widedeep-1");
    META("ember.schema", schema);
    METAF("ember.cat_buckets", "%lld", (long long)ember_features_common_buckets(fx));
    META("ember.field_buckets", fbuckets.p);
    METAF("ember.cross_buckets", "%lld", (long long)fx->cross_buckets);
    METAF("ember.num_bins", "%d", fx->num_bins);
    META("ember.numeric_mode", ember_numeric_mode_name(fx->numeric_mode));
    META("ember.crosses", crosses);
    META("ember.num_mean", mean.p);
    META("ember.num_std", sd.p);
    META("ember.num_bounds", bounds.p);
    METAF("ember.emb_dim", "%lld", (long long)cfg->emb_dim);
    META("ember.hidden", hidden.p);
    META("ember.wide_opt", ember_optimizer_name(cfg->wide_opt));
    META("ember.deep_opt", ember_optimizer_name(cfg->deep_opt));
    META("ember.emb_opt", ember_optimizer_name(cfg->emb_opt));
    METAF("ember.wide_lr", "%.9g", (double)cfg->wide_lr);
    METAF("ember.deep_lr", "%.9g", (double)cfg->deep_lr);
    METAF("ember.emb_lr", "%.9g", (double)cfg->emb_lr);
    METAF("ember.wide_l2", "%.9g", (double)cfg->wide_l2);
    METAF("ember.deep_l2", "%.9g", (double)cfg->deep_l2);
    METAF("ember.emb_l2", "%.9g", (double)cfg->emb_l2);
    METAF("ember.emb_init_acc", "%.9g", (double)cfg->emb_init_acc);
    METAF("ember.emb_min_count", "%lld", (long long)cfg->emb_min_count);
    METAF("ember.seed", "%llu", (unsigned long long)cfg->seed);
    META("ember.reduction",
         cfg->reduction == EMBER_REDUCTION_DETERMINISTIC ? "deterministic" : "atomic");
    METAF("ember.d_wide", "%lld", (long long)fx->d_wide);
    METAF("ember.step", "%lld", (long long)ember_wd_step(m));
    METAF("ember.epochs", "%lld", (long long)ember_wd_epochs_done(m));
    if (!isnan(ember_wd_best_valid_auc(m))) {
        METAF("ember.best_valid_auc", "%.17g", ember_wd_best_valid_auc(m));
        META("ember.valid_on", ember_wd_valid_on(m));
    }
#undef META
#undef METAF
    st = ember_st_write(path, ts, nt, meta, nm, err);
done:
    free(host);
    free(ts);
    free(schema);
    free(mean.p);
    free(sd.p);
    free(bounds.p);
    free(hidden.p);
    free(fbuckets.p);
    return st;
}

void ember_checkpoint_free(ember_checkpoint *ck) {
    if (ck == NULL) return;
    ember_features_free(ck->fx);
    ember_st_free(&ck->st);
    memset(ck, 0, sizeof *ck);
}

static ember_status need(const ember_st_file *f, const char *path, const char *key,
                         const char **out, ember_model_err *err) {
    *out = ember_st_meta_get(f, key);
    if (*out == NULL)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                          "%s: metadata '%s' is missing (not an ember Wide&Deep checkpoint?)", path,
                          key);
    return EMBER_STATUS_SUCCESS;
}

static ember_status need_int(const ember_st_file *f, const char *path, const char *key,
                             long long lo, long long hi, long long *out, ember_model_err *err) {
    const char *v;
    EMBER_FORWARD_IF_ERROR(need(f, path, key, &v, err));
    char *e;
    errno = 0;
    long long x = strtoll(v, &e, 10);
    if (e == v || *e != '\0' || errno != 0 || x < lo || x > hi)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                          "%s: metadata '%s' = '%.40s' is not an integer in [%lld, %lld]", path,
                          key, v, lo, hi);
    *out = x;
    return EMBER_STATUS_SUCCESS;
}

static ember_status need_float(const ember_st_file *f, const char *path, const char *key,
                               float *out, ember_model_err *err) {
    const char *v;
    EMBER_FORWARD_IF_ERROR(need(f, path, key, &v, err));
    char *e;
    double x = strtod(v, &e);
    if (e == v || *e != '\0' || !(fabs(x) <= FLT_MAX))
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                          "%s: metadata '%s' = '%.40s' is not a finite number", path, key, v);
    *out = (float)x;
    return EMBER_STATUS_SUCCESS;
}

/* Parses a comma-separated list of doubles; returns the count or -1. */
static int parse_doubles(const char *s, const char *end, double *out, int cap) {
    int n = 0;
    if (s == end) return 0;
    while (s < end) {
        char *e;
        double x = strtod(s, &e);
        if (e == s || e > end || n == cap || !isfinite(x)) return -1;
        out[n++] = x;
        s = e;
        if (s < end) {
            if (*s != ',') return -1;
            s++;
        }
    }
    return n;
}

/* The model's sizes, optimizers and seed (read_config's second half: the features first). */
static ember_status read_model_config(const ember_st_file *f, const char *path, long long dim,
                                      ember_checkpoint *ck, ember_model_err *err) {
    ember_wd_config *cfg = &ck->cfg;
    ember_wd_config_defaults(cfg);
    cfg->fx = ck->fx;
    cfg->emb_dim = dim;
    const char *hs;
    EMBER_FORWARD_IF_ERROR(need(f, path, "ember.hidden", &hs, err));
    double hd[EMBER_MAX_HIDDEN];
    int nh = parse_doubles(hs, hs + strlen(hs), hd, EMBER_MAX_HIDDEN);
    if (nh < 0) return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: bad hidden sizes", path);
    cfg->nhidden = nh;
    for (int l = 0; l < nh; l++) {
        if (!(hd[l] >= 1 && hd[l] <= 1e6))
            return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: bad hidden size", path);
        cfg->hidden[l] = (int64_t)hd[l];
    }
    const char *ow, *od, *oe, *red;
    long long seed;
    EMBER_FORWARD_IF_ERROR(need(f, path, "ember.wide_opt", &ow, err));
    EMBER_FORWARD_IF_ERROR(need(f, path, "ember.deep_opt", &od, err));
    EMBER_FORWARD_IF_ERROR(need(f, path, "ember.emb_opt", &oe, err));
    if (opt_parse(ow, &cfg->wide_opt) || opt_parse(od, &cfg->deep_opt) ||
        opt_parse(oe, &cfg->emb_opt))
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: unknown optimizer name", path);
    EMBER_FORWARD_IF_ERROR(need_float(f, path, "ember.wide_lr", &cfg->wide_lr, err));
    EMBER_FORWARD_IF_ERROR(need_float(f, path, "ember.deep_lr", &cfg->deep_lr, err));
    EMBER_FORWARD_IF_ERROR(need_float(f, path, "ember.emb_lr", &cfg->emb_lr, err));
    EMBER_FORWARD_IF_ERROR(need_float(f, path, "ember.wide_l2", &cfg->wide_l2, err));
    EMBER_FORWARD_IF_ERROR(need_float(f, path, "ember.deep_l2", &cfg->deep_l2, err));
    EMBER_FORWARD_IF_ERROR(need_float(f, path, "ember.emb_l2", &cfg->emb_l2, err));
    cfg->emb_init_acc = 0.0f; /* checkpoints from before it existed started from zero */
    if (ember_st_meta_get(f, "ember.emb_init_acc") != NULL)
        EMBER_FORWARD_IF_ERROR(need_float(f, path, "ember.emb_init_acc", &cfg->emb_init_acc, err));
    long long min_count = 0; /* absent in files from before it existed: every id trained */
    if (ember_st_meta_get(f, "ember.emb_min_count") != NULL)
        EMBER_FORWARD_IF_ERROR(
            need_int(f, path, "ember.emb_min_count", 0, 0x7fffffffffffffffll, &min_count, err));
    cfg->emb_min_count = min_count;
    EMBER_FORWARD_IF_ERROR(need_int(f, path, "ember.seed", 0, 0x7fffffffffffffffll, &seed, err));
    cfg->seed = (uint64_t)seed;
    EMBER_FORWARD_IF_ERROR(need(f, path, "ember.reduction", &red, err));
    cfg->reduction =
        strcmp(red, "atomic") == 0 ? EMBER_REDUCTION_ATOMIC : EMBER_REDUCTION_DETERMINISTIC;
    return EMBER_STATUS_SUCCESS;
}

static ember_status read_config(const char *path, ember_checkpoint *ck, ember_model_err *err) {
    const ember_st_file *f = &ck->st;
    const char *v, *schema_s, *mode_s, *cross_s;
    long long cat_b, cross_b, bins, dim;
    EMBER_FORWARD_IF_ERROR(need(f, path, "ember.model", &v, err));
    if (strcmp(v, "widedeep-1") != 0)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: unknown model kind '%.40s'", path,
                          v);
    EMBER_FORWARD_IF_ERROR(need(f, path, "ember.schema", &schema_s, err));
    /* 0: the fields have different counts, listed in ember.field_buckets */
    EMBER_FORWARD_IF_ERROR(need_int(f, path, "ember.cat_buckets", 0, (1ll << 40), &cat_b, err));
    const char *fb = ember_st_meta_get(f, "ember.field_buckets");
    if (cat_b == 1 || (cat_b == 0 && fb == NULL))
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                          "%s: metadata 'ember.cat_buckets' is %lld%s", path, cat_b,
                          cat_b == 0 ? " without 'ember.field_buckets'" : "");
    EMBER_FORWARD_IF_ERROR(need_int(f, path, "ember.cross_buckets", 2, (1ll << 40), &cross_b, err));
    EMBER_FORWARD_IF_ERROR(need_int(f, path, "ember.num_bins", 0, 10000, &bins, err));
    EMBER_FORWARD_IF_ERROR(need_int(f, path, "ember.emb_dim", 1, 1 << 20, &dim, err));
    EMBER_FORWARD_IF_ERROR(need(f, path, "ember.numeric_mode", &mode_s, err));
    EMBER_FORWARD_IF_ERROR(need(f, path, "ember.crosses", &cross_s, err));
    ember_numeric_mode mode;
    if (ember_numeric_mode_parse(mode_s, &mode) != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: bad numeric_mode", path);
    ember_schema *schema = NULL;
    ember_model_err e2;
    if (ember_schema_from_checkpoint(schema_s, &schema, &e2) != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: metadata 'ember.schema': %s", path,
                          e2.msg);
    ember_status st =
        ember_features_create(&ck->fx, schema, cat_b > 0 ? cat_b : EMBER_AUTO_BUCKETS_MAX, cross_b,
                              (int)bins, mode, cross_s, &e2);
    ember_schema_free(schema);
    if (st != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: feature config: %s", path, e2.msg);
    ember_features *fx = ck->fx;
    /* per-field buckets (files from before they existed use cat_buckets everywhere) */
    if (fb != NULL && fx->n_deep > 0) {
        double *fbv = malloc((size_t)fx->n_deep * sizeof(double));
        int64_t *b = malloc((size_t)fx->n_deep * sizeof(int64_t));
        int ok = fbv && b && parse_doubles(fb, fb + strlen(fb), fbv, fx->n_deep) == fx->n_deep;
        for (int k = 0; ok && k < fx->n_deep; k++) {
            ok = fbv[k] >= 2 && fbv[k] <= 1099511627776.0;
            if (ok) b[k] = (int64_t)fbv[k];
        }
        if (ok) ok = ember_features_set_bucket_list(fx, b, &e2) == EMBER_STATUS_SUCCESS;
        free(fbv);
        free(b);
        if (!ok)
            return ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                              "%s: metadata 'ember.field_buckets' does not list %d bucket counts",
                              path, fx->n_deep);
    }
    /* numeric statistics */
    const char *ms, *ss, *bs;
    EMBER_FORWARD_IF_ERROR(need(f, path, "ember.num_mean", &ms, err));
    EMBER_FORWARD_IF_ERROR(need(f, path, "ember.num_std", &ss, err));
    EMBER_FORWARD_IF_ERROR(need(f, path, "ember.num_bounds", &bs, err));
    if (parse_doubles(ms, ms + strlen(ms), fx->mean, fx->n_num) != fx->n_num ||
        parse_doubles(ss, ss + strlen(ss), fx->std, fx->n_num) != fx->n_num)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                          "%s: numeric statistics do not list %d columns", path, fx->n_num);
    int nb = fx->num_bins > 1 ? fx->num_bins - 1 : 1;
    const char *q = bs;
    for (int k = 0; k < fx->n_num; k++) {
        const char *semi = strchr(q, ';');
        const char *end = semi ? semi : q + strlen(q);
        int c =
            fx->num_bins > 1 ? parse_doubles(q, end, fx->bounds + (size_t)k * (size_t)nb, nb) : 0;
        if (c < 0 || (fx->num_bins <= 1 && end != q))
            return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: bad numeric bucket bounds",
                              path);
        fx->nbounds[k] = c;
        if ((semi == NULL) != (k == fx->n_num - 1))
            return ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                              "%s: numeric bucket bounds do not list %d columns", path, fx->n_num);
        q = semi ? semi + 1 : end;
    }
    fx->stats_ready = 1;
    return read_model_config(f, path, dim, ck, err);
}

/* Sizes and counts past 2^53 are not exact in a double and overflow sums: no file holds one. */
#define MAX_COUNT (1ll << 53)

/* The best validation AUC and the rows it was measured on (checkpoints from before they were
 * saved, or trained without validation, have neither: NAN and ""). */
static ember_status read_best_valid(const char *path, ember_checkpoint *ck, ember_model_err *err) {
    ck->best_valid_auc = NAN;
    ck->valid_on[0] = '\0';
    const char *on = ember_st_meta_get(&ck->st, "ember.valid_on");
    if (ember_st_meta_get(&ck->st, "ember.best_valid_auc") == NULL && on == NULL)
        return EMBER_STATUS_SUCCESS;
    const char *v;
    EMBER_FORWARD_IF_ERROR(need(&ck->st, path, "ember.best_valid_auc", &v, err));
    EMBER_FORWARD_IF_ERROR(need(&ck->st, path, "ember.valid_on", &on, err));
    char *e;
    const double auc = strtod(v, &e); /* a double, as saved: compared exactly on resume */
    if (e == v || *e != '\0' || !(auc >= 0.0 && auc <= 1.0) || strlen(on) >= sizeof ck->valid_on)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                          "%s: metadata 'ember.best_valid_auc' or 'ember.valid_on' is not an AUC "
                          "and a description",
                          path);
    ck->best_valid_auc = auc;
    snprintf(ck->valid_on, sizeof ck->valid_on, "%s", on);
    return EMBER_STATUS_SUCCESS;
}

/* The file's tensors against the layout of its config: every parameter with its shape,
 * the optimizer state all there (with its step and epoch counts) or all absent, nothing
 * else, and every float finite. Sets ck->has_state, ck->step, ck->epochs. */
static ember_status check_tensors(const char *path, ember_checkpoint *ck, int64_t *param_floats,
                                  ember_model_err *err) {
    ember_wd_layout l;
    if (ember_wd_layout_of(&ck->cfg, &l) != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: its model sizes are invalid", path);
    ember_status st = EMBER_STATUS_SUCCESS;
    int nstate = 0;
    *param_floats = 0;
    for (int i = 0; i < l.nparams + l.nstates && st == EMBER_STATUS_SUCCESS; i++) {
        const ember_st_tensor *want = i < l.nparams ? &l.params[i] : &l.states[i - l.nparams];
        const ember_st_tensor *t = ember_st_find(&ck->st, want->name);
        if (t == NULL && i < l.nparams)
            st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: tensor '%s' is missing", path,
                            want->name);
        if (t == NULL) continue;
        int same = t->ndim == want->ndim;
        for (int d = 0; same && d < want->ndim; d++) same = t->shape[d] == want->shape[d];
        int64_t bad = same ? first_non_finite(t) : -1;
        if (!same)
            st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                            "%s: tensor '%s' has the wrong shape for its config", path, t->name);
        else if (bad >= 0)
            st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                            "%s: tensor '%s' holds %g at element %lld", path, t->name,
                            (double)t->data[bad], (long long)bad);
        if (i < l.nparams)
            *param_floats += t->count;
        else
            nstate++;
    }
    if (st == EMBER_STATUS_SUCCESS && nstate != 0 && nstate != l.nstates)
        st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                        "%s: holds %d of the %d optimizer state tensors of its config", path,
                        nstate, l.nstates);
    if (st == EMBER_STATUS_SUCCESS && ck->st.ntensors != l.nparams + nstate)
        st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                        "%s: holds %d tensors; its config has %d parameters and %d state tensors",
                        path, ck->st.ntensors, l.nparams, nstate);
    ck->has_state = nstate > 0;
    ember_wd_layout_free(&l);
    if (st != EMBER_STATUS_SUCCESS || !ck->has_state) return st;
    long long step, epochs;
    EMBER_FORWARD_IF_ERROR(need_int(&ck->st, path, "ember.step", 0, MAX_COUNT, &step, err));
    EMBER_FORWARD_IF_ERROR(need_int(&ck->st, path, "ember.epochs", 0, MAX_COUNT, &epochs, err));
    ck->step = step;
    ck->epochs = epochs;
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_checkpoint_read(const char *path, ember_checkpoint *ck, ember_model_err *err) {
    memset(ck, 0, sizeof *ck);
    EMBER_FORWARD_IF_ERROR(ember_st_read(path, &ck->st, err));
    ember_status st = read_config(path, ck, err);
    int64_t floats = 0;
    if (st == EMBER_STATUS_SUCCESS) st = check_tensors(path, ck, &floats, err);
    if (st == EMBER_STATUS_SUCCESS) st = read_best_valid(path, ck, err);
    if (st == EMBER_STATUS_SUCCESS) {
        ember_param_count pc;
        ember_widedeep_spec spec;
        ember_wd_spec_storage ss;
        st = ember_wd_spec_from_config(&ck->cfg, &spec, &ss);
        if (st == EMBER_STATUS_SUCCESS) {
            st = ember_widedeep_count_params(&spec, &pc);
            ember_wd_spec_storage_free(&ss);
        }
        if (st != EMBER_STATUS_SUCCESS) {
            st =
                ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "%s: its model sizes are invalid", path);
        } else if (pc.allocated != floats) {
            st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                            "%s: holds %lld parameters but its config describes %lld", path,
                            (long long)floats, (long long)pc.allocated);
        }
        ck->param_floats = floats;
    }
    if (st != EMBER_STATUS_SUCCESS) ember_checkpoint_free(ck);
    return st;
}

ember_status ember_checkpoint_apply(const ember_checkpoint *ck, ember_wd_model *m,
                                    ember_model_err *err) {
    int nt = ember_wd_num_tensors(m);
    int64_t total = ember_wd_num_params(m);
    float *host = malloc((size_t)(total > 0 ? total : 1) * sizeof(float));
    if (host == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    float *p = host;
    for (int i = 0; i < nt; i++) {
        ember_st_tensor info;
        ember_wd_tensor_info(m, i, &info);
        const ember_st_tensor *t = ember_st_find(&ck->st, info.name);
        int same = t != NULL && t->ndim == info.ndim;
        for (int d = 0; same && d < info.ndim; d++) same = t->shape[d] == info.shape[d];
        if (!same) {
            free(host);
            if (t == NULL)
                return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "checkpoint lacks tensor '%s'",
                                  info.name);
            return ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                              "checkpoint tensor '%s' has the wrong shape for its config",
                              info.name);
        }
        memcpy(p, t->data, (size_t)info.count * sizeof(float));
        p += info.count;
    }
    ember_status st = ember_wd_set_params(m, host, err);
    free(host);
    return st;
}

ember_status ember_wd_spec_from_config(const ember_wd_config *cfg, ember_widedeep_spec *spec,
                                       ember_wd_spec_storage *st) {
    const ember_features *fx = cfg->fx;
    memset(st, 0, sizeof *st);
    memset(spec, 0, sizeof *spec);
    size_t nw = (size_t)(fx->n_wide > 0 ? fx->n_wide : 1),
           nd = (size_t)(fx->n_deep > 0 ? fx->n_deep : 1);
    st->wide_buckets = calloc(nw, sizeof(int64_t));
    st->vocab = calloc(nd, sizeof(int64_t));
    st->emb_dim = calloc(nd, sizeof(int64_t));
    if (!st->wide_buckets || !st->vocab || !st->emb_dim) {
        ember_wd_spec_storage_free(st);
        return EMBER_STATUS_OUT_OF_MEMORY;
    }
    for (int w = 0; w < fx->n_wide; w++) st->wide_buckets[w] = fx->wide_buckets[w];
    for (int f = 0; f < fx->n_deep; f++) {
        st->vocab[f] = fx->field_buckets[f];
        st->emb_dim[f] = cfg->emb_dim;
    }
    for (int l = 0; l < cfg->nhidden; l++) st->hidden[l] = cfg->hidden[l];
    spec->num_wide_fields = fx->n_wide;
    spec->wide_buckets = st->wide_buckets;
    spec->num_deep_fields = fx->n_deep;
    spec->vocab = st->vocab;
    spec->emb_dim = st->emb_dim;
    spec->num_numeric = fx->n_num;
    spec->num_hidden = cfg->nhidden;
    spec->hidden = st->hidden;
    return EMBER_STATUS_SUCCESS;
}

void ember_wd_spec_storage_free(ember_wd_spec_storage *st) {
    if (st == NULL) return;
    free(st->wide_buckets);
    free(st->vocab);
    free(st->emb_dim);
    memset(st, 0, sizeof *st);
}

ember_status ember_checkpoint_params(const char *path, ember_param_count *count,
                                     int64_t *floats_in_file, ember_model_err *err) {
    ember_checkpoint ck;
    EMBER_FORWARD_IF_ERROR(ember_checkpoint_read(path, &ck, err));
    ember_widedeep_spec spec;
    ember_wd_spec_storage ss;
    ember_status st = ember_wd_spec_from_config(&ck.cfg, &spec, &ss);
    if (st == EMBER_STATUS_SUCCESS) {
        st = ember_widedeep_count_params(&spec, count);
        ember_wd_spec_storage_free(&ss);
    }
    *floats_in_file = ck.param_floats;
    ember_checkpoint_free(&ck);
    if (st != EMBER_STATUS_SUCCESS) return ember_merr(err, st, "%s: cannot count parameters", path);
    return EMBER_STATUS_SUCCESS;
}

/* Sets the model's state tensors from a file's (by name, else by the old name with the
 * same float count) and its step and epoch counts. */
static ember_status set_state(ember_wd_model *m, const ember_st_file *f, const char *path,
                              long long step, long long epochs, ember_model_err *err) {
    for (int i = 0; i < ember_wd_num_state_tensors(m); i++) {
        ember_st_tensor info;
        ember_wd_state_info(m, i, &info);
        const ember_st_tensor *t = ember_st_find(f, info.name);
        if (t == NULL) t = ember_st_find(f, ember_wd_state_legacy_name(m, i));
        if (t == NULL || t->count != info.count)
            return ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                              "%s: optimizer state '%s' is missing or has the wrong size", path,
                              info.name);
        int64_t bad = first_non_finite(t);
        if (bad >= 0)
            return ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                              "%s: optimizer state '%s' holds %g at element %lld", path, t->name,
                              (double)t->data[bad], (long long)bad);
        EMBER_FORWARD_IF_ERROR(ember_wd_set_state(m, i, t->data, err));
    }
    ember_wd_set_step(m, step);
    ember_wd_set_epochs_done(m, epochs);
    return EMBER_STATUS_SUCCESS;
}

/* Checkpoints written before the state moved into them kept it in PATH.optim. */
static ember_status load_legacy_optim(ember_wd_model *m, const char *path, int *loaded,
                                      ember_model_err *err) {
    size_t n = strlen(path);
    char *op = malloc(n + 8);
    if (op == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    memcpy(op, path, n);
    memcpy(op + n, ".optim", 7);
    ember_st_file f;
    ember_status st = EMBER_STATUS_SUCCESS;
    if (access(op, F_OK) != 0 || (st = ember_st_read(op, &f, err)) != EMBER_STATUS_SUCCESS) {
        free(op);
        return st;
    }
    long long step = 0, epochs = 0;
    int nt = ember_wd_num_state_tensors(m);
    if (f.ntensors != nt)
        st = ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                        "%s: not the optimizer state of %s (%d tensors, the model's optimizers "
                        "keep %d)",
                        op, path, f.ntensors, nt);
    if (st == EMBER_STATUS_SUCCESS) st = need_int(&f, op, "ember.step", 0, MAX_COUNT, &step, err);
    if (st == EMBER_STATUS_SUCCESS && ember_st_meta_get(&f, "ember.epochs") != NULL)
        st = need_int(&f, op, "ember.epochs", 0, MAX_COUNT, &epochs, err);
    if (st == EMBER_STATUS_SUCCESS) st = set_state(m, &f, op, step, epochs, err);
    *loaded = st == EMBER_STATUS_SUCCESS;
    ember_st_free(&f);
    free(op);
    return st;
}

ember_status ember_checkpoint_load_optimizer(const ember_checkpoint *ck, ember_wd_model *m,
                                             const char *path, int *loaded, ember_model_err *err) {
    *loaded = 0;
    if (!ck->has_state) return load_legacy_optim(m, path, loaded, err);
    EMBER_FORWARD_IF_ERROR(set_state(m, &ck->st, path, ck->step, ck->epochs, err));
    *loaded = 1;
    return EMBER_STATUS_SUCCESS;
}
