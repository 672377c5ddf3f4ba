/* cpu_ops.c: the CPU backend's ops table; each op lives in the file the map in
 * docs/design.md names (cpu_<group>.c). */
#include "cpu/cpu_internal.h"

const struct ember_backend_ops ember_cpu_backend_ops = {
    EMBER_BACKEND_OPS_HEADER(EMBER_BACKEND_CPU, "cpu"),
    .devices = cpu_devices,
    .init = cpu_init,
    .destroy = cpu_destroy,
    .synchronize = cpu_synchronize,
    .set_threads = NULL,   /* the dispatch layer records ctx->threads, which cpu_threads reads */
    .set_math_mode = NULL, /* strict FP32 always (OpenBLAS SGEMM) */
    .set_stream = NULL,    /* no streams: calls run to completion */
    .buffer_alloc = cpu_buffer_alloc,
    .buffer_free = cpu_buffer_free,
    .buffer_upload = cpu_buffer_upload,
    .buffer_download = cpu_buffer_download,
    .buffer_zero = cpu_buffer_zero,
    .buffer_wrap_check = NULL, /* host memory: nothing to ask about a pointer */
    .check_indices = cpu_check_indices,
    .check_indices_batched = cpu_check_indices_batched,
    .lookup = cpu_lookup,
    .backward_dense = cpu_backward_dense,
    .backward_sparse = cpu_backward_sparse,
    .sparse_step = cpu_sparse_step,
    .backward_update = cpu_backward_update,
    .lookup_batched = NULL,          /* per-table calls: each already uses the idle cores */
    .backward_update_batched = NULL, /* per-table calls: each already uses the idle cores */
    .dense_step = cpu_dense_step,
    .dense_forward = cpu_dense_forward,
    .dense_backward = cpu_dense_backward,
    .sigmoid = cpu_sigmoid,
    .bce_with_logits = cpu_bce_with_logits,
};
