// cuda_backward.cu: embedding backward into a dense gradient, a sparse gradient, or fused with a
// sparse optimizer. ATOMIC: float atomics straight from each bag's gradient row.
// DETERMINISTIC (and every sparse / fused path, which need rows grouped anyway): CUB radix
// sort of (row, position) pairs, run boundaries by run-length encoding, each run reduced in
// input order by one warp; runs longer than RUN_CHUNK positions are split into fixed chunks
// reduced in parallel and then summed in chunk order, so a hot row does not serialise and the
// result is still bit-identical run to run. A run of at most RUN_CHUNK positions is summed
// exactly as the CPU backend sums it (from its first contribution, in input order).
#include "cuda/cuda_embedding_bag.cuh"
#include "cuda/cuda_optim.cuh"

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_run_length_encode.cuh>
#include <cub/device/device_scan.cuh>
#include <string.h>

#define RUN_CHUNK 64
#define BWD_UNROLL 4

enum { OUT_DENSE = 0, OUT_SPARSE = 1, OUT_UPDATE = 2 };

/* ----------------------------------------------------------------------------------------
 * ATOMIC: target[row] += alpha * contribution, one warp per bag (cuda_embedding_bag.cuh's
 * scatter_bag, shared with the table-batched kernel).
 * ---------------------------------------------------------------------------------------- */
template <typename I, int V, bool WEIGHTED>
static __global__ void __launch_bounds__(BWD_BLOCK)
    scatter_atomic_kernel(const void *__restrict__ idx, const void *__restrict__ off,
                          const float *__restrict__ w, const float *__restrict__ grad,
                          int64_t batch, int64_t dim, int64_t stride, int64_t pad, int mean,
                          float alpha, float *target) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t b = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5; b < batch; b += warps)
        scatter_bag<I, V, WEIGHTED>(idx, off, w, grad, b, dim, stride, pad, mean, alpha, target,
                                    lane);
}

/* ----------------------------------------------------------------------------------------
 * Grouping by row.
 * ---------------------------------------------------------------------------------------- */

/* Pooled only: bag_of[p] for every position, and 1/count per bag for MEAN. One warp per bag. */
template <typename I>
static __global__ void bags_kernel(const void *__restrict__ idx, const void *__restrict__ off,
                                   int64_t batch, int64_t pad, int mean, uint32_t *bag_of,
                                   float *inv_cnt) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t b = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5; b < batch; b += warps) {
        const int64_t s = idx_at<I>(off, b), e = idx_at<I>(off, b + 1);
        int cnt = 0;
        for (int64_t p = s + lane; p < e; p += 32) {
            bag_of[p] = (uint32_t)b;
            if (mean) cnt += idx_at<I>(idx, p) != pad;
        }
        if (mean) {
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) cnt += __shfl_xor_sync(0xffffffffu, cnt, o);
            if (lane == 0) inv_cnt[b] = cnt > 0 ? 1.0f / (float)cnt : 0.0f;
        }
    }
}

/* Sort keys: the row, or `sentinel` (= rows, sorting last) for padding. */
template <typename I>
static __global__ void keys_kernel(const void *__restrict__ idx, int64_t n, int64_t pad,
                                   uint64_t sentinel, uint64_t *keys, uint32_t *pos) {
    for (int64_t p = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; p < n;
         p += (int64_t)gridDim.x * blockDim.x) {
        const int64_t v = idx_at<I>(idx, p);
        keys[p] = v == pad ? sentinel : (uint64_t)v;
        pos[p] = (uint32_t)p;
    }
}

/* chunks[r]: how many RUN_CHUNK pieces run r is split into (0 for a run short enough to
 * reduce directly). Entries past the last run have length 0. */
static __global__ void chunk_count_kernel(const uint32_t *__restrict__ run_len, int64_t n,
                                          uint32_t *chunks) {
    for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < n;
         r += (int64_t)gridDim.x * blockDim.x) {
        const uint32_t len = run_len[r];
        chunks[r] = len > RUN_CHUNK ? (len + RUN_CHUNK - 1) / RUN_CHUNK : 0;
    }
}

