/* embedding_api.c: public embedding lookup and backward calls (validate, bounds-check, then
 * call the backend), the desc's defaults and the pooling names. */
#include "core/validate.h"

const char *ember_pooling_name(ember_pooling pooling) {
    switch (pooling) {
    case EMBER_POOLING_NONE:
        return "none";
    case EMBER_POOLING_SUM:
        return "sum";
    case EMBER_POOLING_MEAN:
        return "mean";
    }
    return NULL;
}

void ember_lookup_desc_init(ember_lookup_desc *desc, int64_t num_rows, int64_t dim,
                            int64_t num_indices, int64_t batch, ember_pooling pooling) {
    if (!desc) return;
    desc->num_rows = num_rows;
    desc->dim = dim;
    desc->num_indices = num_indices;
    desc->batch = batch;
    desc->index_type = EMBER_INDEX_INT64;
    desc->pooling = pooling;
    desc->padding_idx = -1;
    desc->out_row_stride = 0;
    desc->out_col_offset = 0;
    desc->accumulate = 0;
}

ember_status ember_embedding_lookup(ember_context *ctx, const ember_lookup_desc *desc,
                                    const ember_buffer *table, const ember_buffer *indices,
                                    const ember_buffer *offsets,
                                    const ember_buffer *per_sample_weights, ember_buffer *out) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    ember_lookup_desc d;
    EMBER_FORWARD_IF_ERROR(
        ember_check_lookup_args(ctx, desc, indices, offsets, per_sample_weights, out, "out", &d));
    EMBER_FORWARD_IF_ERROR(ember_check_table(ctx, &d, table, "table"));
    const ember_named_buffer outs[] = {{out, "out"}};
    EMBER_FORWARD_IF_ERROR(ember_check_embedding_alias(ctx, outs, EMBER_COUNT_OF(outs),
                                                       (ember_named_buffer){table, "table"},
                                                       indices, offsets, per_sample_weights));
    EMBER_FORWARD_IF_ERROR(ember_run_index_check(ctx, &d, indices, offsets));
    if (d.batch == 0) return EMBER_STATUS_SUCCESS;
    return ctx->ops->lookup(ctx, &d, table, indices, offsets, per_sample_weights, out);
}

/* The checks every embedding backward starts with: its lookup (with grad_out where a
 * lookup has out) and the reduction mode. Fills *d with the desc's defaults resolved. */
static ember_status check_backward_args(ember_context *ctx, const ember_lookup_desc *desc,
                                        const ember_buffer *indices, const ember_buffer *offsets,
                                        const ember_buffer *weights, const ember_buffer *grad_out,
                                        ember_reduction_mode mode, ember_lookup_desc *d) {
    EMBER_FORWARD_IF_ERROR(
        ember_check_lookup_args(ctx, desc, indices, offsets, weights, grad_out, "grad_out", d));
    return ember_check_mode(ctx, mode);
}

/* The checks every embedding backward ends with: no output aliases what it reads, and
 * every index is in range. */
static ember_status check_backward_inputs(ember_context *ctx, const ember_lookup_desc *d,
                                          const ember_named_buffer *outs, size_t num_outs,
                                          const ember_buffer *grad_out, const ember_buffer *indices,
                                          const ember_buffer *offsets,
                                          const ember_buffer *weights) {
    EMBER_FORWARD_IF_ERROR(ember_check_embedding_alias(ctx, outs, num_outs,
                                                       (ember_named_buffer){grad_out, "grad_out"},
                                                       indices, offsets, weights));
    return ember_run_index_check(ctx, d, indices, offsets);
}

