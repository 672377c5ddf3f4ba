/* check_embedding.c: runs the embedding cases (lookup, backward dense and sparse, sparse
 * optimizer step, fused backward + update) on a context and compares them with the
 * reference. */
#include "check_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one run on one context produced (host copies, each with its guard band). */
typedef struct emb_got {
    float *out, *grad, *ugrads, *table, *state;
    int64_t *ids;
    int64_t nu;
} emb_got;

static void got_free(emb_got *g) {
    free(g->out);
    free(g->grad);
    free(g->ugrads);
    free(g->table);
    free(g->state);
    free(g->ids);
    memset(g, 0, sizeof *g);
}

/* Runs the case's op on ctx; with wrap, on wrapped buffers (ember_check_case.wrapped). */
static int emb_exec(ember_context *ctx, const ember_check_case *c, const chk_emb *e, int wrap,
                    emb_got *g, char *err, size_t errsz) {
    chk_dev d = {.ctx = ctx, .wrap = wrap};
    const ember_lookup_desc *desc = &e->desc;
    int64_t R = desc->num_rows, D = desc->dim, B = desc->batch, S = desc->out_row_stride;
    int64_t ni = desc->num_indices;
    size_t isz = desc->index_type == EMBER_INDEX_INT32 ? 4 : 8;
    void *ib = chk_index_bytes(e->idx, ni, desc->index_type);
    void *ob = e->off ? chk_index_bytes(e->off, B + 1, desc->index_type) : NULL;
    ember_buffer *idx = NULL, *off = NULL, *wts = NULL, *table = NULL, *out = NULL, *go = NULL,
                 *gt = NULL, *uid = NULL, *ug = NULL, *state = NULL;
    ember_status st;
    if (!ib || (e->off && !ob)) {
        chk_fail_st(&d, EMBER_STATUS_OUT_OF_MEMORY, "host malloc");
        goto done;
    }
    idx = chk_up(&d, ib, ni, isz);
    if (e->off) off = chk_up(&d, ob, B + 1, isz);
    if (e->weights) wts = chk_up(&d, e->weights, ni, sizeof(float));
    if (d.st) goto done;
    switch (c->op) {
    case EMBER_CHECK_LOOKUP:
        table = chk_up(&d, e->table, R * D, sizeof(float));
        out = chk_up(&d, e->out_init, B * S, sizeof(float));
        if (d.st) goto done;
        st = ember_embedding_lookup(ctx, desc, table, idx, off, wts, out);
        if (chk_fail_st(&d, st, "ember_embedding_lookup")) goto done;
        g->out = chk_down(&d, out, B * S, sizeof(float));
        g->table = chk_down(&d, table, R * D, sizeof(float));
        break;
    case EMBER_CHECK_BACKWARD_DENSE:
        go = chk_up(&d, e->grad_out, B * S, sizeof(float));
        gt = chk_up(&d, e->grad_init, R * D, sizeof(float));
        if (d.st) goto done;
        st = ember_embedding_backward_dense(ctx, desc, idx, off, wts, go, c->mode, gt);
        if (chk_fail_st(&d, st, "ember_embedding_backward_dense")) goto done;
        g->grad = chk_down(&d, gt, R * D, sizeof(float));
        break;
    case EMBER_CHECK_BACKWARD_SPARSE:
        go = chk_up(&d, e->grad_out, B * S, sizeof(float));
        uid = chk_up(&d, NULL, ni, sizeof(int64_t));
        ug = chk_up(&d, NULL, ni * D, sizeof(float));
        if (d.st) goto done;
        g->nu = -1;
        st =
            ember_embedding_backward_sparse(ctx, desc, idx, off, wts, go, c->mode, uid, ug, &g->nu);
        if (chk_fail_st(&d, st, "ember_embedding_backward_sparse")) goto done;
        g->ids = chk_down(&d, uid, ni, sizeof(int64_t));
        g->ugrads = chk_down(&d, ug, ni * D, sizeof(float));
        break;
    case EMBER_CHECK_SPARSE_STEP:
    case EMBER_CHECK_BACKWARD_UPDATE:
        table = chk_up(&d, e->table, R * D, sizeof(float));
        if (e->state_n > 0) state = chk_up(&d, e->state, e->state_n, sizeof(float));
        if (c->op == EMBER_CHECK_SPARSE_STEP) {
            uid = chk_up(&d, e->uids, e->num_unique, sizeof(int64_t));
            ug = chk_up(&d, e->ugrads, e->num_unique * D, sizeof(float));
            if (d.st) goto done;
            st = ember_sparse_optimizer_step(ctx, &e->opt, R, D, table, state, uid, ug,
                                             e->num_unique);
            if (chk_fail_st(&d, st, "ember_sparse_optimizer_step")) goto done;
        } else {
            go = chk_up(&d, e->grad_out, B * S, sizeof(float));
            if (d.st) goto done;
            st = ember_embedding_backward_update(ctx, desc, idx, off, wts, go, c->mode, &e->opt,
                                                 table, state);
            if (chk_fail_st(&d, st, "ember_embedding_backward_update")) goto done;
        }
        g->table = chk_down(&d, table, R * D, sizeof(float));
        if (state) g->state = chk_down(&d, state, e->state_n, sizeof(float));
        break;
    default:
        chk_fail_st(&d, EMBER_STATUS_INTERNAL, "case with an unknown op");
        break;
    }
done:
    ember_buffer_free(idx);
    ember_buffer_free(off);
    ember_buffer_free(wts);
    ember_buffer_free(table);
    ember_buffer_free(out);
    ember_buffer_free(go);
    ember_buffer_free(gt);
    ember_buffer_free(uid);
    ember_buffer_free(ug);
    ember_buffer_free(state);
    chk_dev_release(&d);
    free(ib);
    free(ob);
    if (d.st) snprintf(err, errsz, "%s", d.err);
    return d.st ? -1 : 0;
}

