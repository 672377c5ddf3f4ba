/* check_batched.c: runs the table-batched cases (lookup_batched, backward_update_batched):
 * each table's inputs are a single-table case's, the oracle is the single-table oracle per
 * table, and the batched lookup must equal ember_embedding_lookup run table by table. */
#include "check_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tables a batched case cycles through: every dim class (1, 7, 16, 33), every pooling,
 * both index types, weights, padding, empty bags and hot rows, in one list. */
typedef struct tbl_variant {
    int64_t rows, dim;
    ember_pooling pooling;
    ember_index_type index_type;
    int weights, padding, empty_bags;
    ember_check_dist dist;
} tbl_variant;

static const tbl_variant variants[] = {
    {93, 7, EMBER_POOLING_SUM, EMBER_INDEX_INT64, 0, 0, 0, EMBER_CHECK_DIST_UNIFORM},
    {40, 1, EMBER_POOLING_MEAN, EMBER_INDEX_INT32, 0, 1, 0, EMBER_CHECK_DIST_UNIFORM},
    {13, 16, EMBER_POOLING_SUM, EMBER_INDEX_INT32, 1, 0, 0, EMBER_CHECK_DIST_DUPLICATES},
    {200, 33, EMBER_POOLING_SUM, EMBER_INDEX_INT64, 0, 1, 1, EMBER_CHECK_DIST_ZIPF},
    {7, 16, EMBER_POOLING_NONE, EMBER_INDEX_INT64, 0, 0, 0, EMBER_CHECK_DIST_UNIFORM},
    {1, 7, EMBER_POOLING_MEAN, EMBER_INDEX_INT64, 0, 0, 1, EMBER_CHECK_DIST_ALL_EQUAL},
    {57, 33, EMBER_POOLING_SUM, EMBER_INDEX_INT32, 1, 1, 0, EMBER_CHECK_DIST_UNIFORM},
};
#define NVAR ((int)(sizeof variants / sizeof variants[0]))

static const tbl_variant *variant_of(const ember_check_case *c, int t) {
    return &variants[(c->first_variant + t) % NVAR];
}

uint64_t chk_batched_seed(uint64_t seed, int t) {
    return seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(t + 1));
}

void chk_batched_table(const ember_check_case *c, int t, ember_check_case *tc) {
    int64_t width = 0, col = 0;
    for (int k = 0; k < c->num_tables; k++) {
        if (k == t) col = width;
        width += variant_of(c, k)->dim + c->stride_extra;
    }
    const tbl_variant *v = variant_of(c, t);
    *tc = *c;
    tc->op = c->op == EMBER_CHECK_LOOKUP_BATCHED ? EMBER_CHECK_LOOKUP : EMBER_CHECK_BACKWARD_UPDATE;
    tc->rows = v->rows, tc->dim = v->dim;
    tc->pooling = v->pooling, tc->index_type = v->index_type;
    tc->weights = v->weights, tc->padding = v->padding, tc->empty_bags = v->empty_bags;
    tc->dist = v->dist;
    tc->stride_extra = width - v->dim; /* every table sees the whole shared row */
    tc->col_offset = col;
}

/* The inputs of every table, with one shared out_init and grad_out (each table's slice
 * from its own inputs, the gap columns the sentinel / a huge gradient). */
typedef struct bt_inputs {
    int nt;
    ember_check_case tc[EMBER_CHECK_MAX_TABLES];
    chk_emb e[EMBER_CHECK_MAX_TABLES];
    ember_lookup_desc descs[EMBER_CHECK_MAX_TABLES];
    int64_t B, S;
} bt_inputs;

static void bt_free(bt_inputs *in) {
    for (int t = 0; t < in->nt; t++) chk_emb_free(&in->e[t]);
    in->nt = 0;
}

static int bt_make(const ember_check_case *c, uint64_t seed, bt_inputs *in) {
    memset(in, 0, sizeof *in);
    int nt = c->num_tables < EMBER_CHECK_MAX_TABLES ? c->num_tables : EMBER_CHECK_MAX_TABLES;
    for (int t = 0; t < nt; t++) {
        chk_batched_table(c, t, &in->tc[t]);
        in->nt = t + 1;
        if (chk_emb_make(&in->tc[t], chk_batched_seed(seed, t), &in->e[t])) return -1;
        in->descs[t] = in->e[t].desc;
    }
    if (nt == 0) return 0;
    in->B = in->e[0].desc.batch, in->S = in->e[0].desc.out_row_stride;
    /* Table 0's arrays become the shared ones: copy every other table's slice into them. */
    float *oi = in->e[0].out_init, *go = in->e[0].grad_out;
    for (int t = 1; t < nt; t++) {
        const ember_lookup_desc *d = &in->e[t].desc;
        for (int64_t b = 0; b < in->B; b++)
            for (int64_t j = d->out_col_offset; j < d->out_col_offset + d->dim; j++) {
                oi[b * in->S + j] = in->e[t].out_init[b * in->S + j];
                go[b * in->S + j] = in->e[t].grad_out[b * in->S + j];
            }
    }
    size_t bytes = (size_t)(in->B * in->S) * sizeof(float);
    for (int t = 1; t < nt; t++) {
        memcpy(in->e[t].out_init, oi, bytes);
        memcpy(in->e[t].grad_out, go, bytes);
    }
    return 0;
}

