/* cuda_ops.c: the CUDA backend's ops table, the one symbol the plugin exports; each op lives
 * in the file the map in docs/design.md names (cuda_<group>.cu). */
#include "cuda/cuda_internal.h"

__attribute__((visibility("default"))) const struct ember_backend_ops ember_cuda_backend_ops = {
    EMBER_BACKEND_OPS_HEADER(EMBER_BACKEND_CUDA, "cuda"),
    .devices = cuda_devices,
    .init = cuda_init,
    .destroy = cuda_destroy,
    .synchronize = cuda_synchronize,
    .set_threads = NULL, /* a GPU has no thread count to set (the dispatch layer records it) */
    .set_math_mode = cuda_set_math_mode,
    .set_stream = cuda_set_stream,
    .buffer_alloc = cuda_buffer_alloc,
    .buffer_free = cuda_buffer_free,
    .buffer_upload = cuda_buffer_upload,
    .buffer_download = cuda_buffer_download,
    .buffer_zero = cuda_buffer_zero,
    .buffer_wrap_check = cuda_buffer_wrap_check,
    .check_indices = cuda_check_indices,
    .check_indices_batched = NULL, /* per table; a one-pass device check awaits a GPU run */
    .lookup = cuda_lookup,
    .backward_dense = cuda_backward_dense,
    .backward_sparse = cuda_backward_sparse,
    .sparse_step = cuda_sparse_step,
    .backward_update = cuda_backward_update,
    .lookup_batched = cuda_lookup_batched,
    .backward_update_batched = cuda_backward_update_batched,
    .dense_step = cuda_dense_step,
    .dense_forward = cuda_dense_forward,
    .dense_backward = cuda_dense_backward,
    .sigmoid = cuda_sigmoid,
    .bce_with_logits = cuda_bce_with_logits,
};
