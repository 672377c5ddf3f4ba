/* ocl_optim.c: the OpenCL optimizer steps (kernels/optim.cl): the sparse step over the rows
 * of a coalesced gradient and the dense step. */
#include "opencl/ocl_internal.h"

#include <math.h>

ember_status ocl_sparse_step(ember_context *ctx, const ember_optimizer *opt, int64_t num_rows,
                             int64_t dim, ember_buffer *table, ember_buffer *state,
                             const ember_buffer *unique_ids, const ember_buffer *unique_grads,
                             int64_t num_unique) {
    (void)num_rows;
    ocl_call c = ocl_begin(ctx, OCL_K_SPARSE_STEP);
    ocl_arg_mem(&c, (cl_mem)unique_ids->handle);
    ocl_arg_mem(&c, (cl_mem)unique_grads->handle);
    ocl_arg_long(&c, num_unique);
    ocl_arg_long(&c, dim);
    ocl_arg_sparse_optimizer(&c, ctx, opt, table, state);
    return ocl_launch(ctx, &c, (size_t)num_unique, 16);
}

ember_status ocl_dense_step(ember_context *ctx, const ember_optimizer *opt, int64_t n,
                            ember_buffer *param, const ember_buffer *grad, ember_buffer *state,
                            ember_buffer *state2) {
    /* Adam's bias corrections in double, as the CPU backend computes them. */
    float step_size = opt->learning_rate, sqrt_bc2 = 1.0f;
    if (opt->kind == EMBER_OPTIMIZER_ADAM) {
        double step = opt->step > 0 ? (double)opt->step : 1.0;
        step_size = (float)((double)opt->learning_rate / (1.0 - pow((double)opt->beta1, step)));
        sqrt_bc2 = (float)sqrt(1.0 - pow((double)opt->beta2, step));
    }
    ocl_call c = ocl_begin(ctx, OCL_K_DENSE_STEP);
    ocl_arg_mem(&c, (cl_mem)param->handle);
    ocl_arg_mem(&c, (cl_mem)grad->handle);
    ocl_arg_mem(&c, ocl_mem(ctx, opt->kind == EMBER_OPTIMIZER_SGD ? NULL : state));
    ocl_arg_mem(&c, ocl_mem(ctx, opt->kind == EMBER_OPTIMIZER_ADAM ? state2 : NULL));
    ocl_arg_long(&c, n);
    ocl_arg_int(&c, (int)opt->kind);
    ocl_arg_float(&c, opt->learning_rate);
    ocl_arg_float(&c, opt->eps);
    ocl_arg_float(&c, opt->weight_decay);
    ocl_arg_float(&c, opt->beta1);
    ocl_arg_float(&c, opt->beta2);
    ocl_arg_float(&c, step_size);
    ocl_arg_float(&c, sqrt_bc2);
    return ocl_launch(ctx, &c, (size_t)n, OCL_LOCAL);
}
