/* cpu_lookup.c: embedding lookup (gather, and SUM/MEAN bags) with prefetching kernels. */
#include "cpu/cpu_internal.h"

#include <omp.h>
#include <string.h>

/* Rows are fetched this many indices ahead: a random row costs a full memory latency
 * (~100 ns), while summing it takes a few ns, so many must be in flight at once. */
/* Overridable with -D for tuning experiments. */
#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 16
#endif

typedef struct lookup_args {
    const float *table;
    const void *idx;
    const void *off; /* NULL with POOLING_NONE: bag b is index b */
    const float *w;  /* per-sample weights or NULL */
    float *out;
    int64_t n;      /* num_indices */
    int64_t dim;    /* table row length */
    int64_t stride; /* output row stride */
    int64_t pad;    /* -1: none */
    int mean, accumulate;
    int aligned; /* every row chunk starts on a cache line and fills whole lines */
} lookup_args;

/* The kernel for bags [b0, b1) and table columns [c0, c0 + W). Inlined into one copy per
 * (index type, W) so that W is a compile-time constant for the common dimensions and the
 * accumulator lives in registers. */
static inline __attribute__((always_inline)) void pool_kernel(const lookup_args *a, int64_t b0,
                                                              int64_t b1, int64_t c0,
                                                              const int64_t W, const int is32,
                                                              const int kind, const int fixed) {
    /* kind (a compile-time constant after inlining): 0 plain sum, 1 weighted sum, 2 mean;
     * only the mean keeps a count, which keeps the plain loop free of bookkeeping. */
    const int weighted = kind == 1, mean = kind == 2;
    const int64_t dim = fixed ? W : a->dim; /* fixed: the row is exactly W wide */
    const float *table = a->table + c0;
    const int64_t *i64 = (const int64_t *)a->idx;
    const int32_t *i32 = (const int32_t *)a->idx;
    const int64_t *o64 = (const int64_t *)a->off;
    const int32_t *o32 = (const int32_t *)a->off;
#define IDX(p) (is32 ? (int64_t)i32[p] : i64[p])
#define OFF(b) (a->off ? (is32 ? (int64_t)o32[b] : o64[b]) : (b))
    const int64_t n = a->n, pad = a->pad;
    const size_t row_bytes = (size_t)W * sizeof(float);
    const int aligned = a->aligned && (c0 * 4) % 64 == 0 && row_bytes % 64 == 0;
    int64_t s = OFF(b0);
    /* Prime the prefetch window. */
    for (int64_t q = s; q < s + PREFETCH_AHEAD && q < n; q++)
        cpu_prefetch_lines(table + IDX(q) * dim, row_bytes, 0, aligned);
    for (int64_t b = b0; b < b1; b++) {
        const int64_t e = OFF(b + 1);
        float acc[128]; /* W <= 128; a fixed size lets the compiler keep it in registers */
        for (int64_t d = 0; d < W; d++) acc[d] = 0.0f;
        int64_t cnt = 0;
        for (int64_t p = s; p < e; p++) {
            if (p + PREFETCH_AHEAD < n)
                cpu_prefetch_lines(table + IDX(p + PREFETCH_AHEAD) * dim, row_bytes, 0, aligned);
            const int64_t r = IDX(p);
            if (r == pad) continue;
            const float *row = table + r * dim;
            if (weighted) {
                const float wt = a->w[p];
                for (int64_t d = 0; d < W; d++) acc[d] += wt * row[d];
            } else {
                for (int64_t d = 0; d < W; d++) acc[d] += row[d];
            }
            if (mean) cnt++;
        }
        if (mean && cnt > 0) {
            const float c = (float)cnt;
            for (int64_t d = 0; d < W; d++) acc[d] = acc[d] / c;
        }
        float *o = a->out + b * a->stride + c0;
        if (a->accumulate) {
            for (int64_t d = 0; d < W; d++) o[d] += acc[d];
        } else {
            for (int64_t d = 0; d < W; d++) o[d] = acc[d];
        }
        s = e;
    }
#undef IDX
#undef OFF
}

typedef void (*pool_fn)(const lookup_args *a, int64_t b0, int64_t b1);

#define GENERIC_CHUNK 64

/* Any dimension: columns in chunks of GENERIC_CHUNK, then the rest in one chunk of run-time
 * width (the index list is re-read per chunk; it is small and in cache). */
#define DEFINE_GENERIC(NAME, IS32, KIND)                                                           \
    CPU_HOT static void NAME(const lookup_args *a, int64_t b0, int64_t b1) {                       \
        int64_t c0 = 0;                                                                            \
        for (; c0 + GENERIC_CHUNK <= a->dim; c0 += GENERIC_CHUNK)                                  \
            pool_kernel(a, b0, b1, c0, GENERIC_CHUNK, IS32, KIND, 0);                              \
        if (c0 < a->dim) pool_kernel(a, b0, b1, c0, a->dim - c0, IS32, KIND, 0);                   \
    }
#define DEFINE_FIXED(NAME, W, IS32, KIND)                                                          \
    CPU_HOT static void NAME(const lookup_args *a, int64_t b0, int64_t b1) {                       \
        pool_kernel(a, b0, b1, 0, W, IS32, KIND, 1);                                               \
    }
