/* batched_api.c: table-batched lookup and fused backward + update (FBGEMM's TBE shape):
 * validate every table first, then one backend call, or one per table by default. */
#include "core/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prefixes the context's last error with the table it concerns. */
static ember_status name_table(ember_context *ctx, ember_status st, int64_t t) {
    char msg[sizeof ctx->last_error];
    memcpy(msg, ctx->last_error, sizeof msg);
    snprintf(ctx->last_error, sizeof ctx->last_error, "table %lld: %.2000s", (long long)t, msg);
    return st;
}

/* Validates the arrays and every table's desc, buffers and indices; on success *norm holds
 * num_tables normalised descs (free()d by the caller). */
static ember_status check_tables(ember_context *ctx, int64_t num_tables,
                                 const ember_lookup_desc *descs, const ember_buffer *const *indices,
                                 const ember_buffer *const *offsets,
                                 const ember_buffer *const *weights, const ember_buffer *out,
                                 const char *out_name, ember_lookup_desc **norm) {
    *norm = NULL;
    EMBER_RETURN_IF(num_tables < 0, ctx, EMBER_STATUS_INVALID_ARGUMENT, "num_tables = %lld",
                    (long long)num_tables);
    EMBER_RETURN_IF(num_tables > 0 && (!descs || !indices), ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "descs or indices array is NULL");
    if (num_tables == 0) return EMBER_STATUS_SUCCESS;
    size_t bytes;
    EMBER_RETURN_IF(__builtin_mul_overflow((size_t)num_tables, sizeof(ember_lookup_desc), &bytes),
                    ctx, EMBER_STATUS_INVALID_ARGUMENT, "num_tables = %lld overflows",
                    (long long)num_tables);
    ember_lookup_desc *d = malloc(bytes);
    EMBER_RETURN_IF(!d, ctx, EMBER_STATUS_OUT_OF_MEMORY, "cannot allocate %lld descs",
                    (long long)num_tables);
    ember_status st = EMBER_STATUS_SUCCESS;
    for (int64_t t = 0; t < num_tables && st == EMBER_STATUS_SUCCESS; t++) {
        st = ember_check_lookup_args(ctx, &descs[t], indices[t], offsets ? offsets[t] : NULL,
                                     weights ? weights[t] : NULL, out, out_name, &d[t]);
        if (st == EMBER_STATUS_SUCCESS &&
            (d[t].batch != d[0].batch || d[t].out_row_stride != d[0].out_row_stride))
            st = ember_error(ctx, EMBER_STATUS_SHAPE_MISMATCH,
                             "batch %lld and row stride %lld differ from table 0's (%lld, %lld)",
                             (long long)d[t].batch, (long long)d[t].out_row_stride,
                             (long long)d[0].batch, (long long)d[0].out_row_stride);
        if (st != EMBER_STATUS_SUCCESS) name_table(ctx, st, t);
    }
    if (st == EMBER_STATUS_SUCCESS)
        *norm = d;
    else
        free(d);
    return st;
}

/* The aliasing rule of the batched update: no table or state (each updated in place) is
 * grad_out or any table's indices, offsets or weights, and no table is any table's state.
 * A table (or state) named by two entries is not refused; ember.h leaves the result
 * unspecified. */
static ember_status
check_update_alias(ember_context *ctx, int64_t num_tables, const ember_optimizer *opt,
                   ember_buffer *const *tables, ember_buffer *const *states,
                   const ember_buffer *const *indices, const ember_buffer *const *offsets,
                   const ember_buffer *const *weights, const ember_buffer *grad_out) {
    for (int64_t t = 0; t < num_tables; t++) {
        for (int64_t u = 0; u < num_tables; u++) {
            const ember_named_buffer outs[] = {
                {tables[t], "table"}, {states ? ember_used_state(opt, states[u]) : NULL, "state"}};
            ember_status st = ember_check_embedding_alias(
                ctx, outs, EMBER_COUNT_OF(outs), (ember_named_buffer){grad_out, "grad_out"},
                indices[u], offsets ? offsets[u] : NULL, weights ? weights[u] : NULL);
            if (st != EMBER_STATUS_SUCCESS) return name_table(ctx, st, t);
        }
    }
    return EMBER_STATUS_SUCCESS;
}

/* Runs the bounds-check pass of every table (after all shapes were found valid): in one pass
 * when the backend has one, else table by table. Either way the lowest table with a problem
 * is reported. */
