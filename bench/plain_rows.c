/* plain_rows.c: ember's fused training step on one table (the lookup and the fused
 * backward + sparse optimizer, the two C calls of ember.torch's module) against the
 * plainest C loops that move the same rows: a pooled gather, and a per-position
 * read-modify-write of each row (and its Adagrad state). The loops are a floor for the
 * memory work, not a correct Adagrad: they do not sum the contributions to a row that
 * occurs twice, which ember must (and PyTorch does). Both sides run on one thread over
 * the same table, with caches emptied before each call pair, as fresh batches find them.
 *
 *   bench_plain_rows [--optimizer sgd|adagrad] [--rows E] [--dim D] [--batch B]
 *                    [--pooling L] [--reps N]
 *
 * Prints the medians and ember's time over the plain loops' (1.00 = the floor). */
#define _DEFAULT_SOURCE /* madvise */
#include <ember.h>

#include "util/clock.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef struct shape {
    int64_t rows, dim, batch, pooling;
    int reps, adagrad;
} shape;

/* The loops ahead of which rows are prefetched: as many as ember's kernels (cpu_backward.c). */
#define AHEAD 16
#define FLUSH_BYTES ((size_t)128 << 20)
#define BATCHES 3

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Writing 128 MB evicts the table's rows from every cache level before each call. */
static void flush(char *junk) {
    for (size_t i = 0; i < FLUSH_BYTES; i += 64) junk[i]++;
}

/* The table and state on transparent huge pages, as ember allocates its own (cpu_buffer.c):
 * with 4 KB pages a random row costs a TLB miss on either side. */
static float *table_alloc(size_t bytes, int zero) {
    const size_t huge = (size_t)2 << 20;
    size_t size = (bytes + huge - 1) / huge * huge;
    float *p = aligned_alloc(huge, size);
#ifdef MADV_HUGEPAGE
    if (p) (void)madvise(p, size, MADV_HUGEPAGE);
#endif
    if (p && zero) memset(p, 0, size);
    return p;
}

static void prefetch_row(const float *row, int64_t dim, int write) {
    const char *c = (const char *)row;
    for (int64_t o = 0; o < dim * 4; o += 64) {
        if (write)
            __builtin_prefetch(c + o, 1, 3);
        else
            __builtin_prefetch(c + o, 0, 3);
    }
}

/* The loops get the AVX2 copy that ember's kernels get (CPU_HOT in src/cpu/cpu_internal.h),
 * so that the floor is not raised by narrower vectors. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define PLAIN_HOT __attribute__((target_clones("avx2", "default")))
#else
#define PLAIN_HOT
#endif

/* D is a constant in the common shape (the wrappers below), as in ember's kernels. */
static inline __attribute__((always_inline)) void
lookup_rows(const shape *s, const float *restrict t, const int64_t *restrict idx,
            float *restrict out, const int64_t D) {
    const int64_t n = s->batch * s->pooling;
    for (int64_t b = 0; b < s->batch; b++) {
        float *restrict o = out + b * D;
        for (int64_t d = 0; d < D; d++) o[d] = 0.0f;
        for (int64_t j = b * s->pooling; j < (b + 1) * s->pooling; j++) {
            if (j + AHEAD < n) prefetch_row(t + idx[j + AHEAD] * D, D, 0);
            const float *restrict r = t + idx[j] * D;
            for (int64_t d = 0; d < D; d++) o[d] += r[d];
        }
    }
}

static inline __attribute__((always_inline)) void
update_rows(const shape *s, float *restrict t, float *restrict state, const int64_t *restrict idx,
            const float *restrict g, float lr, float eps, const int64_t D) {
    const int64_t n = s->batch * s->pooling;
    for (int64_t j = 0; j < n; j++) {
        if (j + AHEAD < n) {
            prefetch_row(t + idx[j + AHEAD] * D, D, 1);
            if (state) prefetch_row(state + idx[j + AHEAD] * D, D, 1);
        }
        float *restrict w = t + idx[j] * D;
        const float *restrict gb = g + (j / s->pooling) * D;
        if (!state) {
            for (int64_t d = 0; d < D; d++) w[d] -= lr * gb[d];
            continue;
        }
        float *restrict st = state + idx[j] * D;
        for (int64_t d = 0; d < D; d++) {
            st[d] += gb[d] * gb[d];
            w[d] -= lr * gb[d] / (sqrtf(st[d]) + eps);
        }
    }
}

PLAIN_HOT static void plain_lookup(const shape *s, const float *t, const int64_t *idx, float *out) {
    if (s->dim == 64)
        lookup_rows(s, t, idx, out, 64);
    else
        lookup_rows(s, t, idx, out, s->dim);
}

