/* wd_distinct.h: the number of distinct values of a field, counted in one pass in 4 KiB
 * (HyperLogLog, Flajolet et al. 2007, with linear counting for small counts: typically 1-2%
 * off, up to 4% near 10,000 values where the two estimators meet; exact below about ten). The
 * first pass over the training data sizes each categorical field's hash buckets from it. */
#ifndef EMBER_MODEL_DISTINCT_H
#define EMBER_MODEL_DISTINCT_H

#include <stdint.h>

#define EMBER_DISTINCT_BITS 12
#define EMBER_DISTINCT_REGISTERS (1 << EMBER_DISTINCT_BITS)

typedef struct ember_distinct {
    unsigned char reg[EMBER_DISTINCT_REGISTERS];
} ember_distinct;

/* Adds a value by its 64-bit hash (well mixed: ember_hash_bytes). Start from all zeros. */
void ember_distinct_add(ember_distinct *d, uint64_t hash);
/* The estimated number of distinct values added. */
double ember_distinct_estimate(const ember_distinct *d);

#endif /* EMBER_MODEL_DISTINCT_H */
