/* cuda_selftest.c: checks every CUDA op against the CPU backend through the public API on
 * awkward shapes, then times the FBGEMM-shaped lookup and fused backward + SGD. Prints one
 * line per check and a summary; exits 1 when a check fails, 0 when all pass or no GPU. */
#define _POSIX_C_SOURCE 200809L
#include "ember.h"
#include "cuda/tools/cuda_direct.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures, checks;
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return rng_state = x;
}
static float rndf(void) { return (float)((rnd() >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f; }

static void report(const char *what, int ok, const char *detail) {
    checks++;
    if (!ok) failures++;
    printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", what, detail[0] ? ": " : "", detail);
}

#define CK(ctx, call)                                                                      \
    do {                                                                                   \
        ember_status st_ = (call);                                                         \
        if (st_ != EMBER_STATUS_SUCCESS) {                                                 \
            printf("FAIL %s:%d %s -> %s: %s\n", __FILE__, __LINE__, #call,                 \
                   ember_status_name(st_), ember_context_last_error(ctx));                 \
            failures++;                                                                    \
            return;                                                                        \
        }                                                                                  \
    } while (0)

static ember_buffer *make(ember_context *ctx, const void *host, size_t bytes) {
    ember_buffer *b = NULL;
    if (bytes == 0) bytes = 4;
    if (ember_buffer_alloc(ctx, bytes, &b) != EMBER_STATUS_SUCCESS) {
        printf("FAIL alloc %zu bytes: %s\n", bytes, ember_context_last_error(ctx));
        exit(1);
    }
    if (host) ember_buffer_upload(ctx, b, 0, host, bytes);
    return b;
}

static void get(ember_context *ctx, const ember_buffer *b, void *host, size_t bytes) {
    if (bytes && ember_buffer_download(ctx, b, 0, host, bytes) != EMBER_STATUS_SUCCESS)
        printf("FAIL download: %s\n", ember_context_last_error(ctx));
}

/* Compares float arrays; tol < 0 means bit-exact. */
static void compare(const char *what, const float *a, const float *b, size_t n, double tol) {
    size_t bad = 0, first = 0;
    double maxd = 0;
    int exact = 1;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&a[i], &b[i], 4) != 0) exact = 0;
        if (isnan(a[i]) && isnan(b[i])) continue;
        double d = fabs((double)a[i] - (double)b[i]);
        double lim = tol < 0 ? 0 : tol * (1.0 + fabs((double)b[i]));
        if (d > maxd || (isnan(d))) maxd = isnan(d) ? INFINITY : d;
        if (!(d <= lim) && !(tol < 0 && memcmp(&a[i], &b[i], 4) == 0)) {
            if (!bad) first = i;
            bad++;
        }
    }
    char det[256];
    snprintf(det, sizeof det, "%zu values, max |diff| %.3g, %s%s", n, maxd,
             exact ? "bit-exact" : "not bit-exact", bad ? "" : "");
    if (bad)
        snprintf(det + strlen(det), sizeof det - strlen(det), ", %zu off (first at %zu: %.9g vs %.9g)",
                 bad, first, (double)a[first], (double)b[first]);
    report(what, bad == 0, det);
}

typedef struct lcase {
    const char *name;
    int64_t rows, dim, batch;
    ember_pooling pooling;
    int is32, weights, accumulate, col_off, extra_cols, max_bag;
    int64_t pad;
    int dup; /* 0 uniform, 1 few rows, 2 all equal */
} lcase;

/* Builds indices/offsets for a case. */
static void gen(const lcase *c, int64_t **idx, int64_t **off, int64_t *n) {
    int64_t batch = c->batch;
    *off = calloc((size_t)batch + 1, 8);
    int64_t total = 0;
    for (int64_t b = 0; b < batch; b++) {
        int64_t len = c->pooling == EMBER_POOLING_NONE ? 1 : (int64_t)(rnd() % (uint64_t)(c->max_bag + 1));
        if (c->pooling != EMBER_POOLING_NONE && b % 5 == 3) len = 0; /* empty bags */
        (*off)[b + 1] = (*off)[b] + len;
        total += len;
    }
    *n = total;
    *idx = calloc((size_t)total + 1, 8);
    for (int64_t p = 0; p < total; p++) {
        int64_t v;
        if (c->dup == 2) v = c->rows - 1;
        else if (c->dup == 1) v = (int64_t)(rnd() % 3) * (c->rows - 1) / 2;
        else v = (int64_t)(rnd() % (uint64_t)c->rows);
        if (p == 0) v = 0;
        if (p == 1) v = c->rows - 1;
        if (c->pad >= 0 && p % 7 == 2) v = c->pad;
        (*idx)[p] = v;
    }
}

static ember_buffer *make_idx(ember_context *ctx, const int64_t *v, int64_t n, int is32) {
    if (!is32) return make(ctx, v, (size_t)n * 8);
    int32_t *t = malloc((size_t)n * 4 + 4);
    for (int64_t i = 0; i < n; i++) t[i] = (int32_t)v[i];
    ember_buffer *b = make(ctx, t, (size_t)n * 4);
    free(t);
    return b;
}

/* Everything one backend computes for a case, downloaded. */
typedef struct results {
    float *out, *grad_atomic, *grad_det, *grad_det2, *ugrads, *tab[8], *st[8];
    int64_t *uids, nu;
} results;

