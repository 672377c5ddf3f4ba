/* cpu_backward.c: embedding backward (dense and sparse gradients) and the fused
 * backward + sparse optimizer. */
#include "cpu/cpu_internal.h"

#include <omp.h>
#include <string.h>

/* Rows prefetched ahead (overridable with -D for tuning experiments). */
#ifndef PREFETCH_AHEAD_BW
#define PREFETCH_AHEAD_BW 16
#endif
#define PREFETCH_AHEAD PREFETCH_AHEAD_BW

static size_t round64(size_t b) {
    return (b + 63) & ~(size_t)63;
}

/* ---------------------------------------------------------------------------------------
 * Scatter path: no sort. One stable counting pass deals the positions into buckets by a
 * hash of their row (cpu_row_owner), keeping input order inside each bucket; threads then
 * take whole buckets (dynamically, so a thread that loses its core on a shared machine
 * does not hold up the call) and apply each contribution to its row one at a time:
 * dst[row] += c (a gradient) or dst[row] -= lr * c (SGD). A row lives in one bucket, so
 * it sees its contributions in input order whatever the thread count: no atomics needed,
 * and the result is bit-identical from run to run.
 * --------------------------------------------------------------------------------------- */

#define SCATTER_BUCKETS_PER_THREAD 8

/* Position p's contribution to row r; W is the dim, a constant in the dim-specific copies. */
static inline __attribute__((always_inline)) void scatter_one(const cpu_bwd *bw, float *dst,
                                                              const int64_t W, int sgd, float lr,
                                                              int64_t p, int64_t r) {
    float s;
    int plain;
    const float *g = cpu_bwd_grad_row(bw, p, &s, &plain);
    float *d = dst + r * W;
    if (plain) {
        if (sgd)
            for (int64_t x = 0; x < W; x++) d[x] -= lr * g[x];
        else
            for (int64_t x = 0; x < W; x++) d[x] += g[x];
    } else {
        if (sgd)
            for (int64_t x = 0; x < W; x++) {
                float c = g[x] * s;
                d[x] -= lr * c;
            }
        else
            for (int64_t x = 0; x < W; x++) {
                float c = g[x] * s;
                d[x] += c;
            }
    }
}

/* Applies positions list[0..count) (or 0..count-1 themselves when list is NULL), in order.
 * list's NULL-ness and is32 are constants at each call (scatter_dispatch), so no per-position
 * choice is left but the scale: with them decided inside the loop, SGD's update of 81,920
 * random rows of 256 B took 1.35-1.42x the time of a plain C loop doing the same memory work
 * (one thread, cold table), against 1.07-1.14x now (docs/performance.md). */
static inline __attribute__((always_inline)) void scatter_kernel(const cpu_bwd *bw, float *dst,
                                                                 const int64_t W, int sgd, float lr,
                                                                 const int64_t *list, int64_t count,
                                                                 const int is32, int aligned) {
    const int64_t pad = bw->desc->padding_idx;
    const int64_t *i64 = (const int64_t *)bw->indices;
    const int32_t *i32 = (const int32_t *)bw->indices;
    const size_t row_bytes = (size_t)W * sizeof(float);
#define POS(i) (list ? list[i] : (i))
#define ROW(p) (is32 ? (int64_t)i32[p] : i64[p])
    for (int64_t i = 0; i < count && i < PREFETCH_AHEAD; i++)
        cpu_prefetch_lines(dst + ROW(POS(i)) * W, row_bytes, 1, aligned);
    for (int64_t i = 0; i < count; i++) {
        if (i + PREFETCH_AHEAD < count)
            cpu_prefetch_lines(dst + ROW(POS(i + PREFETCH_AHEAD)) * W, row_bytes, 1, aligned);
        const int64_t p = POS(i), r = ROW(p);
        if (r == pad) continue;
        scatter_one(bw, dst, W, sgd, lr, p, r);
    }
#undef POS
#undef ROW
}

