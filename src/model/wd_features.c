/* wd_features.c: hashing, crosses, numeric transforms and their statistics, and batches. */
#include "wd_features.h"

#include "wd_hash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MISSING_HASH 0x5bd1e9955bd1e995ull

const char *ember_numeric_mode_name(ember_numeric_mode m) {
    switch (m) {
    case EMBER_NUMERIC_LOG_STD:
        return "logstd";
    case EMBER_NUMERIC_LOG:
        return "log";
    case EMBER_NUMERIC_STD:
        return "std";
    case EMBER_NUMERIC_RAW:
        return "raw";
    }
    return "?";
}

ember_status ember_numeric_mode_parse(const char *s, ember_numeric_mode *m) {
    for (int i = 0; i <= EMBER_NUMERIC_RAW; i++) {
        if (strcasecmp(s, ember_numeric_mode_name((ember_numeric_mode)i)) == 0) {
            *m = (ember_numeric_mode)i;
            return EMBER_STATUS_SUCCESS;
        }
    }
    return EMBER_STATUS_INVALID_ARGUMENT;
}

void ember_features_free(ember_features *fx) {
    if (fx == NULL) return;
    ember_schema_free(fx->schema);
    free(fx->deep_col);
    free(fx->field_buckets);
    free(fx->sized);
    free(fx->distinct);
    free(fx->num_col);
    free(fx->wide_buckets);
    free(fx->wide_offset);
    free(fx->mean);
    free(fx->std);
    free(fx->nbounds);
    free(fx->bounds);
    free(fx->w_n);
    free(fx->w_mean);
    free(fx->w_m2);
    free(fx->reservoir);
    free(fx->res_n);
    free(fx);
}

static ember_status parse_crosses(ember_features *fx, const char *text, ember_model_err *err) {
    fx->ncross = 0;
    if (text == NULL || text[0] == '\0' || strcmp(text, "none") == 0) return EMBER_STATUS_SUCCESS;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (fx->ncross == EMBER_MAX_CROSS)
            return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "crosses: more than %d",
                              EMBER_MAX_CROSS);
        int k = fx->ncross;
        fx->cross_len[k] = 0;
        const char *q = p;
        while (q < p + n) {
            const char *star = memchr(q, '*', (size_t)(p + n - q));
            size_t m = star ? (size_t)(star - q) : (size_t)(p + n - q);
            char name[EMBER_NAME_MAX];
            if (m >= sizeof name || m == 0)
                return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                                  "crosses: bad column name in '%.*s'", (int)n, p);
            memcpy(name, q, m);
            name[m] = '\0';
            int col = ember_schema_find(fx->schema, name);
            if (col < 0)
                return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                                  "crosses: no column named '%s'", name);
            ember_col_kind kind = fx->schema->cols[col].kind;
            if (kind != EMBER_COL_CATEGORICAL && kind != EMBER_COL_NUMERIC)
                return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                                  "crosses: column '%s' is not categorical or numeric", name);
            if (kind == EMBER_COL_NUMERIC && fx->num_bins == 0)
                return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                                  "crosses: numeric column '%s' needs numeric buckets", name);
            if (fx->cross_len[k] == EMBER_MAX_CROSS_LEN)
                return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                                  "crosses: at most %d columns per cross", EMBER_MAX_CROSS_LEN);
            fx->cross_cols[k][fx->cross_len[k]++] = col;
            q += m + (star ? 1 : 0);
        }
        if (fx->cross_len[k] < 2)
            return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                              "crosses: '%.*s' names fewer than two columns", (int)n, p);
        fx->ncross++;
        p = end ? end + 1 : p + n;
    }
    return EMBER_STATUS_SUCCESS;
}

int ember_features_crosses_string(const ember_features *fx, char *buf, size_t cap) {
    size_t o = 0;
    buf[0] = '\0';
    for (int k = 0; k < fx->ncross; k++) {
        for (int j = 0; j < fx->cross_len[k]; j++) {
            const char *nm = fx->schema->cols[fx->cross_cols[k][j]].name;
            size_t need = strlen(nm) + (j || k ? 1 : 0);
            if (o + need >= cap) return -1;
            if (j)
                buf[o++] = '*';
            else if (k)
                buf[o++] = ',';
            memcpy(buf + o, nm, strlen(nm));
            o += strlen(nm);
            buf[o] = '\0';
        }
    }
    return 0;
}