/* What one run produced: the shared output, or every table and state after the update. */
typedef struct bt_got {
    float *out;
    float *table[EMBER_CHECK_MAX_TABLES], *state[EMBER_CHECK_MAX_TABLES];
} bt_got;

static void bt_got_free(bt_got *g) {
    free(g->out);
    for (int t = 0; t < EMBER_CHECK_MAX_TABLES; t++) free(g->table[t]), free(g->state[t]);
    memset(g, 0, sizeof *g);
}

/* Runs the case's batched op on ctx (on wrapped buffers when the case says so), or with
 * `singles` the single-table op table by table on allocated buffers (what the batched op
 * must equal). */
static int bt_exec(ember_context *ctx, const ember_check_case *c, const bt_inputs *in, int singles,
                   bt_got *g, char *err, size_t errsz) {
    chk_dev d = {.ctx = ctx, .wrap = c->wrapped && !singles};
    int nt = in->nt;
    ember_buffer *idx[EMBER_CHECK_MAX_TABLES] = {0}, *off[EMBER_CHECK_MAX_TABLES] = {0},
                 *wts[EMBER_CHECK_MAX_TABLES] = {0}, *tab[EMBER_CHECK_MAX_TABLES] = {0},
                 *state[EMBER_CHECK_MAX_TABLES] = {0}, *out = NULL;
    const ember_optimizer *opt = &in->e[0].opt; /* every table has the case's optimizer */
    for (int t = 0; t < nt && !d.st; t++) {
        const chk_emb *e = &in->e[t];
        const ember_lookup_desc *desc = &e->desc;
        size_t isz = desc->index_type == EMBER_INDEX_INT32 ? 4 : 8;
        void *ib = chk_index_bytes(e->idx, desc->num_indices, desc->index_type);
        void *ob = e->off ? chk_index_bytes(e->off, desc->batch + 1, desc->index_type) : NULL;
        if (!ib || (e->off && !ob)) chk_fail_st(&d, EMBER_STATUS_OUT_OF_MEMORY, "host malloc");
        idx[t] = chk_up(&d, ib, desc->num_indices, isz);
        if (ob) off[t] = chk_up(&d, ob, desc->batch + 1, isz);
        if (e->weights) wts[t] = chk_up(&d, e->weights, desc->num_indices, sizeof(float));
        tab[t] = chk_up(&d, e->table, desc->num_rows * desc->dim, sizeof(float));
        if (e->state_n > 0) state[t] = chk_up(&d, e->state, e->state_n, sizeof(float));
        free(ib);
        free(ob);
    }
    int lookup = c->op == EMBER_CHECK_LOOKUP_BATCHED;
    if (nt > 0)
        out = chk_up(&d, lookup ? in->e[0].out_init : in->e[0].grad_out, in->B * in->S,
                     sizeof(float));
    if (d.st) goto done;
    ember_status st;
    if (lookup && !singles) {
        st = ember_embedding_lookup_batched(
            ctx, nt, in->descs, (const ember_buffer *const *)tab, (const ember_buffer *const *)idx,
            (const ember_buffer *const *)off, (const ember_buffer *const *)wts, out);
        if (chk_fail_st(&d, st, "ember_embedding_lookup_batched")) goto done;
    } else if (lookup) {
        for (int t = 0; t < nt; t++) {
            st = ember_embedding_lookup(ctx, &in->descs[t], tab[t], idx[t], off[t], wts[t], out);
            if (chk_fail_st(&d, st, "ember_embedding_lookup (table by table)")) goto done;
        }
    } else if (singles) {
        for (int t = 0; t < nt; t++) {
            st = ember_embedding_backward_update(
                ctx, &in->descs[t], idx[t], off[t], wts[t], out, c->mode, opt, tab[t],
                opt->kind == EMBER_OPTIMIZER_SGD ? NULL : state[t]);
            if (chk_fail_st(&d, st, "ember_embedding_backward_update (table by table)")) goto done;
        }
    } else {
        st = ember_embedding_backward_update_batched(
            ctx, nt, in->descs, (const ember_buffer *const *)idx, (const ember_buffer *const *)off,
            (const ember_buffer *const *)wts, out, c->mode, opt, tab,
            opt->kind == EMBER_OPTIMIZER_SGD ? NULL : state);
        if (chk_fail_st(&d, st, "ember_embedding_backward_update_batched")) goto done;
    }
    if (lookup) g->out = chk_down(&d, out, in->B * in->S, sizeof(float));
    for (int t = 0; t < nt; t++) {
        const chk_emb *e = &in->e[t];
        g->table[t] = chk_down(&d, tab[t], e->desc.num_rows * e->desc.dim, sizeof(float));
        if (state[t]) g->state[t] = chk_down(&d, state[t], e->state_n, sizeof(float));
    }
done:
    for (int t = 0; t < nt; t++) {
        ember_buffer_free(idx[t]);
        ember_buffer_free(off[t]);
        ember_buffer_free(wts[t]);
        ember_buffer_free(tab[t]);
        ember_buffer_free(state[t]);
    }
    ember_buffer_free(out);
    chk_dev_release(&d);
    if (d.st) snprintf(err, errsz, "%s", d.err);
    return d.st ? -1 : 0;
}

