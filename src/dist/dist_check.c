/* dist_check.c: the distributed conformance cases and their runner (see dist_check.h).
 * Inputs, oracle tolerances and comparisons are the shared conformance suite's (src/check):
 * a case's tables are the batched cases' table variants without per-sample weights. */
#include "dist_check.h"

#include "check_internal.h"
#include "dist_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXT EMBER_CHECK_MAX_TABLES

static const struct {
    ember_shard_kind kind;
    const char *name;
} shards[] = {{EMBER_SHARD_TABLE_WISE, "table-wise"},
              {EMBER_SHARD_COLUMN_WISE, "column-wise"},
              {EMBER_SHARD_ROW_WISE, "row-wise"},
              {EMBER_SHARD_REPLICATED, "replicated"},
              {EMBER_SHARD_AUTO, "mixed"}};
static const struct {
    ember_optimizer_kind kind;
    const char *name;
    float wd;
} opts[] = {{EMBER_OPTIMIZER_SGD, "sgd", 0.0f},
            {EMBER_OPTIMIZER_ADAGRAD, "adagrad", 0.01f},
            {EMBER_OPTIMIZER_ROWWISE_ADAGRAD, "rowwise_adagrad", 0.0f}};
#define NUM_SHARDS (sizeof shards / sizeof shards[0])
#define NUM_OPTS (sizeof opts / sizeof opts[0])

/* Per plan: each optimizer in DETERMINISTIC mode, SGD in ATOMIC mode, the bad index; the
 * list holds exactly that many, so it cannot overflow. */
static dist_check_case cases[NUM_SHARDS * (NUM_OPTS + 2)];
static size_t num_cases;

static void add(const char *prefix, const char *suffix, dist_check_kind kind,
                ember_shard_kind shard, int first, ember_reduction_mode mode,
                ember_optimizer_kind opt, float wd) {
    dist_check_case *c = &cases[num_cases++];
    snprintf(c->name, sizeof c->name, "dist_%s_%s", prefix, suffix);
    c->kind = kind, c->shard = shard, c->first_variant = first;
    c->num_tables = 4, c->batch = 23, c->bag = 3;
    c->mode = mode, c->opt = opt, c->weight_decay = wd;
}

static void build_cases(void) {
    if (num_cases) return;
    char suffix[48];
    for (size_t s = 0; s < NUM_SHARDS; s++) {
        for (size_t o = 0; o < NUM_OPTS; o++) {
            /* Row-wise Adagrad's per-row state cannot be split by columns. */
            int colwise =
                shards[s].kind == EMBER_SHARD_COLUMN_WISE || shards[s].kind == EMBER_SHARD_AUTO;
            if (colwise && opts[o].kind == EMBER_OPTIMIZER_ROWWISE_ADAGRAD) continue;
            snprintf(suffix, sizeof suffix, "%s_det", opts[o].name);
            add(shards[s].name, suffix, DIST_CHECK_STEP, shards[s].kind, (int)(s + o) % 7,
                EMBER_REDUCTION_DETERMINISTIC, opts[o].kind, opts[o].wd);
        }
        add(shards[s].name, "sgd_atomic", DIST_CHECK_STEP, shards[s].kind, 3,
            EMBER_REDUCTION_ATOMIC, EMBER_OPTIMIZER_SGD, 0.0f);
        add(shards[s].name, "bad_index", DIST_CHECK_BAD_INDEX, shards[s].kind, 0,
            EMBER_REDUCTION_DETERMINISTIC, EMBER_OPTIMIZER_ADAGRAD, 0.0f);
    }
}

size_t dist_check_case_count(void) {
    build_cases();
    return num_cases;
}

const dist_check_case *dist_check_case_at(size_t i) {
    build_cases();
    return i < num_cases ? &cases[i] : NULL;
}

/* The global batch: every table's inputs (the same on every rank: drawn from the seed). */
typedef struct dc_inputs {
    int nt;
    chk_emb e[MAXT];
    int64_t B, W;
    float *grad; /* B x W: each table's slice of its own grad_out */
} dc_inputs;

static void inputs_free(dc_inputs *in) {
    for (int t = 0; t < in->nt; t++) chk_emb_free(&in->e[t]);
    free(in->grad);
    memset(in, 0, sizeof *in);
}

