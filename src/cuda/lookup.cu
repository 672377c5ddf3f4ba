// lookup.cu: embedding lookup (gather and SUM/MEAN bags): one warp per bag, lanes over the
// columns (float4 where the layout allows), each bag's rows summed in index order from +0.0f
// exactly as the CPU backend does, so the result is bit-identical to it.
#include "cuda/cuda_common.cuh"

/* Rows fetched before the first is added: keeps several loads per lane in flight. */
#define LOOKUP_UNROLL 16
#define LOOKUP_BLOCK 64 /* small blocks spread a small batch over all multiprocessors */

template <typename I, int V, bool WEIGHTED>
static __global__ void __launch_bounds__(LOOKUP_BLOCK)
lookup_kernel(const float *__restrict__ table, const void *__restrict__ idx,
              const void *__restrict__ off, const float *__restrict__ w, float *__restrict__ out,
              int64_t batch, int64_t dim, int64_t stride, int64_t pad, int mean, int accumulate) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t b = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5; b < batch; b += warps) {
        int64_t s, e;
        if (off) {
            s = idx_at<I>(off, b);
            e = idx_at<I>(off, b + 1);
        } else {
            s = b;
            e = b + 1;
        }
        float *o = out + b * stride;
        for (int64_t cb = 0; cb < dim; cb += 32 * V) { /* warp-uniform: shuffles inside */
            const int64_t c = cb + lane * V;
            const bool active = c < dim;
            fvec<V> acc = fvec_zero<V>();
            int cnt = 0;
            for (int64_t base = s; base < e; base += 32) {
                const int m = (int)(e - base < 32 ? e - base : 32);
                int64_t my = -1;
                float myw = 0.0f;
                if (lane < m) {
                    my = idx_at<I>(idx, base + lane);
                    if (WEIGHTED) myw = __ldg(w + base + lane);
                }
                for (int j = 0; j < m; j += LOOKUP_UNROLL) {
                    fvec<V> r[LOOKUP_UNROLL];
                    int64_t rid[LOOKUP_UNROLL];
                    float rw[LOOKUP_UNROLL];
#pragma unroll
                    for (int u = 0; u < LOOKUP_UNROLL; u++) {
                        rid[u] = __shfl_sync(0xffffffffu, my, (j + u) & 31);
                        rw[u] = WEIGHTED ? __shfl_sync(0xffffffffu, myw, (j + u) & 31) : 0.0f;
                        if (active && j + u < m && rid[u] != pad)
                            r[u] = fvec_load<V>(table + rid[u] * dim + c);
                    }
#pragma unroll
                    for (int u = 0; u < LOOKUP_UNROLL; u++) {
                        if (j + u < m && rid[u] != pad) {
                            cnt++;
                            if (active) {
#pragma unroll
                                for (int k = 0; k < V; k++)
                                    acc.v[k] += WEIGHTED ? rw[u] * r[u].v[k] : r[u].v[k];
                            }
                        }
                    }
                }
            }
            if (!active) continue;
            if (mean && cnt > 0) {
                const float cf = (float)cnt;
#pragma unroll
                for (int k = 0; k < V; k++) acc.v[k] = acc.v[k] / cf;
            }
            if (accumulate) {
                fvec<V> prev = fvec_load_rw<V>(o + c);
#pragma unroll
                for (int k = 0; k < V; k++) acc.v[k] = prev.v[k] + acc.v[k];
            }
            fvec_store<V>(o + c, acc);
        }
    }
}

/* POOLING_NONE: one output row per index. A warp takes 32 consecutive positions (their
 * indices in one coalesced load) and keeps GATHER_UNROLL rows in flight. The row is added
 * to +0.0f as the CPU's one-row bag is (so -0.0 becomes +0.0 there too). */