PLAIN_HOT static void plain_update(const shape *s, float *t, float *state, const int64_t *idx,
                                   const float *g, float lr, float eps) {
    if (s->dim == 64)
        update_rows(s, t, state, idx, g, lr, eps, 64);
    else
        update_rows(s, t, state, idx, g, lr, eps, s->dim);
}

static int parse(int argc, char **argv, shape *s) {
    *s = (shape){1000000, 64, 4096, 20, 30, 0};
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--optimizer") == 0 && v && (!strcmp(v, "sgd") || !strcmp(v, "adagrad")))
            s->adagrad = strcmp(v, "adagrad") == 0;
        else if (strcmp(a, "--rows") == 0 && v)
            s->rows = atoll(v);
        else if (strcmp(a, "--dim") == 0 && v)
            s->dim = atoll(v);
        else if (strcmp(a, "--batch") == 0 && v)
            s->batch = atoll(v);
        else if (strcmp(a, "--pooling") == 0 && v)
            s->pooling = atoll(v);
        else if (strcmp(a, "--reps") == 0 && v)
            s->reps = atoi(v);
        else {
            fprintf(stderr, "bench_plain_rows: bad argument '%s' (see the file's header)\n", a);
            return -1;
        }
    }
    if (s->rows < 1 || s->dim < 1 || s->batch < 1 || s->pooling < 1 || s->reps < 1 ||
        s->reps > 10000 || s->rows > INT64_MAX / s->dim / 4 ||
        s->batch > INT64_MAX / s->pooling / 8 || s->batch > INT64_MAX / s->dim / 4) {
        fprintf(stderr, "bench_plain_rows: sizes must be positive and fit in memory (reps at "
                        "most 10000)\n");
        return -1;
    }
    return 0;
}

/* The memory both sides share: table, Adagrad state, indices of BATCHES batches, offsets,
 * output and output gradient; ember sees it through wrapped buffers. */
typedef struct arena {
    float *table, *state, *out, *grad;
    int64_t *idx[BATCHES], *offsets;
    char *junk;
    ember_context *ctx;
    ember_buffer *b_table, *b_state, *b_out, *b_grad, *b_idx[BATCHES], *b_off;
} arena;

static int arena_fill(const shape *s, arena *a) {
    const int64_t n = s->batch * s->pooling;
    size_t tbytes = (size_t)(s->rows * s->dim) * sizeof(float);
    size_t obytes = (size_t)(s->batch * s->dim) * sizeof(float);
    a->table = table_alloc(tbytes, 0);
    a->state = s->adagrad ? table_alloc(tbytes, 1) : NULL;
    a->out = malloc(obytes);
    a->grad = malloc(obytes);
    a->offsets = malloc((size_t)(s->batch + 1) * sizeof(int64_t));
    a->junk = calloc(1, FLUSH_BYTES);
    if (!a->table || (s->adagrad && !a->state) || !a->out || !a->grad || !a->offsets || !a->junk)
        return -1;
    for (int64_t i = 0; i < s->rows * s->dim; i++) a->table[i] = (float)(i % 97) * 1e-3f;
    for (int64_t i = 0; i < s->batch * s->dim; i++) a->grad[i] = (float)(i % 13) * 1e-3f;
    for (int64_t b = 0; b <= s->batch; b++) a->offsets[b] = b * s->pooling;
    uint64_t x = 88172645463325252ull; /* xorshift64: uniform rows, the same every run */
    for (int k = 0; k < BATCHES; k++) {
        if (!(a->idx[k] = malloc((size_t)n * sizeof(int64_t)))) return -1;
        for (int64_t j = 0; j < n; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            a->idx[k][j] = (int64_t)(x % (uint64_t)s->rows);
        }
    }
    return 0;
}

static ember_status arena_wrap(const shape *s, arena *a) {
    const int64_t n = s->batch * s->pooling;
    size_t tbytes = (size_t)(s->rows * s->dim) * sizeof(float);
    size_t obytes = (size_t)(s->batch * s->dim) * sizeof(float);
    ember_status st = ember_context_create(&a->ctx, EMBER_BACKEND_CPU, 0);
    if (st == EMBER_STATUS_SUCCESS) st = ember_context_set_threads(a->ctx, 1);
    if (st == EMBER_STATUS_SUCCESS) st = ember_buffer_wrap(a->ctx, a->table, tbytes, &a->b_table);
    if (st == EMBER_STATUS_SUCCESS && a->state)
        st = ember_buffer_wrap(a->ctx, a->state, tbytes, &a->b_state);
    if (st == EMBER_STATUS_SUCCESS) st = ember_buffer_wrap(a->ctx, a->out, obytes, &a->b_out);
    if (st == EMBER_STATUS_SUCCESS) st = ember_buffer_wrap(a->ctx, a->grad, obytes, &a->b_grad);
    if (st == EMBER_STATUS_SUCCESS)
        st = ember_buffer_wrap(a->ctx, a->offsets, (size_t)(s->batch + 1) * 8, &a->b_off);
    for (int k = 0; k < BATCHES && st == EMBER_STATUS_SUCCESS; k++)
        st = ember_buffer_wrap(a->ctx, a->idx[k], (size_t)n * 8, &a->b_idx[k]);
    return st;
}

