// cuda_head.cu: the sigmoid output head: a stable sigmoid and binary cross-entropy with logits
// (mean loss, reduced in a fixed order so it is the same every run, and its gradient).
#include "cuda/cuda_common.cuh"

#define HEAD_REDUCE_THREADS 512

/* exp of a non-positive number only: never overflows. */
__device__ __forceinline__ float stable_sigmoid(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    const float e = expf(x);
    return e / (1.0f + e);
}

static __global__ void sigmoid_kernel(const float *__restrict__ x, float *y, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = stable_sigmoid(__ldg(x + i));
}

extern "C" ember_status cuda_sigmoid(ember_context *ctx, int64_t n, const ember_buffer *x,
                                     ember_buffer *y) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    cuda_written(ctx, y->handle);
    sigmoid_kernel<<<cuda_blocks(n, CUDA_BLOCK, (unsigned)m->sm_count * 16), CUDA_BLOCK, 0,
                     m->stream>>>((const float *)x->handle, (float *)y->handle, n);
    CUDA_LAUNCHED(ctx, "sigmoid_kernel");
    return EMBER_STATUS_SUCCESS;
}

/* One block: thread t sums elements t, t+T, ... in double, then a fixed tree (the same
 * order every run). */
static __global__ void __launch_bounds__(HEAD_REDUCE_THREADS)
    bce_kernel(const float *__restrict__ x, const float *__restrict__ t, int64_t n, float *loss,
               float *grad) {
    __shared__ double part[HEAD_REDUCE_THREADS];
    double s = 0.0;
    const float nf = (float)n;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        const float xi = __ldg(x + i), ti = __ldg(t + i);
        /* In double, as the CPU backend, so the mean keeps its digits. */
        const double xv = (double)xi, tv = (double)ti;
        /* A non-finite logit: PyTorch's value, as the CPU backend's bce_term. */
        if (!isfinite(xv))
            s += xv > 0.0 && tv < 1.0 ? (double)INFINITY : (double)NAN;
        else
            s += (xv > 0.0 ? xv : 0.0) - xv * tv + log1p(exp(-fabs(xv)));
        if (grad) grad[i] = (stable_sigmoid(xi) - ti) / nf;
    }
    part[threadIdx.x] = s;
    __syncthreads();
    for (int w = HEAD_REDUCE_THREADS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) *loss = n > 0 ? (float)(part[0] / (double)n) : 0.0f;
}

extern "C" ember_status cuda_bce_with_logits(ember_context *ctx, int64_t n,
                                             const ember_buffer *logits, const ember_buffer *labels,
                                             float *loss, ember_buffer *grad) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    if (grad) cuda_written(ctx, grad->handle);
    bce_kernel<<<1, HEAD_REDUCE_THREADS, 0, m->stream>>>(
        (const float *)logits->handle, (const float *)labels->handle, n, m->loss_dev,
        grad ? (float *)grad->handle : NULL);
    CUDA_LAUNCHED(ctx, "bce_kernel");
    if (loss) {
        CUDA_TRY(ctx, cudaMemcpyAsync(m->loss_host, m->loss_dev, sizeof(float),
                                      cudaMemcpyDeviceToHost, m->stream));
        CUDA_TRY(ctx, cudaStreamSynchronize(m->stream));
        *loss = *m->loss_host;
    }
    return EMBER_STATUS_SUCCESS;
}