static int is_backward(ember_check_op op) {
    return op == EMBER_CHECK_BACKWARD_DENSE || op == EMBER_CHECK_BACKWARD_SPARSE ||
           op == EMBER_CHECK_BACKWARD_UPDATE;
}

/* Compares one float array: want from the reference run when there is one (else the
 * oracle), tolerance always from the oracle. */
void chk_cmp_emb(ember_check_result *r, const char *name, const float *got, const float *ref,
                 const chk_want *w, int64_t n, int64_t cols) {
    if (!got) return;
    if (!chk_guard_ok(r, name, got, n, sizeof(float))) return;
    if (ref) {
        double *rv = chk_to_double(ref, n);
        if (!rv) {
            chk_result_failf(r, "out of host memory");
            return;
        }
        chk_compare(r, name, got, rv, w->tol, EMBER_TOL_VS_CPU_FACTOR, n, cols);
        free(rv);
    } else {
        chk_compare(r, name, got, w->v, w->tol, 1.0, n, cols);
    }
}

static void cmp_ids(ember_check_result *r, const emb_got *g, const int64_t *ids, int64_t nu,
                    int64_t capacity) {
    if (!chk_guard_ok(r, "unique_ids", g->ids, capacity, sizeof(int64_t))) return;
    if (g->nu != nu) {
        chk_result_failf(r, "num_unique: got %lld, want %lld", (long long)g->nu, (long long)nu);
        return;
    }
    for (int64_t k = 0; k < nu; k++) {
        if (g->ids[k] != ids[k]) {
            r->has_diff = 1;
            snprintf(r->diff_array, sizeof r->diff_array, "unique_ids");
            r->diff_index = r->diff_row = k;
            r->diff_col = 0;
            r->diff_got = (double)g->ids[k];
            r->diff_want = (double)ids[k];
            chk_result_failf(r, "unique_ids[%lld]: got %lld, want %lld (ids must be ascending)",
                             (long long)k, (long long)g->ids[k], (long long)ids[k]);
            return;
        }
    }
}

/* Bit-identity of a DETERMINISTIC backward against itself. */
static void same_run(ember_check_result *r, const ember_check_case *c, const chk_emb *e,
                     const emb_got *a, const emb_got *b, const char *what) {
    int64_t R = e->desc.num_rows, D = e->desc.dim;
    switch (c->op) {
    case EMBER_CHECK_BACKWARD_DENSE:
        chk_compare_bits(r, "grad_table", b->grad, a->grad, R * D, D, what);
        break;
    case EMBER_CHECK_BACKWARD_SPARSE:
        if (a->nu != b->nu || memcmp(a->ids, b->ids, (size_t)(a->nu > 0 ? a->nu : 0) * 8) != 0) {
            chk_result_failf(r, "%s: the unique ids differ", what);
            return;
        }
        chk_compare_bits(r, "unique_grads", b->ugrads, a->ugrads, a->nu * D, D, what);
        break;
    case EMBER_CHECK_BACKWARD_UPDATE:
        chk_compare_bits(r, "table", b->table, a->table, R * D, D, what);
        if (a->state) chk_compare_bits(r, "state", b->state, a->state, e->state_n, 1, what);
        break;
    default:
        break;
    }
}