static int inputs_make(const dist_check_case *c, uint64_t seed, dc_inputs *in) {
    memset(in, 0, sizeof *in);
    ember_check_case bc;
    memset(&bc, 0, sizeof bc);
    bc.op = EMBER_CHECK_BACKWARD_UPDATE_BATCHED;
    bc.batch = c->batch, bc.bag = c->bag, bc.mode = c->mode, bc.opt = c->opt;
    bc.weight_decay = c->weight_decay, bc.num_tables = c->num_tables;
    bc.first_variant = c->first_variant;
    for (int t = 0; t < c->num_tables && t < MAXT; t++) {
        ember_check_case tc;
        chk_batched_table(&bc, t, &tc);
        tc.weights = 0; /* the distributed ops take no per-sample weights */
        in->nt = t + 1;
        if (chk_emb_make(&tc, chk_batched_seed(seed, t), &in->e[t])) return -1;
    }
    in->B = c->batch, in->W = in->e[0].desc.out_row_stride;
    in->grad = malloc((size_t)(in->B * in->W) * sizeof *in->grad);
    if (!in->grad) return -1;
    for (int t = 0; t < in->nt; t++) {
        const ember_lookup_desc *d = &in->e[t].desc;
        for (int64_t b = 0; b < in->B; b++)
            for (int64_t j = d->out_col_offset; j < d->out_col_offset + d->dim; j++)
                in->grad[b * in->W + j] = in->e[t].grad_out[b * in->W + j];
    }
    return 0;
}

/* What a run produced: the output rows and every table and state after the update. */
typedef struct dc_got {
    float *out;
    float *table[MAXT], *state[MAXT];
} dc_got;

static void got_free(dc_got *g) {
    free(g->out);
    for (int t = 0; t < MAXT; t++) free(g->table[t]), free(g->state[t]);
    memset(g, 0, sizeof *g);
}

/* Index bytes of n int64 in the table's type, uploaded. */
static ember_buffer *up_indices(chk_dev *d, const int64_t *p, int64_t n, ember_index_type type) {
    void *bytes = chk_index_bytes(p, n, type);
    if (!bytes) {
        chk_fail_st(d, EMBER_STATUS_OUT_OF_MEMORY, "host malloc");
        return NULL;
    }
    ember_buffer *b = chk_up(d, bytes, n, type == EMBER_INDEX_INT32 ? 4 : 8);
    free(bytes);
    return b;
}

/* The single-process batched lookup and fused update on the whole global batch. */
static int reference(ember_context *ctx, const dist_check_case *c, const dc_inputs *in, dc_got *g,
                     ember_check_result *r) {
    chk_dev d = {.ctx = ctx};
    ember_buffer *idx[MAXT] = {0}, *off[MAXT] = {0}, *tab[MAXT] = {0}, *st[MAXT] = {0}, *out;
    ember_lookup_desc descs[MAXT];
    for (int t = 0; t < in->nt; t++) {
        const chk_emb *e = &in->e[t];
        descs[t] = e->desc;
        idx[t] = up_indices(&d, e->idx, e->desc.num_indices, e->desc.index_type);
        if (e->off) off[t] = up_indices(&d, e->off, e->desc.batch + 1, e->desc.index_type);
        tab[t] = chk_up(&d, e->table, e->desc.num_rows * e->desc.dim, sizeof(float));
        if (e->state_n) st[t] = chk_up(&d, e->state, e->state_n, sizeof(float));
    }
    out = chk_up(&d, NULL, in->B * in->W, sizeof(float));
    if (!d.st)
        chk_fail_st(&d,
                    ember_embedding_lookup_batched(ctx, in->nt, descs,
                                                   (const ember_buffer *const *)tab,
                                                   (const ember_buffer *const *)idx,
                                                   (const ember_buffer *const *)off, NULL, out),
                    "ember_embedding_lookup_batched");
    if (!d.st) g->out = chk_down(&d, out, in->B * in->W, sizeof(float));
    ember_buffer_free(out);
    out = d.st ? NULL : chk_up(&d, in->grad, in->B * in->W, sizeof(float));
    if (!d.st)
        chk_fail_st(&d,
                    ember_embedding_backward_update_batched(
                        ctx, in->nt, descs, (const ember_buffer *const *)idx,
                        (const ember_buffer *const *)off, NULL, out, c->mode, &in->e[0].opt, tab,
                        c->opt == EMBER_OPTIMIZER_SGD ? NULL : st),
                    "ember_embedding_backward_update_batched");
    for (int t = 0; t < in->nt && !d.st; t++) {
        g->table[t] =
            chk_down(&d, tab[t], in->e[t].desc.num_rows * in->e[t].desc.dim, sizeof(float));
        if (st[t]) g->state[t] = chk_down(&d, st[t], in->e[t].state_n, sizeof(float));
    }
    for (int t = 0; t < in->nt; t++)
        ember_buffer_free(idx[t]), ember_buffer_free(off[t]), ember_buffer_free(tab[t]),
            ember_buffer_free(st[t]);
    ember_buffer_free(out);
    if (d.st) chk_result_failf(r, "reference: %s", d.err);
    return d.st ? -1 : 0;
}

