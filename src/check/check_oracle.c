/* check_oracle.c: the naive double-precision oracle the CPU backend is checked against,
 * written to be obviously right (loops straight from ember.h's definitions), with the
 * tolerance of each element from check_tolerance.h. */
#include "check_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void chk_want_free(chk_want *w) {
    free(w->v);
    free(w->tol);
    memset(w, 0, sizeof *w);
}

void chk_want_exact(chk_want *w) {
    for (int64_t i = 0; w->tol && i < w->n; i++) w->tol[i] = 0.0;
}

static int want_alloc(chk_want *w, int64_t n) {
    w->n = n;
    w->v = calloc((size_t)(n > 0 ? n : 1), sizeof *w->v);
    w->tol = calloc((size_t)(n > 0 ? n : 1), sizeof *w->tol);
    return w->v && w->tol ? 0 : -1;
}

static int is_pad(const chk_emb *e, int64_t id) {
    return e->desc.padding_idx >= 0 && id == e->desc.padding_idx;
}

/* Bag b's index range; without pooling each index is a bag of one. */
static void bag_range(const chk_emb *e, int64_t b, int64_t *lo, int64_t *hi) {
    if (e->desc.pooling == EMBER_POOLING_NONE) {
        *lo = b;
        *hi = b + 1;
    } else {
        *lo = e->off[b];
        *hi = e->off[b + 1];
    }
}

/* Whether the lookup reads index id: SUM and MEAN bags skip the padding index; without
 * pooling its row is returned like any other (PyTorch's F.embedding), and padding only
 * blocks the gradient. */
static int lookup_reads(const chk_emb *e, int64_t id) {
    return e->desc.pooling == EMBER_POOLING_NONE || !is_pad(e, id);
}

static int64_t bag_count(const chk_emb *e, int64_t lo, int64_t hi) {
    int64_t c = 0;
    for (int64_t k = lo; k < hi; k++) c += !is_pad(e, e->idx[k]);
    return c;
}

/* The factor output row b's gradient is multiplied by for index k of the bag. */
static double term_scale(const chk_emb *e, int64_t k, int64_t count) {
    double s = e->weights ? (double)e->weights[k] : 1.0;
    if (e->desc.pooling == EMBER_POOLING_MEAN) s /= (double)count;
    return s;
}

int chk_oracle_lookup(const chk_emb *e, chk_want *out) {
    const ember_lookup_desc *d = &e->desc;
    int64_t B = d->batch, S = d->out_row_stride, D = d->dim, c0 = d->out_col_offset;
    if (want_alloc(out, B * S)) return -1;
    for (int64_t i = 0; i < B * S; i++) out->v[i] = e->out_init[i];
    for (int64_t b = 0; b < B; b++) {
        int64_t lo, hi;
        bag_range(e, b, &lo, &hi);
        int64_t count = d->pooling == EMBER_POOLING_NONE ? 1 : bag_count(e, lo, hi);
        for (int64_t j = 0; j < D; j++) {
            double sum = 0, mag = 0;
            for (int64_t k = lo; k < hi; k++) {
                if (!lookup_reads(e, e->idx[k])) continue;
                double t = (double)e->table[e->idx[k] * D + j];
                if (e->weights) t *= (double)e->weights[k];
                sum += t;
                mag += fabs(t);
            }
            if (d->pooling == EMBER_POOLING_MEAN && count > 0) {
                sum /= (double)count;
                mag /= (double)count;
            }
            int64_t at = b * S + c0 + j;
            double terms = (double)count;
            if (d->accumulate) {
                double init = (double)e->out_init[at];
                sum += init;
                mag += fabs(init);
                terms += 1;
            }
            out->v[at] = sum;
            /* A plain gather copies: exact. Anything summed: the summation bound. */
            int copy = d->pooling == EMBER_POOLING_NONE && !d->accumulate;
            out->tol[at] = copy ? 0.0 : ember_tol_sum(terms, mag);
        }
    }
    return 0;
}

/* Sums each row's gradient in double: v (rows x dim, starting at init or 0), the magnitude
 * of what was added and the number of terms per row. */
