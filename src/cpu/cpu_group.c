/* cpu_group.c: groups a backward's index positions by table row (parallel LSD radix sort). */
#include "cpu/cpu_internal.h"

#include <omp.h>
#include <string.h>

/* Digits of at most 11 bits: 2048 counters per thread stay in L1/L2, and 1e6 rows (20 bits)
 * need two passes. */
#define RADIX_MAX_BITS 11
#define RADIX_MAX_BUCKETS (1 << RADIX_MAX_BITS)

static size_t round64(size_t b) {
    return (b + 63) & ~(size_t)63;
}

static int bits_for(uint64_t maxval) {
    int b = maxval ? 64 - __builtin_clzll(maxval) : 0;
    return b < 1 ? 1 : b;
}

size_t cpu_bwd_scratch_bytes(const ember_lookup_desc *desc, int grouped, int threads) {
    size_t n = (size_t)desc->num_indices, bytes = 0;
    if (desc->pooling != EMBER_POOLING_NONE) bytes += round64(n * sizeof(int32_t));
    if (desc->pooling == EMBER_POOLING_MEAN) bytes += round64((size_t)desc->batch * sizeof(float));
    if (grouped) {
        bytes += 2 * round64(n * sizeof(uint64_t));
        bytes += round64((size_t)threads * RADIX_MAX_BUCKETS * sizeof(int64_t));
    }
    return bytes + 64;
}

void *cpu_bwd_prepare(ember_context *ctx, const ember_lookup_desc *desc,
                      const ember_buffer *indices, const ember_buffer *offsets,
                      const ember_buffer *weights, const ember_buffer *grad_out, void *mem,
                      cpu_bwd *bwd) {
    char *m = (char *)mem;
    memset(bwd, 0, sizeof *bwd);
    bwd->desc = desc;
    bwd->indices = desc->num_indices > 0 ? indices->handle : NULL;
    bwd->weights = weights ? (const float *)weights->handle : NULL;
    bwd->grad_out = (const float *)grad_out->handle;
    if (desc->pooling == EMBER_POOLING_NONE) return m;
    if (desc->batch >= INT32_MAX) {
        ember_error(ctx, EMBER_STATUS_NOT_SUPPORTED,
                    "cpu: embedding backward supports at most %d bags, got %lld", INT32_MAX - 1,
                    (long long)desc->batch);
        return NULL;
    }
    bwd->offsets = offsets->handle;
    bwd->bag_of = (int32_t *)m;
    m += round64((size_t)desc->num_indices * sizeof(int32_t));
    if (desc->pooling == EMBER_POOLING_MEAN) {
        bwd->inv_count = (float *)m;
        m += round64((size_t)desc->batch * sizeof(float));
    }
    const ember_index_type it = desc->index_type;
    const void *off = bwd->offsets, *idx = bwd->indices;
    const int64_t batch = desc->batch, pad = desc->padding_idx;
    int32_t *bag_of = bwd->bag_of;
    float *inv = bwd->inv_count;
    int nt = cpu_threads_for(ctx, (desc->num_indices + batch) / 8);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t b = 0; b < batch; b++) {
        int64_t s = ember_index_at(off, it, b), e = ember_index_at(off, it, b + 1);
        int64_t cnt = 0;
        for (int64_t p = s; p < e; p++) {
            bag_of[p] = (int32_t)b;
            if (inv) cnt += ember_index_at(idx, it, p) != pad;
        }
        /* 1/count as the header says ("scaled by the bag's 1/count"); padding not counted. */
        if (inv) inv[b] = cnt ? 1.0f / (float)cnt : 0.0f;
    }
    return m;
}

/* Exclusive scan of the per-thread histograms, digit-major then thread: stable across
 * threads. Returns the total count. */
static int64_t scan_histograms(int64_t *hist, int64_t buckets, int threads) {
    int64_t sum = 0;
    for (int64_t d = 0; d < buckets; d++)
        for (int t = 0; t < threads; t++) {
            int64_t v = hist[(int64_t)t * buckets + d];
            hist[(int64_t)t * buckets + d] = sum;
            sum += v;
        }
    return sum;
}

/* Chunk starts: near an even split of the sorted keys, moved forward to the start of a
 * row's run, so no row is split between chunks. */
static void set_chunk_bounds(cpu_groups *out, int chunks) {
    const uint64_t *keys = out->keys;
    const int64_t m = out->count;
    const int pos_bits = out->pos_bits;
    out->bound[0] = 0;
    for (int c = 1; c < chunks; c++) {
        int64_t i = m / chunks * c;
        if (i < out->bound[c - 1]) i = out->bound[c - 1];
        if (i > 0 && i < m) {
            /* First key whose row is greater than keys[i-1]'s. */
            uint64_t limit = ((keys[i - 1] >> pos_bits) + 1) << pos_bits;
            int64_t lo = i, hi = m;
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (keys[mid] < limit)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            i = lo;
        }
        out->bound[c] = i;
    }
    out->bound[chunks] = m;
}