/* The shared output against the per-table oracles: each table's slice from its oracle, the
 * gap columns exactly their initial values. */
static void check_lookup(ember_check_result *r, const bt_inputs *in, const bt_got *g,
                         const bt_got *gr) {
    int64_t n = in->B * in->S;
    chk_want w = {0}, wt = {0};
    w.v = calloc((size_t)(n > 0 ? n : 1), sizeof *w.v);
    w.tol = calloc((size_t)(n > 0 ? n : 1), sizeof *w.tol);
    w.n = n;
    if (!w.v || !w.tol) {
        chk_result_failf(r, "out of host memory in the oracle");
        goto done;
    }
    for (int64_t i = 0; i < n; i++) w.v[i] = in->e[0].out_init[i];
    for (int t = 0; t < in->nt; t++) {
        const ember_lookup_desc *d = &in->e[t].desc;
        if (chk_oracle_lookup(&in->e[t], &wt)) {
            chk_result_failf(r, "out of host memory in the oracle");
            goto done;
        }
        for (int64_t b = 0; b < in->B; b++)
            for (int64_t j = d->out_col_offset; j < d->out_col_offset + d->dim; j++) {
                w.v[b * in->S + j] = wt.v[b * in->S + j];
                /* Against the CPU (the lookups table by table) any lookup is bit-exact. */
                w.tol[b * in->S + j] = gr ? 0.0 : wt.tol[b * in->S + j];
            }
        chk_want_free(&wt);
    }
    chk_cmp_emb(r, "out", g->out, gr ? gr->out : NULL, &w, n, in->S);
    for (int t = 0; t < in->nt; t++) {
        const ember_lookup_desc *d = &in->e[t].desc;
        if (g->table[t] &&
            memcmp(g->table[t], in->e[t].table, (size_t)(d->num_rows * d->dim) * sizeof(float)))
            chk_result_failf(r, "the lookup changed its (read-only) table %d", t);
    }
done:
    chk_want_free(&w);
    chk_want_free(&wt);
}

/* Every table and state against the single-table fused oracle (backward_sparse, then the
 * optimizer step): unused rows exactly as before; DETERMINISTIC against the CPU bit for bit
 * (check_tolerance.h). */
static void check_update(ember_check_result *r, const ember_check_case *c, ember_context *ctx,
                         ember_context *ref, const bt_inputs *in, const bt_got *g,
                         const bt_got *gr) {
    for (int t = 0; t < in->nt && r->outcome != EMBER_CHECK_FAILED; t++) {
        const chk_emb *e = &in->e[t];
        int64_t R = e->desc.num_rows, D = e->desc.dim, *ids = NULL, nu = 0;
        chk_want gw = {0}, w1 = {0}, w2 = {0};
        char tn[32], sn[32];
        snprintf(tn, sizeof tn, "table %d", t);
        snprintf(sn, sizeof sn, "state %d", t);
        if (chk_oracle_backward_sparse(e, &ids, &nu, &gw) ||
            chk_oracle_sparse_step(e, ids, nu, gw.v, gw.tol, &w1, &w2)) {
            chk_result_failf(r, "out of host memory in the oracle");
        } else {
            if (c->mode == EMBER_REDUCTION_DETERMINISTIC && chk_det_bit_exact(ctx, ref, e))
                chk_want_exact(&w1), chk_want_exact(&w2);
            chk_cmp_emb(r, tn, g->table[t], gr ? gr->table[t] : NULL, &w1, R * D, D);
            if (e->state_n)
                chk_cmp_emb(r, sn, g->state[t], gr ? gr->state[t] : NULL, &w2, e->state_n,
                            c->opt == EMBER_OPTIMIZER_ROWWISE_ADAGRAD ? 1 : D);
        }
        free(ids);
        chk_want_free(&gw);
        chk_want_free(&w1);
        chk_want_free(&w2);
    }
}

