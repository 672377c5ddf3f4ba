/* wd_util.c: error formatting, the seeded generator and the clock of src/model. */
#define _POSIX_C_SOURCE 200809L
#include "wd_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

ember_status ember_merr(ember_model_err *err, ember_status status, const char *fmt, ...) {
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

void ember_rng_seed(ember_rng *r, uint64_t seed) {
    r->s = seed ^ 0x6a09e667f3bcc909ull;
}

uint64_t ember_rng_next(ember_rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double ember_rng_uniform(ember_rng *r) {
    return (double)(ember_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

double ember_rng_normal(ember_rng *r) {
    double u1 = ember_rng_uniform(r), u2 = ember_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double ember_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

char *ember_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL) memcpy(p, s, n);
    return p;
}