/* This rank's bags of the global batch: [b0, b1), the first B % N ranks one more. */
static void my_bags(const dc_inputs *in, int rank, int size, int64_t *b0, int64_t *b1) {
    int64_t base = in->B / size, extra = in->B % size;
    *b0 = rank * base + (rank < extra ? rank : extra);
    *b1 = *b0 + base + (rank < extra ? 1 : 0);
}

static ember_dist_tables *make_tables(const dist_check_case *c, ember_dist_comm *comm,
                                      ember_context *ctx, const dc_inputs *in, int verbose,
                                      ember_check_result *r) {
    ember_dist_table_spec specs[MAXT];
    ember_dist_table_plan plans[MAXT];
    for (int t = 0; t < in->nt; t++) {
        const ember_lookup_desc *d = &in->e[t].desc;
        ember_dist_table_spec_init(&specs[t], d->num_rows, d->dim, d->pooling);
        specs[t].index_type = d->index_type;
        specs[t].padding_idx = d->padding_idx;
        specs[t].indices_per_bag = (double)c->bag;
        specs[t].shard = c->shard != EMBER_SHARD_AUTO ? c->shard : (ember_shard_kind)(t % 4 + 1);
        if (c->shard == EMBER_SHARD_AUTO && specs[t].shard == EMBER_SHARD_COLUMN_WISE &&
            c->opt == EMBER_OPTIMIZER_ROWWISE_ADAGRAD)
            specs[t].shard = EMBER_SHARD_ROW_WISE;
    }
    ember_dist_planner_options po = {.batch_per_rank = in->B / comm->size, .optimizer = c->opt};
    ember_dist_tables *tabs = NULL;
    ember_status st = ember_dist_plan(comm, in->nt, specs, &po, plans);
    if (st == EMBER_STATUS_SUCCESS && verbose && comm->rank == 0)
        ember_dist_plan_print(stdout, comm->size, in->nt, specs, plans);
    if (st == EMBER_STATUS_SUCCESS)
        st = ember_dist_tables_create(comm, ctx, in->nt, specs, plans, c->opt, &tabs);
    for (int t = 0; t < in->nt && st == EMBER_STATUS_SUCCESS; t++)
        st = ember_dist_tables_set(tabs, t, in->e[t].table, in->e[t].state);
    if (st != EMBER_STATUS_SUCCESS) {
        chk_result_failf(r, "setting up the tables: %s: %s", ember_status_name(st),
                         ember_dist_last_error(comm));
        ember_dist_tables_destroy(tabs);
        return NULL;
    }
    return tabs;
}

/* One distributed step on this rank's bags: lookup (rows b0..b1 into g->out), fused
 * backward, every table and state gathered. bad_t >= 0 (the error case): only the lookup,
 * with index bad_pos (when >= 0) of table bad_t made out of range first. */
