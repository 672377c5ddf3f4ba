/* ocl_ops.c: the OpenCL backend's ops table (see docs/opencl.md); each op lives in the file
 * the map in docs/design.md names (ocl_<group>.c). */
#include "opencl/ocl_internal.h"

const struct ember_backend_ops ember_opencl_backend_ops = {
    EMBER_BACKEND_OPS_HEADER(EMBER_BACKEND_OPENCL, "opencl"),
    .devices = ocl_devices,
    .init = ocl_init,
    .destroy = ocl_destroy,
    .synchronize = ocl_synchronize,
    .set_threads = NULL,   /* the device decides its parallelism */
    .set_math_mode = NULL, /* strict FP32 always (CLBlast SGEMM) */
    .set_stream = NULL,    /* one in-order command queue per context */
    .buffer_alloc = ocl_buffer_alloc,
    .buffer_free = ocl_buffer_free,
    .buffer_upload = ocl_buffer_upload,
    .buffer_download = ocl_buffer_download,
    .buffer_zero = ocl_buffer_zero,
    .buffer_wrap_check = ocl_buffer_wrap_check,
    .check_indices = ocl_check_indices,
    .check_indices_batched = ocl_check_indices_batched,
    .lookup = ocl_lookup,
    .backward_dense = ocl_backward_dense,
    .backward_sparse = ocl_backward_sparse,
    .sparse_step = ocl_sparse_step,
    .backward_update = ocl_backward_update,
    .lookup_batched = NULL,          /* per-table calls: one launch each, queued back to back */
    .backward_update_batched = NULL, /* per-table calls: grouping is per table */
    .dense_step = ocl_dense_step,
    .dense_forward = ocl_dense_forward,
    .dense_backward = ocl_dense_backward,
    .sigmoid = ocl_sigmoid,
    .bce_with_logits = ocl_bce_with_logits,
};
