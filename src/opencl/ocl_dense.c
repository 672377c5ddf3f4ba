/* ocl_dense.c: the dense layer on OpenCL (SGEMM through CLBlast, bias/ReLU/column sums in
 * small kernels). */
#include "opencl/ocl_internal.h"

#include <clblast_c.h>

/* C (m x n, row-major, ld n) = op(A) op(B) through CLBlast; C is zeroed first so beta = 0
 * never multiplies stale NaNs. */
static ember_status gemm(ember_context *ctx, CLBlastTranspose ta, CLBlastTranspose tb, size_t m,
                         size_t n, size_t k, cl_mem a, size_t lda, cl_mem b, size_t ldb, cl_mem c,
                         const char *what) {
    ocl_impl *im = ocl_of(ctx);
    const cl_float zero = 0.0f;
    OCL_CHECK(ctx,
              clEnqueueFillBuffer(im->queue, c, &zero, sizeof zero, 0, m * n * sizeof(float), 0,
                                  NULL, NULL),
              "clEnqueueFillBuffer (GEMM output)");
    if (m == 0 || n == 0 || k == 0) return EMBER_STATUS_SUCCESS;
    im->used_clblast = 1;
    /* CLBlast's temporary buffer comes from ember (ocl_scratch, backed at allocation): one
     * CLBlast made itself would, on PoCL, be mapped at first use and abort when that fails. */
    size_t temp_bytes = 0;
    CLBlastStatusCode s = CLBlastSGemmTempBufferSize(CLBlastLayoutRowMajor, ta, tb, m, n, k, 0, lda,
                                                     0, ldb, 0, n, &im->queue, &temp_bytes);
    cl_mem temp = NULL;
    if (s == CLBlastSuccess)
        EMBER_FORWARD_IF_ERROR(ocl_scratch(ctx, OCL_S_GEMM_TEMP, temp_bytes, &temp));
    if (s == CLBlastSuccess)
        s = CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor, ta, tb, m, n, k, 1.0f, a, 0, lda, b,
                                       0, ldb, 0.0f, c, 0, n, &im->queue, NULL, temp);
    if (s != CLBlastSuccess) {
        /* CLBlast's C API returns CLBlastUnknownError for a C++ exception it caught; the one
         * a GEMM throws in practice is std::bad_alloc (its host-side buffers). */
        ember_status st = (s == CL_MEM_OBJECT_ALLOCATION_FAILURE || s == CL_OUT_OF_RESOURCES ||
                           s == CL_OUT_OF_HOST_MEMORY || s == CLBlastUnknownError)
                              ? EMBER_STATUS_OUT_OF_MEMORY
                              : EMBER_STATUS_DEVICE_ERROR;
        return ember_error(ctx, st,
                           "OpenCL: CLBlastSgemm (%s, %zu x %zu x %zu) failed: status %d%s%s", what,
                           m, n, k, (int)s, s < 0 && s > -100 ? " " : "",
                           s < 0 && s > -100 ? ocl_error_name((cl_int)s) : "");
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status ocl_dense_forward(ember_context *ctx, int64_t batch, int64_t in, int64_t out,
                               const ember_buffer *x, const ember_buffer *w, const ember_buffer *b,
                               ember_activation act, ember_buffer *y) {
    /* Y[batch x out] = X[batch x in] W[out x in]^T */
    EMBER_FORWARD_IF_ERROR(gemm(ctx, CLBlastTransposeNo, CLBlastTransposeYes, (size_t)batch,
                                (size_t)out, (size_t)in, (cl_mem)x->handle, (size_t)in,
                                (cl_mem)w->handle, (size_t)in, (cl_mem)y->handle, "forward"));
    if (!b && act == EMBER_ACTIVATION_NONE) return EMBER_STATUS_SUCCESS;
    ocl_call c = ocl_begin(ctx, OCL_K_BIAS_ACT);
    ocl_arg_mem(&c, (cl_mem)y->handle);
    ocl_arg_mem(&c, ocl_mem(ctx, b));
    ocl_arg_int(&c, b != NULL);
    ocl_arg_int(&c, act == EMBER_ACTIVATION_RELU);
    ocl_arg_long(&c, batch);
    ocl_arg_long(&c, out);
    return ocl_launch(ctx, &c, (size_t)(batch * out), OCL_LOCAL);
}

ember_status ocl_dense_backward(ember_context *ctx, int64_t batch, int64_t in, int64_t out,
                                const ember_buffer *x, const ember_buffer *w, const ember_buffer *y,
                                ember_buffer *dy, ember_activation act, ember_buffer *dx,
                                ember_buffer *dw, ember_buffer *db) {
    ocl_call c;
    if (act == EMBER_ACTIVATION_RELU && batch > 0) {
        c = ocl_begin(ctx, OCL_K_RELU_BACKWARD);
        ocl_arg_mem(&c, (cl_mem)dy->handle);
        ocl_arg_mem(&c, (cl_mem)y->handle);
        ocl_arg_long(&c, batch * out);
        EMBER_FORWARD_IF_ERROR(ocl_launch(ctx, &c, (size_t)(batch * out), OCL_LOCAL));
    }
    if (dx && batch > 0) /* dX[batch x in] = dY[batch x out] W[out x in] */
        EMBER_FORWARD_IF_ERROR(gemm(ctx, CLBlastTransposeNo, CLBlastTransposeNo, (size_t)batch,
                                    (size_t)in, (size_t)out, (cl_mem)dy->handle, (size_t)out,
                                    (cl_mem)w->handle, (size_t)in, (cl_mem)dx->handle, "dx"));
    /* dW[out x in] = dY^T X */
    EMBER_FORWARD_IF_ERROR(gemm(ctx, CLBlastTransposeYes, CLBlastTransposeNo, (size_t)out,
                                (size_t)in, (size_t)batch, (cl_mem)dy->handle, (size_t)out,
                                (cl_mem)x->handle, (size_t)in, (cl_mem)dw->handle, "dw"));
    if (!db) return EMBER_STATUS_SUCCESS;
    c = ocl_begin(ctx, OCL_K_COL_SUM);
    ocl_arg_mem(&c, (cl_mem)dy->handle);
    ocl_arg_mem(&c, (cl_mem)db->handle);
    ocl_arg_long(&c, batch);
    ocl_arg_long(&c, out);
    return ocl_launch(ctx, &c, (size_t)out, 16);
}