static inline __attribute__((always_inline)) void scatter_dispatch(const cpu_bwd *bw, float *dst,
                                                                   const int64_t W, int sgd,
                                                                   float lr, const int64_t *list,
                                                                   int64_t count) {
    const int is32 = bw->desc->index_type == EMBER_INDEX_INT32;
    const int aligned = (W * sizeof(float)) % 64 == 0 && (uintptr_t)dst % 64 == 0;
    if (list && is32)
        scatter_kernel(bw, dst, W, sgd, lr, list, count, 1, aligned);
    else if (list)
        scatter_kernel(bw, dst, W, sgd, lr, list, count, 0, aligned);
    else if (is32)
        scatter_kernel(bw, dst, W, sgd, lr, NULL, count, 1, aligned);
    else
        scatter_kernel(bw, dst, W, sgd, lr, NULL, count, 0, aligned);
}

typedef void (*scatter_fn)(const cpu_bwd *bw, float *dst, int sgd, float lr, const int64_t *list,
                           int64_t count);
#define DEFINE_SCATTER(NAME, W)                                                                    \
    CPU_HOT static void NAME(const cpu_bwd *bw, float *dst, int sgd, float lr,                     \
                             const int64_t *list, int64_t count) {                                 \
        scatter_dispatch(bw, dst, W, sgd, lr, list, count);                                        \
    }
DEFINE_SCATTER(scatter_8, 8)
DEFINE_SCATTER(scatter_16, 16)
DEFINE_SCATTER(scatter_32, 32)
DEFINE_SCATTER(scatter_64, 64)
DEFINE_SCATTER(scatter_128, 128)
CPU_HOT static void scatter_any(const cpu_bwd *bw, float *dst, int sgd, float lr,
                                const int64_t *list, int64_t count) {
    scatter_dispatch(bw, dst, bw->desc->dim, sgd, lr, list, count);
}

/* Per-position data, and for nt > 1 the bucket lists, in scratch. */
static ember_status scatter_run(ember_context *ctx, const ember_lookup_desc *desc,
                                const ember_buffer *indices, const ember_buffer *offsets,
                                const ember_buffer *weights, const ember_buffer *grad_out,
                                float *dst, int sgd, float lr) {
    scatter_fn fn;
    switch (desc->dim) {
    case 8:
        fn = scatter_8;
        break;
    case 16:
        fn = scatter_16;
        break;
    case 32:
        fn = scatter_32;
        break;
    case 64:
        fn = scatter_64;
        break;
    case 128:
        fn = scatter_128;
        break;
    default:
        fn = scatter_any;
        break;
    }
    const int64_t n = desc->num_indices;
    const int nt = cpu_threads_for(ctx, n * ((desc->dim * 4 + 63) / 64) * 2);
    const int64_t K = nt > 1 ? (int64_t)nt * SCATTER_BUCKETS_PER_THREAD : 1;
    size_t bwd_bytes = cpu_bwd_scratch_bytes(desc, 0, 1);
    size_t list_bytes = nt > 1 ? round64((size_t)n * sizeof(int64_t)) : 0;
    size_t hist_bytes =
        nt > 1 ? round64(((size_t)nt * (size_t)K + (size_t)K + 1) * sizeof(int64_t)) : 0;
    char *mem = (char *)cpu_scratch(ctx, list_bytes + hist_bytes + bwd_bytes);
    if (!mem) return EMBER_STATUS_OUT_OF_MEMORY;
    cpu_bwd bw;
    if (!cpu_bwd_prepare(ctx, desc, indices, offsets, weights, grad_out,
                         mem + list_bytes + hist_bytes, &bw))
        return EMBER_STATUS_NOT_SUPPORTED;
    if (nt <= 1) {
        fn(&bw, dst, sgd, lr, NULL, n);
        return EMBER_STATUS_SUCCESS;
    }
    int64_t *list = (int64_t *)mem;
    int64_t *hist = (int64_t *)(mem + list_bytes); /* [thread][bucket] */
    int64_t *start = hist + (int64_t)nt * K;       /* [bucket], K + 1 entries */
    const int is32 = desc->index_type == EMBER_INDEX_INT32;
    const int64_t *i64 = (const int64_t *)bw.indices;
    const int32_t *i32 = (const int32_t *)bw.indices;
    const int64_t pad = desc->padding_idx;
    int team = nt;
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
#pragma omp single
        team = omp_get_num_threads();
        const int nth = team;
        int64_t *h = hist + (int64_t)t * K;
        memset(h, 0, (size_t)K * sizeof *h);
        const int64_t lo = n / nth * t, hi = t == nth - 1 ? n : lo + n / nth;
        for (int64_t p = lo; p < hi; p++) {
            int64_t r = is32 ? (int64_t)i32[p] : i64[p];
            if (r != pad) h[cpu_row_owner(r, (int)K)]++;
        }
#pragma omp barrier
#pragma omp single
        {
            /* Bucket-major, then thread: each bucket keeps input order. */
            int64_t sum = 0;
            for (int64_t k = 0; k < K; k++) {
                start[k] = sum;
                for (int tt = 0; tt < nth; tt++) {
                    int64_t v = hist[(int64_t)tt * K + k];
                    hist[(int64_t)tt * K + k] = sum;
                    sum += v;
                }
            }
            start[K] = sum;
        }
        for (int64_t p = lo; p < hi; p++) {
            int64_t r = is32 ? (int64_t)i32[p] : i64[p];
            if (r != pad) list[h[cpu_row_owner(r, (int)K)]++] = p;
        }
#pragma omp barrier
#pragma omp for schedule(dynamic, 1)
        for (int64_t k = 0; k < K; k++)
            if (start[k + 1] > start[k])
                fn(&bw, dst, sgd, lr, list + start[k], start[k + 1] - start[k]);
    }
    return EMBER_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------
 * Grouped path: positions sorted by row; each row's contributions are summed in input
 * order (starting from the first), then handed to one action. Chunks never split a row,
 * so the result does not depend on the thread count.
 * --------------------------------------------------------------------------------------- */

