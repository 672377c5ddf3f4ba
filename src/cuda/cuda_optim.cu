// cuda_optim.cu: optimizer steps: sparse (a coalesced gradient applied to the rows it names, one
// warp per row) and dense (elementwise over a parameter vector).
#include "cuda/cuda_optim.cuh"

#define STEP_BLOCK 64

template <int V>
static __global__ void __launch_bounds__(STEP_BLOCK)
    sparse_step_kernel(ember_opt_params o, int64_t dim, float *table, float *state,
                       const int64_t *__restrict__ ids, const float *__restrict__ grads,
                       int64_t nu) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t r = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5; r < nu; r += warps) {
        const int64_t row = ids[r];
        float *wrow = table + row * dim;
        const float *grow = grads + r * dim;
        if (o.kind == EMBER_OPTIMIZER_ROWWISE_ADAGRAD) {
            float ss = 0.0f;
            for (int64_t cb = 0; cb < dim; cb += 32 * V) { /* warp-uniform: shuffles inside */
                const int64_t c = cb + lane * V;
                fvec<V> sq = fvec_zero<V>();
                if (c < dim) {
                    fvec<V> g = fvec_load<V>(grow + c), w = fvec_load_rw<V>(wrow + c);
#pragma unroll
                    for (int k = 0; k < V; k++) {
                        const float gd = opt_decayed(o, g.v[k], w.v[k]);
                        sq.v[k] = gd * gd;
                    }
                }
                ss = ordered_row_sum<V>(ss, sq, cb, dim);
            }
            const float s_new = state[row] + ss / (float)dim;
            const float denom = sqrtf(s_new) + o.eps;
            for (int64_t c = lane * V; c < dim; c += 32 * V) {
                fvec<V> g = fvec_load<V>(grow + c), w = fvec_load_rw<V>(wrow + c);
#pragma unroll
                for (int k = 0; k < V; k++) {
                    const float gd = opt_decayed(o, g.v[k], w.v[k]);
                    w.v[k] = w.v[k] - o.lr * gd / denom;
                }
                fvec_store<V>(wrow + c, w);
            }
            __syncwarp();
            if (lane == 0) state[row] = s_new;
            continue;
        }
        float *srow = state ? state + row * dim : NULL;
        for (int64_t c = lane * V; c < dim; c += 32 * V) {
            fvec<V> g = fvec_load<V>(grow + c);
#pragma unroll
            for (int k = 0; k < V; k++)
                opt_elem(o, wrow + c + k, srow ? srow + c + k : NULL, NULL, g.v[k]);
        }
    }
}

extern "C" ember_status cuda_sparse_step(ember_context *ctx, const ember_optimizer *opt,
                                         int64_t num_rows, int64_t dim, ember_buffer *table,
                                         ember_buffer *state, const ember_buffer *unique_ids,
                                         const ember_buffer *unique_grads, int64_t num_unique) {
    (void)num_rows;
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    cuda_written(ctx, table->handle);
    if (state) cuda_written(ctx, state->handle);
    const ember_opt_params o = ember_opt_params_make(opt);
    float *t = (float *)table->handle;
    float *s = state ? (float *)state->handle : NULL;
    const float *g = (const float *)unique_grads->handle;
    const int vec4 = cuda_vec4_ok(dim, dim, t) && cuda_vec4_ok(dim, dim, g) &&
                     (!s || o.kind == EMBER_OPTIMIZER_ROWWISE_ADAGRAD || cuda_vec4_ok(dim, dim, s));
    const unsigned blocks = cuda_blocks(num_unique, STEP_BLOCK / 32, 1u << 30);
    if (vec4)
        sparse_step_kernel<4><<<blocks, STEP_BLOCK, 0, m->stream>>>(
            o, dim, t, s, (const int64_t *)unique_ids->handle, g, num_unique);
    else
        sparse_step_kernel<1><<<blocks, STEP_BLOCK, 0, m->stream>>>(
            o, dim, t, s, (const int64_t *)unique_ids->handle, g, num_unique);
    CUDA_LAUNCHED(ctx, "sparse_step_kernel");
    return EMBER_STATUS_SUCCESS;
}

static __global__ void dense_step_kernel(ember_opt_params o, int64_t n, float *param,
                                         const float *__restrict__ grad, float *state,
                                         float *state2) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        opt_elem(o, param + i, state ? state + i : NULL, state2 ? state2 + i : NULL,
                 __ldg(grad + i));
}

extern "C" ember_status cuda_dense_step(ember_context *ctx, const ember_optimizer *opt, int64_t n,
                                        ember_buffer *param, const ember_buffer *grad,
                                        ember_buffer *state, ember_buffer *state2) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    cuda_written(ctx, param->handle);
    if (state) cuda_written(ctx, state->handle);
    if (state2) cuda_written(ctx, state2->handle);
    const ember_opt_params o = ember_opt_params_make(opt);
    dense_step_kernel<<<cuda_blocks(n, CUDA_BLOCK, (unsigned)m->sm_count * 16), CUDA_BLOCK, 0,
                        m->stream>>>(o, n, (float *)param->handle, (const float *)grad->handle,
                                     state ? (float *)state->handle : NULL,
                                     state2 ? (float *)state2->handle : NULL);
    CUDA_LAUNCHED(ctx, "dense_step_kernel");
    return EMBER_STATUS_SUCCESS;
}
