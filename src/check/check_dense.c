/* check_dense.c: runs the dense-layer cases (forward, backward) and the dense optimizer
 * step on a context and compares them with the reference. */
#include "check_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The inputs of a dense case. */
typedef struct dense_in {
    int64_t B, I, O;
    float *x, *w, *b, *y, *dy; /* y: the forward's output, for the backward's ReLU mask */
} dense_in;

typedef struct dense_got {
    float *y, *dy, *dx, *dw, *db;
} dense_got;

static void dense_got_free(dense_got *g) {
    free(g->y);
    free(g->dy);
    free(g->dx);
    free(g->dw);
    free(g->db);
    memset(g, 0, sizeof *g);
}

static size_t cnt(int64_t n) {
    return (size_t)(n > 0 ? n : 1);
}

/* Forward in double: z = x w^T + b, then the activation. */
static void oracle_forward(const dense_in *in, ember_activation act, int bias, double *y) {
    for (int64_t i = 0; i < in->B; i++) {
        for (int64_t o = 0; o < in->O; o++) {
            double z = bias ? (double)in->b[o] : 0.0;
            for (int64_t k = 0; k < in->I; k++)
                z += (double)in->x[i * in->I + k] * (double)in->w[o * in->I + k];
            y[i * in->O + o] = act == EMBER_ACTIVATION_RELU && !(z > 0) ? 0.0 : z;
        }
    }
}

static int dense_make(const ember_check_case *c, uint64_t seed, dense_in *in) {
    ember_rng rng = {seed};
    in->B = c->batch;
    in->I = c->in;
    in->O = c->out;
    in->x = malloc(cnt(in->B * in->I) * sizeof(float));
    in->w = malloc(cnt(in->O * in->I) * sizeof(float));
    in->b = malloc(cnt(in->O) * sizeof(float));
    in->y = malloc(cnt(in->B * in->O) * sizeof(float));
    in->dy = malloc(cnt(in->B * in->O) * sizeof(float));
    double *yd = malloc(cnt(in->B * in->O) * sizeof(double));
    if (!in->x || !in->w || !in->b || !in->y || !in->dy || !yd) {
        free(yd);
        return -1;
    }
    chk_fill(&rng, in->x, in->B * in->I, -1.0f, 1.0f);
    chk_fill(&rng, in->w, in->O * in->I, -1.0f, 1.0f);
    chk_fill(&rng, in->b, in->O, -1.0f, 1.0f);
    chk_fill(&rng, in->dy, in->B * in->O, -1.0f, 1.0f);
    oracle_forward(in, c->act, c->bias, yd);
    for (int64_t i = 0; i < in->B * in->O; i++) in->y[i] = (float)yd[i];
    free(yd);
    return 0;
}

static void dense_free(dense_in *in) {
    free(in->x);
    free(in->w);
    free(in->b);
    free(in->y);
    free(in->dy);
}

static int dense_exec(ember_context *ctx, const ember_check_case *c, const dense_in *in,
                      dense_got *g, char *err, size_t errsz) {
    chk_dev d = {.ctx = ctx};
    int64_t B = in->B, I = in->I, O = in->O;
    ember_buffer *x = chk_up(&d, in->x, B * I, 4), *w = chk_up(&d, in->w, O * I, 4);
    ember_buffer *b = c->bias ? chk_up(&d, in->b, O, 4) : NULL;
    ember_buffer *y = NULL, *dy = NULL, *dx = NULL, *dw = NULL, *db = NULL;
    ember_status st;
    if (c->op == EMBER_CHECK_DENSE_FORWARD) {
        y = chk_up(&d, NULL, B * O, 4);
        if (d.st) goto done;
        st = ember_dense_forward(ctx, B, I, O, x, w, b, c->act, y);
        if (chk_fail_st(&d, st, "ember_dense_forward")) goto done;
        g->y = chk_down(&d, y, B * O, 4);
    } else {
        y = chk_up(&d, in->y, B * O, 4);
        dy = chk_up(&d, in->dy, B * O, 4);
        if (!c->no_dx) dx = chk_up(&d, NULL, B * I, 4);
        dw = chk_up(&d, NULL, O * I, 4);
        if (c->bias) db = chk_up(&d, NULL, O, 4);
        if (d.st) goto done;
        st = ember_dense_backward(ctx, B, I, O, x, w, y, dy, c->act, dx, dw, db);
        if (chk_fail_st(&d, st, "ember_dense_backward")) goto done;
        g->dy = chk_down(&d, dy, B * O, 4);
        if (dx) g->dx = chk_down(&d, dx, B * I, 4);
        g->dw = chk_down(&d, dw, O * I, 4);
        if (db) g->db = chk_down(&d, db, O, 4);
    }
done:
    ember_buffer_free(x);
    ember_buffer_free(w);
    ember_buffer_free(b);
    ember_buffer_free(y);
    ember_buffer_free(dy);
    ember_buffer_free(dx);
    ember_buffer_free(dw);
    ember_buffer_free(db);
    if (d.st) snprintf(err, errsz, "%s", d.err);
    return d.st ? -1 : 0;
}

