/* wd_hash.c: FNV-1a with a seed and a finaliser; see wd_hash.h. Never change the constants: saved
 * models map values to rows with them. */
#include "wd_hash.h"

static uint64_t fmix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

uint64_t ember_hash_bytes(const void *data, size_t len, uint64_t seed) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull ^ fmix64(seed + 0x9e3779b97f4a7c15ull);
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return fmix64(h ^ (uint64_t)len);
}

uint64_t ember_hash_combine(uint64_t h, uint64_t v) {
    return fmix64(h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2)));
}