typedef enum group_action { ACT_DENSE, ACT_SPARSE, ACT_UPDATE } group_action;

typedef struct group_job {
    const cpu_bwd *bw;
    const cpu_groups *gr;
    group_action act;
    float *dst;                 /* DENSE: grad table; UPDATE: table */
    int64_t *ids;               /* SPARSE */
    float *grads;               /* SPARSE */
    const ember_optimizer *opt; /* UPDATE */
    float *state;               /* UPDATE: NULL for SGD */
    float *acc;                 /* threads x round64(dim) floats */
    int threads;
    size_t acc_stride; /* floats */
} group_job;

static inline __attribute__((always_inline)) void
group_sum(const group_job *j, int64_t lo, int64_t hi, float *acc, const int64_t W) {
    const cpu_groups *gr = j->gr;
    for (int64_t i = lo; i < hi; i++) {
        float s;
        int plain;
        const float *g = cpu_bwd_grad_row(j->bw, cpu_group_pos(gr, gr->keys[i]), &s, &plain);
        if (i == lo) {
            if (plain)
                for (int64_t x = 0; x < W; x++) acc[x] = g[x];
            else
                for (int64_t x = 0; x < W; x++) acc[x] = g[x] * s;
        } else {
            if (plain)
                for (int64_t x = 0; x < W; x++) acc[x] += g[x];
            else
                for (int64_t x = 0; x < W; x++) {
                    float c = g[x] * s;
                    acc[x] += c;
                }
        }
    }
}