struct groups {
    const uint64_t *ukeys;     /* row of each run (sentinel for the padding run) */
    const uint32_t *pos;       /* positions, sorted by row, input order within a row */
    const uint32_t *run_start; /* first sorted slot of each run */
    const uint32_t *run_len;
    const uint32_t *chunk_start, *chunks;
    const int *num_runs;    /* device */
    float *partials;        /* [chunks x dim] */
    const uint32_t *bag_of; /* NULL: position == bag (POOLING_NONE) */
    const float *inv_cnt;   /* MEAN: 1/count per bag */
    const float *w;         /* per-sample weights or NULL */
    const float *grad;      /* grad_out (column offset applied) */
    int64_t stride, dim;
    uint64_t sentinel;
    int mean;
};

/* Sum of the contributions of sorted slots [ps, pe) to columns c..c+V-1, in slot order,
 * from the first contribution (as the CPU backend). All lanes of the warp must call it. */
template <int V, bool WEIGHTED>
__device__ fvec<V> range_sum(const groups &G, int64_t ps, int64_t pe, int64_t c, bool active,
                             int lane) {
    fvec<V> acc = fvec_zero<V>();
    bool first = true;
    const bool scaled = WEIGHTED || G.mean;
    for (int64_t base = ps; base < pe; base += 32) {
        const int m = (int)(pe - base < 32 ? pe - base : 32);
        uint32_t mybag = 0;
        float mysc = 1.0f;
        if (lane < m) {
            const uint32_t p = G.pos[base + lane];
            mybag = G.bag_of ? G.bag_of[p] : p;
            if (WEIGHTED)
                mysc = __ldg(G.w + p);
            else if (G.mean)
                mysc = G.inv_cnt[mybag];
        }
        for (int j = 0; j < m; j += BWD_UNROLL) {
            fvec<V> r[BWD_UNROLL];
            float sc[BWD_UNROLL];
#pragma unroll
            for (int u = 0; u < BWD_UNROLL; u++) {
                const uint32_t bg = __shfl_sync(0xffffffffu, mybag, (j + u) & 31);
                sc[u] = __shfl_sync(0xffffffffu, mysc, (j + u) & 31);
                if (active && j + u < m) r[u] = fvec_load<V>(G.grad + (int64_t)bg * G.stride + c);
            }
            if (!active) continue;
#pragma unroll
            for (int u = 0; u < BWD_UNROLL; u++) {
                if (j + u >= m) break;
                fvec<V> x = r[u];
                if (scaled) {
#pragma unroll
                    for (int k = 0; k < V; k++) x.v[k] = x.v[k] * sc[u];
                }
                if (first) {
                    acc = x;
                    first = false;
                } else {
#pragma unroll
                    for (int k = 0; k < V; k++) acc.v[k] = acc.v[k] + x.v[k];
                }
            }
        }
    }
    return acc;
}

/* Run r's summed gradient for columns c..c+V-1: directly, or from its chunk partials. */
template <int V, bool WEIGHTED>
__device__ fvec<V> run_grad(const groups &G, int64_t r, int64_t c, bool active, int lane) {
    const uint32_t len = G.run_len[r], start = G.run_start[r];
    if (len <= RUN_CHUNK)
        return range_sum<V, WEIGHTED>(G, start, (int64_t)start + len, c, active, lane);
    fvec<V> acc = fvec_zero<V>();
    if (!active) return acc;
    const int64_t c0 = G.chunk_start[r], nc = G.chunks[r];
    acc = fvec_load_rw<V>(G.partials + c0 * G.dim + c);
    for (int64_t k = 1; k < nc; k += BWD_UNROLL) {
        fvec<V> p[BWD_UNROLL];
#pragma unroll
        for (int u = 0; u < BWD_UNROLL; u++)
            if (k + u < nc) p[u] = fvec_load_rw<V>(G.partials + (c0 + k + u) * G.dim + c);
#pragma unroll
        for (int u = 0; u < BWD_UNROLL; u++) {
            if (k + u >= nc) break;
#pragma unroll
            for (int q = 0; q < V; q++) acc.v[q] = acc.v[q] + p[u].v[q];
        }
    }
    return acc;
}