#define GATHER_UNROLL 16
template <typename I, int V>
static __global__ void __launch_bounds__(LOOKUP_BLOCK)
gather_kernel(const float *__restrict__ table, const void *__restrict__ idx,
              float *__restrict__ out, int64_t n, int64_t dim, int64_t stride, int64_t pad,
              int accumulate) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t base = ((blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5) * 32; base < n;
         base += warps * 32) {
        const int m = (int)(n - base < 32 ? n - base : 32);
        const int64_t my = lane < m ? idx_at<I>(idx, base + lane) : pad;
        for (int64_t cb = 0; cb < dim; cb += 32 * V) { /* warp-uniform: shuffles inside */
            const int64_t c = cb + lane * V;
            const bool active = c < dim;
            for (int j = 0; j < m; j += GATHER_UNROLL) {
                fvec<V> r[GATHER_UNROLL];
                int64_t rid[GATHER_UNROLL];
#pragma unroll
                for (int u = 0; u < GATHER_UNROLL; u++) {
                    rid[u] = __shfl_sync(0xffffffffu, my, (j + u) & 31);
                    r[u] = fvec_zero<V>();
                    if (active && j + u < m && rid[u] != pad)
                        r[u] = fvec_load<V>(table + rid[u] * dim + c);
                }
                if (!active) continue;
#pragma unroll
                for (int u = 0; u < GATHER_UNROLL; u++) {
                    if (j + u >= m) break;
                    float *o = out + (base + j + u) * stride + c;
                    fvec<V> v;
#pragma unroll
                    for (int k = 0; k < V; k++) v.v[k] = 0.0f + r[u].v[k];
                    if (accumulate) {
                        const fvec<V> prev = fvec_load_rw<V>(o);
#pragma unroll
                        for (int k = 0; k < V; k++) v.v[k] = prev.v[k] + v.v[k];
                    }
                    fvec_store<V>(o, v);
                }
            }
        }
    }
}

template <typename I, int V>
static void launch(unsigned blocks, cudaStream_t st, const float *table, const void *idx,
                   const void *off, const float *w, float *out, const ember_lookup_desc *d) {
    const int mean = d->pooling == EMBER_POOLING_MEAN;
    if (!off) {
        const unsigned gb = ember_cuda_blocks((d->batch + 31) / 32, LOOKUP_BLOCK / 32, 1u << 30);
        gather_kernel<I, V><<<gb, LOOKUP_BLOCK, 0, st>>>(table, idx, out, d->batch, d->dim,
                                                         d->out_row_stride, d->padding_idx,
                                                         d->accumulate);
        return;
    }
    if (w)
        lookup_kernel<I, V, true><<<blocks, LOOKUP_BLOCK, 0, st>>>(
            table, idx, off, w, out, d->batch, d->dim, d->out_row_stride, d->padding_idx, mean,
            d->accumulate);
    else
        lookup_kernel<I, V, false><<<blocks, LOOKUP_BLOCK, 0, st>>>(
            table, idx, off, w, out, d->batch, d->dim, d->out_row_stride, d->padding_idx, mean,
            d->accumulate);
}

extern "C" ember_status ember_cuda_lookup(ember_context *ctx, const ember_lookup_desc *desc,
                                          const ember_buffer *table, const ember_buffer *indices,
                                          const ember_buffer *offsets, const ember_buffer *weights,
                                          ember_buffer *out) {
    ember_cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(ember_cuda_enter(ctx, &m));
    ember_cuda_written(ctx, out->handle);
    if (desc->batch == 0) return EMBER_STATUS_SUCCESS;
    const float *t = (const float *)table->handle;
    float *o = (float *)out->handle + desc->out_col_offset;
    const void *idx = indices ? indices->handle : NULL;
    const void *off = desc->pooling == EMBER_POOLING_NONE ? NULL : offsets->handle;
    const float *w = weights ? (const float *)weights->handle : NULL;
    const int vec4 = ember_cuda_vec4_ok(desc->dim, desc->out_row_stride, o) &&
                     ember_cuda_vec4_ok(desc->dim, desc->dim, t);
    unsigned blocks = ember_cuda_blocks(desc->batch, LOOKUP_BLOCK / 32, 1u << 30);
    const int is32 = desc->index_type == EMBER_INDEX_INT32;
    if (is32) {
        if (vec4) launch<int32_t, 4>(blocks, m->stream, t, idx, off, w, o, desc);
        else launch<int32_t, 1>(blocks, m->stream, t, idx, off, w, o, desc);
    } else {
        if (vec4) launch<int64_t, 4>(blocks, m->stream, t, idx, off, w, o, desc);
        else launch<int64_t, 1>(blocks, m->stream, t, idx, off, w, o, desc);
    }
    EMBER_CUDA_LAUNCHED(ctx, "lookup_kernel");
    return EMBER_STATUS_SUCCESS;
}
