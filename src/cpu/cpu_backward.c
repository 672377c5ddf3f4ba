/* cpu_backward.c: embedding backward (dense and sparse gradients) and the fused
 * backward + sparse optimizer. */
#include "cpu/cpu_internal.h"

#include <omp.h>
#include <string.h>

#define PREFETCH_AHEAD 16

static size_t round64(size_t b) { return (b + 63) & ~(size_t)63; }

/* ---------------------------------------------------------------------------------------
 * Scatter path: no grouping. Each thread owns the rows that cpu_row_owner gives it, scans
 * all positions in input order and applies the contributions to its own rows one at a time:
 * no atomics, no sort, and each row still sees its contributions in input order.
 * dst[row] = dst[row] + c (alpha == 1, a gradient) or dst[row] - lr * c (SGD, lr == -alpha).
 * --------------------------------------------------------------------------------------- */

static inline __attribute__((always_inline)) void
scatter_one(const cpu_bwd *bw, float *dst, int64_t dim, const int64_t W, int sgd, float lr,
            int64_t p, int64_t r) {
    float s;
    int plain;
    const float *g = cpu_bwd_grad_row(bw, p, &s, &plain);
    float *d = dst + r * dim;
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

static inline __attribute__((always_inline)) void
scatter_kernel(const cpu_bwd *bw, float *dst, const int64_t W, int sgd, float lr, int t,
               int nth) {
    const ember_lookup_desc *desc = bw->desc;
    const int64_t n = desc->num_indices, pad = desc->padding_idx, dim = desc->dim;
    const int is32 = desc->index_type == EMBER_INDEX_INT32;
    const int64_t *i64 = (const int64_t *)bw->indices;
    const int32_t *i32 = (const int32_t *)bw->indices;
    const size_t row_bytes = (size_t)dim * sizeof(float);
    /* A small queue of this thread's upcoming positions: each row is prefetched when it
     * enters and updated when it leaves, PREFETCH_AHEAD of this thread's rows later. */
    int64_t qp[PREFETCH_AHEAD], qr[PREFETCH_AHEAD];
    int head = 0, cnt = 0;
    for (int64_t p = 0; p < n; p++) {
        int64_t r = is32 ? (int64_t)i32[p] : i64[p];
        if (r == pad || (nth > 1 && cpu_row_owner(r, nth) != t)) continue;
        cpu_prefetch_lines(dst + r * dim, row_bytes, 1, 0);
        if (cnt == PREFETCH_AHEAD) {
            scatter_one(bw, dst, dim, W, sgd, lr, qp[head], qr[head]);
            qp[head] = p;
            qr[head] = r;
            head = (head + 1) % PREFETCH_AHEAD;
        } else {
            qp[(head + cnt) % PREFETCH_AHEAD] = p;
            qr[(head + cnt) % PREFETCH_AHEAD] = r;
            cnt++;
        }
    }
    for (int k = 0; k < cnt; k++) {
        int j = (head + k) % PREFETCH_AHEAD;
        scatter_one(bw, dst, dim, W, sgd, lr, qp[j], qr[j]);
    }
}

typedef void (*scatter_fn)(const cpu_bwd *bw, float *dst, int sgd, float lr, int t, int nth);
#define DEFINE_SCATTER(NAME, W)                                                            \
    CPU_HOT static void NAME(const cpu_bwd *bw, float *dst, int sgd, float lr, int t,      \
                             int nth) {                                                    \
        scatter_kernel(bw, dst, W, sgd, lr, t, nth);                                       \
    }
DEFINE_SCATTER(scatter_8, 8)
DEFINE_SCATTER(scatter_16, 16)
DEFINE_SCATTER(scatter_32, 32)
DEFINE_SCATTER(scatter_64, 64)
DEFINE_SCATTER(scatter_128, 128)
CPU_HOT static void scatter_any(const cpu_bwd *bw, float *dst, int sgd, float lr, int t, int nth) {
    scatter_kernel(bw, dst, bw->desc->dim, sgd, lr, t, nth);
}

static void scatter_run(ember_context *ctx, const cpu_bwd *bw, float *dst, int sgd, float lr) {
    scatter_fn fn;
    switch (bw->desc->dim) {
    case 8: fn = scatter_8; break;
    case 16: fn = scatter_16; break;
    case 32: fn = scatter_32; break;
    case 64: fn = scatter_64; break;
    case 128: fn = scatter_128; break;
    default: fn = scatter_any; break;
    }
    int64_t work = bw->desc->num_indices * ((bw->desc->dim * 4 + 63) / 64) * 2;
    int nt = cpu_threads_for(ctx, work);
#pragma omp parallel num_threads(nt) if (nt > 1)
    fn(bw, dst, sgd, lr, omp_get_thread_num(), omp_get_num_threads());
}

/* ---------------------------------------------------------------------------------------
 * Grouped path: positions sorted by row; each row's contributions are summed in input
 * order (starting from the first), then handed to one action. Chunks never split a row,
 * so the result does not depend on the thread count.
 * --------------------------------------------------------------------------------------- */

typedef enum group_action { ACT_SPARSE, ACT_UPDATE } group_action;

typedef struct group_job {
    const cpu_bwd *bw;
    const cpu_groups *gr;
    group_action act;
    float *dst;                 /* UPDATE: table */
    int64_t *ids;               /* SPARSE */
    float *grads;               /* SPARSE */
    const ember_optimizer *opt; /* UPDATE */
    float *state;               /* UPDATE: NULL for SGD */
    float *acc;                 /* threads x round64(dim) floats */
    size_t acc_stride;          /* floats */
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

static inline __attribute__((always_inline)) void group_chunk(const group_job *j, int c,
                                                              float *acc, const int64_t W) {
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
            float s;
            int plain;
            cpu_prefetch_lines(cpu_bwd_grad_row(bw, cpu_group_pos(gr, k), &s, &plain), row_bytes,
                               0, 0);
        }
        switch (j->act) {
        case ACT_SPARSE:
            j->ids[u] = r;
            group_sum(j, i, e, j->grads + u * dim, W);
            break;
        case ACT_UPDATE:
            group_sum(j, i, e, acc, W);
            cpu_optim_row(j->opt, dim, j->dst + r * dim, acc,
                          !state ? NULL : rowwise ? state + r : state + r * dim);
            break;
        }
        u++;
        i = e;
    }
}