/* GEMM output: guard, then nmse (at most bound) against the reference run or the oracle. */
static void cmp_gemm(ember_check_result *r, const char *name, const float *got, const float *ref,
                     const double *oracle, int64_t n, int64_t cols, double bound) {
    if (!got || !chk_guard_ok(r, name, got, n, 4)) return;
    double *want = ref ? chk_to_double(ref, n) : (double *)oracle;
    if (!want) {
        chk_result_failf(r, "out of host memory");
        return;
    }
    chk_compare_nmse(r, name, got, want, bound, n, cols);
    if (ref) free(want);
}

/* Runs the case with EMBER_MATH_ALLOW_TF32 set (c->tf32) and strict FP32 restored after,
 * so a context shared by later cases is left as it was. */
static int dense_exec_mode(ember_context *ctx, const ember_check_case *c, const dense_in *in,
                           dense_got *g, char *err, size_t errsz) {
    if (!c->tf32) return dense_exec(ctx, c, in, g, err, errsz);
    ember_status st = ember_context_set_math_mode(ctx, EMBER_MATH_ALLOW_TF32);
    if (st != EMBER_STATUS_SUCCESS) {
        snprintf(err, errsz, "ember_context_set_math_mode(ALLOW_TF32) returned %s: %s",
                 ember_status_name(st), ember_context_last_error(ctx));
        return -1;
    }
    int rc = dense_exec(ctx, c, in, g, err, errsz);
    st = ember_context_set_math_mode(ctx, EMBER_MATH_STRICT_FP32);
    if (st != EMBER_STATUS_SUCCESS && rc == 0) {
        snprintf(err, errsz, "ember_context_set_math_mode(STRICT_FP32) returned %s: %s",
                 ember_status_name(st), ember_context_last_error(ctx));
        return -1;
    }
    return rc;
}

/* TF32 cases, after the TF32 run passed its bound: the same case again in strict FP32 (the
 * mode just restored). A backend that uses TF32 must be back within the strict bound; one
 * that computes strict FP32 in both modes must give the TF32 run's bits exactly. */
static void check_tf32_switch(ember_check_result *r, const ember_check_case *c, ember_context *ctx,
                              ember_context *ref, const dense_in *in, const dense_got *g,
                              const dense_got *gr, int uses_tf32) {
    dense_got s = {0};
    char err[1024];
    if (dense_exec(ctx, c, in, &s, err, sizeof err)) {
        chk_result_failf(r, "strict FP32 run after the TF32 one: %s", err);
        return;
    }
    const char *why = "EMBER_MATH_ALLOW_TF32 vs strict FP32 on a backend without TF32";
    int64_t B = in->B, I = in->I, O = in->O;
    const float *got[4] = {s.y, s.dx, s.dw, s.db}, *tf[4] = {g->y, g->dx, g->dw, g->db},
                *rv[4] = {gr->y, gr->dx, gr->dw, gr->db};
    static const char *const names[4] = {"y", "dx", "dw", "db"};
    const int64_t n[4] = {B * O, B * I, O * I, O}, cols[4] = {O, I, I, O};
    for (int k = 0; k < 4 && r->outcome != EMBER_CHECK_FAILED; k++) {
        if (!got[k] || !tf[k]) continue;
        if (!uses_tf32) {
            chk_compare_bits(r, names[k], got[k], tf[k], n[k], cols[k], why);
        } else if (ref && rv[k]) {
            double *want = chk_to_double(rv[k], n[k]);
            if (want)
                chk_compare_nmse(r, names[k], got[k], want, EMBER_TOL_NMSE_GEMM, n[k], cols[k]);
            free(want);
        }
    }
    dense_got_free(&s);
}

