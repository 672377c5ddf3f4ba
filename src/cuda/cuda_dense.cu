// cuda_dense.cu: the dense layer Y = act(X W^T + b) and its backward through cuBLAS (row-major
// data seen as column-major transposes), with small kernels for bias, ReLU and its mask.
#include "cuda/cuda_common.cuh"

/* y[i][j] = act(y[i][j] + b[j]) */
static __global__ void bias_act_kernel(float *y, const float *__restrict__ b, int64_t rows,
                                       int64_t cols, int relu) {
    const int64_t n = rows * cols;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float v = y[i];
        if (b) v = v + __ldg(b + i % cols);
        if (relu) v = v > 0.0f ? v : 0.0f;
        y[i] = v;
    }
}

/* dy = dy * (y > 0): the ReLU's pre-activation gradient (NaN in y propagates as 0, as
 * the comparison is false, matching the CPU's (y > 0) mask). */
static __global__ void relu_mask_kernel(float *dy, const float *__restrict__ y, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        dy[i] = __ldg(y + i) > 0.0f ? dy[i] : 0.0f;
}

static int fits_int(int64_t v) {
    return v >= 0 && v <= INT32_MAX;
}

extern "C" ember_status cuda_dense_forward(ember_context *ctx, int64_t batch, int64_t in,
                                           int64_t out, const ember_buffer *x,
                                           const ember_buffer *w, const ember_buffer *b,
                                           ember_activation act, ember_buffer *y) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    cuda_written(ctx, y->handle);
    EMBER_RETURN_IF(!fits_int(batch) || !fits_int(in) || !fits_int(out), ctx,
                    EMBER_STATUS_NOT_SUPPORTED, "cuBLAS takes dimensions below 2^31");
    float *Y = (float *)y->handle;
    if (in == 0) {
        CUDA_TRY(ctx, cudaMemsetAsync(Y, 0, (size_t)batch * (size_t)out * 4, m->stream));
    } else {
        /* Column-major: Y^T [out x batch] = W [out x in] (W_rm seen as W^T, transposed)
         * times X^T [in x batch]. */
        const float one = 1.0f, zero = 0.0f;
        EMBER_CUBLAS_TRY(ctx, cublasSgemm(m->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)out, (int)batch,
                                          (int)in, &one, (const float *)w->handle, (int)in,
                                          (const float *)x->handle, (int)in, &zero, Y, (int)out));
    }
    if (b || act == EMBER_ACTIVATION_RELU) {
        const int64_t n = batch * out;
        bias_act_kernel<<<cuda_blocks(n, CUDA_BLOCK, (unsigned)m->sm_count * 16), CUDA_BLOCK, 0,
                          m->stream>>>(Y, b ? (const float *)b->handle : NULL, batch, out,
                                       act == EMBER_ACTIVATION_RELU);
        CUDA_LAUNCHED(ctx, "bias_act_kernel");
    }
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status cuda_dense_backward(ember_context *ctx, int64_t batch, int64_t in,
                                            int64_t out, const ember_buffer *x,
                                            const ember_buffer *w, const ember_buffer *y,
                                            ember_buffer *dy, ember_activation act,
                                            ember_buffer *dx, ember_buffer *dw, ember_buffer *db) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    if (dx) cuda_written(ctx, dx->handle);
    cuda_written(ctx, dw->handle);
    if (db) cuda_written(ctx, db->handle);
    cuda_written(ctx, dy->handle);
    EMBER_RETURN_IF(!fits_int(batch) || !fits_int(in) || !fits_int(out), ctx,
                    EMBER_STATUS_NOT_SUPPORTED, "cuBLAS takes dimensions below 2^31");
    float *DY = (float *)dy->handle;
    if (act == EMBER_ACTIVATION_RELU && batch > 0 && out > 0) {
        const int64_t n = batch * out;
        relu_mask_kernel<<<cuda_blocks(n, CUDA_BLOCK, (unsigned)m->sm_count * 16), CUDA_BLOCK, 0,
                           m->stream>>>(DY, (const float *)y->handle, n);
        CUDA_LAUNCHED(ctx, "relu_mask_kernel");
    }
    const float one = 1.0f, zero = 0.0f;
    if (batch == 0) {
        /* No samples: the weight and bias gradients are zero (overwritten), dx is empty. */
        if (in > 0 && out > 0)
            CUDA_TRY(ctx, cudaMemsetAsync(dw->handle, 0, (size_t)out * (size_t)in * 4, m->stream));
        if (db && out > 0)
            CUDA_TRY(ctx, cudaMemsetAsync(db->handle, 0, (size_t)out * 4, m->stream));
        return EMBER_STATUS_SUCCESS;
    }
    if (out == 0) {
        if (dx && in > 0)
            CUDA_TRY(ctx,
                     cudaMemsetAsync(dx->handle, 0, (size_t)batch * (size_t)in * 4, m->stream));
        return EMBER_STATUS_SUCCESS;
    }
    if (dx && in > 0) {
        /* dX^T [in x batch] = W^T [in x out] (W_rm as is) times dY^T [out x batch]. */
        EMBER_CUBLAS_TRY(ctx, cublasSgemm(m->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)in, (int)batch,
                                          (int)out, &one, (const float *)w->handle, (int)in, DY,
                                          (int)out, &zero, (float *)dx->handle, (int)in));
    }
    if (in > 0) {
        /* dW^T [in x out] = X^T [in x batch] times dY [batch x out] (dY^T transposed). */
        EMBER_CUBLAS_TRY(ctx, cublasSgemm(m->blas, CUBLAS_OP_N, CUBLAS_OP_T, (int)in, (int)out,
                                          (int)batch, &one, (const float *)x->handle, (int)in, DY,
                                          (int)out, &zero, (float *)dw->handle, (int)in));
    }
    if (db) {
        /* db = dY^T [out x batch] times ones: column sums through cuBLAS. */
        const float *ones;
        EMBER_FORWARD_IF_ERROR(cuda_ones(ctx, (size_t)batch, &ones));
        EMBER_CUBLAS_TRY(ctx, cublasSgemv(m->blas, CUBLAS_OP_N, (int)out, (int)batch, &one, DY,
                                          (int)out, ones, 1, &zero, (float *)db->handle, 1));
    }
    return EMBER_STATUS_SUCCESS;
}
