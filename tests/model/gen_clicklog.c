/* gen_clicklog.c: a synthetic click log whose true click probabilities are known, so a
 * trained model can be measured against the best any model could do (the Bayes-optimal AUC:
 * the AUC of the true probabilities on the same test labels).
 *
 *   gen_clicklog --out PREFIX [--rows N] [--test-rows N] [--seed S]
 *
 * writes PREFIX.train.csv and PREFIX.test.csv (a header line, then label,fields...) and
 * prints one JSON line: the ember schema of the files, the crosses planted in the truth, the
 * Bayes AUC of the test file and its click rate.
 *
 * The truth is a logistic model shaped like an ad click log: every categorical value is drawn
 * from a Zipf law (a few frequent values, a long tail), ids of users and ads with thousands of
 * values (more than ember's old fixed 1,000 buckets), a few small fields, two noise fields,
 * numeric features (one linear, one heavy-tailed whose log matters, one noise), and two
 * planted pairwise interactions that no sum of per-field weights can express. */
#include "wd_metrics.h"
#include "util/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct field {
    const char *name;
    int card;       /* distinct values */
    double zipf;    /* exponent of the value frequencies */
    double sigma;   /* deviation of the per-value weights (0: a noise field) */
    double *cdf;    /* [card] */
    double *weight; /* [card] */
} field;

/* The click-log fields: name, values, Zipf exponent, weight deviation. */
static field fields[] = {
    {"user", 3000, 0.8, 0.7, NULL, NULL},    {"ad", 2000, 1.0, 0.7, NULL, NULL},
    {"site", 40, 1.1, 0.5, NULL, NULL},      {"device", 4, 1.0, 0.3, NULL, NULL},
    {"hour", 24, 0.3, 0.2, NULL, NULL},      {"category", 30, 1.0, 0.4, NULL, NULL},
    {"noise_small", 50, 1.0, 0, NULL, NULL}, {"noise_large", 20000, 0.6, 0, NULL, NULL},
};
#define NFIELD ((int)(sizeof fields / sizeof fields[0]))
enum { USER, AD, SITE, DEVICE, HOUR, CATEGORY };

/* Planted interactions: a weight for every pair of values, N(0, sigma). */
typedef struct cross {
    int a, b;
    double sigma;
    double *weight; /* [card_a x card_b] */
} cross;

static cross crosses[] = {{SITE, DEVICE, 1.0, NULL}, {CATEGORY, HOUR, 0.8, NULL}};
#define NCROSS ((int)(sizeof crosses / sizeof crosses[0]))

#define BIAS (-1.4)
#define W_LINEAR 0.5 /* times n_linear ~ N(0, 1) */
#define W_HEAVY 0.35 /* times log1p(n_heavy), n_heavy lognormal */
#define HEAVY_MU 1.0 /* lognormal parameters of n_heavy */
#define HEAVY_SIGMA 1.2