static void run_case(ember_context *ctx, const lcase *c, const float *table, const int64_t *idx,
                     const int64_t *off, int64_t n, const float *w, const float *gout,
                     const float *out0, results *r) {
    const int64_t stride = c->dim + c->extra_cols;
    ember_lookup_desc d;
    ember_lookup_desc_init(&d, c->rows, c->dim, n, c->batch, c->pooling);
    d.index_type = c->is32 ? EMBER_INDEX_INT32 : EMBER_INDEX_INT64;
    d.padding_idx = c->pad;
    d.out_row_stride = stride;
    d.out_col_offset = c->col_off;
    d.accumulate = c->accumulate;
    const size_t tb = (size_t)(c->rows * c->dim) * 4, ob = (size_t)(c->batch * stride) * 4;
    ember_buffer *T = make(ctx, table, tb), *I = make_idx(ctx, idx, n, c->is32);
    ember_buffer *O = c->pooling == EMBER_POOLING_NONE ? NULL : make_idx(ctx, off, c->batch + 1, c->is32);
    ember_buffer *W = w ? make(ctx, w, (size_t)n * 4) : NULL;
    ember_buffer *OUT = make(ctx, out0, ob), *G = make(ctx, gout, ob);
    ember_buffer *GT = make(ctx, NULL, tb);
    ember_buffer *UI = make(ctx, NULL, (size_t)n * 8 + 8), *UG = make(ctx, NULL, (size_t)(n * c->dim) * 4 + 4);
    CK(ctx, ember_embedding_lookup(ctx, &d, T, I, O, W, OUT));
    r->out = malloc(ob + 4);
    get(ctx, OUT, r->out, ob);
    d.accumulate = 0;
    float *buf[3];
    for (int k = 0; k < 3; k++) {
        /* a non-zero starting gradient: the backward adds into it */
        float *init = malloc(tb + 4);
        for (int64_t i = 0; i < c->rows * c->dim; i++) init[i] = (float)(i % 13) * 0.25f;
        ember_buffer_upload(ctx, GT, 0, init, tb);
        CK(ctx, ember_embedding_backward_dense(ctx, &d, I, O, W, G,
                                               k == 0 ? EMBER_REDUCTION_ATOMIC : EMBER_REDUCTION_DETERMINISTIC, GT));
        buf[k] = init;
        get(ctx, GT, buf[k], tb);
    }
    r->grad_atomic = buf[0], r->grad_det = buf[1], r->grad_det2 = buf[2];
    CK(ctx, ember_embedding_backward_sparse(ctx, &d, I, O, W, G, EMBER_REDUCTION_DETERMINISTIC, UI, UG, &r->nu));
    r->uids = malloc((size_t)r->nu * 8 + 8);
    r->ugrads = malloc((size_t)(r->nu * c->dim) * 4 + 4);
    get(ctx, UI, r->uids, (size_t)r->nu * 8);
    get(ctx, UG, r->ugrads, (size_t)(r->nu * c->dim) * 4);
    /* fused updates: SGD, SGD+wd, Adagrad, row-wise Adagrad; both modes; then sparse_step */
    const ember_optimizer_kind kinds[4] = {EMBER_OPTIMIZER_SGD, EMBER_OPTIMIZER_SGD,
                                           EMBER_OPTIMIZER_ADAGRAD, EMBER_OPTIMIZER_ROWWISE_ADAGRAD};
    for (int k = 0; k < 8; k++) {
        ember_optimizer opt;
        ember_optimizer_init(&opt, kinds[k % 4], 0.05f);
        if (k % 4 == 1) opt.weight_decay = 0.01f;
        int64_t ss = ember_optimizer_state_size(opt.kind, c->rows, c->dim);
        float *s0 = calloc((size_t)ss + 1, 4);
        for (int64_t i = 0; i < ss; i++) s0[i] = 0.1f * (float)(i % 3);
        ember_buffer *S = ss ? make(ctx, s0, (size_t)ss * 4) : NULL;
        ember_buffer_upload(ctx, T, 0, table, tb);
        if (k < 4) {
            CK(ctx, ember_embedding_backward_update(ctx, &d, I, O, W, G, EMBER_REDUCTION_ATOMIC, &opt, T, S));
        } else {
            CK(ctx, ember_embedding_backward_update(ctx, &d, I, O, W, G, EMBER_REDUCTION_DETERMINISTIC, &opt, T, S));
        }
        r->tab[k] = malloc(tb + 4);
        get(ctx, T, r->tab[k], tb);
        r->st[k] = s0;
        if (S) get(ctx, S, s0, (size_t)ss * 4);
        ember_buffer_free(S);
    }
    ember_buffer_free(T), ember_buffer_free(I), ember_buffer_free(O), ember_buffer_free(W);
    ember_buffer_free(OUT), ember_buffer_free(G), ember_buffer_free(GT), ember_buffer_free(UI);
    ember_buffer_free(UG);
}

static void free_results(results *r) {
    free(r->out), free(r->grad_atomic), free(r->grad_det), free(r->grad_det2), free(r->uids);
    free(r->ugrads);
    for (int k = 0; k < 8; k++) free(r->tab[k]), free(r->st[k]);
}

static void embedding_case(ember_context *cpu, ember_context *gpu, const lcase *c) {
    int64_t *idx, *off, n;
    gen(c, &idx, &off, &n);
    const int64_t stride = c->dim + c->extra_cols;
    float *table = malloc((size_t)(c->rows * c->dim) * 4);
    for (int64_t i = 0; i < c->rows * c->dim; i++) table[i] = rndf();
    float *w = NULL;
    if (c->weights) {
        w = malloc((size_t)n * 4 + 4);
        for (int64_t i = 0; i < n; i++) w[i] = rndf();
    }
    float *gout = malloc((size_t)(c->batch * stride) * 4 + 4), *out0 = malloc((size_t)(c->batch * stride) * 4 + 4);
    for (int64_t i = 0; i < c->batch * stride; i++) gout[i] = rndf(), out0[i] = 1000.0f + (float)i;
    results a = {0}, b = {0};
    run_case(cpu, c, table, idx, off, n, w, gout, out0, &a);
    run_case(gpu, c, table, idx, off, n, w, gout, out0, &b);
    char what[256];
    const size_t ob = (size_t)(c->batch * stride), tn = (size_t)(c->rows * c->dim);
    int64_t maxrun = 0;
    {
        int64_t *cnt = calloc((size_t)c->rows, 8);
        for (int64_t p = 0; p < n; p++)
            if (idx[p] != c->pad && ++cnt[idx[p]] > maxrun) maxrun = cnt[idx[p]];
        free(cnt);
    }
    /* Sums in another order differ by rounding that grows with the terms per row. */
    const double sum_tol = 1e-5 + 1.5e-7 * (double)maxrun;
    const double det_tol = maxrun <= 64 ? -1.0 : sum_tol; /* runs > 64 are split on the GPU */
    snprintf(what, sizeof what, "[%s n=%lld maxrun=%lld] lookup", c->name, (long long)n, (long long)maxrun);
    if (a.out && b.out) compare(what, b.out, a.out, ob, -1.0);
    snprintf(what, sizeof what, "[%s] backward_dense atomic", c->name);
    if (a.grad_atomic && b.grad_atomic) compare(what, b.grad_atomic, a.grad_atomic, tn, sum_tol);
    snprintf(what, sizeof what, "[%s] backward_dense deterministic vs cpu", c->name);
    if (a.grad_det && b.grad_det) compare(what, b.grad_det, a.grad_det, tn, det_tol);
    snprintf(what, sizeof what, "[%s] backward_dense deterministic run-to-run", c->name);
    if (b.grad_det && b.grad_det2) compare(what, b.grad_det2, b.grad_det, tn, -1.0);
    snprintf(what, sizeof what, "[%s] backward_sparse ids (cpu %lld, cuda %lld unique)", c->name,
             (long long)a.nu, (long long)b.nu);
    report(what, a.nu == b.nu && (a.nu == 0 || memcmp(a.uids, b.uids, (size_t)a.nu * 8) == 0), "");
    if (a.nu == b.nu) {
        snprintf(what, sizeof what, "[%s] backward_sparse grads", c->name);
        compare(what, b.ugrads, a.ugrads, (size_t)(a.nu * c->dim), det_tol);
    }
    static const char *names[8] = {"sgd atomic", "sgd+wd atomic", "adagrad atomic", "rowwise atomic",
                                   "sgd det", "sgd+wd det", "adagrad det", "rowwise det"};
    for (int k = 0; k < 8; k++) {
        if (!a.tab[k] || !b.tab[k]) continue;
        snprintf(what, sizeof what, "[%s] backward_update %s table", c->name, names[k]);
        /* deterministic fused updates equal the CPU's when rows repeat <= 64 times */
        compare(what, b.tab[k], a.tab[k], tn, k >= 4 ? det_tol : sum_tol);
        int64_t ss = ember_optimizer_state_size(k % 4 == 2 ? EMBER_OPTIMIZER_ADAGRAD
                                                : k % 4 == 3 ? EMBER_OPTIMIZER_ROWWISE_ADAGRAD
                                                             : EMBER_OPTIMIZER_SGD,
                                                c->rows, c->dim);
        if (ss) {
            snprintf(what, sizeof what, "[%s] backward_update %s state", c->name, names[k]);
            compare(what, b.st[k], a.st[k], (size_t)ss, k >= 4 ? det_tol : sum_tol);
        }
    }
    free_results(&a), free_results(&b);
    free(idx), free(off), free(table), free(w), free(gout), free(out0);
}

