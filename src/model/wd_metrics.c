/* wd_metrics.c: AUC by ranking with average ranks for ties; logloss; accuracy. */
#include "wd_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct scored {
    float s;
    float y;
} scored;

static int cmp_scored(const void *a, const void *b) {
    float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}

double ember_auc(const float *scores, const float *labels, int64_t n) {
    if (n <= 0) return NAN;
    for (int64_t i = 0; i < n; i++)
        if (isnan(scores[i])) return NAN; /* NaN has no rank: sorting it gives any number */
    scored *v = malloc((size_t)n * sizeof *v);
    if (v == NULL) return NAN;
    for (int64_t i = 0; i < n; i++) {
        v[i].s = scores[i];
        v[i].y = labels[i];
    }
    qsort(v, (size_t)n, sizeof *v, cmp_scored);
    /* Mann-Whitney U: sum of the positives' ranks, a run of equal scores sharing its
     * average rank. */
    double rank_sum = 0.0, npos = 0.0;
    int64_t i = 0;
    while (i < n) {
        int64_t j = i;
        while (j + 1 < n && v[j + 1].s == v[i].s) j++;
        double avg = 0.5 * (double)(i + 1 + j + 1);
        for (int64_t k = i; k <= j; k++) {
            if (v[k].y > 0.5f) {
                rank_sum += avg;
                npos += 1.0;
            }
        }
        i = j + 1;
    }
    free(v);
    double nneg = (double)n - npos;
    if (npos == 0.0 || nneg == 0.0) return NAN;
    return (rank_sum - npos * (npos + 1.0) / 2.0) / (npos * nneg);
}

double ember_logloss(const float *probs, const float *labels, int64_t n) {
    if (n <= 0) return NAN;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double p = probs[i];
        if (!(p >= 1e-7)) p = 1e-7; /* also maps NaN to the clip */
        if (p > 1.0 - 1e-7) p = 1.0 - 1e-7;
        double y = labels[i];
        sum -= y * log(p) + (1.0 - y) * log(1.0 - p);
    }
    return sum / (double)n;
}

double ember_accuracy(const float *probs, const float *labels, int64_t n) {
    if (n <= 0) return NAN;
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) ok += (probs[i] >= 0.5f) == (labels[i] > 0.5f);
    return (double)ok / (double)n;
}

ember_status ember_eval_add(ember_eval *e, const float *probs, const float *labels, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (isnan(probs[i])) return EMBER_STATUS_NUMERIC_ERROR;
    if (e->n + n > e->cap) {
        int64_t nc = e->cap * 2 + n + 1024;
        float *p = realloc(e->prob, (size_t)nc * sizeof(float));
        if (p == NULL) return EMBER_STATUS_OUT_OF_MEMORY;
        e->prob = p;
        float *l = realloc(e->label, (size_t)nc * sizeof(float));
        if (l == NULL) return EMBER_STATUS_OUT_OF_MEMORY;
        e->label = l;
        e->cap = nc;
    }
    memcpy(e->prob + e->n, probs, (size_t)n * sizeof(float));
    memcpy(e->label + e->n, labels, (size_t)n * sizeof(float));
    e->n += n;
    return EMBER_STATUS_SUCCESS;
}

void ember_eval_reset(ember_eval *e) {
    e->n = 0;
}

void ember_eval_free(ember_eval *e) {
    free(e->prob);
    free(e->label);
    memset(e, 0, sizeof *e);
}

ember_metrics ember_eval_metrics(const ember_eval *e) {
    ember_metrics m;
    m.n = e->n;
    m.auc = ember_auc(e->prob, e->label, e->n);
    m.logloss = ember_logloss(e->prob, e->label, e->n);
    m.accuracy = ember_accuracy(e->prob, e->label, e->n);
    return m;
}
