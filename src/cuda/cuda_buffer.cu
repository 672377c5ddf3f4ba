// cuda_memory.cu: device buffers: plain cudaMalloc (never managed memory) and explicit copies.
#include "cuda/cuda_common.cuh"

extern "C" ember_status ember_cuda_buffer_alloc(ember_context *ctx, size_t bytes, void **handle) {
    ember_cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(ember_cuda_enter(ctx, &m));
    EMBER_FORWARD_IF_ERROR(ember_cuda_malloc(ctx, bytes, handle, "a buffer"));
    ember_cuda_written(ctx, *handle); /* a reused address must not inherit an old check */
    return EMBER_STATUS_SUCCESS;
}

extern "C" void ember_cuda_buffer_free(ember_context *ctx, void *handle) {
    ember_cuda_impl *m;
    if (!handle || ember_cuda_enter(ctx, &m) != EMBER_STATUS_SUCCESS) return;
    ember_cuda_written(ctx, handle);
    /* Queued kernels may still read it: cudaFree waits for the device, but be explicit. */
    cudaStreamSynchronize(m->stream);
    cudaFree(handle);
    cudaGetLastError();
}

extern "C" ember_status ember_cuda_buffer_upload(ember_context *ctx, void *handle, size_t offset,
                                                 const void *src, size_t bytes) {
    ember_cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(ember_cuda_enter(ctx, &m));
    ember_cuda_written(ctx, handle);
    if (bytes == 0) return EMBER_STATUS_SUCCESS;
    EMBER_CUDA_TRY(ctx, cudaMemcpyAsync((char *)handle + offset, src, bytes,
                                        cudaMemcpyHostToDevice, m->stream));
    /* The caller may reuse src as soon as we return. */
    EMBER_CUDA_TRY(ctx, cudaStreamSynchronize(m->stream));
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status ember_cuda_buffer_download(ember_context *ctx, const void *handle,
                                                   size_t offset, void *dst, size_t bytes) {
    ember_cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(ember_cuda_enter(ctx, &m));
    if (bytes == 0) return EMBER_STATUS_SUCCESS;
    EMBER_CUDA_TRY(ctx, cudaMemcpyAsync(dst, (const char *)handle + offset, bytes,
                                        cudaMemcpyDeviceToHost, m->stream));
    EMBER_CUDA_TRY(ctx, cudaStreamSynchronize(m->stream));
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status ember_cuda_buffer_zero(ember_context *ctx, void *handle, size_t offset,
                                               size_t bytes) {
    ember_cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(ember_cuda_enter(ctx, &m));
    ember_cuda_written(ctx, handle);
    if (bytes == 0) return EMBER_STATUS_SUCCESS;
    EMBER_CUDA_TRY(ctx, cudaMemsetAsync((char *)handle + offset, 0, bytes, m->stream));
    return EMBER_STATUS_SUCCESS;
}
