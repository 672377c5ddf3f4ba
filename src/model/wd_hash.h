/* wd_hash.h: the stable hash behind the hashing trick: the same bytes and seed give the same
 * bucket on every machine and in every version of ember (checkpoints depend on it). */
#ifndef EMBER_MODEL_HASH_H
#define EMBER_MODEL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit FNV-1a over the bytes, started from a basis mixed with `seed` (the field index, so
 * equal strings in different fields land in unrelated buckets), then a murmur3-style
 * finaliser so that `% buckets` uses all the bits. */
uint64_t ember_hash_bytes(const void *data, size_t len, uint64_t seed);

/* Mixes one 64-bit value into a running hash (for crossed features). */
uint64_t ember_hash_combine(uint64_t h, uint64_t v);

/* The bucket of a hashed value in a field of `buckets` ids, where id 0 is kept for a
 * missing value: 1 + h % (buckets - 1). buckets must be >= 2. */
static inline int64_t ember_hash_bucket(uint64_t h, int64_t buckets) {
    return 1 + (int64_t)(h % (uint64_t)(buckets - 1));
}

#endif /* EMBER_MODEL_HASH_H */
