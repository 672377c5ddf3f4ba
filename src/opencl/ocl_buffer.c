/* ocl_buffer.c: device memory of the OpenCL backend: cl_mem buffers, blocking copies, fills. */
#include "opencl/ocl_internal.h"

ember_status ocl_buffer_alloc(ember_context *ctx, size_t bytes, void **handle) {
    ocl_impl *im = ocl_of(ctx);
    /* PoCL, like many drivers, caps one buffer (2 GiB there) below the device memory: say so
     * instead of failing later at first use. */
    if (im->max_alloc && (cl_ulong)bytes > im->max_alloc)
        return ember_error(ctx, EMBER_STATUS_OUT_OF_MEMORY,
                           "OpenCL: buffer of %zu bytes asked, but the largest single buffer "
                           "\"%s\" allows is %llu bytes (CL_DEVICE_MAX_MEM_ALLOC_SIZE; device "
                           "memory %llu bytes): split the table",
                           bytes, ctx->device_name, (unsigned long long)im->max_alloc,
                           (unsigned long long)im->global_mem);
    /* A CPU device's memory is host memory, and PoCL maps a plain buffer only at its first
     * use, where a failed map aborts the process inside PoCL (pocl_util.c: assertion
     * `p->mem_ptr != NULL'). CL_MEM_ALLOC_HOST_PTR makes it map the memory here, so a failure
     * is an error status now. GPU drivers report allocation failures as errors at any time. */
    const cl_mem_flags flags = CL_MEM_READ_WRITE | (im->is_cpu ? CL_MEM_ALLOC_HOST_PTR : 0);
    cl_int err;
    cl_mem m = clCreateBuffer(im->context, flags, bytes, NULL, &err);
    if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES ||
        err == CL_OUT_OF_HOST_MEMORY || err == CL_INVALID_BUFFER_SIZE)
        return ember_error(ctx, EMBER_STATUS_OUT_OF_MEMORY,
                           "OpenCL: clCreateBuffer of %zu bytes failed: %s (device memory %llu "
                           "bytes)",
                           bytes, ocl_error_name(err), (unsigned long long)im->global_mem);
    OCL_CHECK(ctx, err, "clCreateBuffer");
    *handle = m;
    return EMBER_STATUS_SUCCESS;
}

ember_status ocl_buffer_wrap_check(ember_context *ctx, void *native, size_t bytes) {
    cl_context owner = NULL;
    size_t size = 0;
    cl_int err = clGetMemObjectInfo((cl_mem)native, CL_MEM_CONTEXT, sizeof owner, &owner, NULL);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo((cl_mem)native, CL_MEM_SIZE, sizeof size, &size, NULL);
    EMBER_RETURN_IF(err != CL_SUCCESS, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "OpenCL: the memory to wrap is not a cl_mem (clGetMemObjectInfo: %s)",
                    ocl_error_name(err));
    EMBER_RETURN_IF(owner != ocl_of(ctx)->context, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "OpenCL: the cl_mem to wrap belongs to another cl_context than this "
                    "context's");
    EMBER_RETURN_IF(size < bytes, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "OpenCL: the cl_mem to wrap holds %zu bytes, %zu asked", size, bytes);
    return EMBER_STATUS_SUCCESS;
}

void ocl_buffer_free(ember_context *ctx, void *handle) {
    (void)ctx;
    if (handle) clReleaseMemObject((cl_mem)handle);
}

ember_status ocl_buffer_upload(ember_context *ctx, void *handle, size_t offset, const void *src,
                               size_t bytes) {
    OCL_CHECK(ctx,
              clEnqueueWriteBuffer(ocl_of(ctx)->queue, (cl_mem)handle, CL_TRUE, offset, bytes, src,
                                   0, NULL, NULL),
              "clEnqueueWriteBuffer");
    return EMBER_STATUS_SUCCESS;
}

ember_status ocl_buffer_download(ember_context *ctx, const void *handle, size_t offset, void *dst,
                                 size_t bytes) {
    OCL_CHECK(ctx,
              clEnqueueReadBuffer(ocl_of(ctx)->queue, (cl_mem)handle, CL_TRUE, offset, bytes, dst,
                                  0, NULL, NULL),
              "clEnqueueReadBuffer");
    return EMBER_STATUS_SUCCESS;
}

ember_status ocl_buffer_zero(ember_context *ctx, void *handle, size_t offset, size_t bytes) {
    const cl_uint zero4 = 0;
    const cl_uchar zero1 = 0;
    /* A 4-byte pattern when the range allows it (faster fills), else bytes. */
    int wide = offset % 4 == 0 && bytes % 4 == 0;
    OCL_CHECK(ctx,
              clEnqueueFillBuffer(ocl_of(ctx)->queue, (cl_mem)handle,
                                  wide ? (const void *)&zero4 : (const void *)&zero1, wide ? 4 : 1,
                                  offset, bytes, 0, NULL, NULL),
              "clEnqueueFillBuffer");
    return EMBER_STATUS_SUCCESS;
}