/* One warp per chunk of a long run: its partial sum. */
template <int V, bool WEIGHTED>
static __global__ void __launch_bounds__(BWD_BLOCK) partials_kernel(groups G, int64_t max_chunks) {
    const int lane = threadIdx.x & 31;
    const int nr = *G.num_runs;
    if (nr == 0) return;
    const int64_t total = (int64_t)G.chunk_start[nr - 1] + G.chunks[nr - 1];
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t k = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5;
         k < total && k < max_chunks; k += warps) {
        /* The run owning chunk k: the last r with chunk_start[r] <= k. */
        int lo = 0, hi = nr;
        while (lo < hi) {
            const int mid = (lo + hi) >> 1;
            if (G.chunk_start[mid] <= k)
                lo = mid + 1;
            else
                hi = mid;
        }
        const int r = lo - 1;
        const int64_t ps = (int64_t)G.run_start[r] + (k - G.chunk_start[r]) * RUN_CHUNK;
        const int64_t run_end = (int64_t)G.run_start[r] + G.run_len[r];
        const int64_t pe = ps + RUN_CHUNK < run_end ? ps + RUN_CHUNK : run_end;
        for (int64_t cb = 0; cb < G.dim; cb += 32 * V) {
            const int64_t c = cb + lane * V;
            const bool active = c < G.dim;
            fvec<V> s = range_sum<V, WEIGHTED>(G, ps, pe, c, active, lane);
            if (active) fvec_store<V>(G.partials + k * G.dim + c, s);
        }
    }
}

struct run_out {
    float *dense; /* OUT_DENSE: grad_table */
    int64_t *ids; /* OUT_SPARSE */
    float *grads;
    float *table, *state; /* OUT_UPDATE */
    ember_opt_params opt;
};

/* One warp per run: reduce, then write the gradient or apply the optimizer to the row. */
template <int V, bool WEIGHTED, int OUT>
static __global__ void __launch_bounds__(BWD_BLOCK) runs_kernel(groups G, run_out O) {
    const int lane = threadIdx.x & 31;
    const int nr = *G.num_runs;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t r = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5; r < nr; r += warps) {
        const uint64_t key = G.ukeys[r];
        if (key == G.sentinel) continue; /* the padding run: no gradient */
        const int64_t row = (int64_t)key;
        if (OUT == OUT_SPARSE && lane == 0) O.ids[r] = row;
        if (OUT == OUT_UPDATE && O.opt.kind == EMBER_OPTIMIZER_ROWWISE_ADAGRAD) {
            /* Row-wise Adagrad needs mean(g*g) over the whole row before any update: one pass
             * for the sum of squares, a second (recomputing g, bit-identically) to update. */
            float *wrow = O.table + row * G.dim;
            float ss = 0.0f;
            for (int64_t cb = 0; cb < G.dim; cb += 32 * V) {
                const int64_t c = cb + lane * V;
                const bool active = c < G.dim;
                fvec<V> g = run_grad<V, WEIGHTED>(G, r, c, active, lane);
                fvec<V> sq = fvec_zero<V>();
                if (active) {
                    fvec<V> wv = fvec_load_rw<V>(wrow + c);
#pragma unroll
                    for (int k = 0; k < V; k++) {
                        const float gd = opt_decayed(O.opt, g.v[k], wv.v[k]);
                        sq.v[k] = gd * gd;
                    }
                }
                ss = ordered_row_sum<V>(ss, sq, cb, G.dim);
            }
            const float s_new = O.state[row] + ss / (float)G.dim;
            const float denom = sqrtf(s_new) + O.opt.eps;
            for (int64_t cb = 0; cb < G.dim; cb += 32 * V) {
                const int64_t c = cb + lane * V;
                const bool active = c < G.dim;
                fvec<V> g = run_grad<V, WEIGHTED>(G, r, c, active, lane);
                if (active) {
                    fvec<V> wv = fvec_load_rw<V>(wrow + c);
#pragma unroll
                    for (int k = 0; k < V; k++) {
                        const float gd = opt_decayed(O.opt, g.v[k], wv.v[k]);
                        wv.v[k] = wv.v[k] - O.opt.lr * gd / denom;
                    }
                    fvec_store<V>(wrow + c, wv);
                }
            }
            if (lane == 0) O.state[row] = s_new;
            continue;
        }
        for (int64_t cb = 0; cb < G.dim; cb += 32 * V) {
            const int64_t c = cb + lane * V;
            const bool active = c < G.dim;
            fvec<V> g = run_grad<V, WEIGHTED>(G, r, c, active, lane);
            if (!active) continue;
            if (OUT == OUT_DENSE) {
                float *d = O.dense + row * G.dim + c;
                fvec<V> old = fvec_load_rw<V>(d);
#pragma unroll
                for (int k = 0; k < V; k++) old.v[k] = old.v[k] + g.v[k];
                fvec_store<V>(d, old);
            } else if (OUT == OUT_SPARSE) {
                fvec_store<V>(O.grads + r * G.dim + c, g);
            } else {
                float *wp = O.table + row * G.dim + c;
                float *sp = O.state ? O.state + row * G.dim + c : NULL;
#pragma unroll
                for (int k = 0; k < V; k++)
                    opt_elem(O.opt, wp + k, sp ? sp + k : NULL, NULL, g.v[k]);
            }
        }
    }
}