static void arena_free(arena *a) {
    ember_buffer *bufs[] = {a->b_table, a->b_state, a->b_out, a->b_grad, a->b_off};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        if (bufs[i]) ember_buffer_free(bufs[i]);
    for (int k = 0; k < BATCHES; k++) {
        if (a->b_idx[k]) ember_buffer_free(a->b_idx[k]);
        free(a->idx[k]);
    }
    if (a->ctx) ember_context_destroy(a->ctx);
    free(a->table), free(a->state), free(a->out), free(a->grad), free(a->offsets), free(a->junk);
}

/* One rep: ember's two calls, then the plain loops, each pair after a flush. */
static ember_status rep(const shape *s, arena *a, int k, const ember_optimizer *opt, double t[4]) {
    ember_lookup_desc d;
    ember_lookup_desc_init(&d, s->rows, s->dim, s->batch * s->pooling, s->batch, EMBER_POOLING_SUM);
    const ember_buffer *tab = a->b_table, *idx = a->b_idx[k], *off = a->b_off;
    flush(a->junk);
    double t0 = ember_now();
    ember_status st =
        ember_embedding_lookup_batched(a->ctx, 1, &d, &tab, &idx, &off, NULL, a->b_out);
    double t1 = ember_now();
    if (st == EMBER_STATUS_SUCCESS)
        st = ember_embedding_backward_update_batched(a->ctx, 1, &d, &idx, &off, NULL, a->b_grad,
                                                     EMBER_REDUCTION_ATOMIC, opt, &a->b_table,
                                                     a->b_state ? &a->b_state : NULL);
    double t2 = ember_now();
    flush(a->junk);
    double t3 = ember_now();
    plain_lookup(s, a->table, a->idx[k], a->out);
    double t4 = ember_now();
    plain_update(s, a->table, a->state, a->idx[k], a->grad, opt->learning_rate, opt->eps);
    double t5 = ember_now();
    t[0] = t1 - t0, t[1] = t2 - t1, t[2] = t4 - t3, t[3] = t5 - t4;
    return st;
}

int main(int argc, char **argv) {
    shape s;
    if (parse(argc, argv, &s) != 0) return 2;
    arena a = {0};
    if (arena_fill(&s, &a) != 0) {
        fprintf(stderr, "bench_plain_rows: out of memory\n");
        arena_free(&a);
        return 1;
    }
    if (arena_wrap(&s, &a) != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "bench_plain_rows: %s\n", ember_last_error());
        arena_free(&a);
        return 1;
    }
    ember_optimizer opt;
    ember_optimizer_init(&opt, s.adagrad ? EMBER_OPTIMIZER_ADAGRAD : EMBER_OPTIMIZER_SGD, 0.01f);
    double *v = malloc(sizeof(double) * 4 * (size_t)s.reps);
    ember_status st = v ? EMBER_STATUS_SUCCESS : EMBER_STATUS_OUT_OF_MEMORY;
    for (int r = 0; r < s.reps && st == EMBER_STATUS_SUCCESS; r++) {
        double t[4];
        if ((st = rep(&s, &a, r % BATCHES, &opt, t)) != EMBER_STATUS_SUCCESS) break;
        for (int c = 0; c < 4; c++) v[c * s.reps + r] = t[c] * 1e3;
    }
    if (st != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "bench_plain_rows: %s\n", v ? ember_last_error() : "out of memory");
        free(v);
        arena_free(&a);
        return 1;
    }
    double m[4];
    for (int c = 0; c < 4; c++) m[c] = median(v + c * s.reps, s.reps);
    printf("%s E=%lld D=%lld B=%lld L=%lld, one thread, medians of %d (ms):\n",
           s.adagrad ? "adagrad" : "sgd", (long long)s.rows, (long long)s.dim, (long long)s.batch,
           (long long)s.pooling, s.reps);
    printf("  lookup: ember %.2f  plain %.2f  ember/plain %.2f\n", m[0], m[2], m[0] / m[2]);
    printf("  update: ember %.2f  plain %.2f  ember/plain %.2f\n", m[1], m[3], m[1] / m[3]);
    printf("  both:   ember %.2f  plain %.2f  ember/plain %.2f\n", m[0] + m[1], m[2] + m[3],
           (m[0] + m[1]) / (m[2] + m[3]));
    free(v);
    arena_free(&a);
    return 0;
}
