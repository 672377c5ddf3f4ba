// cuda_batched.cu: table-batched lookup and fused backward + SGD (FBGEMM's "TBE" call): all the
// tables of a call in one kernel launch, grid over (table, bag), so T small tables cost one
// launch and one chain of dependent loads instead of T. Each bag runs the very code of the
// one-table kernels (cuda_embedding_bag.cuh), so results are bit-identical to calling
// cuda_lookup / cuda_backward_update once per table.
//
// The tables' pointers and shapes travel in the kernel's parameter block (__grid_constant__,
// read in place, no upload): at most BATCH_MAX tables per launch, more make more launches.
// Tables whose kernel variant differs (int32/int64 indices, float4 or scalar columns,
// weights, pooled or plain gather) go to separate launches. A lookup table whose output
// columns overlap those of a table already waiting is launched after it (the per-table
// order), so overlapping column ranges, with or without accumulate, give the per-table
// result. Anything else (DETERMINISTIC mode, other optimizers, weight decay, an output that
// is also an input) falls back to the per-table calls.
#include "cuda/cuda_embedding_bag.cuh"

#include <stdlib.h>
#include <string.h>

/* 32 tables of 72 bytes plus the header stay under the 4 KB parameter limit that every CUDA
 * version and architecture accepts (CUDA 12.1+ allows 32 KB on Volta and newer; we do not
 * rely on it). */
#define BATCH_MAX 32

struct bt_table {
    const float *table; /* lookup: rows read */
    float *dst;         /* lookup: out + column offset; backward: the table updated */
    const float *grad;  /* backward: grad_out + column offset */
    const void *idx, *off;
    const float *w;
    int64_t dim, pad;
    int mean, accumulate;
};

struct bt_args {
    bt_table t[BATCH_MAX];
    int64_t batch, stride;
    float alpha; /* backward: -learning rate */
    int count;
};
static_assert(sizeof(bt_args) <= 4000, "batched kernel parameters must stay under 4 KB");

/* Work item `it` of a launch: table it / per, item it % per of that table. */
template <typename I, int V, bool WEIGHTED>
static __global__ void __launch_bounds__(LOOKUP_BLOCK)
    lookup_batched_kernel(const __grid_constant__ bt_args A) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    const int64_t total = (int64_t)A.count * A.batch;
    for (int64_t it = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5; it < total;
         it += warps) {
        const int t = (int)(it / A.batch);
        const int64_t b = it - (int64_t)t * A.batch;
        const bt_table &T = A.t[t];
        lookup_bag<I, V, WEIGHTED>(T.table, T.idx, T.off, T.w, T.dst, b, T.dim, A.stride, T.pad,
                                   T.mean, T.accumulate, lane);
    }
}

template <typename I, int V>
static __global__ void __launch_bounds__(LOOKUP_BLOCK)
    gather_batched_kernel(const __grid_constant__ bt_args A) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    const int64_t per = (A.batch + 31) / 32; /* 32-row groups per table */
    const int64_t total = (int64_t)A.count * per;
    for (int64_t it = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5; it < total;
         it += warps) {
        const int t = (int)(it / per);
        const int64_t base = (it - (int64_t)t * per) * 32;
        const bt_table &T = A.t[t];
        gather_group<I, V>(T.table, T.idx, T.dst, base, A.batch, T.dim, A.stride, T.pad,
                           T.accumulate, lane);
    }
}

template <typename I, int V, bool WEIGHTED>
static __global__ void __launch_bounds__(BWD_BLOCK)
    scatter_batched_kernel(const __grid_constant__ bt_args A) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    const int64_t total = (int64_t)A.count * A.batch;
    for (int64_t it = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5; it < total;
         it += warps) {
        const int t = (int)(it / A.batch);
        const int64_t b = it - (int64_t)t * A.batch;
        const bt_table &T = A.t[t];
        scatter_bag<I, V, WEIGHTED>(T.idx, T.off, T.w, T.grad, b, T.dim, A.stride, T.pad, T.mean,
                                    A.alpha, T.dst, lane);
    }
}

/* ----------------------------------------------------------------------------------------
 * Host side: tables are sorted into pending launches by kernel variant.
 * ---------------------------------------------------------------------------------------- */

enum { V_IS32 = 1, V_VEC4 = 2, V_WEIGHTED = 4, V_POOLED = 8, V_COUNT = 16 };
enum { KIND_LOOKUP = 0, KIND_SCATTER = 1 };

struct batcher {
    ember_context *ctx;
    cudaStream_t stream;
    int kind;
    bt_args pending[V_COUNT];
    /* Lookup: output column ranges of every waiting table, for the overlap test. */
    int64_t lo[V_COUNT * BATCH_MAX], hi[V_COUNT * BATCH_MAX];
    int nranges;
};

