/* bench_data.c: the deterministic inputs of `ember bench`: a seeded generator, uniform and
 * Zipf-distributed indices, and the count of distinct rows used. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

float bench_rng_float(ember_rng *rng, float lo, float hi) {
    return lo + (hi - lo) * (float)ember_rng_uniform(rng);
}

/* Zipf over ranks 1..n by rejection-inversion (Hoermann and Derflinger 1996, as Apache
 * Commons' RejectionInversionZipfSampler): O(1) memory whatever the table size. */
typedef struct zipf {
    double e, n, h_x1, h_n, s;
} zipf;

static double zipf_helper1(double x) {
    return fabs(x) > 1e-8 ? log1p(x) / x : 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}
static double zipf_helper2(double x) {
    return fabs(x) > 1e-8 ? expm1(x) / x : 1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x));
}
static double zipf_h(const zipf *z, double x) {
    return exp(-z->e * log(x));
}
static double zipf_hint(const zipf *z, double x) {
    double lx = log(x);
    return zipf_helper2((1.0 - z->e) * lx) * lx;
}
static double zipf_hint_inv(const zipf *z, double x) {
    double t = x * (1.0 - z->e);
    if (t < -1.0) t = -1.0;
    return exp(zipf_helper1(t) * x);
}
static void zipf_init(zipf *z, double e, int64_t n) {
    z->e = e;
    z->n = (double)n;
    z->h_x1 = zipf_hint(z, 1.5) - 1.0;
    z->h_n = zipf_hint(z, z->n + 0.5);
    z->s = 2.0 - zipf_hint_inv(z, zipf_hint(z, 2.5) - zipf_h(z, 2.0));
}
static int64_t zipf_sample(const zipf *z, ember_rng *rng) {
    for (;;) {
        double u = z->h_n + ember_rng_uniform(rng) * (z->h_x1 - z->h_n);
        double x = zipf_hint_inv(z, u);
        double kd = floor(x + 0.5);
        if (kd < 1.0) kd = 1.0;
        if (kd > z->n) kd = z->n;
        if (kd - x <= z->s || u >= zipf_hint(z, kd + 0.5) - zipf_h(z, kd)) return (int64_t)kd;
    }
}

static uint64_t gcd_u64(uint64_t a, uint64_t b) {
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int bench_make_indices(int64_t *idx, int64_t n, int64_t rows, enum bench_dist dist, double alpha,
                       uint64_t seed) {
    ember_rng rng = {seed};
    if (dist == BENCH_DIST_UNIFORM) {
        for (int64_t i = 0; i < n; i++) idx[i] = (int64_t)(ember_rng_next(&rng) % (uint64_t)rows);
        return 0;
    }
    /* Rank r (1 = hottest) goes to row (a * (r - 1) + b) mod rows, a bijection when a is
     * coprime to rows, so the hot rows are scattered rather than adjacent. */
    uint64_t a = 2654435761ull % (uint64_t)rows, b = ember_rng_next(&rng) % (uint64_t)rows;
    if (a == 0) a = 1;
    while (gcd_u64(a, (uint64_t)rows) != 1) a++;
    zipf z;
    zipf_init(&z, alpha, rows);
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = (uint64_t)(zipf_sample(&z, &rng) - 1);
        idx[i] = (int64_t)(((unsigned __int128)a * r + b) % (uint64_t)rows);
    }
    return 0;
}

static int cmp_i64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

int64_t bench_count_unique(const int64_t *idx, int64_t n) {
    if (n == 0) return 0;
    int64_t *s = malloc((size_t)n * sizeof *s);
    if (s == NULL) return -1;
    memcpy(s, idx, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_i64);
    int64_t u = 1;
    for (int64_t i = 1; i < n; i++) u += s[i] != s[i - 1];
    free(s);
    return u;
}