/* The wide fields' sizes and offsets from the current bucket counts. */
static void wide_layout(ember_features *fx) {
    fx->n_wide = 0;
    fx->d_wide = 0;
    for (int f = 0; f < fx->n_deep; f++) fx->wide_buckets[fx->n_wide++] = fx->field_buckets[f];
    if (fx->num_bins > 0)
        for (int f = 0; f < fx->n_num; f++) fx->wide_buckets[fx->n_wide++] = fx->num_bins + 1;
    for (int k = 0; k < fx->ncross; k++) fx->wide_buckets[fx->n_wide++] = fx->cross_buckets;
    for (int w = 0; w < fx->n_wide; w++) {
        fx->wide_offset[w] = fx->d_wide;
        fx->d_wide += fx->wide_buckets[w];
    }
}

ember_status ember_features_set_bucket_list(ember_features *fx, const int64_t *buckets,
                                            ember_model_err *err) {
    for (int f = 0; f < fx->n_deep; f++)
        if (buckets[f] < 2 || buckets[f] > ((int64_t)1 << 40))
            return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                              "buckets of field '%s' must be in [2, 2^40] (got %lld)",
                              fx->schema->cols[fx->deep_col[f]].name, (long long)buckets[f]);
    for (int f = 0; f < fx->n_deep; f++) fx->field_buckets[f] = buckets[f];
    wide_layout(fx);
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_features_set_field_buckets(ember_features *fx, const char *spec,
                                              ember_model_err *err) {
    if (spec == NULL || spec[0] == '\0') return EMBER_STATUS_SUCCESS;
    int64_t *b = malloc((size_t)(fx->n_deep > 0 ? fx->n_deep : 1) * sizeof(int64_t));
    if (b == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    memcpy(b, fx->field_buckets, (size_t)fx->n_deep * sizeof(int64_t));
    const char *p = spec;
    ember_status st = EMBER_STATUS_SUCCESS;
    while (*p && st == EMBER_STATUS_SUCCESS) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = NULL;
        for (const char *q = p; q < p + n; q++)
            if (*q == '=') eq = q;
        char name[EMBER_NAME_MAX], num[32];
        size_t nl = eq ? (size_t)(eq - p) : 0, vl = eq ? (size_t)(p + n - eq - 1) : 0;
        if (eq == NULL || nl == 0 || nl >= sizeof name || vl == 0 || vl >= sizeof num) {
            st = ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                            "field buckets: '%.*s' is not NAME=N", (int)n, p);
            break;
        }
        memcpy(name, p, nl);
        name[nl] = '\0';
        memcpy(num, eq + 1, vl);
        num[vl] = '\0';
        char *e;
        long long v = strtoll(num, &e, 10);
        int col = ember_schema_find(fx->schema, name), f = -1;
        for (int k = 0; k < fx->n_deep; k++)
            if (fx->deep_col[k] == col) f = k;
        if (*e != '\0' || v < 2)
            st = ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                            "field buckets: '%s' is not a count >= 2", num);
        else if (f < 0)
            st = ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                            "field buckets: no categorical column named '%s'", name);
        else {
            b[f] = v;
            fx->sized[f] = 0; /* a count given wins over sizing from the data */
        }
        p = end ? end + 1 : p + n;
    }
    if (st == EMBER_STATUS_SUCCESS) st = ember_features_set_bucket_list(fx, b, err);
    free(b);
    return st;
}

