/* cuda_backend.h: the CUDA backend's entry points, a plain C header (no CUDA types) that
 * the ops table in cuda_ops.c fills itself from. Each is implemented in a .cu file beside
 * it and has exactly the signature of its struct ember_backend_ops entry. */
#ifndef EMBER_CUDA_BACKEND_H
#define EMBER_CUDA_BACKEND_H

#include "core/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* cuda_context.cu */
ember_status ember_cuda_devices(ember_device_info *out, size_t capacity, size_t *count);
ember_status ember_cuda_init(ember_context *ctx, int device);
void ember_cuda_destroy(ember_context *ctx);
ember_status ember_cuda_synchronize(ember_context *ctx);
ember_status ember_cuda_set_math_mode(ember_context *ctx, ember_math_mode mode);

/* cuda_memory.cu */
ember_status ember_cuda_buffer_alloc(ember_context *ctx, size_t bytes, void **handle);
void ember_cuda_buffer_free(ember_context *ctx, void *handle);
ember_status ember_cuda_buffer_upload(ember_context *ctx, void *handle, size_t offset,
                                      const void *src, size_t bytes);
ember_status ember_cuda_buffer_download(ember_context *ctx, const void *handle, size_t offset,
                                        void *dst, size_t bytes);
ember_status ember_cuda_buffer_zero(ember_context *ctx, void *handle, size_t offset,
                                    size_t bytes);

/* check.cu */
ember_status ember_cuda_check_indices(ember_context *ctx, const ember_lookup_desc *desc,
                                      const ember_buffer *indices, const ember_buffer *offsets,
                                      ember_index_problem *problem);

/* lookup.cu */
ember_status ember_cuda_lookup(ember_context *ctx, const ember_lookup_desc *desc,
                               const ember_buffer *table, const ember_buffer *indices,
                               const ember_buffer *offsets, const ember_buffer *weights,
                               ember_buffer *out);

/* backward.cu */
ember_status ember_cuda_backward_dense(ember_context *ctx, const ember_lookup_desc *desc,
                                       const ember_buffer *indices, const ember_buffer *offsets,
                                       const ember_buffer *weights, const ember_buffer *grad_out,
                                       ember_reduction_mode mode, ember_buffer *grad_table);
ember_status ember_cuda_backward_sparse(ember_context *ctx, const ember_lookup_desc *desc,
                                        const ember_buffer *indices,
                                        const ember_buffer *offsets,
                                        const ember_buffer *weights,
                                        const ember_buffer *grad_out, ember_reduction_mode mode,
                                        ember_buffer *unique_ids, ember_buffer *unique_grads,
                                        int64_t *num_unique);
ember_status ember_cuda_backward_update(ember_context *ctx, const ember_lookup_desc *desc,
                                        const ember_buffer *indices,
                                        const ember_buffer *offsets,
                                        const ember_buffer *weights,
                                        const ember_buffer *grad_out, ember_reduction_mode mode,
                                        const ember_optimizer *opt, ember_buffer *table,
                                        ember_buffer *state);

/* batched.cu: all tables in one launch (per-table calls where a mode needs grouping) */
ember_status ember_cuda_lookup_batched(ember_context *ctx, int64_t num_tables,
                                       const ember_lookup_desc *descs,
                                       const ember_buffer *const *tables,
                                       const ember_buffer *const *indices,
                                       const ember_buffer *const *offsets,
                                       const ember_buffer *const *weights, ember_buffer *out);
ember_status ember_cuda_backward_update_batched(
    ember_context *ctx, int64_t num_tables, const ember_lookup_desc *descs,
    const ember_buffer *const *indices, const ember_buffer *const *offsets,
    const ember_buffer *const *weights, const ember_buffer *grad_out, ember_reduction_mode mode,
    const ember_optimizer *opt, ember_buffer *const *tables, ember_buffer *const *states);

/* optim.cu */
ember_status ember_cuda_sparse_step(ember_context *ctx, const ember_optimizer *opt,
                                    int64_t num_rows, int64_t dim, ember_buffer *table,
                                    ember_buffer *state, const ember_buffer *unique_ids,
                                    const ember_buffer *unique_grads, int64_t num_unique);
ember_status ember_cuda_dense_step(ember_context *ctx, const ember_optimizer *opt, int64_t n,
                                   ember_buffer *param, const ember_buffer *grad,
                                   ember_buffer *state, ember_buffer *state2);

/* dense.cu */
ember_status ember_cuda_dense_forward(ember_context *ctx, int64_t batch, int64_t in,
                                      int64_t out, const ember_buffer *x, const ember_buffer *w,
                                      const ember_buffer *b, ember_activation act,
                                      ember_buffer *y);
ember_status ember_cuda_dense_backward(ember_context *ctx, int64_t batch, int64_t in,
                                       int64_t out, const ember_buffer *x,
                                       const ember_buffer *w, const ember_buffer *y,
                                       ember_buffer *dy, ember_activation act, ember_buffer *dx,
                                       ember_buffer *dw, ember_buffer *db);

/* head.cu */
ember_status ember_cuda_sigmoid(ember_context *ctx, int64_t n, const ember_buffer *x,
                                ember_buffer *y);
ember_status ember_cuda_bce_with_logits(ember_context *ctx, int64_t n,
                                        const ember_buffer *logits, const ember_buffer *labels,
                                        float *loss, ember_buffer *grad);

#ifdef __cplusplus
}
#endif

#endif /* EMBER_CUDA_BACKEND_H */