/* Distinct rows, padding left out. */
static __global__ void count_unique_kernel(const uint64_t *ukeys, const int *num_runs,
                                           uint64_t sentinel, unsigned long long *out) {
    const int nr = *num_runs;
    *out = (unsigned long long)(nr > 0 && ukeys[nr - 1] == sentinel ? nr - 1 : nr);
}

/* ----------------------------------------------------------------------------------------
 * Host side
 * ---------------------------------------------------------------------------------------- */

static size_t align_up(size_t x) {
    return (x + 255) & ~(size_t)255;
}

/* The arrays of one call's grouping, carved from one block of the context's scratch. */
typedef struct group_scratch {
    uint64_t *keys_in, *keys_out, *ukeys;
    uint32_t *pos_in, *pos_out, *run_len, *run_start, *chunks, *chunk_start, *bag_of;
    float *inv_cnt, *partials;
    int *num_runs;
    void *cub_tmp;
    size_t cub_bytes; /* the largest temporary storage of cub's sort, encode and scans */
} group_scratch;

/* Sizes cub's temporary storage for n keys of end_bit bits, then carves every array of the
 * grouping (mc: the bound on the chunks of long runs) from the scratch. */
static ember_status carve_group_scratch(ember_context *ctx, cuda_impl *m,
                                        const ember_lookup_desc *d, int end_bit, int64_t mc,
                                        group_scratch *g) {
    const int64_t n = d->num_indices, batch = d->batch, dim = d->dim;
    const int pooled = d->pooling != EMBER_POOLING_NONE;
    const int mean = d->pooling == EMBER_POOLING_MEAN;
    const int ni = (int)n;
    memset(g, 0, sizeof *g);
    size_t t_sort = 0, t_rle = 0, t_scan = 0;
    cub::DeviceRadixSort::SortPairs(NULL, t_sort, g->keys_in, g->keys_out, g->pos_in, g->pos_out,
                                    ni, 0, end_bit, m->stream);
    cub::DeviceRunLengthEncode::Encode(NULL, t_rle, g->keys_out, g->ukeys, g->run_len, g->num_runs,
                                       ni, m->stream);
    cub::DeviceScan::ExclusiveSum(NULL, t_scan, g->run_len, g->run_start, ni, m->stream);
    size_t t_cub = t_sort > t_rle ? t_sort : t_rle;
    if (t_scan > t_cub) t_cub = t_scan;
    g->cub_bytes = t_cub;

    const size_t nz = (size_t)n;
    size_t sz[] = {
        align_up(nz * 8),
        align_up(nz * 8),
        align_up(nz * 8), /* keys in/out, ukeys */
        align_up(nz * 4),
        align_up(nz * 4),
        align_up(nz * 4),
        align_up(nz * 4), /* pos, len, start */
        align_up(nz * 4),
        align_up(nz * 4),                           /* chunks, chunk_start */
        align_up(pooled ? nz * 4 : 4),              /* bag_of */
        align_up(mean ? (size_t)batch * 4 + 4 : 4), /* inv_cnt */
        align_up((size_t)mc * (size_t)dim * 4),     /* partials */
        align_up(sizeof(int)),                      /* num_runs */
        align_up(t_cub),
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) total += sz[i];
    char *base;
    EMBER_FORWARD_IF_ERROR(cuda_scratch(ctx, total, (void **)&base));
    size_t at = 0;
    int k = 0;
#define TAKE(ptr, type) (g->ptr = (type)(base + at), at += sz[k++])
    TAKE(keys_in, uint64_t *);
    TAKE(keys_out, uint64_t *);
    TAKE(ukeys, uint64_t *);
    TAKE(pos_in, uint32_t *);
    TAKE(pos_out, uint32_t *);
    TAKE(run_len, uint32_t *);
    TAKE(run_start, uint32_t *);
    TAKE(chunks, uint32_t *);
    TAKE(chunk_start, uint32_t *);
    TAKE(bag_of, uint32_t *);
    TAKE(inv_cnt, float *);
    TAKE(partials, float *);
    TAKE(num_runs, int *);
    TAKE(cub_tmp, void *);
#undef TAKE
    return EMBER_STATUS_SUCCESS;
}