static int draw_zipf(const field *f, ember_rng *r) {
    double u = ember_rng_uniform(r) * f->cdf[f->card - 1];
    int lo = 0, hi = f->card - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (f->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int build_truth(ember_rng *r) {
    for (int i = 0; i < NFIELD; i++) {
        field *f = &fields[i];
        f->cdf = malloc((size_t)f->card * sizeof(double));
        f->weight = malloc((size_t)f->card * sizeof(double));
        if (f->cdf == NULL || f->weight == NULL) return -1;
        double acc = 0;
        for (int v = 0; v < f->card; v++) {
            acc += pow(v + 1.0, -f->zipf);
            f->cdf[v] = acc;
            f->weight[v] = f->sigma * ember_rng_normal(r);
        }
    }
    for (int k = 0; k < NCROSS; k++) {
        cross *c = &crosses[k];
        size_t n = (size_t)fields[c->a].card * (size_t)fields[c->b].card;
        c->weight = malloc(n * sizeof(double));
        if (c->weight == NULL) return -1;
        for (size_t j = 0; j < n; j++) c->weight[j] = c->sigma * ember_rng_normal(r);
    }
    return 0;
}

/* Draws one example, writes it as a CSV line and returns its true click probability. */
static float write_example(FILE *out, ember_rng *r, float *label) {
    int v[NFIELD];
    double logit = BIAS;
    for (int i = 0; i < NFIELD; i++) {
        v[i] = draw_zipf(&fields[i], r);
        logit += fields[i].weight[v[i]];
    }
    for (int k = 0; k < NCROSS; k++)
        logit += crosses[k].weight[(size_t)v[crosses[k].a] * (size_t)fields[crosses[k].b].card +
                                   (size_t)v[crosses[k].b]];
    double n_linear = ember_rng_normal(r);
    double n_heavy = exp(HEAVY_MU + HEAVY_SIGMA * ember_rng_normal(r));
    double n_noise = ember_rng_uniform(r) * 100.0;
    logit += W_LINEAR * n_linear + W_HEAVY * (log1p(n_heavy) - HEAVY_MU);
    double p = 1.0 / (1.0 + exp(-logit));
    *label = ember_rng_uniform(r) < p ? 1.0f : 0.0f;
    fprintf(out, "%d", (int)*label);
    for (int i = 0; i < NFIELD; i++) fprintf(out, ",%c%d", fields[i].name[0], v[i]);
    fprintf(out, ",%.4f,%.3f,%.2f\n", n_linear, n_heavy, n_noise);
    return (float)p;
}

static int write_file(const char *path, int64_t rows, ember_rng *r, float *prob, float *label) {
    FILE *out = fopen(path, "w");
    if (out == NULL) {
        perror(path);
        return -1;
    }
    fprintf(out, "click");
    for (int i = 0; i < NFIELD; i++) fprintf(out, ",%s", fields[i].name);
    fprintf(out, ",n_linear,n_heavy,n_noise\n");
    for (int64_t i = 0; i < rows; i++) {
        float y;
        float p = write_example(out, r, &y);
        if (prob != NULL) {
            prob[i] = p;
            label[i] = y;
        }
    }
    if (fclose(out) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *prefix = NULL;
    long long rows = 50000, test_rows = 20000;
    unsigned long long seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--out") == 0)
            prefix = argv[i + 1];
        else if (strcmp(argv[i], "--rows") == 0)
            rows = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--test-rows") == 0)
            test_rows = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = strtoull(argv[i + 1], NULL, 10);
        else
            prefix = NULL, i = argc;
    }
    if (prefix == NULL || rows < 1 || test_rows < 2 || argc % 2 == 0) {
        fprintf(stderr, "usage: gen_clicklog --out PREFIX [--rows N] [--test-rows N] [--seed S]\n");
        return 2;
    }
    ember_rng r;
    ember_rng_seed(&r, seed);
    float *prob = malloc((size_t)test_rows * sizeof(float));
    float *label = malloc((size_t)test_rows * sizeof(float));
    char path[4096];
    if (prob == NULL || label == NULL || build_truth(&r) != 0) {
        fprintf(stderr, "gen_clicklog: out of memory\n");
        return 1;
    }
    snprintf(path, sizeof path, "%s.train.csv", prefix);
    if (write_file(path, rows, &r, NULL, NULL) != 0) return 1;
    snprintf(path, sizeof path, "%s.test.csv", prefix);
    if (write_file(path, test_rows, &r, prob, label) != 0) return 1;
    double clicks = 0;
    for (long long i = 0; i < test_rows; i++) clicks += label[i];
    printf("{\"schema\": \"click:label");
    for (int i = 0; i < NFIELD; i++) printf(",%s:cat", fields[i].name);
    printf(",n_linear:num,n_heavy:num,n_noise:num\", \"crosses\": \"");
    for (int k = 0; k < NCROSS; k++)
        printf("%s%s*%s", k ? "," : "", fields[crosses[k].a].name, fields[crosses[k].b].name);
    printf("\", \"bayes_auc\": %.6f, \"test_click_rate\": %.4f}\n",
           ember_auc(prob, label, test_rows), clicks / (double)test_rows);
    free(prob);
    free(label);
    return 0;
}
