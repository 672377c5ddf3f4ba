/* ocl_lookup.c: the OpenCL embedding lookup (kernels/lookup.cl): one work-item per bag on
 * CPU devices, one per bag and column chunk elsewhere. */
#include "opencl/ocl_internal.h"

/* Columns per lookup work-item (kernels/lookup.cl EMBER_LK_VEC). */
#define OCL_LOOKUP_VEC 4

/* The arguments both lookup kernels share, from indices to batch. */
static void lookup_bag_args(ocl_call *c, ember_context *ctx, const ember_lookup_desc *d,
                            const ember_buffer *indices, const ember_buffer *offsets,
                            const ember_buffer *weights, ember_buffer *out) {
    /* Without pooling the padding row is read like any other (PyTorch's F.embedding). */
    const int64_t pad = d->pooling == EMBER_POOLING_NONE ? -1 : d->padding_idx;
    ocl_arg_mem(c, ocl_mem(ctx, indices));
    ocl_arg_mem(c, ocl_mem(ctx, offsets));
    ocl_arg_int(c, ocl_is32(d));
    ocl_arg_int(c, (int)d->pooling);
    ocl_arg_long(c, pad);
    ocl_arg_mem(c, ocl_mem(ctx, weights));
    ocl_arg_int(c, weights != NULL);
    ocl_arg_mem(c, (cl_mem)out->handle);
    ocl_arg_long(c, d->out_row_stride);
    ocl_arg_long(c, d->out_col_offset);
    ocl_arg_int(c, d->accumulate != 0);
    ocl_arg_long(c, d->batch);
}

ember_status ocl_lookup(ember_context *ctx, const ember_lookup_desc *d, const ember_buffer *table,
                        const ember_buffer *indices, const ember_buffer *offsets,
                        const ember_buffer *weights, ember_buffer *out) {
    if (ocl_of(ctx)->is_cpu) {
        ocl_call c = ocl_begin(ctx, OCL_K_LOOKUP_ROWS);
        ocl_arg_mem(&c, (cl_mem)table->handle);
        ocl_arg_long(&c, d->dim);
        lookup_bag_args(&c, ctx, d, indices, offsets, weights, out);
        ocl_arg_long(&c, d->num_indices);
        return ocl_launch(ctx, &c, (size_t)d->batch, ocl_of(ctx)->row_local);
    }
    int64_t nchunks = (d->dim + OCL_LOOKUP_VEC - 1) / OCL_LOOKUP_VEC;
    ocl_call c = ocl_begin(ctx, OCL_K_LOOKUP);
    ocl_arg_mem(&c, (cl_mem)table->handle);
    ocl_arg_long(&c, d->dim);
    ocl_arg_long(&c, nchunks);
    lookup_bag_args(&c, ctx, d, indices, offsets, weights, out);
    return ocl_launch(ctx, &c, (size_t)(d->batch * nchunks), OCL_LOCAL);
}