/* ---- table-batched calls ------------------------------------------------------------------
 * One batched case: nt tables (each an lcase: rows, dim, pooling, index type, weights,
 * accumulate, column offset in col_off, max bag, padding, duplicates) sharing batch and a
 * row stride, written side by side into one output. */
#define MAXT 48
typedef struct bcase {
    const char *name;
    int64_t batch, stride;
    int nt;
    lcase t[MAXT];
} bcase;

typedef struct bdata {
    int64_t *idx[MAXT], *off[MAXT], n[MAXT];
    float *table[MAXT], *w[MAXT], *gout, *out0;
    ember_lookup_desc d[MAXT];
    int64_t maxrun;
} bdata;

/* What one backend computed: the lookup output and the tables (and Adagrad state) after
 * the fused updates 0: SGD ATOMIC, 1: SGD DETERMINISTIC, 2: Adagrad ATOMIC. */
typedef struct bres {
    float *out, *tab[3][MAXT], *st[MAXT];
} bres;

static void bdata_make(const bcase *c, bdata *D) {
    memset(D, 0, sizeof *D);
    int64_t *cnt = NULL;
    for (int t = 0; t < c->nt; t++) {
        lcase tc = c->t[t];
        tc.batch = c->batch;
        gen(&tc, &D->idx[t], &D->off[t], &D->n[t]);
        D->table[t] = malloc((size_t)(tc.rows * tc.dim) * 4);
        for (int64_t i = 0; i < tc.rows * tc.dim; i++) D->table[t][i] = rndf();
        if (tc.weights) {
            D->w[t] = malloc((size_t)D->n[t] * 4 + 4);
            for (int64_t i = 0; i < D->n[t]; i++) D->w[t][i] = rndf();
        }
        ember_lookup_desc *d = &D->d[t];
        ember_lookup_desc_init(d, tc.rows, tc.dim, D->n[t], c->batch, tc.pooling);
        d->index_type = tc.is32 ? EMBER_INDEX_INT32 : EMBER_INDEX_INT64;
        d->padding_idx = tc.pad;
        d->out_row_stride = c->stride;
        d->out_col_offset = tc.col_off;
        d->accumulate = tc.accumulate;
        cnt = calloc((size_t)tc.rows, 8);
        for (int64_t p = 0; p < D->n[t]; p++)
            if (D->idx[t][p] != tc.pad && ++cnt[D->idx[t][p]] > D->maxrun) D->maxrun = cnt[D->idx[t][p]];
        free(cnt);
    }
    const size_t on = (size_t)(c->batch * c->stride);
    D->gout = malloc(on * 4 + 4), D->out0 = malloc(on * 4 + 4);
    for (size_t i = 0; i < on; i++) D->gout[i] = rndf(), D->out0[i] = 500.0f + (float)(i % 97);
}

static void bdata_free(const bcase *c, bdata *D) {
    for (int t = 0; t < c->nt; t++) free(D->idx[t]), free(D->off[t]), free(D->table[t]), free(D->w[t]);
    free(D->gout), free(D->out0);
}

static void bres_free(const bcase *c, bres *r) {
    free(r->out);
    for (int t = 0; t < c->nt; t++) {
        for (int k = 0; k < 3; k++) free(r->tab[k][t]);
        free(r->st[t]);
    }
}

/* Runs the case on ctx through the batched calls (per_table = 0) or one call per table. */
static void batched_run(ember_context *ctx, const bcase *c, const bdata *D, int per_table, bres *r) {
    ember_buffer *T[MAXT], *I[MAXT], *O[MAXT], *W[MAXT], *S[MAXT];
    const size_t ob = (size_t)(c->batch * c->stride) * 4;
    for (int t = 0; t < c->nt; t++) {
        const lcase *tc = &c->t[t];
        T[t] = make(ctx, D->table[t], (size_t)(tc->rows * tc->dim) * 4);
        I[t] = make_idx(ctx, D->idx[t], D->n[t], tc->is32);
        O[t] = tc->pooling == EMBER_POOLING_NONE ? NULL : make_idx(ctx, D->off[t], c->batch + 1, tc->is32);
        W[t] = D->w[t] ? make(ctx, D->w[t], (size_t)D->n[t] * 4) : NULL;
        S[t] = make(ctx, NULL, (size_t)(tc->rows * tc->dim) * 4);
    }
    ember_buffer *OUT = make(ctx, D->out0, ob), *G = make(ctx, D->gout, ob);
    const ember_buffer *const *Tc = (const ember_buffer *const *)T;
    const ember_buffer *const *Ic = (const ember_buffer *const *)I;
    const ember_buffer *const *Oc = (const ember_buffer *const *)O;
    const ember_buffer *const *Wc = (const ember_buffer *const *)W;
    if (per_table) {
        for (int t = 0; t < c->nt; t++)
            CK(ctx, ember_embedding_lookup(ctx, &D->d[t], T[t], I[t], O[t], W[t], OUT));
    } else {
        CK(ctx, ember_embedding_lookup_batched(ctx, c->nt, D->d, Tc, Ic, Oc, Wc, OUT));
    }
    r->out = malloc(ob + 4);
    get(ctx, OUT, r->out, ob);
    for (int k = 0; k < 3; k++) {
        ember_optimizer opt;
        ember_optimizer_init(&opt, k == 2 ? EMBER_OPTIMIZER_ADAGRAD : EMBER_OPTIMIZER_SGD, 0.05f);
        const ember_reduction_mode mode = k == 1 ? EMBER_REDUCTION_DETERMINISTIC : EMBER_REDUCTION_ATOMIC;
        for (int t = 0; t < c->nt; t++) {
            const lcase *tc = &c->t[t];
            const size_t tb = (size_t)(tc->rows * tc->dim) * 4;
            ember_buffer_upload(ctx, T[t], 0, D->table[t], tb);
            if (k == 2) {
                float *s0 = malloc(tb + 4);
                for (int64_t i = 0; i < tc->rows * tc->dim; i++) s0[i] = 0.1f * (float)(i % 3);
                ember_buffer_upload(ctx, S[t], 0, s0, tb);
                free(s0);
            }
        }
        if (per_table) {
            for (int t = 0; t < c->nt; t++)
                CK(ctx, ember_embedding_backward_update(ctx, &D->d[t], I[t], O[t], W[t], G, mode, &opt,
                                                        T[t], k == 2 ? S[t] : NULL));
        } else {
            CK(ctx, ember_embedding_backward_update_batched(ctx, c->nt, D->d, Ic, Oc, Wc, G, mode, &opt,
                                                            T, k == 2 ? S : NULL));
        }
        for (int t = 0; t < c->nt; t++) {
            const size_t tb = (size_t)(c->t[t].rows * c->t[t].dim) * 4;
            r->tab[k][t] = malloc(tb + 4);
            get(ctx, T[t], r->tab[k][t], tb);
            if (k == 2) {
                r->st[t] = malloc(tb + 4);
                get(ctx, S[t], r->st[t], tb);
            }
        }
    }
    for (int t = 0; t < c->nt; t++)
        ember_buffer_free(T[t]), ember_buffer_free(I[t]), ember_buffer_free(O[t]), ember_buffer_free(W[t]),
            ember_buffer_free(S[t]);
    ember_buffer_free(OUT), ember_buffer_free(G);
}

