/* ocl_backward.c: the OpenCL embedding backward: into a dense gradient (ATOMIC by
 * compare-and-swap on GPUs, else grouped), into a sparse gradient, and fused with a sparse
 * optimizer; the grouped paths sort positions by row first (ocl_group.c). */
#include "opencl/ocl_internal.h"

ember_status ocl_backward_dense(ember_context *ctx, const ember_lookup_desc *d,
                                const ember_buffer *indices, const ember_buffer *offsets,
                                const ember_buffer *weights, const ember_buffer *grad_out,
                                ember_reduction_mode mode, ember_buffer *grad_table) {
    if (mode == EMBER_REDUCTION_ATOMIC && ocl_of(ctx)->atomic_cas) {
        ocl_call c = ocl_begin(ctx, OCL_K_BACKWARD_ATOMIC);
        ocl_arg_mem(&c, (cl_mem)grad_out->handle);
        ocl_arg_long(&c, d->out_row_stride);
        ocl_arg_long(&c, d->out_col_offset);
        ocl_arg_long(&c, d->dim);
        ocl_arg_mem(&c, (cl_mem)indices->handle);
        ocl_arg_mem(&c, ocl_mem(ctx, offsets));
        ocl_arg_int(&c, ocl_is32(d));
        ocl_arg_int(&c, (int)d->pooling);
        ocl_arg_long(&c, d->padding_idx);
        ocl_arg_mem(&c, ocl_mem(ctx, weights));
        ocl_arg_int(&c, weights != NULL);
        ocl_arg_mem(&c, (cl_mem)grad_table->handle);
        ocl_arg_long(&c, d->batch);
        return ocl_launch(ctx, &c, (size_t)d->batch, ocl_of(ctx)->row_local);
    }
    ocl_groups g;
    EMBER_FORWARD_IF_ERROR(ocl_group_by_row(ctx, d, indices, offsets, &g));
    ocl_call c = ocl_begin(ctx, OCL_K_GROUP_DENSE);
    ocl_group_args(&c, d, &g, grad_out, weights, ctx);
    ocl_arg_mem(&c, (cl_mem)grad_table->handle);
    return ocl_launch(ctx, &c, (size_t)g.n, ocl_of(ctx)->row_local);
}

ember_status ocl_backward_sparse(ember_context *ctx, const ember_lookup_desc *d,
                                 const ember_buffer *indices, const ember_buffer *offsets,
                                 const ember_buffer *weights, const ember_buffer *grad_out,
                                 ember_reduction_mode mode, ember_buffer *unique_ids,
                                 ember_buffer *unique_grads, int64_t *num_unique) {
    (void)mode; /* grouping is deterministic anyway, and needed for the ascending ids */
    ocl_groups g;
    EMBER_FORWARD_IF_ERROR(ocl_group_by_row(ctx, d, indices, offsets, &g));
    ocl_call c = ocl_begin(ctx, OCL_K_GROUP_SPARSE);
    ocl_group_args(&c, d, &g, grad_out, weights, ctx);
    ocl_arg_mem(&c, (cl_mem)unique_ids->handle);
    ocl_arg_mem(&c, (cl_mem)unique_grads->handle);
    EMBER_FORWARD_IF_ERROR(ocl_launch(ctx, &c, (size_t)g.n, ocl_of(ctx)->row_local));
    cl_uint total = 0;
    OCL_CHECK(ctx,
              clEnqueueReadBuffer(ocl_of(ctx)->queue, g.info, CL_TRUE, 0, sizeof total, &total, 0,
                                  NULL, NULL),
              "clEnqueueReadBuffer (number of unique rows)");
    *num_unique = (int64_t)total;
    return EMBER_STATUS_SUCCESS;
}

ember_status ocl_backward_update(ember_context *ctx, const ember_lookup_desc *d,
                                 const ember_buffer *indices, const ember_buffer *offsets,
                                 const ember_buffer *weights, const ember_buffer *grad_out,
                                 ember_reduction_mode mode, const ember_optimizer *opt,
                                 ember_buffer *table, ember_buffer *state) {
    (void)mode;
    ocl_groups g;
    EMBER_FORWARD_IF_ERROR(ocl_group_by_row(ctx, d, indices, offsets, &g));
    ocl_call c = ocl_begin(ctx, OCL_K_GROUP_UPDATE);
    ocl_group_args(&c, d, &g, grad_out, weights, ctx);
    ocl_arg_sparse_optimizer(&c, ctx, opt, table, state);
    return ocl_launch(ctx, &c, (size_t)g.n, ocl_of(ctx)->row_local);
}
