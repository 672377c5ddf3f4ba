/* cpu_internal.h: what the CPU backend's files share (threads, scratch memory, grouping, the
 * op prototypes).
 *
 * Numeric conventions of the CPU backend, which the other backends are checked against:
 * - No FMA contraction (C11 mode compiles with -ffp-contract=off): a weighted term is
 *   rounded as w*x, then added.
 * - Lookup: a bag sums its rows in input order starting from +0.0f; MEAN divides that sum
 *   by the count of non-padding indices (sum / (float)count); accumulate adds the result
 *   to the output last (out + result).
 * - Backward: the contribution of position p to its row is g[bag] * w[p] (SUM with
 *   weights), g[bag] * (1.0f / (float)count) (MEAN) or g[bag] itself. Every path handles
 *   each row on one thread and in input order, so ATOMIC and DETERMINISTIC alike are
 *   bit-identical for any run and thread count:
 *   - backward_dense, ATOMIC, adds the contributions one by one: grad = ((grad + c1) + c2)
 *     ...; DETERMINISTIC sums them first and adds once: grad + ((c1 + c2) + c3 ...), the
 *     order of the CUDA and OpenCL backends, so all three agree bit for bit.
 *   - backward_sparse sums them starting from the first: (c1 + c2) + c3 ...
 *   - backward_update, ATOMIC, with SGD and no weight decay applies them one by one:
 *     w = (w - lr*c1) - lr*c2 ... (rounding-level different from backward_sparse +
 *     sparse_step); every other case sums as backward_sparse does and updates once,
 *     bit-identical to backward_sparse + sparse_step (and to the GPU backends).
 * - Row-wise Adagrad sums g*g over the row with one running sum in column order.
 * - ReLU keeps NaN (v < 0 ? 0 : v); its backward masks by y > 0.
 */
#ifndef EMBER_CPU_INTERNAL_H
#define EMBER_CPU_INTERNAL_H

#include "core/backend.h"

#include <stddef.h>
#include <stdint.h>

/* Backend-private state hung on ctx->impl. A context is used by one thread at a time, so
 * one reusable scratch area per context is safe and saves a malloc per call. */
typedef struct cpu_impl {
    void *scratch;
    size_t scratch_bytes;
} cpu_impl;

/* Of `cores` allowed, how many no other process is running on now (>= 1): cores minus the
 * other runnable tasks, re-read every few ms (cpu_load.c). */
int cpu_idle_cores(int cores);
/* Threads to use for this context (ctx->threads, 0 meaning all idle cores), >= 1. */
int cpu_threads(const ember_context *ctx);
/* Threads worth using for `work` units of roughly one cache line each: 1 for small inputs,
 * where waking an OpenMP team costs more than it saves. */
int cpu_threads_for(const ember_context *ctx, int64_t work);

/* Returns scratch memory of at least `bytes` (64-byte aligned), grown as needed and kept
 * on the context; NULL after recording OUT_OF_MEMORY on ctx. Contents are undefined. */
void *cpu_scratch(ember_context *ctx, size_t bytes);

/* Before `threads` threads each run one OpenBLAS GEMM (cpu_blas.c): makes sure OpenBLAS
 * has a mapped work buffer for each, so it never maps one inside the GEMM (where a failure
 * spins forever). *granted (>= 1) is how many may run; pass it to cpu_blas_end after the
 * GEMMs. OUT_OF_MEMORY (recorded on ctx) when not even one buffer can be mapped. */
ember_status cpu_blas_begin(ember_context *ctx, int threads, int *granted);
void cpu_blas_end(int granted);

/* 64-byte aligned allocation used for buffers and scratch. */
void *cpu_aligned_alloc(size_t bytes);
void cpu_aligned_free(void *p);

/* --- grouping of index positions by row (cpu_group.c) -------------------------------------
 * The contributions of an embedding backward, grouped by table row: keys[k] packs
 * (row << pos_bits) | position, sorted ascending, so each row's positions are contiguous
 * and in input order. Padding positions are left out. */
typedef struct cpu_groups {
    uint64_t *keys; /* count entries */
    int64_t count;  /* non-padding positions */
    int pos_bits;
    /* Chunk boundaries, each at the start of a row's run, so a row is never split between
     * threads; chunk c is keys[bound[c] .. bound[c+1]). */
    int chunks;
    int64_t bound[65];
    int64_t unique_before[65]; /* distinct rows in chunks before c; [chunks] = total */
} cpu_groups;

static inline int64_t cpu_group_row(const cpu_groups *g, uint64_t key) {
    return (int64_t)(key >> g->pos_bits);
}
static inline int64_t cpu_group_pos(const cpu_groups *g, uint64_t key) {
    return (int64_t)(key & ((UINT64_C(1) << g->pos_bits) - 1));
}