/* Sorts and groups the positions of one call into scratch; fills G. */
static ember_status build_groups(ember_context *ctx, cuda_impl *m, const ember_lookup_desc *d,
                                 const ember_buffer *indices, const ember_buffer *offsets,
                                 const ember_buffer *weights, const ember_buffer *grad_out,
                                 groups *G, int64_t *max_chunks) {
    const int64_t n = d->num_indices, batch = d->batch, dim = d->dim;
    EMBER_RETURN_IF(n > INT32_MAX - 1, ctx, EMBER_STATUS_NOT_SUPPORTED,
                    "the CUDA backward groups at most %d indices per call (got %lld)",
                    INT32_MAX - 1, (long long)n);
    EMBER_RETURN_IF(batch > (int64_t)UINT32_MAX, ctx, EMBER_STATUS_NOT_SUPPORTED,
                    "the CUDA backward handles at most %u bags per call (got %lld)", UINT32_MAX,
                    (long long)batch);
    const int pooled = d->pooling != EMBER_POOLING_NONE;
    const int mean = d->pooling == EMBER_POOLING_MEAN;
    const uint64_t sentinel = (uint64_t)d->num_rows;
    int end_bit = 64 - __builtin_clzll(sentinel | 1);
    const int ni = (int)n;
    const int64_t mc = 2 * (n / RUN_CHUNK) + 2; /* bound on the chunks of long runs */
    *max_chunks = mc;
    group_scratch g;
    EMBER_FORWARD_IF_ERROR(carve_group_scratch(ctx, m, d, end_bit, mc, &g));
    const size_t nz = (size_t)n;

    const void *idx = indices->handle;
    const int is32 = d->index_type == EMBER_INDEX_INT32;
    const unsigned grid_n = cuda_blocks(n, CUDA_BLOCK, (unsigned)m->sm_count * 16);
    if (pooled && batch > 0) {
        const unsigned gb = cuda_blocks(batch, CUDA_WARPS_PER_BLOCK, 1u << 30);
        if (is32)
            bags_kernel<int32_t><<<gb, CUDA_BLOCK, 0, m->stream>>>(
                idx, offsets->handle, batch, d->padding_idx, mean, g.bag_of, g.inv_cnt);
        else
            bags_kernel<int64_t><<<gb, CUDA_BLOCK, 0, m->stream>>>(
                idx, offsets->handle, batch, d->padding_idx, mean, g.bag_of, g.inv_cnt);
        CUDA_LAUNCHED(ctx, "bags_kernel");
    }
    if (is32)
        keys_kernel<int32_t><<<grid_n, CUDA_BLOCK, 0, m->stream>>>(idx, n, d->padding_idx, sentinel,
                                                                   g.keys_in, g.pos_in);
    else
        keys_kernel<int64_t><<<grid_n, CUDA_BLOCK, 0, m->stream>>>(idx, n, d->padding_idx, sentinel,
                                                                   g.keys_in, g.pos_in);
    CUDA_LAUNCHED(ctx, "keys_kernel");
    size_t tb = g.cub_bytes;
    CUDA_TRY(ctx, cub::DeviceRadixSort::SortPairs(g.cub_tmp, tb, g.keys_in, g.keys_out, g.pos_in,
                                                  g.pos_out, ni, 0, end_bit, m->stream));
    CUDA_TRY(ctx, cudaMemsetAsync(g.run_len, 0, nz * 4, m->stream));
    tb = g.cub_bytes;
    CUDA_TRY(ctx, cub::DeviceRunLengthEncode::Encode(g.cub_tmp, tb, g.keys_out, g.ukeys, g.run_len,
                                                     g.num_runs, ni, m->stream));
    tb = g.cub_bytes;
    CUDA_TRY(ctx,
             cub::DeviceScan::ExclusiveSum(g.cub_tmp, tb, g.run_len, g.run_start, ni, m->stream));
    chunk_count_kernel<<<grid_n, CUDA_BLOCK, 0, m->stream>>>(g.run_len, n, g.chunks);
    CUDA_LAUNCHED(ctx, "chunk_count_kernel");
    tb = g.cub_bytes;
    CUDA_TRY(ctx,
             cub::DeviceScan::ExclusiveSum(g.cub_tmp, tb, g.chunks, g.chunk_start, ni, m->stream));

    G->ukeys = g.ukeys;
    G->pos = g.pos_out;
    G->run_start = g.run_start;
    G->run_len = g.run_len;
    G->chunk_start = g.chunk_start;
    G->chunks = g.chunks;
    G->num_runs = g.num_runs;
    G->partials = g.partials;
    G->bag_of = pooled ? g.bag_of : NULL;
    G->inv_cnt = mean ? g.inv_cnt : NULL;
    G->w = weights ? (const float *)weights->handle : NULL;
    G->grad = (const float *)grad_out->handle + d->out_col_offset;
    G->stride = d->out_row_stride;
    G->dim = dim;
    G->sentinel = sentinel;
    G->mean = mean;
    return EMBER_STATUS_SUCCESS;
}