void chk_run_dense(const ember_check_case *c, ember_context *ctx, ember_context *ref, uint64_t seed,
                   ember_check_result *r) {
    dense_in in = {0};
    dense_got g = {0}, gr = {0};
    char err[1024];
    double *o1 = NULL, *o2 = NULL, *o3 = NULL, *o4 = NULL;
    if (dense_make(c, seed, &in)) {
        chk_result_failf(r, "out of host memory making the inputs");
        goto done;
    }
    /* Only CUDA uses TF32 when allowed (include/ember.h); the others stay strict FP32. */
    int uses_tf32 = c->tf32 && ember_context_kind(ctx) == EMBER_BACKEND_CUDA;
    double bound = uses_tf32 ? EMBER_TOL_NMSE_TF32 : EMBER_TOL_NMSE_GEMM;
    if (dense_exec_mode(ctx, c, &in, &g, err, sizeof err)) {
        chk_result_failf(r, "%s", err);
        goto done;
    }
    if (ref && dense_exec(ref, c, &in, &gr, err, sizeof err)) {
        chk_result_failf(r, "the CPU reference failed: %s", err);
        goto done;
    }
    int64_t B = in.B, I = in.I, O = in.O;
    if (c->op == EMBER_CHECK_DENSE_FORWARD) {
        o1 = malloc(cnt(B * O) * sizeof *o1);
        if (!o1) goto oom;
        oracle_forward(&in, c->act, c->bias, o1);
        cmp_gemm(r, "y", g.y, ref ? gr.y : NULL, o1, B * O, O, bound);
        goto tf32;
    }
    /* Backward: dy' = dy * (y > 0) exactly, then dx = dy' w, dw = dy'^T x, db = sum dy'. */
    o1 = malloc(cnt(B * O) * sizeof *o1);
    o2 = calloc(cnt(B * I), sizeof *o2);
    o3 = calloc(cnt(O * I), sizeof *o3);
    o4 = calloc(cnt(O), sizeof *o4);
    if (!o1 || !o2 || !o3 || !o4) goto oom;
    for (int64_t i = 0; i < B * O; i++)
        o1[i] = c->act == EMBER_ACTIVATION_RELU && !(in.y[i] > 0) ? 0.0 : (double)in.dy[i];
    for (int64_t i = 0; i < B; i++)
        for (int64_t o = 0; o < O; o++) {
            double gy = o1[i * O + o];
            o4[o] += gy;
            for (int64_t k = 0; k < I; k++) {
                o2[i * I + k] += gy * (double)in.w[o * I + k];
                o3[o * I + k] += gy * (double)in.x[i * I + k];
            }
        }
    if (g.dy && chk_guard_ok(r, "dy", g.dy, B * O, 4)) {
        if (c->act == EMBER_ACTIVATION_RELU)
            chk_compare(r, "dy", g.dy, o1, NULL, 1.0, B * O, O);
        else
            chk_compare_bits(r, "dy", g.dy, in.dy, B * O, O, "without ReLU dy must be unchanged");
    }
    if (!c->no_dx) cmp_gemm(r, "dx", g.dx, ref ? gr.dx : NULL, o2, B * I, I, bound);
    cmp_gemm(r, "dw", g.dw, ref ? gr.dw : NULL, o3, O * I, I, bound);
    if (c->bias) cmp_gemm(r, "db", g.db, ref ? gr.db : NULL, o4, O, O, bound);
tf32:
    if (c->tf32 && r->outcome != EMBER_CHECK_FAILED)
        check_tf32_switch(r, c, ctx, ref, &in, &g, &gr, uses_tf32);
    goto done;
oom:
    chk_result_failf(r, "out of host memory in the oracle");
done:
    free(o1);
    free(o2);
    free(o3);
    free(o4);
    dense_got_free(&g);
    dense_got_free(&gr);
    dense_free(&in);
}

/* --- dense optimizer step ---------------------------------------------------------------- */

typedef struct step_got {
    float *w, *s, *s2;
} step_got;