ember_status cpu_group_by_row(ember_context *ctx, const ember_lookup_desc *desc,
                              const void *indices, int threads, int chunks, void *mem,
                              cpu_groups *out) {
    const int64_t n = desc->num_indices;
    memset(out, 0, sizeof *out);
    if (threads < 1) threads = 1;
    if (chunks < 1) chunks = 1;
    if (chunks > 64) chunks = 64;
    out->chunks = chunks;
    if (n == 0) return EMBER_STATUS_SUCCESS;
    const int row_bits = bits_for((uint64_t)(desc->num_rows - 1));
    const int pos_bits = bits_for((uint64_t)(n - 1));
    if (row_bits + pos_bits > 64)
        return ember_error(ctx, EMBER_STATUS_NOT_SUPPORTED,
                           "cpu: %lld rows x %lld indices do not fit the 64-bit sort keys of "
                           "the embedding backward",
                           (long long)desc->num_rows, (long long)n);
    out->pos_bits = pos_bits;
    const int passes = (row_bits + RADIX_MAX_BITS - 1) / RADIX_MAX_BITS;
    const int digit_bits = (row_bits + passes - 1) / passes;
    const int64_t buckets = (int64_t)1 << digit_bits;
    const uint64_t mask = (uint64_t)buckets - 1;

    uint64_t *buf_a = (uint64_t *)mem;
    uint64_t *buf_b = (uint64_t *)((char *)mem + round64((size_t)n * sizeof(uint64_t)));
    int64_t *hist = (int64_t *)((char *)buf_b + round64((size_t)n * sizeof(uint64_t)));
    const int is32 = desc->index_type == EMBER_INDEX_INT32;
    const int64_t *i64 = (const int64_t *)indices;
    const int32_t *i32 = (const int32_t *)indices;
    const int64_t pad = desc->padding_idx;
    int64_t m = 0; /* non-padding positions, known after the first histogram */
    int team = 1;

#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const int t = omp_get_thread_num();
#pragma omp single
        team = omp_get_num_threads();
        const int nth = team;
        uint64_t *src = buf_a, *dst = buf_b;
        for (int pass = 0; pass < passes; pass++) {
            const int row_shift = pass * digit_bits;
            int64_t *h = hist + (int64_t)t * buckets;
            memset(h, 0, (size_t)buckets * sizeof *h);
            /* Pass 0 reads the indices themselves, making the keys as it goes. */
            const int64_t len = pass == 0 ? n : m;
            const int64_t lo = len / nth * t, hi = t == nth - 1 ? len : lo + len / nth;
            if (pass == 0) {
                for (int64_t p = lo; p < hi; p++) {
                    int64_t r = is32 ? (int64_t)i32[p] : i64[p];
                    if (r == pad) continue;
                    h[((uint64_t)r >> row_shift) & mask]++;
                }
            } else {
                const int shift = pos_bits + row_shift;
                for (int64_t i = lo; i < hi; i++) h[(src[i] >> shift) & mask]++;
            }
#pragma omp barrier
#pragma omp single
            {
                int64_t sum = scan_histograms(hist, buckets, nth);
                if (pass == 0) m = sum;
            }
            if (pass == 0) {
                for (int64_t p = lo; p < hi; p++) {
                    int64_t r = is32 ? (int64_t)i32[p] : i64[p];
                    if (r == pad) continue;
                    dst[h[((uint64_t)r >> row_shift) & mask]++] =
                        ((uint64_t)r << pos_bits) | (uint64_t)p;
                }
            } else {
                const int shift = pos_bits + row_shift;
                for (int64_t i = lo; i < hi; i++) {
                    uint64_t k = src[i];
                    dst[h[(k >> shift) & mask]++] = k;
                }
            }
#pragma omp barrier
            uint64_t *tmp = src;
            src = dst;
            dst = tmp;
        }
#pragma omp single
        {
            out->keys = src;
            out->count = m;
            set_chunk_bounds(out, chunks);
        }
        /* Distinct rows per chunk, for the output positions of a sparse gradient. */
        for (int c = t; c < chunks; c += nth) {
            int64_t lo = out->bound[c], hi = out->bound[c + 1], u = 0;
            const uint64_t *k = out->keys;
            for (int64_t i = lo; i < hi; i++)
                u += i == lo || (k[i] >> pos_bits) != (k[i - 1] >> pos_bits);
            out->unique_before[c + 1] = u;
        }
    }
    out->unique_before[0] = 0;
    for (int c = 0; c < chunks; c++) out->unique_before[c + 1] += out->unique_before[c];
    return EMBER_STATUS_SUCCESS;
}