typedef void (*chunk_fn)(const group_job *j, int c, float *acc);
#define DEFINE_CHUNK(NAME, W)                                                              \
    CPU_HOT static void NAME(const group_job *j, int c, float *acc) {                      \
        group_chunk(j, c, acc, W);                                                         \
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
    case 16: fn = chunk_16; break;
    case 32: fn = chunk_32; break;
    case 64: fn = chunk_64; break;
    case 128: fn = chunk_128; break;
    default: fn = chunk_any; break;
    }
    const int chunks = j->gr->threads;
#pragma omp parallel num_threads(chunks) if (chunks > 1)
    {
        int t = omp_get_thread_num(), nth = omp_get_num_threads();
        for (int c = t; c < chunks; c += nth) fn(j, c, j->acc + (size_t)t * j->acc_stride);
    }
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
    void *rest = cpu_bwd_prepare(ctx, desc, indices, offsets, weights, grad_out, mem + acc_bytes, bw);
    if (!rest) return EMBER_STATUS_NOT_SUPPORTED;
    EMBER_FORWARD_IF_ERROR(cpu_group_by_row(ctx, desc, bw->indices, nt, rest, gr));
    job->bw = bw;
    job->gr = gr;
    return EMBER_STATUS_SUCCESS;
}

/* Per-position data only (scatter path). */
static ember_status scatter_prepare(ember_context *ctx, const ember_lookup_desc *desc,
                                    const ember_buffer *indices, const ember_buffer *offsets,
                                    const ember_buffer *weights, const ember_buffer *grad_out,
                                    cpu_bwd *bw) {
    void *mem = cpu_scratch(ctx, cpu_bwd_scratch_bytes(desc, 0, 1));
    if (!mem) return EMBER_STATUS_OUT_OF_MEMORY;
    if (!cpu_bwd_prepare(ctx, desc, indices, offsets, weights, grad_out, mem, bw))
        return EMBER_STATUS_NOT_SUPPORTED;
    return EMBER_STATUS_SUCCESS;
}

/* --- the ops ------------------------------------------------------------------------------ */

ember_status cpu_backward_dense(ember_context *ctx, const ember_lookup_desc *desc,
                                const ember_buffer *indices, const ember_buffer *offsets,
                                const ember_buffer *weights, const ember_buffer *grad_out,
                                ember_reduction_mode mode, ember_buffer *grad_table) {
    if (desc->num_indices == 0) return EMBER_STATUS_SUCCESS;
    /* Both modes scatter: each row is owned by one thread, which adds its contributions
     * in input order, so the result is bit-identical for any run and thread count
     * (DETERMINISTIC's promise) and no sort is needed. */
    cpu_bwd bw;
    EMBER_FORWARD_IF_ERROR(scatter_prepare(ctx, desc, indices, offsets, weights, grad_out, &bw));
    scatter_run(ctx, &bw, (float *)grad_table->handle, 0, 0.0f);
    return EMBER_STATUS_SUCCESS;
}

ember_status cpu_backward_sparse(ember_context *ctx, const ember_lookup_desc *desc,
                                 const ember_buffer *indices, const ember_buffer *offsets,
                                 const ember_buffer *weights, const ember_buffer *grad_out,
                                 ember_reduction_mode mode, ember_buffer *unique_ids,
                                 ember_buffer *unique_grads, int64_t *num_unique) {
    *num_unique = 0;
    if (desc->num_indices == 0) return EMBER_STATUS_SUCCESS;
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
    *num_unique = gr.unique_before[gr.threads];
    return EMBER_STATUS_SUCCESS;
}

ember_status cpu_backward_update(ember_context *ctx, const ember_lookup_desc *desc,
                                 const ember_buffer *indices, const ember_buffer *offsets,
                                 const ember_buffer *weights, const ember_buffer *grad_out,
                                 ember_reduction_mode mode, const ember_optimizer *opt,
                                 ember_buffer *table, ember_buffer *state) {
    if (opt->kind == EMBER_OPTIMIZER_ADAM)
        return ember_error(ctx, EMBER_STATUS_NOT_SUPPORTED,
                           "cpu: Adam is a dense optimizer; sparse (embedding) updates support "
                           "SGD, Adagrad and row-wise Adagrad");
    if (desc->num_indices == 0) return EMBER_STATUS_SUCCESS;
    cpu_bwd bw;
    if (opt->kind == EMBER_OPTIMIZER_SGD && opt->weight_decay == 0.0f) {
        /* SGD without weight decay is linear in the gradient: each row's owner thread
         * applies the contributions one by one in input order (w = w - lr * c) instead of
         * summing first. That differs from backward_sparse + sparse_step by rounding only
         * and is still bit-identical for any run and thread count, so DETERMINISTIC takes
         * this path too. */
        EMBER_FORWARD_IF_ERROR(scatter_prepare(ctx, desc, indices, offsets, weights, grad_out, &bw));
        scatter_run(ctx, &bw, (float *)table->handle, 1, opt->learning_rate);
        return EMBER_STATUS_SUCCESS;
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
