// cuda_lookup.cu: embedding lookup (gather and SUM/MEAN bags): one warp per bag, lanes over the
// columns (float4 where the layout allows), each bag's rows summed in index order from +0.0f
// exactly as the CPU backend does, so the result is bit-identical to it.
#include "cuda/cuda_embedding_bag.cuh"

/* One warp per bag (cuda_embedding_bag.cuh's lookup_bag). */
template <typename I, int V, bool WEIGHTED>
static __global__ void __launch_bounds__(LOOKUP_BLOCK)
    lookup_kernel(const float *__restrict__ table, const void *__restrict__ idx,
                  const void *__restrict__ off, const float *__restrict__ w,
                  float *__restrict__ out, int64_t batch, int64_t dim, int64_t stride, int64_t pad,
                  int mean, int accumulate) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t b = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5; b < batch; b += warps)
        lookup_bag<I, V, WEIGHTED>(table, idx, off, w, out, b, dim, stride, pad, mean, accumulate,
                                   lane);
}

/* POOLING_NONE: a warp takes 32 consecutive positions (cuda_embedding_bag.cuh's gather_group). */
template <typename I, int V>
static __global__ void __launch_bounds__(LOOKUP_BLOCK)
    gather_kernel(const float *__restrict__ table, const void *__restrict__ idx,
                  float *__restrict__ out, int64_t n, int64_t dim, int64_t stride, int64_t pad,
                  int accumulate) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t base = ((blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5) * 32; base < n;
         base += warps * 32)
        gather_group<I, V>(table, idx, out, base, n, dim, stride, pad, accumulate, lane);
}

template <typename I, int V>
static void launch(unsigned blocks, cudaStream_t st, const float *table, const void *idx,
                   const void *off, const float *w, float *out, const ember_lookup_desc *d) {
    const int mean = d->pooling == EMBER_POOLING_MEAN;
    if (!off) {
        /* Without pooling the padding row is read like any other (PyTorch's F.embedding). */
        const unsigned gb = cuda_blocks((d->batch + 31) / 32, LOOKUP_BLOCK / 32, 1u << 30);
        gather_kernel<I, V><<<gb, LOOKUP_BLOCK, 0, st>>>(table, idx, out, d->batch, d->dim,
                                                         d->out_row_stride, -1, d->accumulate);
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

extern "C" ember_status cuda_lookup(ember_context *ctx, const ember_lookup_desc *desc,
                                    const ember_buffer *table, const ember_buffer *indices,
                                    const ember_buffer *offsets, const ember_buffer *weights,
                                    ember_buffer *out) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    cuda_written(ctx, out->handle);
    const float *t = (const float *)table->handle;
    float *o = (float *)out->handle + desc->out_col_offset;
    const void *idx = indices ? indices->handle : NULL;
    const void *off = desc->pooling == EMBER_POOLING_NONE ? NULL : offsets->handle;
    const float *w = weights ? (const float *)weights->handle : NULL;
    const int vec4 =
        cuda_vec4_ok(desc->dim, desc->out_row_stride, o) && cuda_vec4_ok(desc->dim, desc->dim, t);
    unsigned blocks = cuda_blocks(desc->batch, LOOKUP_BLOCK / 32, 1u << 30);
    const int is32 = desc->index_type == EMBER_INDEX_INT32;
    if (is32) {
        if (vec4)
            launch<int32_t, 4>(blocks, m->stream, t, idx, off, w, o, desc);
        else
            launch<int32_t, 1>(blocks, m->stream, t, idx, off, w, o, desc);
    } else {
        if (vec4)
            launch<int64_t, 4>(blocks, m->stream, t, idx, off, w, o, desc);
        else
            launch<int64_t, 1>(blocks, m->stream, t, idx, off, w, o, desc);
    }
    CUDA_LAUNCHED(ctx, "lookup_kernel");
    return EMBER_STATUS_SUCCESS;
}