/* Batched on the GPU against batched on the CPU (the per-table reference: the CPU backend
 * has no batched kernel) and against the GPU's own per-table calls. */
static void batched_case(ember_context *cpu, ember_context *gpu, const bcase *c) {
    bdata D;
    bdata_make(c, &D);
    bres a = {0}, b = {0}, p = {0};
    batched_run(cpu, c, &D, 0, &a);
    batched_run(gpu, c, &D, 0, &b);
    batched_run(gpu, c, &D, 1, &p);
    const double sum_tol = 1e-5 + 1.5e-7 * (double)D.maxrun;
    const double det_tol = D.maxrun <= 64 ? -1.0 : sum_tol;
    const size_t on = (size_t)(c->batch * c->stride);
    char what[256];
    snprintf(what, sizeof what, "[batched %s: %d tables, maxrun %lld] lookup vs cpu", c->name, c->nt,
             (long long)D.maxrun);
    if (a.out && b.out) compare(what, b.out, a.out, on, -1.0);
    snprintf(what, sizeof what, "[batched %s] lookup vs cuda per-table", c->name);
    if (p.out && b.out) compare(what, b.out, p.out, on, -1.0);
    static const char *nm[3] = {"sgd atomic", "sgd det", "adagrad atomic"};
    for (int k = 0; k < 3; k++) {
        /* all tables as one array per backend, for one line per check */
        size_t total = 0;
        for (int t = 0; t < c->nt; t++) total += (size_t)(c->t[t].rows * c->t[t].dim);
        float *ca = malloc(total * 4 + 4), *cb = malloc(total * 4 + 4), *cp = malloc(total * 4 + 4);
        float *sa = malloc(total * 4 + 4), *sb = malloc(total * 4 + 4);
        size_t at = 0;
        int have = 1;
        for (int t = 0; t < c->nt; t++) {
            const size_t tn = (size_t)(c->t[t].rows * c->t[t].dim);
            if (!a.tab[k][t] || !b.tab[k][t] || !p.tab[k][t]) { have = 0; break; }
            memcpy(ca + at, a.tab[k][t], tn * 4), memcpy(cb + at, b.tab[k][t], tn * 4);
            memcpy(cp + at, p.tab[k][t], tn * 4);
            if (k == 2) memcpy(sa + at, a.st[t], tn * 4), memcpy(sb + at, b.st[t], tn * 4);
            at += tn;
        }
        if (have) {
            snprintf(what, sizeof what, "[batched %s] backward_update %s tables vs cpu", c->name, nm[k]);
            compare(what, cb, ca, total, k == 1 ? det_tol : sum_tol);
            snprintf(what, sizeof what, "[batched %s] backward_update %s tables vs cuda per-table", c->name, nm[k]);
            compare(what, cb, cp, total, k == 1 ? -1.0 : sum_tol);
            if (k == 2) {
                snprintf(what, sizeof what, "[batched %s] backward_update %s state vs cpu", c->name, nm[k]);
                compare(what, sb, sa, total, sum_tol);
            }
        }
        free(ca), free(cb), free(cp), free(sa), free(sb);
    }
    bres_free(c, &a), bres_free(c, &b), bres_free(c, &p);
    bdata_free(c, &D);
}

/* The batched cases: mixed kernel variants and awkward shapes, one table, more tables than
 * one launch takes, overlapping output columns, an FBGEMM-like set of equal tables. */
static void batched_cases(ember_context *cpu, ember_context *gpu) {
    static bcase c;
    const ember_pooling S = EMBER_POOLING_SUM, M = EMBER_POOLING_MEAN, N = EMBER_POOLING_NONE;
    /* lcase fields: name rows dim batch pooling is32 w acc col_off extra max_bag pad dup */
    const lcase mixed[] = {
        {"hot rows", 100, 16, 0, S, 0, 0, 0, 0, 0, 12, -1, 1},
        {"mean i32 pad d=7", 57, 7, 0, M, 1, 0, 0, 16, 0, 9, 5, 0},
        {"weights d=128", 300, 128, 0, S, 0, 1, 0, 24, 0, 20, -1, 0},
        {"gather i32 pad d=33", 90, 33, 0, N, 1, 0, 0, 152, 0, 1, 4, 0},
        {"accumulate d=64", 64, 64, 0, S, 0, 0, 1, 188, 0, 30, -1, 0},
        {"mean all equal d=4 pad 0", 20, 4, 0, M, 0, 0, 0, 252, 0, 6, 0, 2},
        {"no indices d=1", 10, 1, 0, S, 1, 0, 0, 256, 0, 0, -1, 0},
    };
    memset(&c, 0, sizeof c);
    c.name = "mixed variants", c.batch = 37, c.stride = 260, c.nt = 7;
    memcpy(c.t, mixed, sizeof mixed);
    batched_case(cpu, gpu, &c);

    memset(&c, 0, sizeof c);
    c.name = "one table", c.batch = 64, c.stride = 128, c.nt = 1;
    c.t[0] = (lcase){"t", 1000, 128, 0, S, 0, 0, 0, 0, 0, 20, -1, 0};
    batched_case(cpu, gpu, &c);

    memset(&c, 0, sizeof c);
    c.name = "40 tables, mixed", c.batch = 9, c.nt = 40;
    for (int t = 0, col = 0; t < 40; t++) {
        const ember_pooling p = t % 3 == 2 ? M : S;
        c.t[t] = (lcase){"t", 30 + t, 1 + t % 8, 0, p, t % 2, p == S && t % 5 == 1, t % 4 == 3, col, 0, 5,
                         t % 7 == 0 ? 3 : -1, 0};
        col += 1 + t % 8;
        c.stride = col + 3;
    }
    batched_case(cpu, gpu, &c);

    memset(&c, 0, sizeof c);
    c.name = "36 tables, one variant", c.batch = 16, c.stride = 144, c.nt = 36;
    for (int t = 0; t < 36; t++) c.t[t] = (lcase){"t", 50, 4, 0, S, 0, 0, 0, 4 * t, 0, 8, -1, 0};
    batched_case(cpu, gpu, &c);

    /* t1 adds into half of t0's columns, t2 adds into t0's, t3 overwrites half of t1's: the
     * per-table order decides the result. */
    memset(&c, 0, sizeof c);
    c.name = "overlapping columns", c.batch = 20, c.stride = 12, c.nt = 4;
    c.t[0] = (lcase){"t0", 40, 8, 0, S, 0, 0, 0, 0, 0, 6, -1, 0};
    c.t[1] = (lcase){"t1", 40, 8, 0, S, 1, 0, 1, 4, 0, 6, -1, 0};
    c.t[2] = (lcase){"t2", 25, 8, 0, M, 0, 0, 1, 0, 0, 6, -1, 0};
    c.t[3] = (lcase){"t3", 40, 4, 0, N, 0, 0, 0, 8, 0, 1, -1, 0};
    batched_case(cpu, gpu, &c);

    memset(&c, 0, sizeof c);
    c.name = "8 FBGEMM-like tables", c.batch = 128, c.stride = 1024, c.nt = 8;
    for (int t = 0; t < 8; t++) c.t[t] = (lcase){"t", 5000, 128, 0, S, 0, 0, 0, 128 * t, 0, 20, -1, 0};
    batched_case(cpu, gpu, &c);
}