/* Per-position context of a backward: which bag each position belongs to and its scale. */
typedef struct cpu_bwd {
    const ember_lookup_desc *desc;
    const void *indices;
    const void *offsets;   /* NULL with POOLING_NONE */
    const float *weights;  /* NULL unless SUM with weights */
    const float *grad_out; /* [batch x out_row_stride] */
    int32_t *bag_of;       /* position -> bag, pooled only; NULL with POOLING_NONE */
    float *inv_count;      /* bag -> 1/count (MEAN only), else NULL */
} cpu_bwd;

/* Bytes of scratch a backward needs: cpu_bwd_prepare's per-position bag numbers and
 * per-bag counts, then, when `grouped`, cpu_group_by_row's arrays for `threads` workers. */
size_t cpu_bwd_scratch_bytes(const ember_lookup_desc *desc, int grouped, int threads);

/* Fills bwd, taking its arrays from the start of `mem` (cpu_bwd_scratch_bytes); returns
 * the memory left for cpu_group_by_row. NULL after recording NOT_SUPPORTED on ctx when
 * the batch has 2^31 bags or more. */
void *cpu_bwd_prepare(ember_context *ctx, const ember_lookup_desc *desc,
                      const ember_buffer *indices, const ember_buffer *offsets,
                      const ember_buffer *weights, const ember_buffer *grad_out, void *mem,
                      cpu_bwd *bwd);

/* Sorts the non-padding positions by row (stable) in `mem` (what cpu_bwd_prepare left)
 * with `threads` threads and splits them into `chunks` (<= 64) chunks of about equal
 * size. NOT_SUPPORTED (recorded on ctx) when row and position numbers do not fit 64 bits
 * together. */
ember_status cpu_group_by_row(ember_context *ctx, const ember_lookup_desc *desc,
                              const void *indices, int threads, int chunks, void *mem,
                              cpu_groups *out);

/* Which of `nth` threads owns a row in the ungrouped (scatter) paths: a hash, so that the
 * hot low ids of a Zipf distribution spread over all threads. */
static inline int cpu_row_owner(int64_t row, int nth) {
    uint64_t h = (uint64_t)row * UINT64_C(0x9E3779B97F4A7C15);
    return (int)(((h >> 32) * (uint64_t)nth) >> 32);
}

/* Gradient row (before scaling) and scale of a position. *plain is 1 when the scale is
 * exactly 1 (no multiply needed). */
static inline const float *cpu_bwd_grad_row(const cpu_bwd *b, int64_t pos, float *scale,
                                            int *plain) {
    int64_t bag = b->bag_of ? b->bag_of[pos] : pos;
    const float *g = b->grad_out + bag * b->desc->out_row_stride + b->desc->out_col_offset;
    if (b->weights) {
        *scale = b->weights[pos];
        *plain = 0;
    } else if (b->inv_count) {
        *scale = b->inv_count[bag];
        *plain = 0;
    } else {
        *scale = 1.0f;
        *plain = 1;
    }
    return g;
}

/* --- optimizer row updates (cpu_optim.c) --------------------------------------------------
 * Applies a sparse optimizer (SGD, Adagrad, row-wise Adagrad) to one table row w[0..dim)
 * with its summed gradient g (weight decay is added on the fly, g is not changed). state:
 * the row's Adagrad state (dim floats), its row-wise state (1 float), or NULL for SGD. */
void cpu_optim_row(const ember_optimizer *opt, int64_t dim, float *w, const float *g, float *state);

/* Prefetch helper: every cache line of bytes [p, p + bytes). With a constant `bytes` the
 * loop unrolls; `aligned` (p is 64-byte aligned and bytes a multiple of 64, known per
 * call) saves the extra prefetch for the line an unaligned row spills into. */
static inline __attribute__((always_inline)) void cpu_prefetch_lines(const void *p, size_t bytes,
                                                                     int write, int aligned) {
    const char *c = (const char *)p;
    if (write) {
        for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch(c + o, 1, 3);
        if (!aligned) __builtin_prefetch(c + bytes - 1, 1, 3);
    } else {
        for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch(c + o, 0, 3);
        if (!aligned) __builtin_prefetch(c + bytes - 1, 0, 3);
    }
}

/* Hot kernels get an AVX2 copy chosen at load time (the build itself targets baseline
 * x86-64, since the machine that runs it may differ from the one that built it). Off under
 * sanitizers and on other architectures. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(EMBER_NO_CLONES)
#define CPU_HOT __attribute__((target_clones("avx2", "default")))
#else
#define CPU_HOT
#endif

/* --- the ops: cpu_<op> for every op of EMBER_BACKEND_OPS (core/backend.h), each in the file
 * of its group (docs/design.md); the ones cpu_ops.c leaves NULL are declared, never defined. */
#define CPU_DECLARE_OP_(presence, ret, op, params) ret cpu_##op params;
EMBER_BACKEND_OPS(CPU_DECLARE_OP_)
#undef CPU_DECLARE_OP_

#endif /* EMBER_CPU_INTERNAL_H */
