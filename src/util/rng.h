/* util/rng.h: the tree's one seeded generator (splitmix64, Steele et al. 2014): small, fast,
 * and the same stream on every machine for a given state, which deterministic training,
 * the conformance cases' printed seeds and `ember bench` all rely on. */
#ifndef EMBER_UTIL_RNG_H
#define EMBER_UTIL_RNG_H

#include <stdint.h>

/* The whole state; `ember_rng r = {seed};` starts the stream at seed. */
typedef struct ember_rng {
    uint64_t s;
} ember_rng;

/* Starts the stream from a mixed seed, so small seeds (0, 1, 42) do not begin with
 * nearby states. The model uses it; the conformance cases and bench start at {seed}. */
void ember_rng_seed(ember_rng *r, uint64_t seed);
uint64_t ember_rng_next(ember_rng *r);
/* Uniform in [0, 1), 53 random bits. */
double ember_rng_uniform(ember_rng *r);
/* Standard normal (Box-Muller). */
double ember_rng_normal(ember_rng *r);

#endif /* EMBER_UTIL_RNG_H */