static ember_status dist_step(const dist_check_case *c, ember_dist_tables *tabs, ember_context *ctx,
                              const dc_inputs *in, int64_t bad_t, int64_t bad_pos, dc_got *g,
                              ember_check_result *r) {
    ember_dist_comm *comm = tabs->comm;
    chk_dev d = {.ctx = ctx};
    int64_t b0, b1, n[MAXT];
    my_bags(in, comm->rank, comm->size, &b0, &b1);
    int64_t Bl = b1 - b0;
    ember_buffer *idx[MAXT] = {0}, *off[MAXT] = {0}, *out = NULL, *grad = NULL;
    for (int t = 0; t < in->nt; t++) {
        const chk_emb *e = &in->e[t];
        int64_t i0 = e->off ? e->off[b0] : b0, i1 = e->off ? e->off[b1] : b1;
        int64_t *li = malloc((size_t)(i1 - i0 + 1) * sizeof *li),
                *lo = malloc((size_t)(Bl + 1) * sizeof *lo);
        if (!li || !lo) chk_fail_st(&d, EMBER_STATUS_OUT_OF_MEMORY, "host malloc");
        for (int64_t i = i0; li && i < i1; i++) li[i - i0] = e->idx[i];
        for (int64_t b = 0; lo && e->off && b <= Bl; b++) lo[b] = e->off[b0 + b] - i0;
        if (t == bad_t && li && bad_pos >= 0 && bad_pos < i1 - i0) li[bad_pos] = e->desc.num_rows;
        n[t] = i1 - i0;
        if (li && lo) {
            idx[t] = up_indices(&d, li, n[t], e->desc.index_type);
            if (e->off) off[t] = up_indices(&d, lo, Bl + 1, e->desc.index_type);
        }
        free(li), free(lo);
    }
    out = chk_up(&d, NULL, Bl * in->W, sizeof(float)); /* sentinels: nothing may be written */
    grad = chk_up(&d, in->grad + b0 * in->W, Bl * in->W, sizeof(float));
    /* Any setup failure is a local one: report it, and make the collective call anyway. */
    ember_status st = ember_dist_lookup(tabs, Bl, n, (const ember_buffer *const *)idx,
                                        (const ember_buffer *const *)off, out);
    if (!d.st) g->out = chk_down(&d, out, Bl * in->W, sizeof(float));
    if (st == EMBER_STATUS_SUCCESS && bad_t < 0) {
        ember_optimizer opt = in->e[0].opt;
        st = ember_dist_backward_update(tabs, grad, c->mode, &opt);
    }
    if (st == EMBER_STATUS_SUCCESS || bad_t >= 0) {
        for (int t = 0; t < in->nt; t++) {
            const chk_emb *e = &in->e[t];
            g->table[t] = malloc((size_t)(e->desc.num_rows * e->desc.dim) * sizeof(float));
            g->state[t] = e->state_n ? malloc((size_t)e->state_n * sizeof(float)) : NULL;
            ember_status gs = ember_dist_tables_get(tabs, t, g->table[t], g->state[t]);
            if (gs != EMBER_STATUS_SUCCESS)
                chk_result_failf(r, "ember_dist_tables_get: %s", ember_dist_last_error(comm));
        }
    }
    for (int t = 0; t < in->nt; t++) ember_buffer_free(idx[t]), ember_buffer_free(off[t]);
    ember_buffer_free(out);
    ember_buffer_free(grad);
    if (d.st) chk_result_failf(r, "staging: %s", d.err);
    return st;
}

/* Per-element tolerances (vs oracle) of the output and of every table and state after the
 * update, from the shared oracle; NULL arrays when the case is compared bit for bit. */
typedef struct dc_tol {
    double *out;
    chk_want table[MAXT], state[MAXT];
} dc_tol;

static void tol_free(dc_tol *w) {
    free(w->out);
    for (int t = 0; t < MAXT; t++) chk_want_free(&w->table[t]), chk_want_free(&w->state[t]);
    memset(w, 0, sizeof *w);
}

static int tol_make(const dc_inputs *in, dc_tol *w) {
    memset(w, 0, sizeof *w);
    w->out = calloc((size_t)(in->B * in->W), sizeof *w->out);
    if (!w->out) return -1;
    for (int t = 0; t < in->nt; t++) {
        const chk_emb *e = &in->e[t];
        chk_want lw = {0}, gw = {0};
        int64_t *ids = NULL, nu = 0;
        int rc = chk_oracle_lookup(e, &lw);
        for (int64_t b = 0; rc == 0 && b < in->B; b++)
            for (int64_t j = e->desc.out_col_offset; j < e->desc.out_col_offset + e->desc.dim; j++)
                w->out[b * in->W + j] = lw.tol[b * in->W + j];
        if (rc == 0) rc = chk_oracle_backward_sparse(e, &ids, &nu, &gw);
        if (rc == 0)
            rc = chk_oracle_sparse_step(e, ids, nu, gw.v, gw.tol, &w->table[t], &w->state[t]);
        chk_want_free(&lw);
        chk_want_free(&gw);
        free(ids);
        if (rc) return -1;
    }
    return 0;
}

/* got against want (n floats): bit for bit when tol is NULL, else within tol x the
 * against-CPU factor (both sides carry rounding error). */
