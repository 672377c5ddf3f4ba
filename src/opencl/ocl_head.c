/* ocl_head.c: sigmoid and binary cross-entropy with logits on OpenCL. The loss is summed in
 * chunks on the device (in double where the device has cl_khr_fp64) and the chunks are added
 * in double on the host. */
#include "opencl/ocl_internal.h"

#include <stdlib.h>

#define OCL_BCE_MIN_CHUNK 4096
#define OCL_BCE_MAX_WORKERS 64

ember_status ocl_sigmoid(ember_context *ctx, int64_t n, const ember_buffer *x, ember_buffer *y) {
    ocl_call c = ocl_begin(ctx, OCL_K_SIGMOID);
    ocl_arg_mem(&c, (cl_mem)x->handle);
    ocl_arg_mem(&c, (cl_mem)y->handle);
    ocl_arg_long(&c, n);
    return ocl_launch(ctx, &c, (size_t)n, 64);
}

ember_status ocl_bce_with_logits(ember_context *ctx, int64_t n, const ember_buffer *logits,
                                 const ember_buffer *labels, float *loss, ember_buffer *grad) {
    ocl_impl *im = ocl_of(ctx);
    int64_t workers = n / OCL_BCE_MIN_CHUNK;
    if (workers < 1) workers = 1;
    if (workers > OCL_BCE_MAX_WORKERS) workers = OCL_BCE_MAX_WORKERS;
    int64_t chunk = (n + workers - 1) / workers;
    uint32_t G = (uint32_t)((n + chunk - 1) / chunk);
    size_t acc_size = im->fp64 ? sizeof(cl_double) : sizeof(cl_float);
    cl_mem partial;
    EMBER_FORWARD_IF_ERROR(ocl_scratch(ctx, OCL_S_PARTIAL, G * acc_size, &partial));
    ocl_call c = ocl_begin(ctx, OCL_K_BCE);
    ocl_arg_mem(&c, (cl_mem)logits->handle);
    ocl_arg_mem(&c, (cl_mem)labels->handle);
    ocl_arg_long(&c, n);
    ocl_arg_long(&c, chunk);
    ocl_arg_mem(&c, partial);
    ocl_arg_int(&c, grad != NULL);
    ocl_arg_mem(&c, ocl_mem(ctx, grad));
    ocl_arg_uint(&c, G);
    EMBER_FORWARD_IF_ERROR(ocl_launch(ctx, &c, G, 1));
    if (!loss) return EMBER_STATUS_SUCCESS;
    double buf[OCL_BCE_MAX_WORKERS];
    OCL_CHECK(ctx,
              clEnqueueReadBuffer(im->queue, partial, CL_TRUE, 0, G * acc_size, buf, 0, NULL, NULL),
              "clEnqueueReadBuffer (loss)");
    double sum = 0.0;
    for (uint32_t g = 0; g < G; g++) sum += im->fp64 ? buf[g] : (double)((const float *)buf)[g];
    *loss = (float)(sum / (double)n);
    return EMBER_STATUS_SUCCESS;
}