template <int V, bool W>
static void launch_runs(const groups &G, const run_out &O, int out, int64_t n, int64_t mc,
                        cudaStream_t st) {
    const unsigned gc = cuda_blocks(mc, BWD_BLOCK / 32, 1u << 30);
    partials_kernel<V, W><<<gc, BWD_BLOCK, 0, st>>>(G, mc);
    const unsigned gr = cuda_blocks(n, BWD_BLOCK / 32, 1u << 30);
    if (out == OUT_DENSE)
        runs_kernel<V, W, OUT_DENSE><<<gr, BWD_BLOCK, 0, st>>>(G, O);
    else if (out == OUT_SPARSE)
        runs_kernel<V, W, OUT_SPARSE><<<gr, BWD_BLOCK, 0, st>>>(G, O);
    else
        runs_kernel<V, W, OUT_UPDATE><<<gr, BWD_BLOCK, 0, st>>>(G, O);
}

/* Group, reduce and write: the sorted path of every backward. */
static ember_status grouped(ember_context *ctx, cuda_impl *m, const ember_lookup_desc *d,
                            const ember_buffer *indices, const ember_buffer *offsets,
                            const ember_buffer *weights, const ember_buffer *grad_out, int out,
                            run_out *O) {
    groups G;
    int64_t mc = 0;
    EMBER_FORWARD_IF_ERROR(build_groups(ctx, m, d, indices, offsets, weights, grad_out, &G, &mc));
    /* float4 when dim, stride and every base allow it. */
    int vec4 = cuda_vec4_ok(d->dim, d->out_row_stride, G.grad);
    if (out == OUT_DENSE) vec4 = vec4 && cuda_vec4_ok(d->dim, d->dim, O->dense);
    if (out == OUT_SPARSE) vec4 = vec4 && cuda_vec4_ok(d->dim, d->dim, O->grads);
    if (out == OUT_UPDATE)
        vec4 = vec4 && cuda_vec4_ok(d->dim, d->dim, O->table) &&
               (!O->state || O->opt.kind == EMBER_OPTIMIZER_ROWWISE_ADAGRAD ||
                cuda_vec4_ok(d->dim, d->dim, O->state));
    const bool wt = G.w != NULL;
    if (vec4) {
        if (wt)
            launch_runs<4, true>(G, *O, out, d->num_indices, mc, m->stream);
        else
            launch_runs<4, false>(G, *O, out, d->num_indices, mc, m->stream);
    } else {
        if (wt)
            launch_runs<1, true>(G, *O, out, d->num_indices, mc, m->stream);
        else
            launch_runs<1, false>(G, *O, out, d->num_indices, mc, m->stream);
    }
    CUDA_LAUNCHED(ctx, "runs_kernel");
    return EMBER_STATUS_SUCCESS;
}