static void compare(ember_check_result *r, const char *name, const float *got, const float *want,
                    const double *tol, int64_t n, int64_t cols) {
    if (!got || !want) {
        chk_result_failf(r, "%s: missing result", name);
        return;
    }
    if (!tol) {
        chk_compare_bits(r, name, got, want, n, cols, "the single-process batched op");
        return;
    }
    double *wd = chk_to_double(want, n);
    if (!wd)
        chk_result_failf(r, "out of host memory");
    else
        chk_compare(r, name, got, wd, tol, EMBER_TOL_VS_CPU_FACTOR, n, cols);
    free(wd);
}

static void compare_step(ember_check_result *r, const dist_check_case *c, const dc_inputs *in,
                         const dc_got *got, const dc_got *ref, const dc_tol *tol, int64_t b0,
                         int64_t b1) {
    int exact_fwd = c->shard == EMBER_SHARD_TABLE_WISE || c->shard == EMBER_SHARD_COLUMN_WISE ||
                    c->shard == EMBER_SHARD_REPLICATED;
    int exact_bwd = (c->shard == EMBER_SHARD_TABLE_WISE || c->shard == EMBER_SHARD_COLUMN_WISE) &&
                    c->mode == EMBER_REDUCTION_DETERMINISTIC;
    if (got->out) chk_guard_ok(r, "out", got->out, (b1 - b0) * in->W, sizeof(float));
    compare(r, "out", got->out, ref->out ? ref->out + b0 * in->W : NULL,
            exact_fwd ? NULL : tol->out + b0 * in->W, (b1 - b0) * in->W, in->W);
    for (int t = 0; t < in->nt; t++) {
        const chk_emb *e = &in->e[t];
        char name[32];
        snprintf(name, sizeof name, "table %d", t);
        compare(r, name, got->table[t], ref->table[t], exact_bwd ? NULL : tol->table[t].tol,
                e->desc.num_rows * e->desc.dim, e->desc.dim);
        if (!e->state_n) continue;
        snprintf(name, sizeof name, "state %d", t);
        compare(r, name, got->state[t], ref->state[t], exact_bwd ? NULL : tol->state[t].tol,
                e->state_n, c->opt == EMBER_OPTIMIZER_ROWWISE_ADAGRAD ? 1 : e->desc.dim);
    }
}

/* Two runs of the same step, bit for bit (DETERMINISTIC mode's promise). */
static void compare_runs(ember_check_result *r, const dc_inputs *in, const dc_got *a,
                         const dc_got *b, int64_t rows) {
    if (a->out && b->out)
        chk_compare_bits(r, "out", b->out, a->out, rows * in->W, in->W, "the first run");
    for (int t = 0; t < in->nt; t++) {
        const chk_emb *e = &in->e[t];
        if (a->table[t] && b->table[t])
            chk_compare_bits(r, "table", b->table[t], a->table[t], e->desc.num_rows * e->desc.dim,
                             e->desc.dim, "the first run");
        if (a->state[t] && b->state[t])
            chk_compare_bits(r, "state", b->state[t], a->state[t], e->state_n, 1, "the first run");
    }
}

static void run_step(const dist_check_case *c, ember_dist_comm *comm, ember_context *ctx,
                     const dc_inputs *in, int verbose, ember_check_result *r) {
    dc_got ref = {0}, got[2] = {{0}};
    dc_tol tol;
    int64_t b0, b1;
    my_bags(in, comm->rank, comm->size, &b0, &b1);
    if (tol_make(in, &tol)) chk_result_failf(r, "out of host memory in the oracle");
    reference(ctx, c, in, &ref, r);
    int runs = c->mode == EMBER_REDUCTION_DETERMINISTIC ? 2 : 1;
    for (int k = 0; k < runs; k++) {
        ember_dist_tables *tabs = make_tables(c, comm, ctx, in, verbose && k == 0, r);
        if (!tabs) break; /* the creation's failure was agreed: every rank stops here */
        ember_status st = dist_step(c, tabs, ctx, in, -1, -1, &got[k], r);
        if (st != EMBER_STATUS_SUCCESS)
            chk_result_failf(r, "distributed step: %s: %s", ember_status_name(st),
                             ember_dist_last_error(comm));
        ember_dist_tables_destroy(tabs);
    }
    if (r->outcome != EMBER_CHECK_FAILED) compare_step(r, c, in, &got[0], &ref, &tol, b0, b1);
    if (r->outcome != EMBER_CHECK_FAILED && runs == 2)
        compare_runs(r, in, &got[0], &got[1], b1 - b0);
    got_free(&ref), got_free(&got[0]), got_free(&got[1]);
    tol_free(&tol);
}