static ember_status launch(batcher *B, int v, const bt_args &a) {
    const int per_block = (B->kind == KIND_LOOKUP ? LOOKUP_BLOCK : BWD_BLOCK) / 32;
    const int64_t per = B->kind == KIND_LOOKUP && !(v & V_POOLED) ? (a.batch + 31) / 32 : a.batch;
    const unsigned blocks = cuda_blocks((int64_t)a.count * per, per_block, 1u << 30);
    cudaStream_t st = B->stream;
#define L_POOLED(I, V4, W) lookup_batched_kernel<I, V4, W><<<blocks, LOOKUP_BLOCK, 0, st>>>(a)
#define L_GATHER(I, V4) gather_batched_kernel<I, V4><<<blocks, LOOKUP_BLOCK, 0, st>>>(a)
#define L_SCATTER(I, V4, W) scatter_batched_kernel<I, V4, W><<<blocks, BWD_BLOCK, 0, st>>>(a)
#define BY_W(M, I, V4)                                                                             \
    do {                                                                                           \
        if (v & V_WEIGHTED)                                                                        \
            M(I, V4, true);                                                                        \
        else                                                                                       \
            M(I, V4, false);                                                                       \
    } while (0)
#define BY_V(M, I)                                                                                 \
    do {                                                                                           \
        if (v & V_VEC4)                                                                            \
            BY_W(M, I, 4);                                                                         \
        else                                                                                       \
            BY_W(M, I, 1);                                                                         \
    } while (0)
#define BY_I(M)                                                                                    \
    do {                                                                                           \
        if (v & V_IS32)                                                                            \
            BY_V(M, int32_t);                                                                      \
        else                                                                                       \
            BY_V(M, int64_t);                                                                      \
    } while (0)
#define G_BY_V(I)                                                                                  \
    do {                                                                                           \
        if (v & V_VEC4)                                                                            \
            L_GATHER(I, 4);                                                                        \
        else                                                                                       \
            L_GATHER(I, 1);                                                                        \
    } while (0)
    if (B->kind == KIND_SCATTER) {
        BY_I(L_SCATTER);
    } else if (v & V_POOLED) {
        BY_I(L_POOLED);
    } else {
        if (v & V_IS32)
            G_BY_V(int32_t);
        else
            G_BY_V(int64_t);
    }
#undef L_POOLED
#undef L_GATHER
#undef L_SCATTER
#undef BY_W
#undef BY_V
#undef BY_I
#undef G_BY_V
    CUDA_LAUNCHED(B->ctx,
                  B->kind == KIND_LOOKUP ? "lookup_batched_kernel" : "scatter_batched_kernel");
    return EMBER_STATUS_SUCCESS;
}

/* Launches every waiting table, in variant order (waiting tables never overlap). */
static ember_status flush(batcher *B) {
    for (int v = 0; v < V_COUNT; v++) {
        if (B->pending[v].count == 0) continue;
        ember_status st = launch(B, v, B->pending[v]);
        B->pending[v].count = 0;
        if (st != EMBER_STATUS_SUCCESS) return st;
    }
    B->nranges = 0;
    return EMBER_STATUS_SUCCESS;
}

static void batcher_init(batcher *B, ember_context *ctx, cudaStream_t stream, int kind,
                         int64_t batch, int64_t stride, float alpha) {
    B->ctx = ctx;
    B->stream = stream;
    B->kind = kind;
    B->nranges = 0;
    for (int v = 0; v < V_COUNT; v++) {
        B->pending[v].count = 0;
        B->pending[v].batch = batch;
        B->pending[v].stride = stride;
        B->pending[v].alpha = alpha;
    }
}

/* Queues one table; launches first what must run before it, and a full launch at once. */
static ember_status add(batcher *B, int v, const bt_table &t, int64_t col) {
    if (B->kind == KIND_LOOKUP) {
        const int64_t lo = col, hi = col + t.dim;
        for (int i = 0; i < B->nranges; i++)
            if (lo < B->hi[i] && B->lo[i] < hi) {
                EMBER_FORWARD_IF_ERROR(flush(B));
                break;
            }
        B->lo[B->nranges] = lo;
        B->hi[B->nranges] = hi;
        B->nranges++;
    }
    bt_args &a = B->pending[v];
    a.t[a.count++] = t;
    /* One full launch empties all: keeps the range list short and the order simple. */
    if (a.count == BATCH_MAX) return flush(B);
    return EMBER_STATUS_SUCCESS;
}