static int accumulate_grads(const chk_emb *e, const float *init, double *v, double *mag,
                            int64_t *cnt) {
    const ember_lookup_desc *d = &e->desc;
    int64_t D = d->dim, S = d->out_row_stride, c0 = d->out_col_offset;
    for (int64_t i = 0; i < d->num_rows * D; i++) {
        v[i] = init ? (double)init[i] : 0.0;
        mag[i] = fabs(v[i]);
    }
    for (int64_t b = 0; b < d->batch; b++) {
        int64_t lo, hi;
        bag_range(e, b, &lo, &hi);
        int64_t count = bag_count(e, lo, hi);
        for (int64_t k = lo; k < hi; k++) {
            int64_t id = e->idx[k];
            if (is_pad(e, id)) continue;
            double s = term_scale(e, k, count);
            for (int64_t j = 0; j < D; j++) {
                double t = s * (double)e->grad_out[b * S + c0 + j];
                v[id * D + j] += t;
                mag[id * D + j] += fabs(t);
            }
            cnt[id]++;
        }
    }
    return 0;
}

int chk_oracle_backward_dense(const chk_emb *e, chk_want *grad) {
    int64_t R = e->desc.num_rows, D = e->desc.dim;
    double *mag = calloc((size_t)(R * D > 0 ? R * D : 1), sizeof *mag);
    int64_t *cnt = calloc((size_t)(R > 0 ? R : 1), sizeof *cnt);
    if (!mag || !cnt || want_alloc(grad, R * D)) {
        free(mag);
        free(cnt);
        return -1;
    }
    accumulate_grads(e, e->grad_init, grad->v, mag, cnt);
    for (int64_t r = 0; r < R; r++)
        for (int64_t j = 0; j < D; j++)
            grad->tol[r * D + j] = ember_tol_sum((double)cnt[r], mag[r * D + j]);
    free(mag);
    free(cnt);
    return 0;
}

int chk_oracle_backward_sparse(const chk_emb *e, int64_t **ids_out, int64_t *nu_out,
                               chk_want *grads) {
    int64_t R = e->desc.num_rows, D = e->desc.dim;
    double *v = calloc((size_t)(R * D > 0 ? R * D : 1), sizeof *v);
    double *mag = calloc((size_t)(R * D > 0 ? R * D : 1), sizeof *mag);
    int64_t *cnt = calloc((size_t)(R > 0 ? R : 1), sizeof *cnt);
    int64_t *ids = calloc((size_t)(R > 0 ? R : 1), sizeof *ids);
    int rc = -1;
    if (!v || !mag || !cnt || !ids) goto done;
    accumulate_grads(e, NULL, v, mag, cnt);
    int64_t nu = 0;
    for (int64_t r = 0; r < R; r++)
        if (cnt[r] > 0) ids[nu++] = r;
    if (want_alloc(grads, nu * D)) goto done;
    for (int64_t u = 0; u < nu; u++) {
        for (int64_t j = 0; j < D; j++) {
            grads->v[u * D + j] = v[ids[u] * D + j];
            grads->tol[u * D + j] = ember_tol_sum((double)cnt[ids[u]], mag[ids[u] * D + j]);
        }
    }
    *ids_out = ids;
    *nu_out = nu;
    ids = NULL;
    rc = 0;
done:
    free(v);
    free(mag);
    free(cnt);
    free(ids);
    return rc;
}

#define U EMBER_TOL_U
#define KO EMBER_TOL_K_OPT