/* A bad index on the last rank: every rank must get INDEX_OUT_OF_RANGE naming that rank,
 * the table and the position, with its output and every table untouched. */
static void run_bad_index(const dist_check_case *c, ember_dist_comm *comm, ember_context *ctx,
                          const dc_inputs *in, ember_check_result *r) {
    int bad_rank = comm->size - 1;
    int64_t b0, b1, bad_t = -1, pos = 0;
    my_bags(in, bad_rank, comm->size, &b0, &b1);
    for (int t = 0; t < in->nt && bad_t < 0; t++) { /* the first table the bad rank indexes */
        const chk_emb *e = &in->e[t];
        int64_t n = e->off ? e->off[b1] - e->off[b0] : b1 - b0;
        if (n > 0) bad_t = t, pos = n / 2;
    }
    ember_dist_tables *tabs = make_tables(c, comm, ctx, in, 0, r);
    if (!tabs) return;
    dc_got got = {0};
    ember_status st =
        dist_step(c, tabs, ctx, in, bad_t, comm->rank == bad_rank ? pos : -1, &got, r);
    char want[160];
    snprintf(want, sizeof want, "rank %d: table %lld: index %lld at position %lld", bad_rank,
             (long long)bad_t, (long long)(bad_t >= 0 ? in->e[bad_t].desc.num_rows : 0),
             (long long)pos);
    if (st != EMBER_STATUS_INDEX_OUT_OF_RANGE || !strstr(ember_dist_last_error(comm), want))
        chk_result_failf(r, "expected INDEX_OUT_OF_RANGE with \"%s\", got %s: %s", want,
                         ember_status_name(st), ember_dist_last_error(comm));
    my_bags(in, comm->rank, comm->size, &b0, &b1);
    if (got.out) chk_guard_ok(r, "out", got.out, (b1 - b0) * in->W, sizeof(float));
    for (int64_t i = 0; got.out && i < (b1 - b0) * in->W; i++) {
        uint32_t v;
        memcpy(&v, &got.out[i], 4);
        if (v != CHK_SENTINEL) {
            chk_result_failf(r, "out[%lld] was written (0x%08x) although the lookup failed",
                             (long long)i, (unsigned)v);
            break;
        }
    }
    for (int t = 0; t < in->nt; t++)
        compare(r, "table (after the failed lookup)", got.table[t], in->e[t].table, NULL,
                in->e[t].desc.num_rows * in->e[t].desc.dim, in->e[t].desc.dim);
    got_free(&got);
    ember_dist_tables_destroy(tabs);
}

int dist_check_run(const dist_check_case *c, ember_dist_comm *comm, ember_context *ctx,
                   uint64_t seed, int verbose) {
    ember_check_result r;
    memset(&r, 0, sizeof r);
    double t0 = MPI_Wtime();
    dc_inputs in;
    if (inputs_make(c, seed, &in)) chk_result_failf(&r, "out of host memory making the inputs");
    /* Every rank runs the collective part, even after a local failure, so none waits alone. */
    if (c->kind == DIST_CHECK_STEP)
        run_step(c, comm, ctx, &in, verbose, &r);
    else
        run_bad_index(c, comm, ctx, &in, &r);
    inputs_free(&in);
    int failed = r.outcome == EMBER_CHECK_FAILED, any = failed;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, comm->comm);
    if (failed) {
        printf("FAIL %s on rank %d of %d: %s", c->name, comm->rank, comm->size, r.reason);
        if (r.has_diff)
            printf(" (%s[%lld, %lld] = %.9g, want %.9g)", r.diff_array, (long long)r.diff_row,
                   (long long)r.diff_col, r.diff_got, r.diff_want);
        printf("  reproduce: mpirun -np %d ember check --dist --case %s --seed %llu\n", comm->size,
               c->name, (unsigned long long)seed);
    }
    if (comm->rank == 0)
        printf("%s %-36s %d rank%s  %.3f s\n", any ? "FAIL" : "ok  ", c->name, comm->size,
               comm->size == 1 ? " " : "s", MPI_Wtime() - t0);
    fflush(stdout);
    return !any;
}