static void same_as_singles(ember_check_result *r, const ember_check_case *c, ember_context *ctx,
                            const bt_inputs *in, const bt_got *g) {
    bt_got s = {0};
    char err[1024];
    int lookup = c->op == EMBER_CHECK_LOOKUP_BATCHED;
    int cpu_like = chk_cpu_like(ctx);
    if (!lookup && cpu_like) ember_context_set_threads(ctx, 1);
    int rc = bt_exec(ctx, c, in, 1, &s, err, sizeof err);
    if (!lookup && cpu_like) ember_context_set_threads(ctx, 0);
    if (rc) {
        chk_result_failf(r, "the single-table calls: %s", err);
    } else if (lookup) {
        chk_compare_bits(r, "out", g->out, s.out, in->B * in->S, in->S,
                         "batched lookup vs ember_embedding_lookup table by table");
    } else {
        const char *what = "batched update vs ember_embedding_backward_update table by table";
        for (int t = 0; t < in->nt; t++) {
            const chk_emb *e = &in->e[t];
            chk_compare_bits(r, "table", g->table[t], s.table[t], e->desc.num_rows * e->desc.dim,
                             e->desc.dim, what);
            if (g->state[t])
                chk_compare_bits(r, "state", g->state[t], s.state[t], e->state_n, 1, what);
        }
    }
    bt_got_free(&s);
}

void chk_run_batched(const ember_check_case *c, ember_context *ctx, ember_context *ref,
                     uint64_t seed, ember_check_result *r) {
    bt_inputs in;
    bt_got g = {0}, gr = {0}, g2 = {0};
    char err[1024];
    int lookup = c->op == EMBER_CHECK_LOOKUP_BATCHED;
    if (bt_make(c, seed, &in)) {
        chk_result_failf(r, "out of host memory making the inputs");
        goto done;
    }
    int det = !lookup && c->mode == EMBER_REDUCTION_DETERMINISTIC;
    int cpu_like = chk_cpu_like(ctx);
    if (det && cpu_like) ember_context_set_threads(ctx, 1);
    int rc = bt_exec(ctx, c, &in, 0, &g, err, sizeof err);
    if (det && cpu_like) ember_context_set_threads(ctx, 0);
    if (rc) {
        chk_result_failf(r, "%s", err);
        goto done;
    }
    /* The reference: the CPU backend (lookups table by table), else the oracle; the CPU
     * itself must also equal its own lookups table by table, bit for bit. */
    if (ref && bt_exec(ref, c, &in, lookup, &gr, err, sizeof err)) {
        chk_result_failf(r, "the CPU reference failed: %s", err);
        goto done;
    }
    if (lookup)
        check_lookup(r, &in, &g, ref ? &gr : NULL);
    else
        check_update(r, c, ctx, ref, &in, &g, ref ? &gr : NULL);
    /* On every backend the batched call equals its own single-table calls bit for bit: the
     * lookup always, the fused update in DETERMINISTIC mode (ATOMIC may add in any order). */
    if ((lookup || det) && r->outcome != EMBER_CHECK_FAILED) same_as_singles(r, c, ctx, &in, &g);
    /* DETERMINISTIC: the same bits again (on the CPU with 2 threads instead of 1). */
    if (det && r->outcome != EMBER_CHECK_FAILED) {
        if (cpu_like) ember_context_set_threads(ctx, 2);
        rc = bt_exec(ctx, c, &in, 0, &g2, err, sizeof err);
        if (cpu_like) ember_context_set_threads(ctx, 0);
        const char *what = cpu_like ? "deterministic run with 2 threads vs 1 thread"
                                    : "deterministic second run vs first";
        if (rc) chk_result_failf(r, "second deterministic run: %s", err);
        for (int t = 0; !rc && t < in.nt; t++) {
            const chk_emb *e = &in.e[t];
            chk_compare_bits(r, "table", g2.table[t], g.table[t], e->desc.num_rows * e->desc.dim,
                             e->desc.dim, what);
            if (g.state[t])
                chk_compare_bits(r, "state", g2.state[t], g.state[t], e->state_n, 1, what);
        }
    }
done:
    bt_got_free(&g);
    bt_got_free(&gr);
    bt_got_free(&g2);
    bt_free(&in);
}