ember_status ember_features_create(ember_features **out, const ember_schema *schema,
                                   int64_t cat_buckets, int64_t cross_buckets, int num_bins,
                                   ember_numeric_mode mode, const char *crosses,
                                   ember_model_err *err) {
    *out = NULL;
    if (cat_buckets < 2 || cross_buckets < 2 || num_bins < 0 || num_bins > 10000)
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                          "hash buckets must be >= 2 (got %lld, crosses %lld) and numeric "
                          "buckets in [0, 10000] (got %d)",
                          (long long)cat_buckets, (long long)cross_buckets, num_bins);
    ember_features *fx = calloc(1, sizeof *fx);
    if (fx == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    ember_status st;
    if (ember_schema_copy(schema, &fx->schema) != EMBER_STATUS_SUCCESS) goto oom;
    fx->cat_buckets = cat_buckets;
    fx->cross_buckets = cross_buckets;
    fx->num_bins = num_bins;
    fx->numeric_mode = mode;
    st = parse_crosses(fx, crosses, err);
    if (st != EMBER_STATUS_SUCCESS) {
        ember_features_free(fx);
        return st;
    }
    int nc = schema->ncols;
    fx->deep_col = calloc((size_t)nc, sizeof(int));
    fx->num_col = calloc((size_t)nc, sizeof(int));
    fx->wide_buckets = calloc((size_t)(2 * nc + EMBER_MAX_CROSS), sizeof(int64_t));
    fx->wide_offset = calloc((size_t)(2 * nc + EMBER_MAX_CROSS), sizeof(int64_t));
    if (!fx->deep_col || !fx->num_col || !fx->wide_buckets || !fx->wide_offset) goto oom;
    for (int c = 0; c < nc; c++) {
        ember_col_kind k = schema->cols[c].kind;
        if (k == EMBER_COL_CATEGORICAL || k == EMBER_COL_MULTI) fx->deep_col[fx->n_deep++] = c;
        if (k == EMBER_COL_NUMERIC) fx->num_col[fx->n_num++] = c;
    }
    fx->field_buckets = calloc((size_t)(fx->n_deep > 0 ? fx->n_deep : 1), sizeof(int64_t));
    fx->sized = calloc((size_t)(fx->n_deep > 0 ? fx->n_deep : 1), 1);
    if (!fx->field_buckets || !fx->sized) goto oom;
    for (int f = 0; f < fx->n_deep; f++) fx->field_buckets[f] = cat_buckets;
    wide_layout(fx);
    size_t nn = (size_t)(fx->n_num > 0 ? fx->n_num : 1);
    size_t nb = (size_t)(num_bins > 1 ? num_bins - 1 : 1);
    fx->mean = calloc(nn, sizeof(double));
    fx->std = calloc(nn, sizeof(double));
    fx->nbounds = calloc(nn, sizeof(int));
    fx->bounds = calloc(nn * nb, sizeof(double));
    fx->w_n = calloc(nn, sizeof(double));
    fx->w_mean = calloc(nn, sizeof(double));
    fx->w_m2 = calloc(nn, sizeof(double));
    fx->res_n = calloc(nn, sizeof(int64_t));
    if (!fx->mean || !fx->std || !fx->nbounds || !fx->bounds || !fx->w_n || !fx->w_mean ||
        !fx->w_m2 || !fx->res_n)
        goto oom;
    for (size_t i = 0; i < nn; i++) fx->std[i] = 1.0;
    fx->res_rng = 0x853c49e6748fea9bull;
    *out = fx;
    return EMBER_STATUS_SUCCESS;
oom:
    ember_features_free(fx);
    return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
}

int64_t ember_features_common_buckets(const ember_features *fx) {
    for (int f = 1; f < fx->n_deep; f++)
        if (fx->field_buckets[f] != fx->field_buckets[0]) return 0;
    return fx->n_deep > 0 ? fx->field_buckets[0] : fx->cat_buckets;
}

/* The value a numeric column contributes before standardising. */
static double pre_std(ember_numeric_mode m, double x) {
    if (m == EMBER_NUMERIC_LOG_STD || m == EMBER_NUMERIC_LOG) return log1p(x > 0.0 ? x : 0.0);
    return x;
}