static inline __attribute__((always_inline)) void group_chunk(const group_job *j, int c, float *acc,
                                                              const int64_t W) {
    const cpu_groups *gr = j->gr;
    const cpu_bwd *bw = j->bw;
    const int64_t dim = bw->desc->dim;
    const int64_t hi = gr->bound[c + 1];
    const size_t row_bytes = (size_t)dim * sizeof(float);
    int64_t u = gr->unique_before[c];
    float *state = j->state;
    int rowwise = j->opt && j->opt->kind == EMBER_OPTIMIZER_ROWWISE_ADAGRAD;
    for (int64_t i = gr->bound[c]; i < hi;) {
        const int64_t r = cpu_group_row(gr, gr->keys[i]);
        int64_t e = i + 1;
        while (e < hi && cpu_group_row(gr, gr->keys[e]) == r) e++;
        if (i + PREFETCH_AHEAD < hi) {
            /* Rows ahead: destination (and state), and the gradient rows they read. */
            uint64_t k = gr->keys[i + PREFETCH_AHEAD];
            int64_t rr = cpu_group_row(gr, k);
            if (j->act != ACT_SPARSE) cpu_prefetch_lines(j->dst + rr * dim, row_bytes, 1, 0);
            if (state && !rowwise) cpu_prefetch_lines(state + rr * dim, row_bytes, 1, 0);
            if (state && rowwise) __builtin_prefetch(state + rr, 1, 3);
            float s;
            int plain;
            cpu_prefetch_lines(cpu_bwd_grad_row(bw, cpu_group_pos(gr, k), &s, &plain), row_bytes, 0,
                               0);
        }
        switch (j->act) {
        case ACT_DENSE: {
            group_sum(j, i, e, acc, W);
            float *d = j->dst + r * dim;
            for (int64_t x = 0; x < W; x++) d[x] += acc[x];
            break;
        }
        case ACT_SPARSE:
            j->ids[u] = r;
            group_sum(j, i, e, j->grads + u * dim, W);
            break;
        case ACT_UPDATE:
            group_sum(j, i, e, acc, W);
            cpu_optim_row(j->opt, dim, j->dst + r * dim, acc,
                          !state    ? NULL
                          : rowwise ? state + r
                                    : state + r * dim);
            break;
        }
        u++;
        i = e;
    }
}

typedef void (*chunk_fn)(const group_job *j, int c, float *acc);
#define DEFINE_CHUNK(NAME, W)                                                                      \
    CPU_HOT static void NAME(const group_job *j, int c, float *acc) {                              \
        group_chunk(j, c, acc, W);                                                                 \
    }
DEFINE_CHUNK(chunk_16, 16)
DEFINE_CHUNK(chunk_32, 32)
DEFINE_CHUNK(chunk_64, 64)
DEFINE_CHUNK(chunk_128, 128)
CPU_HOT static void chunk_any(const group_job *j, int c, float *acc) {
    group_chunk(j, c, acc, j->bw->desc->dim);
}

static void groups_run(const group_job *j) {
    chunk_fn fn;
    switch (j->bw->desc->dim) {
    case 16:
        fn = chunk_16;
        break;
    case 32:
        fn = chunk_32;
        break;
    case 64:
        fn = chunk_64;
        break;
    case 128:
        fn = chunk_128;
        break;
    default:
        fn = chunk_any;
        break;
    }
    /* Several chunks per thread, handed out dynamically (see scatter_run). */
    const int chunks = j->gr->chunks;
#pragma omp parallel for num_threads(j->threads) schedule(dynamic, 1) if (j->threads > 1)
    for (int c = 0; c < chunks; c++)
        fn(j, c, j->acc + (size_t)omp_get_thread_num() * j->acc_stride);
}

/* Prepares per-position data and the grouping; returns the job's scratch accumulators. */
static ember_status grouped_prepare(ember_context *ctx, const ember_lookup_desc *desc,
                                    const ember_buffer *indices, const ember_buffer *offsets,
                                    const ember_buffer *weights, const ember_buffer *grad_out,
                                    cpu_bwd *bw, cpu_groups *gr, group_job *job) {
    int64_t work = desc->num_indices * ((desc->dim * 4 + 63) / 64) * 2;
    int nt = cpu_threads_for(ctx, work);
    size_t acc_stride = round64((size_t)desc->dim * sizeof(float)) / sizeof(float);
    size_t acc_bytes = (size_t)nt * acc_stride * sizeof(float);
    char *mem = (char *)cpu_scratch(ctx, acc_bytes + cpu_bwd_scratch_bytes(desc, 1, nt));
    if (!mem) return EMBER_STATUS_OUT_OF_MEMORY;
    memset(job, 0, sizeof *job);
    job->acc = (float *)mem;
    job->acc_stride = acc_stride;
    void *rest =
        cpu_bwd_prepare(ctx, desc, indices, offsets, weights, grad_out, mem + acc_bytes, bw);
    if (!rest) return EMBER_STATUS_NOT_SUPPORTED;
    const int chunks = nt > 1 ? (nt * 8 < 64 ? nt * 8 : 64) : 1;
    EMBER_FORWARD_IF_ERROR(cpu_group_by_row(ctx, desc, bw->indices, nt, chunks, rest, gr));
    job->threads = nt;
    job->bw = bw;
    job->gr = gr;
    return EMBER_STATUS_SUCCESS;
}