static int step_exec(ember_context *ctx, const ember_optimizer *opt, int64_t n, const float *w,
                     const float *g, const float *s, const float *s2, step_got *out, char *err,
                     size_t errsz) {
    chk_dev d = {.ctx = ctx};
    ember_buffer *bw = chk_up(&d, w, n, 4), *bg = chk_up(&d, g, n, 4);
    ember_buffer *bs = opt->kind != EMBER_OPTIMIZER_SGD ? chk_up(&d, s, n, 4) : NULL;
    ember_buffer *bs2 = opt->kind == EMBER_OPTIMIZER_ADAM ? chk_up(&d, s2, n, 4) : NULL;
    if (!d.st) {
        ember_status st = ember_dense_optimizer_step(ctx, opt, n, bw, bg, bs, bs2);
        if (!chk_fail_st(&d, st, "ember_dense_optimizer_step")) {
            out->w = chk_down(&d, bw, n, 4);
            if (bs) out->s = chk_down(&d, bs, n, 4);
            if (bs2) out->s2 = chk_down(&d, bs2, n, 4);
        }
    }
    ember_buffer_free(bw);
    ember_buffer_free(bg);
    ember_buffer_free(bs);
    ember_buffer_free(bs2);
    if (d.st) snprintf(err, errsz, "%s", d.err);
    return d.st ? -1 : 0;
}

static void cmp_step(ember_check_result *r, const char *name, const float *got, const float *ref,
                     const chk_want *w, int64_t n) {
    if (!got || !chk_guard_ok(r, name, got, n, 4)) return;
    if (ref) {
        double *rv = chk_to_double(ref, n);
        if (rv) chk_compare(r, name, got, rv, w->tol, EMBER_TOL_VS_CPU_FACTOR, n, 0);
        free(rv);
    } else {
        chk_compare(r, name, got, w->v, w->tol, 1.0, n, 0);
    }
}

void chk_run_optim_dense(const ember_check_case *c, ember_context *ctx, ember_context *ref,
                         uint64_t seed, ember_check_result *r) {
    int64_t n = c->n;
    ember_rng rng = {seed};
    ember_optimizer opt;
    chk_optimizer_for(c, &opt);
    float *w = malloc(cnt(n) * 4), *g = malloc(cnt(n) * 4), *s = malloc(cnt(n) * 4),
          *s2 = malloc(cnt(n) * 4);
    step_got got = {0}, gr = {0};
    chk_want ww = {0}, ws = {0}, ws2 = {0};
    char err[1024];
    if (!w || !g || !s || !s2) {
        chk_result_failf(r, "out of host memory making the inputs");
        goto done;
    }
    chk_fill(&rng, w, n, -1.0f, 1.0f);
    chk_fill(&rng, g, n, -1.0f, 1.0f);
    if (opt.kind == EMBER_OPTIMIZER_ADAM)
        chk_fill(&rng, s, n, -0.5f, 0.5f); /* m */
    else
        chk_fill(&rng, s, n, 0.1f, 1.0f);
    chk_fill(&rng, s2, n, 0.1f, 1.0f);
    if (step_exec(ctx, &opt, n, w, g, s, s2, &got, err, sizeof err)) {
        chk_result_failf(r, "%s", err);
        goto done;
    }
    if (ref && step_exec(ref, &opt, n, w, g, s, s2, &gr, err, sizeof err)) {
        chk_result_failf(r, "the CPU reference failed: %s", err);
        goto done;
    }
    if (chk_oracle_dense_step(&opt, n, w, g, s, s2, &ww, &ws, &ws2)) {
        chk_result_failf(r, "out of host memory in the oracle");
        goto done;
    }
    cmp_step(r, "param", got.w, ref ? gr.w : NULL, &ww, n);
    if (opt.kind != EMBER_OPTIMIZER_SGD) cmp_step(r, "state", got.s, ref ? gr.s : NULL, &ws, n);
    if (opt.kind == EMBER_OPTIMIZER_ADAM)
        cmp_step(r, "state2", got.s2, ref ? gr.s2 : NULL, &ws2, n);
done:
    free(w);
    free(g);
    free(s);
    free(s2);
    free(got.w);
    free(got.s);
    free(got.s2);
    free(gr.w);
    free(gr.s);
    free(gr.s2);
    chk_want_free(&ww);
    chk_want_free(&ws);
    chk_want_free(&ws2);
}