ember_status ember_features_size_buckets_from_data(ember_features *fx, ember_model_err *err) {
    if (fx->distinct == NULL)
        fx->distinct = calloc((size_t)(fx->n_deep > 0 ? fx->n_deep : 1), sizeof(ember_distinct));
    if (fx->distinct == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    memset(fx->sized, 1, (size_t)fx->n_deep);
    return EMBER_STATUS_SUCCESS;
}

/* The next value of a multi-valued field's text [t, end): *s and *n get it without the
 * blanks around it (n may be 0); returns where the value after it starts. */
static const char *next_value(const char *t, const char *end, char sep, const char **s, size_t *n) {
    const char *b = t;
    while (t < end && *t != sep) t++;
    const char *e = t;
    while (b < e && (*b == ' ' || *b == '\t')) b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
    *s = b;
    *n = (size_t)(e - b);
    return t < end ? t + 1 : t;
}

/* Counts the row's values of every field whose buckets the data decides. */
static void count_values(ember_features *fx, const ember_row *row) {
    for (int f = 0; f < fx->n_deep; f++) {
        const int c = fx->deep_col[f];
        if (!fx->sized[f] || row->missing[c]) continue;
        const char *t = row->tok[c], *end = t + row->len[c];
        if (fx->schema->cols[c].kind != EMBER_COL_MULTI) {
            ember_distinct_add(&fx->distinct[f],
                               ember_hash_bytes(t, (size_t)row->len[c], (uint64_t)c));
            continue;
        }
        while (t < end) {
            const char *s;
            size_t n;
            t = next_value(t, end, fx->schema->cols[c].sep, &s, &n);
            if (n > 0) ember_distinct_add(&fx->distinct[f], ember_hash_bytes(s, n, (uint64_t)c));
        }
    }
}

/* Sets each sized field's buckets from its count of distinct values. */
static ember_status size_buckets(ember_features *fx, ember_model_err *err) {
    int64_t *b = malloc((size_t)(fx->n_deep > 0 ? fx->n_deep : 1) * sizeof(int64_t));
    if (b == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    for (int f = 0; f < fx->n_deep; f++) {
        const double want =
            1.0 + EMBER_BUCKETS_PER_VALUE * floor(ember_distinct_estimate(&fx->distinct[f]) + 0.5);
        b[f] = !fx->sized[f]                     ? fx->field_buckets[f]
               : want >= (double)fx->cat_buckets ? fx->cat_buckets
                                                 : (int64_t)want;
        if (b[f] < 2) b[f] = 2; /* a field never seen: the missing id and one more */
    }
    ember_status st = ember_features_set_bucket_list(fx, b, err);
    free(b);
    free(fx->distinct);
    fx->distinct = NULL;
    return st;
}

void ember_features_stats_add(ember_features *fx, const ember_row *row) {
    if (fx->distinct != NULL) count_values(fx, row);
    if (fx->reservoir == NULL && fx->num_bins > 1 && fx->n_num > 0) {
        fx->reservoir = malloc((size_t)fx->n_num * EMBER_RESERVOIR * sizeof(double));
        /* Without the reservoir the buckets fall back to none; numbers still work. */
    }
    for (int f = 0; f < fx->n_num; f++) {
        int c = fx->num_col[f];
        if (row->missing[c]) continue;
        double x = row->num[c];
        double t = pre_std(fx->numeric_mode, x);
        /* Welford: stable in one pass. */
        fx->w_n[f] += 1.0;
        double d = t - fx->w_mean[f];
        fx->w_mean[f] += d / fx->w_n[f];
        fx->w_m2[f] += d * (t - fx->w_mean[f]);
        if (fx->reservoir != NULL) {
            int64_t seen = fx->res_n[f]++;
            double *res = fx->reservoir + (size_t)f * EMBER_RESERVOIR;
            if (seen < EMBER_RESERVOIR) {
                res[seen] = x;
            } else {
                /* Reservoir sampling with a fixed generator: deterministic. */
                fx->res_rng = fx->res_rng * 6364136223846793005ull + 1442695040888963407ull;
                uint64_t j = (fx->res_rng >> 11) % (uint64_t)(seen + 1);
                if (j < EMBER_RESERVOIR) res[j] = x;
            }
        }
    }
    fx->stat_count++;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

ember_status ember_features_stats_finish(ember_features *fx, ember_model_err *err) {
    int nb = fx->num_bins > 1 ? fx->num_bins - 1 : 1;
    for (int f = 0; f < fx->n_num; f++) {
        double n = fx->w_n[f];
        fx->mean[f] = n > 0 ? fx->w_mean[f] : 0.0;
        double var = n > 1 ? fx->w_m2[f] / (n - 1) : 0.0;
        fx->std[f] = var > 1e-12 ? sqrt(var) : 1.0;
        fx->nbounds[f] = 0;
        if (fx->reservoir != NULL && fx->res_n[f] > 0) {
            int64_t m = fx->res_n[f] < EMBER_RESERVOIR ? fx->res_n[f] : EMBER_RESERVOIR;
            double *res = fx->reservoir + (size_t)f * EMBER_RESERVOIR;
            qsort(res, (size_t)m, sizeof(double), cmp_double);
            double *bd = fx->bounds + (size_t)f * (size_t)nb;
            for (int q = 1; q < fx->num_bins; q++) {
                double v = res[(int64_t)((double)q * (double)m / fx->num_bins)];
                if (fx->nbounds[f] == 0 || v > bd[fx->nbounds[f] - 1]) bd[fx->nbounds[f]++] = v;
            }
        }
    }
    free(fx->reservoir);
    fx->reservoir = NULL;
    fx->stats_ready = 1;
    return fx->distinct != NULL ? size_buckets(fx, err) : EMBER_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------
 * batches
 * --------------------------------------------------------------------------------------- */

void ember_batch_free(ember_batch *b) {
    if (b == NULL) return;
    free(b->label);
    free(b->line);
    free(b->num);
    free(b->deep_multi);
    if (b->deep_ids)
        for (int f = 0; f < b->n_deep; f++) free(b->deep_ids[f]);
    if (b->deep_offs)
        for (int f = 0; f < b->n_deep; f++) free(b->deep_offs[f]);
    free(b->deep_ids);
    free(b->deep_offs);
    free(b->deep_ids_cap);
    free(b->deep_pad);
    free(b->wide_ids);
    free(b->wide_offs);
    free(b);
}

ember_status ember_batch_create(ember_batch **out, const ember_features *fx, int64_t cap) {
    *out = NULL;
    ember_batch *b = calloc(1, sizeof *b);
    if (b == NULL) return EMBER_STATUS_OUT_OF_MEMORY;
    b->cap = cap;
    b->n_deep = fx->n_deep;
    b->n_num = fx->n_num;
    size_t nd = (size_t)(fx->n_deep > 0 ? fx->n_deep : 1);
    b->label = calloc((size_t)cap, sizeof(float));
    b->line = calloc((size_t)cap, sizeof(int64_t));
    b->num = calloc((size_t)cap * (size_t)(fx->n_num > 0 ? fx->n_num : 1), sizeof(float));
    b->deep_multi = calloc(nd, 1);
    b->deep_ids = calloc(nd, sizeof(int64_t *));
    b->deep_offs = calloc(nd, sizeof(int64_t *));
    b->deep_ids_cap = calloc(nd, sizeof(int64_t));
    b->deep_pad = calloc(nd, sizeof(int64_t));
    b->wide_cap = cap * (fx->n_wide > 0 ? fx->n_wide : 1);
    b->wide_ids = calloc((size_t)b->wide_cap, sizeof(int64_t));
    b->wide_offs = calloc((size_t)cap + 1, sizeof(int64_t));
    if (!b->label || !b->line || !b->num || !b->deep_multi || !b->deep_ids || !b->deep_offs ||
        !b->deep_ids_cap || !b->deep_pad || !b->wide_ids || !b->wide_offs)
        goto oom;
    for (int f = 0; f < fx->n_deep; f++) {
        b->deep_multi[f] = fx->schema->cols[fx->deep_col[f]].kind == EMBER_COL_MULTI;
        b->deep_ids_cap[f] = cap;
        b->deep_pad[f] = -1;
        b->deep_ids[f] = calloc((size_t)cap, sizeof(int64_t));
        b->deep_offs[f] = calloc((size_t)cap + 1, sizeof(int64_t));
        if (!b->deep_ids[f] || !b->deep_offs[f]) goto oom;
    }
    *out = b;
    return EMBER_STATUS_SUCCESS;
oom:
    ember_batch_free(b);
    return EMBER_STATUS_OUT_OF_MEMORY;
}

void ember_batch_clear(ember_batch *b) {
    b->n = 0;
    for (int f = 0; f < b->n_deep; f++) b->deep_pad[f] = -1;
}

static int push_id(int64_t **ids, int64_t *cap, int64_t at, int64_t id) {
    if (at >= *cap) {
        int64_t nc = *cap * 2 + 16;
        int64_t *p = realloc(*ids, (size_t)nc * sizeof(int64_t));
        if (p == NULL) return -1;
        *ids = p;
        *cap = nc;
    }
    (*ids)[at] = id;
    return 0;
}

static int numeric_bin(const ember_features *fx, int f, const ember_row *row) {
    int c = fx->num_col[f];
    if (row->missing[c]) return 0;
    int nb = fx->num_bins > 1 ? fx->num_bins - 1 : 1;
    const double *bd = fx->bounds + (size_t)f * (size_t)nb;
    double x = row->num[c];
    int lo = 0, hi = fx->nbounds[f];
    while (lo < hi) { /* the number of bounds <= x */
        int mid = (lo + hi) / 2;
        if (bd[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 1 + lo;
}

ember_status ember_features_encode(const ember_features *fx, const ember_row *row, ember_batch *b,
                                   ember_model_err *err) {
    if (b->n >= b->cap)
        return ember_merr(err, EMBER_STATUS_INTERNAL, "batch full (%lld rows)", (long long)b->cap);
    const int64_t i = b->n;
    const int64_t wstart = i == 0 ? 0 : b->wide_offs[i];
    int64_t w = wstart;
    int wf = 0;
    b->label[i] = row->label;
    b->line[i] = row->line;
    b->wide_offs[0] = 0;
    /* categorical: deep ids and one-hot wide ids */
    for (int f = 0; f < fx->n_deep; f++) {
        int c = fx->deep_col[f];
        const ember_column *cd = &fx->schema->cols[c];
        if (!b->deep_multi[f]) {
            int64_t id = row->missing[c]
                             ? 0
                             : ember_hash_bucket(
                                   ember_hash_bytes(row->tok[c], (size_t)row->len[c], (uint64_t)c),
                                   fx->field_buckets[f]);
            b->deep_ids[f][i] = id;
            if (push_id(&b->wide_ids, &b->wide_cap, w++, fx->wide_offset[wf] + id)) goto oom;
        } else {
            int64_t *offs = b->deep_offs[f];
            if (i == 0) offs[0] = 0;
            int64_t at = offs[i];
            int count = 0;
            if (!row->missing[c]) {
                const char *t = row->tok[c], *end = t + row->len[c];
                while (t < end) {
                    const char *s;
                    size_t n;
                    t = next_value(t, end, cd->sep, &s, &n);
                    if (n > 0) {
                        int64_t id = ember_hash_bucket(ember_hash_bytes(s, n, (uint64_t)c),
                                                       fx->field_buckets[f]);
                        if (push_id(&b->deep_ids[f], &b->deep_ids_cap[f], at + count, id) ||
                            push_id(&b->wide_ids, &b->wide_cap, w++, fx->wide_offset[wf] + id))
                            goto oom;
                        count++;
                    }
                }
            }
            if (count == 0) { /* missing or empty: the missing id */
                if (push_id(&b->deep_ids[f], &b->deep_ids_cap[f], at, 0) ||
                    push_id(&b->wide_ids, &b->wide_cap, w++, fx->wide_offset[wf]))
                    goto oom;
                count = 1;
            }
            offs[i + 1] = at + count;
        }
        wf++;
    }
    /* numeric: transformed values and bucket ids */
    for (int f = 0; f < fx->n_num; f++) {
        int c = fx->num_col[f];
        double v = 0.0;
        if (!row->missing[c]) {
            v = pre_std(fx->numeric_mode, row->num[c]);
            if (fx->numeric_mode == EMBER_NUMERIC_LOG_STD || fx->numeric_mode == EMBER_NUMERIC_STD)
                v = (v - fx->mean[f]) / fx->std[f];
        }
        b->num[(size_t)i * (size_t)fx->n_num + (size_t)f] = (float)v;
    }
    if (fx->num_bins > 0) {
        for (int f = 0; f < fx->n_num; f++) {
            if (push_id(&b->wide_ids, &b->wide_cap, w++,
                        fx->wide_offset[wf] + numeric_bin(fx, f, row)))
                goto oom;
            wf++;
        }
    }
    /* crosses */
    for (int k = 0; k < fx->ncross; k++) {
        uint64_t h = 0x243f6a8885a308d3ull + (uint64_t)k;
        for (int j = 0; j < fx->cross_len[k]; j++) {
            int c = fx->cross_cols[k][j];
            uint64_t v;
            if (row->missing[c]) {
                v = MISSING_HASH;
            } else if (fx->schema->cols[c].kind == EMBER_COL_NUMERIC) {
                int f = 0;
                while (fx->num_col[f] != c) f++;
                v = ember_hash_combine((uint64_t)c, (uint64_t)numeric_bin(fx, f, row));
            } else {
                v = ember_hash_bytes(row->tok[c], (size_t)row->len[c], (uint64_t)c);
            }
            h = ember_hash_combine(h, v);
        }
        if (push_id(&b->wide_ids, &b->wide_cap, w++,
                    fx->wide_offset[wf] + ember_hash_bucket(h, fx->cross_buckets)))
            goto oom;
        wf++;
    }
    b->wide_offs[i + 1] = w;
    b->n++;
    return EMBER_STATUS_SUCCESS;
oom:
    return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory encoding line %lld",
                      (long long)row->line);
}