/* A bad index in one table of a batched call: the error names the table, nothing is written. */
static void batched_errors_case(ember_context *ctx) {
    float table[5 * 4], out[2 * 8], before[2 * 8];
    for (int i = 0; i < 20; i++) table[i] = (float)i;
    for (int i = 0; i < 16; i++) out[i] = before[i] = -3.0f;
    int64_t good[4] = {0, 4, 1, 1}, bad[4] = {0, 4, 5, 1}, off[3] = {0, 2, 4};
    ember_buffer *T = make(ctx, table, sizeof table), *I0 = make(ctx, good, sizeof good),
                 *I1 = make(ctx, bad, sizeof bad), *O = make(ctx, off, sizeof off),
                 *OUT = make(ctx, out, sizeof out);
    ember_lookup_desc d[2];
    for (int t = 0; t < 2; t++) {
        ember_lookup_desc_init(&d[t], 5, 4, 4, 2, EMBER_POOLING_SUM);
        d[t].out_row_stride = 8;
        d[t].out_col_offset = 4 * t;
    }
    const ember_buffer *tabs[2] = {T, T}, *idx[2] = {I0, I1}, *offs[2] = {O, O};
    ember_status st = ember_embedding_lookup_batched(ctx, 2, d, tabs, idx, offs, NULL, OUT);
    char det[512];
    snprintf(det, sizeof det, "%s: %s", ember_status_name(st), ember_context_last_error(ctx));
    report("batched error: table 1 index 5 of 5 rows -> INDEX_OUT_OF_RANGE naming table 1",
           st == EMBER_STATUS_INDEX_OUT_OF_RANGE && strstr(ember_context_last_error(ctx), "table 1"), det);
    get(ctx, OUT, out, sizeof out);
    report("batched error: output unchanged", memcmp(out, before, sizeof out) == 0, "");
    ember_optimizer sgd;
    ember_optimizer_init(&sgd, EMBER_OPTIMIZER_SGD, 0.1f);
    ember_buffer *tw[2] = {T, T};
    st = ember_embedding_backward_update_batched(ctx, 2, d, idx, offs, NULL, OUT, EMBER_REDUCTION_ATOMIC,
                                                 &sgd, tw, NULL);
    float after[20];
    get(ctx, T, after, sizeof after);
    snprintf(det, sizeof det, "%s: %s", ember_status_name(st), ember_context_last_error(ctx));
    report("batched error: backward_update -> INDEX_OUT_OF_RANGE, table unchanged",
           st == EMBER_STATUS_INDEX_OUT_OF_RANGE && memcmp(after, table, sizeof table) == 0, det);
    ember_buffer_upload(ctx, I1, 0, good, sizeof good);
    st = ember_embedding_lookup_batched(ctx, 2, d, tabs, idx, offs, NULL, OUT);
    get(ctx, OUT, out, sizeof out);
    /* bag 0 = rows 0 + 4: columns 0..3 = 16, 18, 20, 22 */
    snprintf(det, sizeof det, "%s, out[4] = %g (expect 16)", ember_status_name(st), (double)out[4]);
    report("batched error: fixed indices re-checked and used", st == EMBER_STATUS_SUCCESS && out[4] == 16.0f, det);
    ember_buffer_free(T), ember_buffer_free(I0), ember_buffer_free(I1), ember_buffer_free(O);
    ember_buffer_free(OUT);
}

static void errors_case(ember_context *ctx) {
    /* bad index, bad offsets: status, output unchanged, context still usable */
    float table[5 * 3], out[2 * 3], out_before[2 * 3];
    for (int i = 0; i < 15; i++) table[i] = (float)i;
    for (int i = 0; i < 6; i++) out[i] = out_before[i] = -7.0f;
    int64_t idx[4] = {0, 4, 5, 1}, off[3] = {0, 2, 4};
    ember_buffer *T = make(ctx, table, sizeof table), *I = make(ctx, idx, sizeof idx),
                 *O = make(ctx, off, sizeof off), *OUT = make(ctx, out, sizeof out);
    ember_lookup_desc d;
    ember_lookup_desc_init(&d, 5, 3, 4, 2, EMBER_POOLING_SUM);
    ember_status st = ember_embedding_lookup(ctx, &d, T, I, O, NULL, OUT);
    char det[512];
    snprintf(det, sizeof det, "%s: %s", ember_status_name(st), ember_context_last_error(ctx));
    report("error: index 5 of 5 rows -> INDEX_OUT_OF_RANGE", st == EMBER_STATUS_INDEX_OUT_OF_RANGE, det);
    get(ctx, OUT, out, sizeof out);
    report("error: output unchanged", memcmp(out, out_before, sizeof out) == 0, "");
    int64_t bad_off[3] = {0, 3, 2};
    ember_buffer_upload(ctx, O, 0, bad_off, sizeof bad_off);
    idx[2] = 2;
    ember_buffer_upload(ctx, I, 0, idx, sizeof idx);
    st = ember_embedding_lookup(ctx, &d, T, I, O, NULL, OUT);
    snprintf(det, sizeof det, "%s: %s", ember_status_name(st), ember_context_last_error(ctx));
    report("error: decreasing offsets -> BAD_OFFSETS", st == EMBER_STATUS_BAD_OFFSETS, det);
    ember_buffer_upload(ctx, O, 0, off, sizeof off);
    st = ember_embedding_lookup(ctx, &d, T, I, O, NULL, OUT);
    get(ctx, OUT, out, sizeof out);
    snprintf(det, sizeof det, "%s, out[0] = %g (expect 12)", ember_status_name(st), (double)out[0]);
    report("error: context usable afterwards", st == EMBER_STATUS_SUCCESS && out[0] == 12.0f, det);
    ember_buffer *big = NULL;
    st = ember_buffer_alloc(ctx, (size_t)1 << 50, &big);
    snprintf(det, sizeof det, "%s: %s", ember_status_name(st), ember_context_last_error(ctx));
    report("error: 1 PiB alloc -> OUT_OF_MEMORY", st == EMBER_STATUS_OUT_OF_MEMORY, det);
    ember_buffer_free(big);
    st = ember_embedding_lookup(ctx, &d, T, I, O, NULL, OUT);
    report("error: context usable after OOM", st == EMBER_STATUS_SUCCESS, ember_status_name(st));
    ember_buffer_free(T), ember_buffer_free(I), ember_buffer_free(O), ember_buffer_free(OUT);
}

