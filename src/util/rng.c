/* util/rng.c: splitmix64 and the two distributions built on it. */
#include "util/rng.h"

#include <math.h>

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