void chk_run_embedding(const ember_check_case *c, ember_context *ctx, ember_context *ref,
                       uint64_t seed, ember_check_result *r) {
    chk_emb e;
    emb_got g = {0}, gr = {0}, g2 = {0};
    chk_want w1 = {0}, w2 = {0};
    int64_t *oids = NULL, onu = 0;
    char err[1024];
    if (chk_emb_make(c, seed, &e)) {
        chk_result_failf(r, "out of host memory making the inputs");
        goto done;
    }
    int det = c->mode == EMBER_REDUCTION_DETERMINISTIC && is_backward(c->op);
    int cpu_like = chk_cpu_like(ctx);
    if (det && cpu_like) ember_context_set_threads(ctx, 1);
    int rc = emb_exec(ctx, c, &e, c->wrapped, &g, err, sizeof err);
    if (det && cpu_like) ember_context_set_threads(ctx, 0);
    if (rc) {
        chk_result_failf(r, "%s", err);
        goto done;
    }
    if (ref && emb_exec(ref, c, &e, 0, &gr, err, sizeof err)) {
        chk_result_failf(r, "the CPU reference failed: %s", err);
        goto done;
    }
    int64_t R = e.desc.num_rows, D = e.desc.dim, B = e.desc.batch, S = e.desc.out_row_stride;
    int64_t ni = e.desc.num_indices;
    /* DETERMINISTIC against the CPU: bit for bit (check_tolerance.h). */
    int exact = det && chk_det_bit_exact(ctx, ref, &e);
    switch (c->op) {
    case EMBER_CHECK_LOOKUP:
        if (chk_oracle_lookup(&e, &w1)) break;
        /* Every backend sums a bag in input order with the same float operations as the
         * CPU, so against the CPU any lookup, pooled or not, must be bit-exact. */
        if (ref)
            for (int64_t i = 0; i < B * S; i++) w1.tol[i] = 0.0;
        chk_cmp_emb(r, "out", g.out, ref ? gr.out : NULL, &w1, B * S, S);
        if (g.table && memcmp(g.table, e.table, (size_t)(R * D) * sizeof(float)) != 0)
            chk_result_failf(r, "the lookup changed its (read-only) table");
        break;
    case EMBER_CHECK_BACKWARD_DENSE:
        if (chk_oracle_backward_dense(&e, &w1)) break;
        if (exact) chk_want_exact(&w1);
        chk_cmp_emb(r, "grad_table", g.grad, ref ? gr.grad : NULL, &w1, R * D, D);
        break;
    case EMBER_CHECK_BACKWARD_SPARSE:
        if (chk_oracle_backward_sparse(&e, &oids, &onu, &w1)) break;
        if (exact) chk_want_exact(&w1);
        cmp_ids(r, &g, oids, onu, ni);
        if (r->outcome == EMBER_CHECK_FAILED) break;
        if (!chk_guard_ok(r, "unique_grads", g.ugrads, ni * D, sizeof(float))) break;
        /* Only the first num_unique rows are defined; the guard is after the capacity. */
        if (ref) {
            double *rv = chk_to_double(gr.ugrads, onu * D);
            if (rv)
                chk_compare(r, "unique_grads", g.ugrads, rv, w1.tol, EMBER_TOL_VS_CPU_FACTOR,
                            onu * D, D);
            free(rv);
        } else {
            chk_compare(r, "unique_grads", g.ugrads, w1.v, w1.tol, 1.0, onu * D, D);
        }
        break;
    case EMBER_CHECK_SPARSE_STEP: {
        double *gd = chk_to_double(e.ugrads, e.num_unique * D);
        if (!gd || chk_oracle_sparse_step(&e, e.uids, e.num_unique, gd, NULL, &w1, &w2)) {
            free(gd);
            break;
        }
        free(gd);
        chk_cmp_emb(r, "table", g.table, ref ? gr.table : NULL, &w1, R * D, D);
        if (e.state_n)
            chk_cmp_emb(r, "state", g.state, ref ? gr.state : NULL, &w2, e.state_n,
                        c->opt == EMBER_OPTIMIZER_ROWWISE_ADAGRAD ? 1 : D);
        break;
    }
    case EMBER_CHECK_BACKWARD_UPDATE: {
        chk_want gw = {0};
        if (chk_oracle_backward_sparse(&e, &oids, &onu, &gw)) break;
        int orc = chk_oracle_sparse_step(&e, oids, onu, gw.v, gw.tol, &w1, &w2);
        chk_want_free(&gw);
        if (orc) break;
        if (exact) chk_want_exact(&w1), chk_want_exact(&w2);
        chk_cmp_emb(r, "table", g.table, ref ? gr.table : NULL, &w1, R * D, D);
        if (e.state_n)
            chk_cmp_emb(r, "state", g.state, ref ? gr.state : NULL, &w2, e.state_n,
                        c->opt == EMBER_OPTIMIZER_ROWWISE_ADAGRAD ? 1 : D);
        break;
    }
    default:
        chk_result_failf(r, "case %s has no embedding op", c->name);
        break;
    }
    if (!w1.v && r->outcome != EMBER_CHECK_FAILED)
        chk_result_failf(r, "out of host memory in the oracle");

    /* DETERMINISTIC: the same bits again (on the CPU with 2 threads instead of 1), on
     * allocated buffers when the first run's were wrapped. */
    if (det && r->outcome != EMBER_CHECK_FAILED) {
        if (cpu_like) ember_context_set_threads(ctx, 2);
        rc = emb_exec(ctx, c, &e, 0, &g2, err, sizeof err);
        if (cpu_like) ember_context_set_threads(ctx, 0);
        if (rc)
            chk_result_failf(r, "second deterministic run: %s", err);
        else
            same_run(r, c, &e, &g, &g2,
                     c->wrapped ? "deterministic run on allocated buffers vs on wrapped ones"
                     : cpu_like ? "deterministic run with 2 threads vs 1 thread"
                                : "deterministic second run vs first");
    }
done:
    got_free(&g);
    got_free(&gr);
    got_free(&g2);
    chk_want_free(&w1);
    chk_want_free(&w2);
    free(oids);
    chk_emb_free(&e);
}
