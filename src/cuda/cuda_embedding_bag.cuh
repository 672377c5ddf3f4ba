/* cuda_embedding_bag.cuh: the per-bag device code of the embedding lookup and of the ATOMIC
 * backward scatter, shared by the one-table kernels (cuda_lookup.cu, cuda_backward.cu) and the
 * table-batched kernels (cuda_batched.cu), so both paths compute every bag with the very same
 * instructions and the batched results are bit-identical to the per-table ones.
 * Every function here is called by all 32 lanes of a warp with warp-uniform arguments
 * (they shuffle inside). */
#ifndef EMBER_CUDA_EMBEDDING_BAG_CUH
#define EMBER_CUDA_EMBEDDING_BAG_CUH

#include "cuda/cuda_common.cuh"

/* Rows fetched before the first is added: keeps several loads per lane in flight. */
#define LOOKUP_UNROLL 16
#define LOOKUP_BLOCK 64 /* small blocks spread a small batch over all multiprocessors */
#define GATHER_UNROLL 16
#define BWD_BLOCK 64

/* Pooled lookup of bag b (offsets given): its rows summed in index order from +0.0f exactly
 * as the CPU backend does, MEAN divides by the count of non-padding rows, then written (or
 * added, with accumulate) to out + b * stride (out has the column offset applied). */
template <typename I, int V, bool WEIGHTED>
static __device__ __forceinline__ void
lookup_bag(const float *__restrict__ table, const void *__restrict__ idx,
           const void *__restrict__ off, const float *__restrict__ w, float *__restrict__ out,
           int64_t b, int64_t dim, int64_t stride, int64_t pad, int mean, int accumulate,
           int lane) {
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

/* POOLING_NONE: output rows base .. base+31 (fewer at the end: n rows in all), one per
 * index; the 32 indices in one coalesced load, GATHER_UNROLL rows in flight. The row is
 * added to +0.0f as the CPU's one-row bag is (so -0.0 becomes +0.0 there too). */
template <typename I, int V>
static __device__ __forceinline__ void
gather_group(const float *__restrict__ table, const void *__restrict__ idx, float *__restrict__ out,
             int64_t base, int64_t n, int64_t dim, int64_t stride, int64_t pad, int accumulate,
             int lane) {
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

/* ATOMIC backward of bag b: target[row] += alpha * contribution for every row of the bag.
 * alpha is 1 for a gradient and -lr for the fused SGD fast path (rounding may then differ
 * from gradient-then-step, which ATOMIC allows). off NULL: POOLING_NONE (bag b = index b). */
template <int V> __device__ __forceinline__ void atomic_add_vec(float *p, const fvec<V> &v) {
#if __CUDA_ARCH__ >= 900
    if constexpr (V == 4) {
        atomicAdd(reinterpret_cast<float4 *>(p), make_float4(v.v[0], v.v[1], v.v[2], v.v[3]));
    } else
#endif
    {
#pragma unroll
        for (int k = 0; k < V; k++) atomicAdd(p + k, v.v[k]);
    }
}

template <typename I, int V, bool WEIGHTED>
static __device__ __forceinline__ void
scatter_bag(const void *__restrict__ idx, const void *__restrict__ off, const float *__restrict__ w,
            const float *__restrict__ grad, int64_t b, int64_t dim, int64_t stride, int64_t pad,
            int mean, float alpha, float *target, int lane) {
    int64_t s, e;
    if (off) {
        s = idx_at<I>(off, b);
        e = idx_at<I>(off, b + 1);
    } else {
        s = b;
        e = b + 1;
    }
    if (s == e) return;
    float scale = 1.0f;
    if (mean) {
        int cnt = 0;
        for (int64_t p = s + lane; p < e; p += 32) cnt += idx_at<I>(idx, p) != pad;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) cnt += __shfl_xor_sync(0xffffffffu, cnt, o);
        if (cnt == 0) return;
        scale = 1.0f / (float)cnt;
    }
    const float *g_row = grad + b * stride;
    for (int64_t cb = 0; cb < dim; cb += 32 * V) {
        const int64_t c = cb + lane * V;
        const bool active = c < dim;
        fvec<V> g = fvec_zero<V>();
        if (active) {
            g = fvec_load<V>(g_row + c);
            if (mean) {
#pragma unroll
                for (int k = 0; k < V; k++) g.v[k] = g.v[k] * scale;
            }
        }
        for (int64_t base = s; base < e; base += 32) {
            const int m = (int)(e - base < 32 ? e - base : 32);
            int64_t my = -1;
            float myw = 0.0f;
            if (lane < m) {
                my = idx_at<I>(idx, base + lane);
                if (WEIGHTED) myw = __ldg(w + base + lane);
            }
            for (int j = 0; j < m; j++) {
                const int64_t row = __shfl_sync(0xffffffffu, my, j);
                const float ww = WEIGHTED ? __shfl_sync(0xffffffffu, myw, j) : 0.0f;
                if (!active || row == pad) continue;
                fvec<V> cv;
#pragma unroll
                for (int k = 0; k < V; k++) {
                    const float x = WEIGHTED ? g.v[k] * ww : g.v[k];
                    cv.v[k] = alpha * x;
                }
                atomic_add_vec<V>(target + row * dim + c, cv);
            }
        }
    }
}

#endif /* EMBER_CUDA_EMBEDDING_BAG_CUH */