/* Dense layer, optimizers, head on one backend; results appended to out arrays. */
static void dense_run(ember_context *ctx, int64_t B, int64_t in, int64_t outd, const float *x,
                      const float *w, const float *bias, const float *dy0, float *y, float *dx,
                      float *dw, float *db, float *steps, float *head) {
    ember_buffer *X = make(ctx, x, (size_t)(B * in) * 4), *W = make(ctx, w, (size_t)(outd * in) * 4);
    ember_buffer *Bb = make(ctx, bias, (size_t)outd * 4), *Y = make(ctx, NULL, (size_t)(B * outd) * 4);
    ember_buffer *DY = make(ctx, dy0, (size_t)(B * outd) * 4), *DX = make(ctx, NULL, (size_t)(B * in) * 4);
    ember_buffer *DW = make(ctx, NULL, (size_t)(outd * in) * 4), *DB = make(ctx, NULL, (size_t)outd * 4);
    CK(ctx, ember_dense_forward(ctx, B, in, outd, X, W, Bb, EMBER_ACTIVATION_RELU, Y));
    get(ctx, Y, y, (size_t)(B * outd) * 4);
    CK(ctx, ember_dense_backward(ctx, B, in, outd, X, W, Y, DY, EMBER_ACTIVATION_RELU, DX, DW, DB));
    get(ctx, DX, dx, (size_t)(B * in) * 4);
    get(ctx, DW, dw, (size_t)(outd * in) * 4);
    get(ctx, DB, db, (size_t)outd * 4);
    /* dense optimizer steps on W with gradient DW: SGD, Adagrad, Adam x2 steps */
    const int64_t n = outd * in;
    ember_buffer *S = make(ctx, NULL, (size_t)n * 4), *S2 = make(ctx, NULL, (size_t)n * 4);
    ember_buffer_zero(ctx, S, 0, (size_t)n * 4), ember_buffer_zero(ctx, S2, 0, (size_t)n * 4);
    ember_optimizer o;
    ember_optimizer_init(&o, EMBER_OPTIMIZER_SGD, 0.1f);
    o.weight_decay = 0.01f;
    CK(ctx, ember_dense_optimizer_step(ctx, &o, n, W, DW, NULL, NULL));
    ember_optimizer_init(&o, EMBER_OPTIMIZER_ADAGRAD, 0.1f);
    CK(ctx, ember_dense_optimizer_step(ctx, &o, n, W, DW, S, NULL));
    ember_buffer_zero(ctx, S, 0, (size_t)n * 4);
    ember_optimizer_init(&o, EMBER_OPTIMIZER_ADAM, 0.01f);
    for (int s = 1; s <= 2; s++) {
        o.step = s;
        CK(ctx, ember_dense_optimizer_step(ctx, &o, n, W, DW, S, S2));
    }
    get(ctx, W, steps, (size_t)n * 4);
    /* head: sigmoid and BCE on logits spanning -1e4..1e4 */
    const int64_t hn = 1001;
    float *lg = malloc(hn * 4), *lb = malloc(hn * 4);
    for (int64_t i = 0; i < hn; i++) lg[i] = (float)(i - 500) * 20.0f + 0.37f * (float)(i % 7) - 1.0f, lb[i] = (float)(i % 2);
    lg[3] = 0.0f;
    ember_buffer *L = make(ctx, lg, hn * 4), *T = make(ctx, lb, hn * 4), *HY = make(ctx, NULL, hn * 4),
                 *HG = make(ctx, NULL, hn * 4);
    CK(ctx, ember_sigmoid(ctx, hn, L, HY));
    float loss = -1;
    CK(ctx, ember_bce_with_logits(ctx, hn, L, T, &loss, HG));
    get(ctx, HY, head, hn * 4);
    get(ctx, HG, head + hn, hn * 4);
    head[2 * hn] = loss;
    free(lg), free(lb);
    ember_buffer_free(X), ember_buffer_free(W), ember_buffer_free(Bb), ember_buffer_free(Y);
    ember_buffer_free(DY), ember_buffer_free(DX), ember_buffer_free(DW), ember_buffer_free(DB);
    ember_buffer_free(S), ember_buffer_free(S2), ember_buffer_free(L), ember_buffer_free(T);
    ember_buffer_free(HY), ember_buffer_free(HG);
}

static void dense_case(ember_context *cpu, ember_context *gpu, int64_t B, int64_t in, int64_t outd) {
    float *x = malloc((size_t)(B * in) * 4 + 4), *w = malloc((size_t)(outd * in) * 4 + 4),
          *bias = malloc((size_t)outd * 4 + 4), *dy = malloc((size_t)(B * outd) * 4 + 4);
    for (int64_t i = 0; i < B * in; i++) x[i] = rndf();
    for (int64_t i = 0; i < outd * in; i++) w[i] = rndf() * 0.3f;
    for (int64_t i = 0; i < outd; i++) bias[i] = rndf() * 0.1f;
    for (int64_t i = 0; i < B * outd; i++) dy[i] = rndf();
    float *r[2][7];
    size_t sz[7] = {(size_t)(B * outd), (size_t)(B * in), (size_t)(outd * in), (size_t)outd,
                    (size_t)(outd * in), 2 * 1001 + 1, 0};
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < 6; j++) r[k][j] = calloc(sz[j] + 1, 4);
        dense_run(k ? gpu : cpu, B, in, outd, x, w, bias, dy, r[k][0], r[k][1], r[k][2], r[k][3],
                  r[k][4], r[k][5]);
    }
    static const char *nm[6] = {"dense_forward relu", "dense_backward dx", "dense_backward dw",
                                "dense_backward db", "dense optimizers (sgd+wd, adagrad, adam x2)",
                                "sigmoid + bce grad + loss"};
    for (int j = 0; j < 6; j++) {
        char what[160];
        snprintf(what, sizeof what, "[dense %lldx%lldx%lld] %s", (long long)B, (long long)in,
                 (long long)outd, nm[j]);
        compare(what, r[1][j], r[0][j], sz[j], j == 5 ? 2e-6 : 1e-4 * (1 + in / 64.0));
    }
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 6; j++) free(r[k][j]);
    free(x), free(w), free(bias), free(dy);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The FBGEMM default shape: T tables of E x D, batch B, L indices per bag, SUM, uniform
 * indices; one call per table and one batched call for all T. */
enum {
    M_FWD,       /* forward, one call per table */
    M_BWD,       /* fused backward + SGD ATOMIC, one call per table */
    M_BWD_DET,   /* ... DETERMINISTIC */
    M_DET_FWD,   /* forward + fused backward + SGD DETERMINISTIC, per table */
    M_BFWD,      /* forward, one batched call */
    M_BBWD,      /* fused backward + SGD ATOMIC, one batched call */
    M_BSTEP,     /* batched forward + batched fused backward + SGD ATOMIC (a training step) */
    M_COUNT
};