static ember_status check_all_indices(ember_context *ctx, int64_t num_tables,
                                      const ember_lookup_desc *d,
                                      const ember_buffer *const *indices,
                                      const ember_buffer *const *offsets) {
    if (ctx->ops->check_indices_batched) {
        int64_t t = -1;
        ember_index_problem p = {EMBER_INDEX_PROBLEM_NONE, 0, 0};
        EMBER_FORWARD_IF_ERROR(
            ctx->ops->check_indices_batched(ctx, num_tables, d, indices, offsets, &t, &p));
        if (p.kind == EMBER_INDEX_PROBLEM_NONE) return EMBER_STATUS_SUCCESS;
        EMBER_RETURN_IF(t < 0 || t >= num_tables, ctx, EMBER_STATUS_INTERNAL,
                        "the batched index check reported table %lld of %lld", (long long)t,
                        (long long)num_tables);
        return name_table(ctx, ember_index_problem_status(ctx, &d[t], &p), t);
    }
    for (int64_t t = 0; t < num_tables; t++) {
        ember_status st =
            ember_run_index_check(ctx, &d[t], indices[t], offsets ? offsets[t] : NULL);
        if (st != EMBER_STATUS_SUCCESS) return name_table(ctx, st, t);
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_embedding_lookup_batched(ember_context *ctx, int64_t num_tables,
                                            const ember_lookup_desc *descs,
                                            const ember_buffer *const *tables,
                                            const ember_buffer *const *indices,
                                            const ember_buffer *const *offsets,
                                            const ember_buffer *const *per_sample_weights,
                                            ember_buffer *out) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    EMBER_RETURN_IF(num_tables > 0 && !tables, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "tables array is NULL");
    ember_lookup_desc *d;
    EMBER_FORWARD_IF_ERROR(
        check_tables(ctx, num_tables, descs, indices, offsets, per_sample_weights, out, "out", &d));
    ember_status st = EMBER_STATUS_SUCCESS;
    for (int64_t t = 0; t < num_tables && st == EMBER_STATUS_SUCCESS; t++) {
        st = ember_check_table(ctx, &d[t], tables[t], "table");
        if (st != EMBER_STATUS_SUCCESS) name_table(ctx, st, t);
    }
    for (int64_t t = 0; t < num_tables && st == EMBER_STATUS_SUCCESS; t++) {
        const ember_named_buffer outs[] = {{out, "out"}};
        st = ember_check_embedding_alias(
            ctx, outs, EMBER_COUNT_OF(outs), (ember_named_buffer){tables[t], "table"}, indices[t],
            offsets ? offsets[t] : NULL, per_sample_weights ? per_sample_weights[t] : NULL);
        if (st != EMBER_STATUS_SUCCESS) name_table(ctx, st, t);
    }
    if (st == EMBER_STATUS_SUCCESS) st = check_all_indices(ctx, num_tables, d, indices, offsets);
    if (st == EMBER_STATUS_SUCCESS && num_tables > 0 && d[0].batch > 0) {
        if (ctx->ops->lookup_batched) {
            st = ctx->ops->lookup_batched(ctx, num_tables, d, tables, indices, offsets,
                                          per_sample_weights, out);
        } else {
            for (int64_t t = 0; t < num_tables && st == EMBER_STATUS_SUCCESS; t++)
                st =
                    ctx->ops->lookup(ctx, &d[t], tables[t], indices[t], offsets ? offsets[t] : NULL,
                                     per_sample_weights ? per_sample_weights[t] : NULL, out);
        }
    }
    free(d);
    return st;
}

ember_status ember_embedding_backward_update_batched(
    ember_context *ctx, int64_t num_tables, const ember_lookup_desc *descs,
    const ember_buffer *const *indices, const ember_buffer *const *offsets,
    const ember_buffer *const *per_sample_weights, const ember_buffer *grad_out,
    ember_reduction_mode mode, const ember_optimizer *opt, ember_buffer *const *tables,
    ember_buffer *const *states) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    EMBER_FORWARD_IF_ERROR(ember_check_mode(ctx, mode));
    EMBER_RETURN_IF(num_tables > 0 && !tables, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "tables array is NULL");
    ember_lookup_desc *d;
    EMBER_FORWARD_IF_ERROR(check_tables(ctx, num_tables, descs, indices, offsets,
                                        per_sample_weights, grad_out, "grad_out", &d));
    ember_status st = EMBER_STATUS_SUCCESS;
    for (int64_t t = 0; t < num_tables && st == EMBER_STATUS_SUCCESS; t++) {
        st = ember_check_table(ctx, &d[t], tables[t], "table");
        if (st == EMBER_STATUS_SUCCESS)
            st = ember_check_sparse_state(ctx, opt, d[t].num_rows, d[t].dim,
                                          states ? states[t] : NULL);
        if (st != EMBER_STATUS_SUCCESS) name_table(ctx, st, t);
    }
    if (st == EMBER_STATUS_SUCCESS)
        st = check_update_alias(ctx, num_tables, opt, tables, states, indices, offsets,
                                per_sample_weights, grad_out);
    if (st == EMBER_STATUS_SUCCESS) st = check_all_indices(ctx, num_tables, d, indices, offsets);
    if (st == EMBER_STATUS_SUCCESS && num_tables > 0 && d[0].batch > 0) {
        if (ctx->ops->backward_update_batched) {
            st = ctx->ops->backward_update_batched(ctx, num_tables, d, indices, offsets,
                                                   per_sample_weights, grad_out, mode, opt, tables,
                                                   states);
        } else {
            for (int64_t t = 0; t < num_tables && st == EMBER_STATUS_SUCCESS; t++)
                st = ember_dispatch_backward_update(
                    ctx, &d[t], indices[t], offsets ? offsets[t] : NULL,
                    per_sample_weights ? per_sample_weights[t] : NULL, grad_out, mode, opt,
                    tables[t], states ? states[t] : NULL);
        }
    }
    free(d);
    return st;
}