ember_status ember_embedding_backward_dense(ember_context *ctx, const ember_lookup_desc *desc,
                                            const ember_buffer *indices,
                                            const ember_buffer *offsets,
                                            const ember_buffer *per_sample_weights,
                                            const ember_buffer *grad_out, ember_reduction_mode mode,
                                            ember_buffer *grad_table) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    ember_lookup_desc d;
    EMBER_FORWARD_IF_ERROR(
        check_backward_args(ctx, desc, indices, offsets, per_sample_weights, grad_out, mode, &d));
    EMBER_FORWARD_IF_ERROR(ember_check_table(ctx, &d, grad_table, "grad_table"));
    const ember_named_buffer outs[] = {{grad_table, "grad_table"}};
    EMBER_FORWARD_IF_ERROR(check_backward_inputs(ctx, &d, outs, EMBER_COUNT_OF(outs), grad_out,
                                                 indices, offsets, per_sample_weights));
    if (d.batch == 0 || d.num_indices == 0) return EMBER_STATUS_SUCCESS;
    return ctx->ops->backward_dense(ctx, &d, indices, offsets, per_sample_weights, grad_out, mode,
                                    grad_table);
}

ember_status ember_embedding_backward_sparse(ember_context *ctx, const ember_lookup_desc *desc,
                                             const ember_buffer *indices,
                                             const ember_buffer *offsets,
                                             const ember_buffer *per_sample_weights,
                                             const ember_buffer *grad_out,
                                             ember_reduction_mode mode, ember_buffer *unique_ids,
                                             ember_buffer *unique_grads, int64_t *num_unique) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    EMBER_RETURN_IF(!num_unique, ctx, EMBER_STATUS_INVALID_ARGUMENT, "num_unique is NULL");
    ember_lookup_desc d;
    EMBER_FORWARD_IF_ERROR(
        check_backward_args(ctx, desc, indices, offsets, per_sample_weights, grad_out, mode, &d));
    size_t need = 0;
    EMBER_FORWARD_IF_ERROR(ember_check_bytes(ctx, "unique_ids", d.num_indices, 1, 8, &need));
    EMBER_FORWARD_IF_ERROR(ember_check_buffer(ctx, unique_ids, "unique_ids", need));
    EMBER_FORWARD_IF_ERROR(
        ember_check_bytes(ctx, "unique_grads", d.num_indices, d.dim, sizeof(float), &need));
    EMBER_FORWARD_IF_ERROR(ember_check_buffer(ctx, unique_grads, "unique_grads", need));
    const ember_named_buffer outs[] = {{unique_ids, "unique_ids"}, {unique_grads, "unique_grads"}};
    EMBER_FORWARD_IF_ERROR(check_backward_inputs(ctx, &d, outs, EMBER_COUNT_OF(outs), grad_out,
                                                 indices, offsets, per_sample_weights));
    if (d.batch == 0 || d.num_indices == 0) {
        *num_unique = 0;
        return EMBER_STATUS_SUCCESS;
    }
    return ctx->ops->backward_sparse(ctx, &d, indices, offsets, per_sample_weights, grad_out, mode,
                                     unique_ids, unique_grads, num_unique);
}

ember_status ember_embedding_backward_update(ember_context *ctx, const ember_lookup_desc *desc,
                                             const ember_buffer *indices,
                                             const ember_buffer *offsets,
                                             const ember_buffer *per_sample_weights,
                                             const ember_buffer *grad_out,
                                             ember_reduction_mode mode, const ember_optimizer *opt,
                                             ember_buffer *table, ember_buffer *state) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    ember_lookup_desc d;
    EMBER_FORWARD_IF_ERROR(
        check_backward_args(ctx, desc, indices, offsets, per_sample_weights, grad_out, mode, &d));
    EMBER_FORWARD_IF_ERROR(ember_check_table(ctx, &d, table, "table"));
    EMBER_FORWARD_IF_ERROR(ember_check_sparse_state(ctx, opt, d.num_rows, d.dim, state));
    const ember_named_buffer outs[] = {{table, "table"}, {ember_used_state(opt, state), "state"}};
    EMBER_FORWARD_IF_ERROR(check_backward_inputs(ctx, &d, outs, EMBER_COUNT_OF(outs), grad_out,
                                                 indices, offsets, per_sample_weights));
    return ember_dispatch_backward_update(ctx, &d, indices, offsets, per_sample_weights, grad_out,
                                          mode, opt, table, state);
}

