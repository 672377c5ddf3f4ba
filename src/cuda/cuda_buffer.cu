// cuda_buffer.cu: device buffers: plain cudaMalloc (never managed memory) and explicit copies.
#include "cuda/cuda_common.cuh"

extern "C" ember_status cuda_buffer_alloc(ember_context *ctx, size_t bytes, void **handle) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    EMBER_FORWARD_IF_ERROR(cuda_malloc(ctx, bytes, handle, "a buffer"));
    cuda_written(ctx, *handle); /* a reused address must not inherit an old check */
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status cuda_buffer_wrap_check(ember_context *ctx, void *native, size_t bytes) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    (void)bytes; /* the runtime API does not say how large an allocation is */
    cudaPointerAttributes a;
    cudaError_t err = cudaPointerGetAttributes(&a, native);
    cudaGetLastError();
    EMBER_RETURN_IF(err != cudaSuccess, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "CUDA: cannot tell what the memory to wrap is (cudaPointerGetAttributes: %s)",
                    cudaGetErrorString(err));
    EMBER_RETURN_IF(a.type != cudaMemoryTypeDevice && a.type != cudaMemoryTypeManaged, ctx,
                    EMBER_STATUS_INVALID_ARGUMENT,
                    "CUDA: the memory to wrap is not device memory (host or unregistered)");
    EMBER_RETURN_IF(a.device != m->device, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "CUDA: the memory to wrap is device %d's, this context is on device %d",
                    a.device, m->device);
    return EMBER_STATUS_SUCCESS;
}

extern "C" void cuda_buffer_free(ember_context *ctx, void *handle) {
    cuda_impl *m;
    if (!handle || cuda_enter(ctx, &m) != EMBER_STATUS_SUCCESS) return;
    cuda_written(ctx, handle);
    /* Queued kernels may still read it: cudaFree waits for the device, but be explicit. */
    cudaStreamSynchronize(m->stream);
    cudaFree(handle);
    cudaGetLastError();
}

extern "C" ember_status cuda_buffer_upload(ember_context *ctx, void *handle, size_t offset,
                                           const void *src, size_t bytes) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    cuda_written(ctx, handle);
    CUDA_TRY(ctx, cudaMemcpyAsync((char *)handle + offset, src, bytes, cudaMemcpyHostToDevice,
                                  m->stream));
    /* The caller may reuse src as soon as we return. */
    CUDA_TRY(ctx, cudaStreamSynchronize(m->stream));
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status cuda_buffer_download(ember_context *ctx, const void *handle, size_t offset,
                                             void *dst, size_t bytes) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    CUDA_TRY(ctx, cudaMemcpyAsync(dst, (const char *)handle + offset, bytes, cudaMemcpyDeviceToHost,
                                  m->stream));
    CUDA_TRY(ctx, cudaStreamSynchronize(m->stream));
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status cuda_buffer_zero(ember_context *ctx, void *handle, size_t offset,
                                         size_t bytes) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    cuda_written(ctx, handle);
    CUDA_TRY(ctx, cudaMemsetAsync((char *)handle + offset, 0, bytes, m->stream));
    return EMBER_STATUS_SUCCESS;
}