static void bench(ember_context *ctx, const char *label, const int *modes, int nmodes,
                  double copy_gbs) {
    enum { T = 32 };
    const int64_t E = 100000, D = 128, B = 512, L = 20;
    ember_buffer *tabs[T], *idxs[T], *offs[T];
    ember_buffer *out = make(ctx, NULL, (size_t)(B * T * D) * 4), *gout = make(ctx, NULL, (size_t)(B * T * D) * 4);
    ember_buffer_zero(ctx, gout, 0, (size_t)(B * T * D) * 4);
    int64_t *idx = malloc((size_t)(B * L) * 8), off[513];
    for (int64_t b = 0; b <= B; b++) off[b] = b * L;
    float *tab = malloc((size_t)(E * D) * 4);
    for (int64_t i = 0; i < E * D; i++) tab[i] = rndf();
    for (int t = 0; t < T; t++) {
        for (int64_t i = 0; i < B * L; i++) idx[i] = (int64_t)(rnd() % (uint64_t)E);
        tabs[t] = make(ctx, tab, (size_t)(E * D) * 4);
        idxs[t] = make(ctx, idx, (size_t)(B * L) * 8);
        offs[t] = make(ctx, off, sizeof off);
    }
    ember_lookup_desc d[T];
    for (int t = 0; t < T; t++) {
        ember_lookup_desc_init(&d[t], E, D, B * L, B, EMBER_POOLING_SUM);
        d[t].out_row_stride = T * D;
        d[t].out_col_offset = t * D;
    }
    const ember_buffer *const *ct = (const ember_buffer *const *)tabs;
    const ember_buffer *const *ci = (const ember_buffer *const *)idxs;
    const ember_buffer *const *co = (const ember_buffer *const *)offs;
    /* Bytes as `ember bench` counts them: forward every row read + the output written;
     * backward + SGD the gradient rows read + every used row read and written. */
    const double bytes_fwd = (double)T * (double)(B * L * D * 4 + B * D * 4);
    const double bytes_bwd = (double)T * (double)(B * L * D * 4 * 2 + B * D * 4);
    ember_optimizer sgd;
    ember_optimizer_init(&sgd, EMBER_OPTIMIZER_SGD, 0.01f);
    static const char *nm[M_COUNT] = {
        "forward (SUM), per-table calls", "fused backward+SGD atomic, per-table calls",
        "fused backward+SGD deterministic, per-table calls",
        "forward + fused bwd+SGD deterministic, per-table calls", "forward (SUM), BATCHED call",
        "fused backward+SGD atomic, BATCHED call", "forward + fused bwd+SGD atomic, BATCHED calls"};
    double xs[M_COUNT] = {0};
    for (int mi = 0; mi < nmodes; mi++) {
        const int mode = modes[mi];
        double t[20];
        ember_status st = EMBER_STATUS_SUCCESS;
        for (int k = 0; k < 22; k++) {
            ember_context_synchronize(ctx);
            double t0 = now();
            if (mode >= M_BFWD) {
                if (mode != M_BBWD && st == EMBER_STATUS_SUCCESS)
                    st = ember_embedding_lookup_batched(ctx, T, d, ct, ci, co, NULL, out);
                if (mode != M_BFWD && st == EMBER_STATUS_SUCCESS)
                    st = ember_embedding_backward_update_batched(ctx, T, d, ci, co, NULL, gout,
                                                                 EMBER_REDUCTION_ATOMIC, &sgd, tabs, NULL);
            } else {
                for (int tt = 0; tt < T && st == EMBER_STATUS_SUCCESS; tt++) {
                    if (mode == M_FWD || mode == M_DET_FWD)
                        st = ember_embedding_lookup(ctx, &d[tt], tabs[tt], idxs[tt], offs[tt], NULL, out);
                    if (mode != M_FWD && st == EMBER_STATUS_SUCCESS)
                        st = ember_embedding_backward_update(
                            ctx, &d[tt], idxs[tt], offs[tt], NULL, gout,
                            mode == M_BWD ? EMBER_REDUCTION_ATOMIC : EMBER_REDUCTION_DETERMINISTIC, &sgd,
                            tabs[tt], NULL);
                }
            }
            ember_context_synchronize(ctx);
            if (k >= 2) t[k - 2] = now() - t0;
        }
        if (st != EMBER_STATUS_SUCCESS) {
            printf("FAIL bench %s: %s: %s\n", nm[mode], ember_status_name(st), ember_context_last_error(ctx));
            failures++;
            continue;
        }
        qsort(t, 20, sizeof t[0], cmp_d);
        const double bytes = mode == M_FWD || mode == M_BFWD ? bytes_fwd
                             : mode == M_DET_FWD || mode == M_BSTEP ? bytes_fwd + bytes_bwd
                                                                    : bytes_bwd;
        const double gbs = bytes / t[10] / 1e9;
        xs[mode] = copy_gbs > 0 ? gbs / copy_gbs : 0;
        char ratio[64] = "";
        if (copy_gbs > 0) snprintf(ratio, sizeof ratio, ", %.2f x copy", xs[mode]);
        printf("BENCH%s FBGEMM T=32 E=1e5 D=128 B=512 L=20 %s: %.3f ms per batch (%.1f us/table), %.1f GB/s%s\n",
               label, nm[mode], t[10] * 1e3, t[10] * 1e6 / T, gbs, ratio);
    }
    if (copy_gbs > 0 && !label[0]) {
        for (int mi = 0; mi < nmodes; mi++) {
            if (modes[mi] == M_BFWD)
                printf("TARGET batched forward >= 0.75 x copy: %s (%.2f x)\n", xs[M_BFWD] >= 0.75 ? "MET" : "NOT MET",
                       xs[M_BFWD]);
            if (modes[mi] == M_BBWD)
                printf("TARGET batched fused backward+SGD >= 0.50 x copy: %s (%.2f x)\n",
                       xs[M_BBWD] >= 0.5 ? "MET" : "NOT MET", xs[M_BBWD]);
        }
    }
    /* At full size too, the batched forward writes exactly what the per-table calls write. */
    if (!label[0]) {
        const size_t on = (size_t)(B * T * D);
        float *o1 = malloc(on * 4), *o2 = malloc(on * 4);
        ember_buffer_zero(ctx, out, 0, on * 4);
        ember_status s1 = ember_embedding_lookup_batched(ctx, T, d, ct, ci, co, NULL, out);
        get(ctx, out, o1, on * 4);
        ember_buffer_zero(ctx, out, 0, on * 4);
        ember_status s2 = EMBER_STATUS_SUCCESS;
        for (int tt = 0; tt < T && s2 == EMBER_STATUS_SUCCESS; tt++)
            s2 = ember_embedding_lookup(ctx, &d[tt], tabs[tt], idxs[tt], offs[tt], NULL, out);
        get(ctx, out, o2, on * 4);
        if (s1 == EMBER_STATUS_SUCCESS && s2 == EMBER_STATUS_SUCCESS)
            compare("[FBGEMM shape] batched forward vs per-table forward", o1, o2, on, -1.0);
        else
            report("[FBGEMM shape] batched forward vs per-table forward", 0, ember_context_last_error(ctx));
        free(o1), free(o2);
    }
    for (int t = 0; t < T; t++) ember_buffer_free(tabs[t]), ember_buffer_free(idxs[t]), ember_buffer_free(offs[t]);
    ember_buffer_free(out), ember_buffer_free(gout);
    free(idx), free(tab);
}

/* ember's own copy proxy: a plain gather of 1M consecutive rows of 128 floats (`ember
 * bench`'s device basis). */
static void bench_gather_copy(ember_context *ctx, double copy_gbs) {
    const int64_t R = 1 << 20, D = 128;
    ember_buffer *src = make(ctx, NULL, (size_t)(R * D) * 4), *dst = make(ctx, NULL, (size_t)(R * D) * 4);
    ember_buffer_zero(ctx, src, 0, (size_t)(R * D) * 4);
    int64_t *seq = malloc((size_t)R * 8);
    for (int64_t i = 0; i < R; i++) seq[i] = i;
    ember_buffer *I = make(ctx, seq, (size_t)R * 8);
    ember_lookup_desc d;
    ember_lookup_desc_init(&d, R, D, R, R, EMBER_POOLING_NONE);
    double t[10];
    for (int k = 0; k < 12; k++) {
        ember_context_synchronize(ctx);
        double t0 = now();
        ember_embedding_lookup(ctx, &d, src, I, NULL, NULL, dst);
        ember_context_synchronize(ctx);
        if (k >= 2) t[k - 2] = now() - t0;
    }
    qsort(t, 10, sizeof t[0], cmp_d);
    const double gbs = 2.0 * (double)(R * D * 4) / t[5] / 1e9;
    printf("BENCH gather-copy (POOLING_NONE) %lld rows x %lld: %.3f ms, %.1f GB/s (read+write), %.2f x copy\n",
           (long long)R, (long long)D, t[5] * 1e3, gbs, copy_gbs > 0 ? gbs / copy_gbs : 0.0);
    free(seq);
    ember_buffer_free(src), ember_buffer_free(dst), ember_buffer_free(I);
}