/* The ATOMIC scatter: target[row] += alpha * contribution. */
static ember_status scatter(ember_context *ctx, cuda_impl *m, const ember_lookup_desc *d,
                            const ember_buffer *indices, const ember_buffer *offsets,
                            const ember_buffer *weights, const ember_buffer *grad_out, float alpha,
                            float *target) {
    const float *g = (const float *)grad_out->handle + d->out_col_offset;
    const void *idx = indices->handle;
    const void *off = d->pooling == EMBER_POOLING_NONE ? NULL : offsets->handle;
    const float *w = weights ? (const float *)weights->handle : NULL;
    const int mean = d->pooling == EMBER_POOLING_MEAN;
    const int vec4 =
        cuda_vec4_ok(d->dim, d->out_row_stride, g) && cuda_vec4_ok(d->dim, d->dim, target);
    const unsigned blocks = cuda_blocks(d->batch, BWD_BLOCK / 32, 1u << 30);
    const int is32 = d->index_type == EMBER_INDEX_INT32;
#define SCATTER(I, V, W)                                                                           \
    scatter_atomic_kernel<I, V, W><<<blocks, BWD_BLOCK, 0, m->stream>>>(                           \
        idx, off, w, g, d->batch, d->dim, d->out_row_stride, d->padding_idx, mean, alpha, target)
    if (is32) {
        if (vec4) {
            if (w)
                SCATTER(int32_t, 4, true);
            else
                SCATTER(int32_t, 4, false);
        } else {
            if (w)
                SCATTER(int32_t, 1, true);
            else
                SCATTER(int32_t, 1, false);
        }
    } else {
        if (vec4) {
            if (w)
                SCATTER(int64_t, 4, true);
            else
                SCATTER(int64_t, 4, false);
        } else {
            if (w)
                SCATTER(int64_t, 1, true);
            else
                SCATTER(int64_t, 1, false);
        }
    }
#undef SCATTER
    CUDA_LAUNCHED(ctx, "scatter_atomic_kernel");
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status cuda_backward_dense(ember_context *ctx, const ember_lookup_desc *desc,
                                            const ember_buffer *indices,
                                            const ember_buffer *offsets,
                                            const ember_buffer *weights,
                                            const ember_buffer *grad_out, ember_reduction_mode mode,
                                            ember_buffer *grad_table) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    cuda_written(ctx, grad_table->handle);
    if (mode == EMBER_REDUCTION_ATOMIC)
        return scatter(ctx, m, desc, indices, offsets, weights, grad_out, 1.0f,
                       (float *)grad_table->handle);
    run_out O = {};
    O.dense = (float *)grad_table->handle;
    return grouped(ctx, m, desc, indices, offsets, weights, grad_out, OUT_DENSE, &O);
}