/* One set of kernels per (index type, kind). */
#define DEFINE_SET(SUFFIX, IS32, KIND)                                                             \
    DEFINE_GENERIC(pool_any_##SUFFIX, IS32, KIND)                                                  \
    DEFINE_FIXED(pool_4_##SUFFIX, 4, IS32, KIND)                                                   \
    DEFINE_FIXED(pool_8_##SUFFIX, 8, IS32, KIND)                                                   \
    DEFINE_FIXED(pool_16_##SUFFIX, 16, IS32, KIND)                                                 \
    DEFINE_FIXED(pool_32_##SUFFIX, 32, IS32, KIND)                                                 \
    DEFINE_FIXED(pool_64_##SUFFIX, 64, IS32, KIND)                                                 \
    DEFINE_FIXED(pool_128_##SUFFIX, 128, IS32, KIND)                                               \
    static pool_fn pick_##SUFFIX(int64_t dim) {                                                    \
        switch (dim) {                                                                             \
        case 4:                                                                                    \
            return pool_4_##SUFFIX;                                                                \
        case 8:                                                                                    \
            return pool_8_##SUFFIX;                                                                \
        case 16:                                                                                   \
            return pool_16_##SUFFIX;                                                               \
        case 32:                                                                                   \
            return pool_32_##SUFFIX;                                                               \
        case 64:                                                                                   \
            return pool_64_##SUFFIX;                                                               \
        case 128:                                                                                  \
            return pool_128_##SUFFIX;                                                              \
        default:                                                                                   \
            return pool_any_##SUFFIX;                                                              \
        }                                                                                          \
    }
DEFINE_SET(i64, 0, 0)
DEFINE_SET(i32, 1, 0)
DEFINE_SET(i64w, 0, 1)
DEFINE_SET(i32w, 1, 1)
DEFINE_SET(i64m, 0, 2)
DEFINE_SET(i32m, 1, 2)

static pool_fn pick_kernel(int is32, int weighted, int mean, int64_t dim) {
    if (weighted) return is32 ? pick_i32w(dim) : pick_i64w(dim);
    if (mean) return is32 ? pick_i32m(dim) : pick_i64m(dim);
    return is32 ? pick_i32(dim) : pick_i64(dim);
}

/* First bag whose indices start at or after position p (bags are split between threads
 * by index count, so a few long bags do not leave one thread with all the work). */
static int64_t bag_at(const lookup_args *a, int is32, int64_t batch, int64_t p) {
    if (!a->off) return p;
    int64_t lo = 0, hi = batch; /* smallest b in [0, batch] with off[b] >= p */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int64_t v = is32 ? (int64_t)((const int32_t *)a->off)[mid] : ((const int64_t *)a->off)[mid];
        if (v >= p)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* First bag of chunk c of `chunks`: chunks hold about equal numbers of indices. */
static int64_t chunk_start(const lookup_args *a, int is32, int64_t batch, int64_t chunks,
                           int64_t c) {
    if (c <= 0) return 0;
    if (c >= chunks) return batch;
    if (!a->off || a->n == 0) return batch / chunks * c + (batch % chunks) * c / chunks;
    return bag_at(a, is32, batch, a->n / chunks * c + (a->n % chunks) * c / chunks);
}

ember_status cpu_lookup(ember_context *ctx, const ember_lookup_desc *desc,
                        const ember_buffer *table, const ember_buffer *indices,
                        const ember_buffer *offsets, const ember_buffer *weights,
                        ember_buffer *out) {
    const int64_t batch = desc->batch;
    const int is32 = desc->index_type == EMBER_INDEX_INT32;
    lookup_args a = {
        .table = (const float *)table->handle,
        .idx = desc->num_indices > 0 ? indices->handle : NULL,
        .off = desc->pooling == EMBER_POOLING_NONE ? NULL : offsets->handle,
        .w = weights ? (const float *)weights->handle : NULL,
        .out = (float *)out->handle,
        .n = desc->num_indices,
        .dim = desc->dim,
        .stride = desc->out_row_stride,
        /* Without pooling the padding row is returned like any other (PyTorch's
         * F.embedding); padding only blocks its gradient. */
        .pad = desc->pooling == EMBER_POOLING_NONE ? -1 : desc->padding_idx,
        .mean = desc->pooling == EMBER_POOLING_MEAN,
        .accumulate = desc->accumulate,
    };
    a.out += desc->out_col_offset;
    a.aligned = ((uintptr_t)a.table % 64) == 0 && (desc->dim * 4) % 64 == 0;
    pool_fn fn = pick_kernel(is32, a.w != NULL, a.mean, desc->dim);
    /* Work in cache lines moved: rows read plus output rows written. */
    int64_t work = (desc->num_indices + batch) * ((desc->dim * 4 + 63) / 64);
    int nt = cpu_threads_for(ctx, work);
    if (nt <= 1) {
        fn(&a, 0, batch);
        return EMBER_STATUS_SUCCESS;
    }
    /* Chunks of about equal index counts (so long and empty bags both balance), several per
     * thread and handed out dynamically: on a shared machine a thread that loses its core
     * for a moment no longer holds up the whole call. */
    const int64_t chunks = batch < (int64_t)nt * 8 ? batch : (int64_t)nt * 8;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t b0 = chunk_start(&a, is32, batch, chunks, c);
        int64_t b1 = chunk_start(&a, is32, batch, chunks, c + 1);
        if (b1 > b0) fn(&a, b0, b1);
    }
    return EMBER_STATUS_SUCCESS;
}