/* --- the ops ------------------------------------------------------------------------------ */

ember_status cpu_backward_dense(ember_context *ctx, const ember_lookup_desc *desc,
                                const ember_buffer *indices, const ember_buffer *offsets,
                                const ember_buffer *weights, const ember_buffer *grad_out,
                                ember_reduction_mode mode, ember_buffer *grad_table) {
    if (mode == EMBER_REDUCTION_ATOMIC) {
        /* Scatter: each row is owned by one thread, which adds its contributions straight
         * into the row in input order (no sort). */
        return scatter_run(ctx, desc, indices, offsets, weights, grad_out,
                           (float *)grad_table->handle, 0, 0.0f);
    }
    /* DETERMINISTIC sums each row's contributions first and adds the sum once, the order
     * the CUDA and OpenCL backends use, so all backends agree bit for bit here. */
    cpu_bwd bw;
    cpu_groups gr;
    group_job job;
    EMBER_FORWARD_IF_ERROR(
        grouped_prepare(ctx, desc, indices, offsets, weights, grad_out, &bw, &gr, &job));
    job.act = ACT_DENSE;
    job.dst = (float *)grad_table->handle;
    groups_run(&job);
    return EMBER_STATUS_SUCCESS;
}

ember_status cpu_backward_sparse(ember_context *ctx, const ember_lookup_desc *desc,
                                 const ember_buffer *indices, const ember_buffer *offsets,
                                 const ember_buffer *weights, const ember_buffer *grad_out,
                                 ember_reduction_mode mode, ember_buffer *unique_ids,
                                 ember_buffer *unique_grads, int64_t *num_unique) {
    /* Both modes: the grouping gives ascending ids, which the output needs anyway, and
     * sums in input order, so ATOMIC is deterministic here at no cost. */
    cpu_bwd bw;
    cpu_groups gr;
    group_job job;
    EMBER_FORWARD_IF_ERROR(
        grouped_prepare(ctx, desc, indices, offsets, weights, grad_out, &bw, &gr, &job));
    job.act = ACT_SPARSE;
    job.ids = (int64_t *)unique_ids->handle;
    job.grads = (float *)unique_grads->handle;
    groups_run(&job);
    *num_unique = gr.unique_before[gr.chunks];
    return EMBER_STATUS_SUCCESS;
}

ember_status cpu_backward_update(ember_context *ctx, const ember_lookup_desc *desc,
                                 const ember_buffer *indices, const ember_buffer *offsets,
                                 const ember_buffer *weights, const ember_buffer *grad_out,
                                 ember_reduction_mode mode, const ember_optimizer *opt,
                                 ember_buffer *table, ember_buffer *state) {
    cpu_bwd bw;
    if (mode == EMBER_REDUCTION_ATOMIC && opt->kind == EMBER_OPTIMIZER_SGD &&
        opt->weight_decay == 0.0f) {
        /* SGD without weight decay is linear in the gradient: each row's owner thread
         * applies the contributions one by one in input order (w = w - lr * c) instead of
         * summing first. That differs from backward_sparse + sparse_step by rounding only.
         * DETERMINISTIC takes the grouped path below, which matches backward_sparse +
         * sparse_step and the GPU backends bit for bit. */
        return scatter_run(ctx, desc, indices, offsets, weights, grad_out, (float *)table->handle,
                           1, opt->learning_rate);
    }
    cpu_groups gr;
    group_job job;
    EMBER_FORWARD_IF_ERROR(
        grouped_prepare(ctx, desc, indices, offsets, weights, grad_out, &bw, &gr, &job));
    job.act = ACT_UPDATE;
    job.dst = (float *)table->handle;
    job.opt = opt;
    job.state = state ? (float *)state->handle : NULL;
    groups_run(&job);
    return EMBER_STATUS_SUCCESS;
}