ember_status ember_dispatch_backward_update(ember_context *ctx, const ember_lookup_desc *d,
                                            const ember_buffer *indices,
                                            const ember_buffer *offsets,
                                            const ember_buffer *weights,
                                            const ember_buffer *grad_out, ember_reduction_mode mode,
                                            const ember_optimizer *opt, ember_buffer *table,
                                            ember_buffer *state) {
    if (d->batch == 0 || d->num_indices == 0) return EMBER_STATUS_SUCCESS;
    if (ctx->ops->backward_update)
        return ctx->ops->backward_update(ctx, d, indices, offsets, weights, grad_out, mode, opt,
                                         table, state);

    /* Default for backends without a fused path: materialise the sparse gradient. */
    ember_buffer *ids = NULL, *grads = NULL;
    int64_t n = 0;
    size_t ids_bytes = 0, grads_bytes = 0;
    EMBER_FORWARD_IF_ERROR(ember_check_bytes(ctx, "unique_ids", d->num_indices, 1, 8, &ids_bytes));
    EMBER_FORWARD_IF_ERROR(ember_check_bytes(ctx, "unique_grads", d->num_indices, d->dim,
                                             sizeof(float), &grads_bytes));
    ember_status st = ember_buffer_alloc(ctx, ids_bytes, &ids);
    if (st == EMBER_STATUS_SUCCESS) st = ember_buffer_alloc(ctx, grads_bytes, &grads);
    if (st == EMBER_STATUS_SUCCESS)
        st = ctx->ops->backward_sparse(ctx, d, indices, offsets, weights, grad_out, mode, ids,
                                       grads, &n);
    if (st == EMBER_STATUS_SUCCESS && n > 0)
        st = ctx->ops->sparse_step(ctx, opt, d->num_rows, d->dim, table, state, ids, grads, n);
    ember_buffer_free(grads);
    ember_buffer_free(ids);
    return st;
}

ember_status ember_sparse_optimizer_step(ember_context *ctx, const ember_optimizer *opt,
                                         int64_t num_rows, int64_t dim, ember_buffer *table,
                                         ember_buffer *state, const ember_buffer *unique_ids,
                                         const ember_buffer *unique_grads, int64_t num_unique) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    EMBER_RETURN_IF(num_rows < 0 || dim < 1 || num_unique < 0, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "num_rows = %lld, dim = %lld, num_unique = %lld", (long long)num_rows,
                    (long long)dim, (long long)num_unique);
    ember_lookup_desc d;
    ember_lookup_desc_init(&d, num_rows, dim, num_unique, num_unique, EMBER_POOLING_NONE);
    EMBER_FORWARD_IF_ERROR(ember_check_table(ctx, &d, table, "table"));
    EMBER_FORWARD_IF_ERROR(ember_check_sparse_state(ctx, opt, num_rows, dim, state));
    size_t need = 0;
    EMBER_FORWARD_IF_ERROR(ember_check_bytes(ctx, "unique_ids", num_unique, 1, 8, &need));
    EMBER_FORWARD_IF_ERROR(ember_check_buffer(ctx, unique_ids, "unique_ids", need));
    EMBER_FORWARD_IF_ERROR(
        ember_check_bytes(ctx, "unique_grads", num_unique, dim, sizeof(float), &need));
    EMBER_FORWARD_IF_ERROR(ember_check_buffer(ctx, unique_grads, "unique_grads", need));
    const ember_named_buffer outs[] = {{table, "table"}, {ember_used_state(opt, state), "state"}};
    const ember_named_buffer ins[] = {{unique_ids, "unique_ids"}, {unique_grads, "unique_grads"}};
    EMBER_FORWARD_IF_ERROR(
        ember_check_no_alias(ctx, outs, EMBER_COUNT_OF(outs), ins, EMBER_COUNT_OF(ins)));
    EMBER_FORWARD_IF_ERROR(ember_run_index_check(ctx, &d, unique_ids, NULL));
    if (num_unique == 0) return EMBER_STATUS_SUCCESS;
    return ctx->ops->sparse_step(ctx, opt, num_rows, dim, table, state, unique_ids, unique_grads,
                                 num_unique);
}