int chk_oracle_sparse_step(const chk_emb *e, const int64_t *ids, int64_t nu, const double *g,
                           const double *gtol, chk_want *table, chk_want *state) {
    int64_t R = e->desc.num_rows, D = e->desc.dim;
    const ember_optimizer *o = &e->opt;
    double lr = o->learning_rate, eps = o->eps, wd = o->weight_decay;
    if (want_alloc(table, R * D) || want_alloc(state, e->state_n)) return -1;
    for (int64_t i = 0; i < R * D; i++) table->v[i] = e->table[i];
    for (int64_t i = 0; i < e->state_n; i++) state->v[i] = e->state[i];
    double *gg = malloc((size_t)D * sizeof *gg), *gt = malloc((size_t)D * sizeof *gt);
    if (!gg || !gt) {
        free(gg);
        free(gt);
        return -1;
    }
    for (int64_t u = 0; u < nu; u++) {
        int64_t row = ids[u];
        double sumsq = 0, maxg = 0, maxgt = 0;
        for (int64_t j = 0; j < D; j++) {
            double w = e->table[row * D + j], g0 = g[u * D + j];
            gg[j] = g0 + wd * w;
            gt[j] = (gtol ? gtol[u * D + j] : 0.0) + (wd != 0 ? U * (fabs(g0) + fabs(wd * w)) : 0);
            sumsq += gg[j] * gg[j];
            if (fabs(gg[j]) > maxg) maxg = fabs(gg[j]);
            if (gt[j] > maxgt) maxgt = gt[j];
        }
        double srow = 0, srow_tol = 0;
        if (o->kind == EMBER_OPTIMIZER_ROWWISE_ADAGRAD) {
            double s0 = e->state[row];
            srow = s0 + sumsq / (double)D;
            srow_tol = (KO + (double)D + 1) * U * srow + 2 * maxg * maxgt + maxgt * maxgt;
            state->v[row] = srow;
            state->tol[row] = srow_tol;
        }
        for (int64_t j = 0; j < D; j++) {
            int64_t at = row * D + j;
            double w = e->table[at], delta, tol;
            switch (o->kind) {
            case EMBER_OPTIMIZER_ADAGRAD: {
                double s = e->state[at] + gg[j] * gg[j];
                double s_tol = KO * U * s + (2 * fabs(gg[j]) + gt[j]) * gt[j];
                double den = sqrt(s) + eps;
                delta = lr * gg[j] / den;
                tol = lr / den * gt[j] + fabs(delta) * 0.5 * s_tol / s;
                state->v[at] = s;
                state->tol[at] = s_tol;
                break;
            }
            case EMBER_OPTIMIZER_ROWWISE_ADAGRAD: {
                double den = sqrt(srow) + eps;
                delta = lr * gg[j] / den;
                tol = lr / den * gt[j] + fabs(delta) * 0.5 * srow_tol / srow;
                break;
            }
            case EMBER_OPTIMIZER_SGD:
            default:
                delta = lr * gg[j];
                tol = lr * gt[j];
                break;
            }
            table->v[at] = w - delta;
            table->tol[at] = tol + KO * U * (fabs(w) + fabs(delta));
        }
    }
    free(gg);
    free(gt);
    return 0;
}

int chk_oracle_dense_step(const ember_optimizer *o, int64_t n, const float *w, const float *g,
                          const float *s, const float *s2, chk_want *w_out, chk_want *s_out,
                          chk_want *s2_out) {
    double lr = o->learning_rate, eps = o->eps, wd = o->weight_decay;
    double b1 = o->beta1, b2 = o->beta2;
    int64_t ns = o->kind == EMBER_OPTIMIZER_SGD ? 0 : n;
    int64_t ns2 = o->kind == EMBER_OPTIMIZER_ADAM ? n : 0;
    if (want_alloc(w_out, n) || want_alloc(s_out, ns) || want_alloc(s2_out, ns2)) return -1;
    double t = (double)o->step;
    double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
    /* Bias corrections computed in float lose relative accuracy when b^t is near 1. */
    double rel_bc1 = KO * U * pow(b1, t) / bc1, rel_bc2 = KO * U * pow(b2, t) / bc2;
    for (int64_t i = 0; i < n; i++) {
        double wi = w[i], g0 = g[i], gg = g0 + wd * wi;
        double gt = wd != 0 ? U * (fabs(g0) + fabs(wd * wi)) : 0;
        double delta, tol;
        switch (o->kind) {
        case EMBER_OPTIMIZER_ADAGRAD: {
            double sn = s[i] + gg * gg;
            double s_tol = KO * U * sn + (2 * fabs(gg) + gt) * gt;
            double den = sqrt(sn) + eps;
            delta = lr * gg / den;
            tol = lr / den * gt + fabs(delta) * 0.5 * s_tol / sn;
            s_out->v[i] = sn;
            s_out->tol[i] = s_tol;
            break;
        }
        case EMBER_OPTIMIZER_ADAM: {
            double m = b1 * s[i] + (1 - b1) * gg;
            double v = b2 * s2[i] + (1 - b2) * gg * gg;
            double m_tol = KO * U * (fabs(b1 * s[i]) + fabs((1 - b1) * gg)) + (1 - b1) * gt;
            double v_tol =
                KO * U * (b2 * s2[i] + (1 - b2) * gg * gg) + (1 - b2) * 2 * fabs(gg) * gt;
            double den = sqrt(v / bc2) + eps;
            delta = lr * (m / bc1) / den;
            tol = lr / bc1 / den * m_tol + fabs(delta) * (rel_bc1 + 0.5 * (rel_bc2 + v_tol / v));
            s_out->v[i] = m;
            s_out->tol[i] = m_tol;
            s2_out->v[i] = v;
            s2_out->tol[i] = v_tol;
            break;
        }
        case EMBER_OPTIMIZER_SGD:
        default:
            delta = lr * gg;
            tol = lr * gt;
            break;
        }
        w_out->v[i] = wi - delta;
        w_out->tol[i] = tol + KO * U * (fabs(wi) + fabs(delta));
    }
    return 0;
}