extern "C" ember_status
cuda_backward_sparse(ember_context *ctx, const ember_lookup_desc *desc, const ember_buffer *indices,
                     const ember_buffer *offsets, const ember_buffer *weights,
                     const ember_buffer *grad_out, ember_reduction_mode mode,
                     ember_buffer *unique_ids, ember_buffer *unique_grads, int64_t *num_unique) {
    (void)mode; /* grouping by row is needed for the output anyway: both modes are exact */
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    cuda_written(ctx, unique_ids->handle);
    cuda_written(ctx, unique_grads->handle);
    run_out O = {};
    O.ids = (int64_t *)unique_ids->handle;
    O.grads = (float *)unique_grads->handle;
    groups G;
    int64_t mc = 0;
    EMBER_FORWARD_IF_ERROR(
        build_groups(ctx, m, desc, indices, offsets, weights, grad_out, &G, &mc));
    int vec4 = cuda_vec4_ok(desc->dim, desc->out_row_stride, G.grad) &&
               cuda_vec4_ok(desc->dim, desc->dim, O.grads);
    const bool wt = G.w != NULL;
    if (vec4) {
        if (wt)
            launch_runs<4, true>(G, O, OUT_SPARSE, desc->num_indices, mc, m->stream);
        else
            launch_runs<4, false>(G, O, OUT_SPARSE, desc->num_indices, mc, m->stream);
    } else {
        if (wt)
            launch_runs<1, true>(G, O, OUT_SPARSE, desc->num_indices, mc, m->stream);
        else
            launch_runs<1, false>(G, O, OUT_SPARSE, desc->num_indices, mc, m->stream);
    }
    CUDA_LAUNCHED(ctx, "runs_kernel");
    count_unique_kernel<<<1, 1, 0, m->stream>>>(G.ukeys, G.num_runs, G.sentinel, m->flags_dev);
    CUDA_LAUNCHED(ctx, "count_unique_kernel");
    CUDA_TRY(ctx, cudaMemcpyAsync(m->flags_host, m->flags_dev, sizeof(unsigned long long),
                                  cudaMemcpyDeviceToHost, m->stream));
    CUDA_TRY(ctx, cudaStreamSynchronize(m->stream));
    *num_unique = (int64_t)m->flags_host[0];
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status
cuda_backward_update(ember_context *ctx, const ember_lookup_desc *desc, const ember_buffer *indices,
                     const ember_buffer *offsets, const ember_buffer *weights,
                     const ember_buffer *grad_out, ember_reduction_mode mode,
                     const ember_optimizer *opt, ember_buffer *table, ember_buffer *state) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    cuda_written(ctx, table->handle);
    if (state) cuda_written(ctx, state->handle);
    /* cuda_backward_update_batched calls this for every table, empty ones too. */
    if (desc->num_indices == 0) return EMBER_STATUS_SUCCESS;
    /* Plain SGD in ATOMIC mode needs no grouping: each contribution is added to the weights
     * straight away (w += -lr * g), one pass over the used rows. */
    if (mode == EMBER_REDUCTION_ATOMIC && opt->kind == EMBER_OPTIMIZER_SGD &&
        opt->weight_decay == 0.0f)
        return scatter(ctx, m, desc, indices, offsets, weights, grad_out, -opt->learning_rate,
                       (float *)table->handle);
    run_out O = {};
    O.table = (float *)table->handle;
    O.state = state ? (float *)state->handle : NULL;
    O.opt = ember_opt_params_make(opt);
    return grouped(ctx, m, desc, indices, offsets, weights, grad_out, OUT_UPDATE, &O);
}