static int cmp_ptr(const void *a, const void *b) {
    const uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* 1 when one of the n `written` device pointers is also one of the `read` ones (NULLs
 * ignored): the batched launch would then read what it writes, in another order than the
 * per-table calls. */
static int aliased(const void *const *written, size_t n, const void **read, size_t nr) {
    if (n * nr <= 16384) { /* the usual few tables: a plain scan costs less than a sort */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < nr; j++)
                if (written[i] && written[i] == read[j]) return 1;
        return 0;
    }
    size_t k = 0;
    for (size_t i = 0; i < nr; i++)
        if (read[i]) read[k++] = read[i];
    qsort(read, k, sizeof *read, cmp_ptr);
    for (size_t i = 0; i < n; i++) {
        const uintptr_t key = (uintptr_t)written[i];
        if (!key) continue;
        size_t lo = 0, hi = k;
        while (lo < hi) {
            const size_t mid = (lo + hi) / 2;
            const uintptr_t x = (uintptr_t)read[mid];
            if (x == key) return 1;
            if (x < key)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    return 0;
}

static const void *handle_of(const ember_buffer *const *arr, int64_t t) {
    return arr && arr[t] ? arr[t]->handle : NULL;
}

/* The per-table fallback of the lookup. */
static ember_status lookup_each(ember_context *ctx, int64_t nt, const ember_lookup_desc *d,
                                const ember_buffer *const *tables,
                                const ember_buffer *const *indices,
                                const ember_buffer *const *offsets,
                                const ember_buffer *const *weights, ember_buffer *out) {
    for (int64_t t = 0; t < nt; t++)
        EMBER_FORWARD_IF_ERROR(cuda_lookup(ctx, &d[t], tables[t], indices[t],
                                           offsets ? offsets[t] : NULL, weights ? weights[t] : NULL,
                                           out));
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status cuda_lookup_batched(ember_context *ctx, int64_t nt,
                                            const ember_lookup_desc *d,
                                            const ember_buffer *const *tables,
                                            const ember_buffer *const *indices,
                                            const ember_buffer *const *offsets,
                                            const ember_buffer *const *weights, ember_buffer *out) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    if (nt <= 0 || d[0].batch == 0) {
        cuda_written(ctx, out->handle);
        return EMBER_STATUS_SUCCESS;
    }
    /* Every input the kernel reads, against the one buffer it writes. */
    const void **reads = (const void **)malloc((size_t)nt * 4 * sizeof(void *));
    EMBER_RETURN_IF(!reads, ctx, EMBER_STATUS_OUT_OF_MEMORY, "cannot allocate %lld pointers",
                    (long long)nt * 4);
    for (int64_t t = 0; t < nt; t++) {
        reads[4 * t] = handle_of(tables, t);
        reads[4 * t + 1] = handle_of(indices, t);
        reads[4 * t + 2] = handle_of(offsets, t);
        reads[4 * t + 3] = handle_of(weights, t);
    }
    const void *outp = out->handle;
    const int alias = aliased(&outp, 1, reads, (size_t)nt * 4);
    free(reads);
    if (alias) return lookup_each(ctx, nt, d, tables, indices, offsets, weights, out);

    cuda_written(ctx, out->handle);
    batcher *B = (batcher *)malloc(sizeof *B);
    EMBER_RETURN_IF(!B, ctx, EMBER_STATUS_OUT_OF_MEMORY, "cannot allocate the launch list");
    batcher_init(B, ctx, m->stream, KIND_LOOKUP, d[0].batch, d[0].out_row_stride, 0.0f);
    ember_status st = EMBER_STATUS_SUCCESS;
    for (int64_t t = 0; t < nt && st == EMBER_STATUS_SUCCESS; t++) {
        const ember_lookup_desc *dt = &d[t];
        const int pooled = dt->pooling != EMBER_POOLING_NONE;
        bt_table e;
        memset(&e, 0, sizeof e);
        e.table = (const float *)tables[t]->handle;
        e.dst = (float *)out->handle + dt->out_col_offset;
        e.idx = indices[t] ? indices[t]->handle : NULL;
        e.off = pooled ? offsets[t]->handle : NULL;
        e.w = pooled && weights && weights[t] ? (const float *)weights[t]->handle : NULL;
        e.dim = dt->dim;
        e.pad = pooled ? dt->padding_idx : -1; /* unpooled: the padding row is read too */
        e.mean = dt->pooling == EMBER_POOLING_MEAN;
        e.accumulate = dt->accumulate;
        /* The variant cuda_lookup would choose for this table alone. */
        const int vec4 = cuda_vec4_ok(dt->dim, dt->out_row_stride, e.dst) &&
                         cuda_vec4_ok(dt->dim, dt->dim, e.table);
        const int v = (dt->index_type == EMBER_INDEX_INT32 ? V_IS32 : 0) | (vec4 ? V_VEC4 : 0) |
                      (e.w ? V_WEIGHTED : 0) | (pooled ? V_POOLED : 0);
        st = add(B, v, e, dt->out_col_offset);
    }
    if (st == EMBER_STATUS_SUCCESS) st = flush(B);
    free(B);
    return st;
}

extern "C" ember_status
cuda_backward_update_batched(ember_context *ctx, int64_t nt, const ember_lookup_desc *d,
                             const ember_buffer *const *indices, const ember_buffer *const *offsets,
                             const ember_buffer *const *weights, const ember_buffer *grad_out,
                             ember_reduction_mode mode, const ember_optimizer *opt,
                             ember_buffer *const *tables, ember_buffer *const *states) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    /* One launch for the ATOMIC plain-SGD path (a scatter of -lr * g straight into the
     * weights); every other update needs its rows grouped per table anyway. */
    int batched = mode == EMBER_REDUCTION_ATOMIC && opt->kind == EMBER_OPTIMIZER_SGD &&
                  opt->weight_decay == 0.0f && nt > 0 && d[0].batch > 0;
    if (batched) {
        const void **reads = (const void **)malloc(((size_t)nt * 3 + 1) * sizeof(void *));
        const void **writes = (const void **)malloc((size_t)nt * sizeof(void *));
        if (!reads || !writes) {
            free(reads), free(writes);
            return ember_error(ctx, EMBER_STATUS_OUT_OF_MEMORY, "cannot allocate %lld pointers",
                               (long long)nt * 4);
        }
        for (int64_t t = 0; t < nt; t++) {
            reads[3 * t] = handle_of(indices, t);
            reads[3 * t + 1] = handle_of(offsets, t);
            reads[3 * t + 2] = handle_of(weights, t);
            writes[t] = tables[t]->handle;
        }
        reads[3 * nt] = grad_out->handle;
        batched = !aliased(writes, (size_t)nt, reads, (size_t)nt * 3 + 1);
        free(reads), free(writes);
    }
    if (!batched) {
        for (int64_t t = 0; t < nt; t++)
            EMBER_FORWARD_IF_ERROR(cuda_backward_update(
                ctx, &d[t], indices[t], offsets ? offsets[t] : NULL, weights ? weights[t] : NULL,
                grad_out, mode, opt, tables[t], states ? states[t] : NULL));
        return EMBER_STATUS_SUCCESS;
    }
    for (int64_t t = 0; t < nt; t++) {
        cuda_written(ctx, tables[t]->handle);
        if (states && states[t]) cuda_written(ctx, states[t]->handle);
    }
    batcher *B = (batcher *)malloc(sizeof *B);
    EMBER_RETURN_IF(!B, ctx, EMBER_STATUS_OUT_OF_MEMORY, "cannot allocate the launch list");
    batcher_init(B, ctx, m->stream, KIND_SCATTER, d[0].batch, d[0].out_row_stride,
                 -opt->learning_rate);
    ember_status st = EMBER_STATUS_SUCCESS;
    for (int64_t t = 0; t < nt && st == EMBER_STATUS_SUCCESS; t++) {
        const ember_lookup_desc *dt = &d[t];
        if (dt->num_indices == 0) continue; /* as cuda_backward_update: nothing to do */
        const int pooled = dt->pooling != EMBER_POOLING_NONE;
        bt_table e;
        memset(&e, 0, sizeof e);
        e.dst = (float *)tables[t]->handle;
        e.grad = (const float *)grad_out->handle + dt->out_col_offset;
        e.idx = indices[t]->handle;
        e.off = pooled ? offsets[t]->handle : NULL;
        e.w = weights && weights[t] ? (const float *)weights[t]->handle : NULL;
        e.dim = dt->dim;
        e.pad = dt->padding_idx;
        e.mean = dt->pooling == EMBER_POOLING_MEAN;
        /* The variant the one-table scatter would choose. */
        const int vec4 = cuda_vec4_ok(dt->dim, dt->out_row_stride, e.grad) &&
                         cuda_vec4_ok(dt->dim, dt->dim, e.dst);
        const int v = (dt->index_type == EMBER_INDEX_INT32 ? V_IS32 : 0) | (vec4 ? V_VEC4 : 0) |
                      (e.w ? V_WEIGHTED : 0);
        st = add(B, v, e, dt->out_col_offset);
    }
    if (st == EMBER_STATUS_SUCCESS) st = flush(B);
    free(B);
    return st;
}
