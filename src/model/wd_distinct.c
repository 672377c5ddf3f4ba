/* wd_distinct.c: HyperLogLog; see wd_distinct.h. */
#include "wd_distinct.h"

#include <math.h>

void ember_distinct_add(ember_distinct *d, uint64_t hash) {
    const unsigned idx = (unsigned)(hash >> (64 - EMBER_DISTINCT_BITS));
    /* The rank of the first 1 bit among the remaining bits; the guard bit bounds it. */
    const uint64_t rest = (hash << EMBER_DISTINCT_BITS) | (1ull << (EMBER_DISTINCT_BITS - 1));
    unsigned char rank = 1;
    for (uint64_t bit = 1ull << 63; (rest & bit) == 0; bit >>= 1) rank++;
    if (rank > d->reg[idx]) d->reg[idx] = rank;
}

double ember_distinct_estimate(const ember_distinct *d) {
    const double m = EMBER_DISTINCT_REGISTERS;
    double sum = 0.0;
    int zeros = 0;
    for (int i = 0; i < EMBER_DISTINCT_REGISTERS; i++) {
        sum += ldexp(1.0, -d->reg[i]);
        zeros += d->reg[i] == 0;
    }
    const double raw = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
    /* Small counts: most registers are still empty, and linear counting is far better. */
    if (raw <= 2.5 * m && zeros > 0) return m * log(m / zeros);
    return raw;
}
