/* check_head.c: runs the sigmoid and binary cross-entropy cases, including logits from
 * -1e4 to 1e4 and NaN/infinity parity, and compares them with the reference. */
#include "check_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Logits: mostly moderate, with the extremes every stable formula must survive. */
static void make_logits(const ember_check_case *c, ember_rng *rng, float *x, int64_t n) {
    static const float edge[] = {1e4f, -1e4f, 0.0f, 88.0f, -88.0f, 100.0f, -100.0f, 17.5f, -17.5f};
    chk_fill(rng, x, n, -10.0f, 10.0f);
    for (int64_t i = 0; i < n && i < (int64_t)(sizeof edge / sizeof edge[0]); i++)
        x[(i * 7) % n] = edge[i];
    if (c->special && n >= 4) {
        x[n - 1] = NAN;
        x[n - 2] = INFINITY;
        x[n - 3] = -INFINITY;
    }
}

typedef struct head_got {
    float *y; /* sigmoid output or BCE gradient */
    float loss;
} head_got;

static int head_exec(ember_context *ctx, const ember_check_case *c, const float *x, const float *t,
                     head_got *g, char *err, size_t errsz) {
    chk_dev d = {.ctx = ctx};
    int64_t n = c->n;
    ember_buffer *bx = chk_up(&d, x, n, 4), *bt = NULL, *by = chk_up(&d, NULL, n, 4);
    if (c->op == EMBER_CHECK_BCE) bt = chk_up(&d, t, n, 4);
    if (!d.st) {
        ember_status st;
        if (c->op == EMBER_CHECK_SIGMOID) {
            st = ember_sigmoid(ctx, n, bx, by);
            chk_fail_st(&d, st, "ember_sigmoid");
        } else {
            g->loss = -12345.0f;
            st = ember_bce_with_logits(ctx, n, bx, bt, c->head_outputs == 2 ? NULL : &g->loss,
                                       c->head_outputs == 1 ? NULL : by);
            chk_fail_st(&d, st, "ember_bce_with_logits");
        }
        if (!d.st) g->y = chk_down(&d, by, n, 4);
    }
    ember_buffer_free(bx);
    ember_buffer_free(bt);
    ember_buffer_free(by);
    if (d.st) snprintf(err, errsz, "%s", d.err);
    return d.st ? -1 : 0;
}

static double sigmoid_d(double x) {
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

void chk_run_head(const ember_check_case *c, ember_context *ctx, ember_context *ref, uint64_t seed,
                  ember_check_result *r) {
    int64_t n = c->n;
    size_t cap = (size_t)(n > 0 ? n : 1);
    ember_rng rng = {seed};
    float *x = malloc(cap * 4), *t = malloc(cap * 4);
    double *want = malloc(cap * sizeof(double)), *tol = malloc(cap * sizeof(double));
    head_got g = {0}, gr = {0};
    char err[1024];
    if (!x || !t || !want || !tol) {
        chk_result_failf(r, "out of host memory making the inputs");
        goto done;
    }
    make_logits(c, &rng, x, n);
    for (int64_t i = 0; i < n; i++) {
        /* Labels in [0, 1], with exact 0 and 1 among them. */
        int64_t k = chk_below(&rng, 4);
        t[i] = k == 0 ? 0.0f : k == 1 ? 1.0f : 0.5f * (chk_uniform(&rng) + 1.0f);
    }
    if (head_exec(ctx, c, x, t, &g, err, sizeof err)) {
        chk_result_failf(r, "%s", err);
        goto done;
    }
    if (ref && head_exec(ref, c, x, t, &gr, err, sizeof err)) {
        chk_result_failf(r, "the CPU reference failed: %s", err);
        goto done;
    }
    double factor = ref ? EMBER_TOL_VS_CPU_FACTOR : 1.0;
    const char *yname = c->op == EMBER_CHECK_SIGMOID ? "y" : "grad";
    if (!chk_guard_ok(r, yname, g.y, n, 4)) goto done;
    if (c->op == EMBER_CHECK_SIGMOID) {
        for (int64_t i = 0; i < n; i++) {
            want[i] = sigmoid_d(x[i]);
            tol[i] = EMBER_TOL_K_ELEM * EMBER_TOL_U * fabs(want[i]) + EMBER_TOL_DENORM_FLOOR;
        }
    } else {
        double sum = 0, mag = 0;
        for (int64_t i = 0; i < n; i++) {
            double xi = x[i], ti = t[i], l1 = log1p(exp(-fabs(xi)));
            double pos = xi > 0 ? xi : 0;
            /* A non-finite logit: PyTorch's (1 - t) x - log_sigmoid(x), +inf for +inf with
             * t < 1, else NaN (ember.h). */
            if (!isfinite(xi))
                sum += xi > 0 && ti < 1 ? INFINITY : NAN;
            else
                sum += pos - xi * ti + l1;
            mag += fabs(pos) + fabs(xi * ti) + l1;
            double s = sigmoid_d(xi);
            want[i] = (s - ti) / (double)n;
            tol[i] = EMBER_TOL_K_ELEM * EMBER_TOL_U * (s + ti) / (double)n + EMBER_TOL_DENORM_FLOOR;
        }
        double lw = n > 0 ? sum / (double)n : 0.0;
        double lt = n > 0 ? EMBER_TOL_K_ELEM * (double)(n + 2) * EMBER_TOL_U * mag / (double)n : 0;
        double lref = ref ? (double)gr.loss : lw;
        if (c->head_outputs != 2) chk_compare(r, "loss", &g.loss, &lref, &lt, factor, 1, 0);
        if (c->special && !isnan(g.loss))
            chk_result_failf(r, "a NaN logit must give a NaN loss; got %.9g", (double)g.loss);
    }
    if (c->op == EMBER_CHECK_BCE && c->head_outputs == 1) {
        /* grad NULL: the loss above is all there is to compare. */
        goto done;
    }
    if (ref) {
        for (int64_t i = 0; i < n; i++) want[i] = gr.y[i];
    }
    chk_compare(r, yname, g.y, want, tol, factor, n, 0);
done:
    free(x);
    free(t);
    free(want);
    free(tol);
    free(g.y);
    free(gr.y);
}
