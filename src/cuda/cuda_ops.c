/* cuda_ops.c: the CUDA backend's ops table, the one symbol the plugin exports. */
#include "cuda/cuda_internal.h"

/* set_threads is NULL: a GPU has no thread count to set (the dispatch layer records it). */
__attribute__((visibility("default"))) const struct ember_backend_ops ember_cuda_backend_ops = {
    .kind = EMBER_BACKEND_CUDA,
    .name = "cuda",
    .devices = ember_cuda_devices,
    .init = ember_cuda_init,
    .destroy = ember_cuda_destroy,
    .synchronize = ember_cuda_synchronize,
    .set_threads = NULL,
    .set_math_mode = ember_cuda_set_math_mode,
    .buffer_alloc = ember_cuda_buffer_alloc,
    .buffer_free = ember_cuda_buffer_free,
    .buffer_upload = ember_cuda_buffer_upload,
    .buffer_download = ember_cuda_buffer_download,
    .buffer_zero = ember_cuda_buffer_zero,
    .check_indices = ember_cuda_check_indices,
    .lookup = ember_cuda_lookup,
    .backward_dense = ember_cuda_backward_dense,
    .backward_sparse = ember_cuda_backward_sparse,
    .sparse_step = ember_cuda_sparse_step,
    .backward_update = ember_cuda_backward_update,
    .lookup_batched = ember_cuda_lookup_batched,
    .backward_update_batched = ember_cuda_backward_update_batched,
    .dense_step = ember_cuda_dense_step,
    .dense_forward = ember_cuda_dense_forward,
    .dense_backward = ember_cuda_dense_backward,
    .sigmoid = ember_cuda_sigmoid,
    .bce_with_logits = ember_cuda_bce_with_logits,
};