/* Dense layer forward (no bias, no activation: exactly one SGEMM) at the shapes
 * bench/compare_torch_cuda.py times with torch, beside cublasSgemm called directly. */
static void bench_dense(ember_context *ctx) {
    const int64_t shapes[2][3] = {{2048, 400, 400}, {4096, 1024, 1024}};
    for (int s = 0; s < 2; s++) {
        const int64_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        ember_buffer *X = make(ctx, NULL, (size_t)(m * k) * 4), *W = make(ctx, NULL, (size_t)(n * k) * 4),
                     *Y = make(ctx, NULL, (size_t)(m * n) * 4);
        ember_buffer_zero(ctx, X, 0, (size_t)(m * k) * 4), ember_buffer_zero(ctx, W, 0, (size_t)(n * k) * 4);
        double t[7];
        for (int r = 0; r < 8; r++) { /* 20 back-to-back calls per timing: no sync per call */
            ember_context_synchronize(ctx);
            double t0 = now();
            for (int q = 0; q < 20; q++)
                ember_dense_forward(ctx, m, k, n, X, W, NULL, EMBER_ACTIVATION_NONE, Y);
            ember_context_synchronize(ctx);
            if (r >= 1) t[r - 1] = (now() - t0) / 20;
        }
        qsort(t, 7, sizeof t[0], cmp_d);
        ember_buffer_free(X), ember_buffer_free(W), ember_buffer_free(Y);
        const double direct = direct_sgemm_us((int)m, (int)k, (int)n);
        printf("BENCH dense_forward fp32 %lldx%lldx%lld: %.1f us per call, %.2f TFLOP/s, %.2f x direct cublasSgemm\n",
               (long long)m, (long long)k, (long long)n, t[3] * 1e6,
               2.0 * (double)m * (double)k * (double)n / t[3] / 1e12, direct > 0 ? direct / (t[3] * 1e6) : 0.0);
    }
}

int main(int argc, char **argv) {
    ember_device_info info[8];
    size_t count = 0;
    ember_status st = ember_backend_devices(EMBER_BACKEND_CUDA, info, 8, &count);
    (void)st;
    for (size_t i = 0; i < count && i < 8; i++)
        printf("device %zu: %s [%s] %llu bytes usable=%d %s\n", i, info[i].name, info[i].detail,
               (unsigned long long)info[i].memory_bytes, info[i].usable, info[i].reason);
    ember_context *cpu = NULL, *gpu = NULL;
    /* EMBER_SELFTEST_BACKEND=cpu checks the harness itself (CPU against CPU). */
    const char *env = getenv("EMBER_SELFTEST_BACKEND");
    ember_backend_kind kind = EMBER_BACKEND_CUDA;
    if (env && ember_backend_parse(env, &kind) != EMBER_STATUS_SUCCESS) kind = EMBER_BACKEND_CUDA;
    st = ember_context_create(&gpu, kind, 0);
    if (st != EMBER_STATUS_SUCCESS) {
        printf("SKIP no CUDA context: %s: %s\n", ember_status_name(st), ember_last_error());
        return 0;
    }
    if (ember_context_create(&cpu, EMBER_BACKEND_CPU, 0) != EMBER_STATUS_SUCCESS) {
        printf("FAIL cpu context: %s\n", ember_last_error());
        return 1;
    }
    printf("seed 0x%llx, device %s\n", (unsigned long long)rng_state, ember_context_device_name(gpu));
    const lcase cases[] = {
        /* name rows dim batch pooling is32 w acc coloff extra maxbag pad dup */
        {"gather d=7", 93, 7, 93, EMBER_POOLING_NONE, 0, 0, 0, 0, 0, 1, -1, 0},
        {"gather d=128 i32 pad", 1000, 128, 300, EMBER_POOLING_NONE, 1, 0, 0, 0, 0, 1, 5, 0},
        {"sum d=1", 7, 1, 40, EMBER_POOLING_SUM, 0, 0, 0, 0, 0, 9, -1, 1},
        {"sum d=13 stride", 93, 13, 57, EMBER_POOLING_SUM, 0, 0, 0, 3, 5, 12, -1, 0},
        {"sum d=64 weights", 500, 64, 77, EMBER_POOLING_SUM, 1, 1, 0, 0, 0, 30, -1, 0},
        {"sum d=128 acc", 1000, 128, 64, EMBER_POOLING_SUM, 0, 0, 1, 128, 128, 20, -1, 0},
        {"mean d=33 pad dup", 50, 33, 61, EMBER_POOLING_MEAN, 0, 0, 0, 0, 2, 25, 25, 1},
        {"mean d=256 i32", 2000, 256, 40, EMBER_POOLING_MEAN, 1, 0, 0, 4, 8, 40, 3, 0},
        {"sum d=4 all equal (hot row, split runs)", 9, 4, 300, EMBER_POOLING_SUM, 0, 0, 0, 0, 0, 20, -1, 2},
        {"sum d=128 all equal weights", 9, 128, 200, EMBER_POOLING_SUM, 0, 1, 0, 0, 0, 20, -1, 2},
        {"empty batch", 10, 8, 0, EMBER_POOLING_SUM, 0, 0, 0, 0, 0, 3, -1, 0},
        {"all bags empty-ish", 10, 8, 5, EMBER_POOLING_SUM, 0, 0, 0, 0, 0, 0, -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) embedding_case(cpu, gpu, &cases[i]);
    batched_cases(cpu, gpu);
    errors_case(gpu);
    batched_errors_case(gpu);
    dense_case(cpu, gpu, 37, 53, 61);
    dense_case(cpu, gpu, 129, 65, 257);
    dense_case(cpu, gpu, 1, 1, 1);
    ember_context_set_math_mode(gpu, EMBER_MATH_ALLOW_TF32);
    ember_context_set_math_mode(gpu, EMBER_MATH_STRICT_FP32);
    if (argc < 2 || strcmp(argv[1], "--no-bench") != 0) {
        /* The copy basis first (1 GiB each way), then the batched figures (the targets),
         * then per-table, dense, and the cost of re-checking indices on every call. */
        const double copy_gbs = kind == EMBER_BACKEND_CUDA ? direct_copy_gbs((size_t)1 << 30) : 0.0;
        const int main_modes[] = {M_BFWD, M_BBWD, M_BSTEP, M_FWD, M_BWD, M_BWD_DET, M_DET_FWD};
        bench(gpu, "", main_modes, (int)(sizeof main_modes / sizeof main_modes[0]), copy_gbs);
        bench_gather_copy(gpu, copy_gbs);
        if (kind == EMBER_BACKEND_CUDA) bench_dense(gpu);
        /* Again with every call running (and waiting for) the index check. */
        setenv("EMBER_CUDA_CHECK_CACHE", "0", 1);
        ember_context *g2 = NULL;
        const int check_modes[] = {M_BFWD, M_BBWD, M_FWD, M_BWD};
        if (ember_context_create(&g2, kind, 0) == EMBER_STATUS_SUCCESS)
            bench(g2, " (check every call)", check_modes, 4, copy_gbs);
        ember_context_destroy(g2);
    }
    printf("SUMMARY %d checks, %d failed\n", checks, failures);
    ember_context_destroy(cpu);
    ember_context_destroy(gpu);
    return failures ? 1 : 0;
}
