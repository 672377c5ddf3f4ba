/* validate.c: the shared argument checks of the dispatch layer (see validate.h). */
#include "core/validate.h"

#include <math.h>
#include <stdint.h>

ember_status ember_check_context(const ember_context *ctx) {
    if (!ctx) return ember_error(NULL, EMBER_STATUS_INVALID_ARGUMENT, "context is NULL");
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_check_bytes(ember_context *ctx, const char *what, int64_t a, int64_t b,
                               size_t elem, size_t *out) {
    *out = 0;
    EMBER_RETURN_IF(a < 0 || b < 0, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "%s: negative size (%lld x %lld)", what, (long long)a, (long long)b);
    size_t n;
    if (__builtin_mul_overflow((size_t)a, (size_t)b, &n) || __builtin_mul_overflow(n, elem, &n))
        return ember_error(ctx, EMBER_STATUS_INVALID_ARGUMENT,
                           "%s: %lld x %lld elements overflow the address space", what,
                           (long long)a, (long long)b);
    *out = n;
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_check_optional_buffer(ember_context *ctx, const ember_buffer *buf,
                                         const char *name, size_t need) {
    if (!buf) return EMBER_STATUS_SUCCESS;
    EMBER_RETURN_IF(buf->ctx != ctx, ctx, EMBER_STATUS_WRONG_CONTEXT,
                    "%s was allocated on another context", name);
    EMBER_RETURN_IF(buf->bytes < need, ctx, EMBER_STATUS_BUFFER_TOO_SMALL,
                    "%s holds %zu bytes, the shape needs %zu", name, buf->bytes, need);
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_check_buffer(ember_context *ctx, const ember_buffer *buf, const char *name,
                                size_t need) {
    EMBER_RETURN_IF(!buf, ctx, EMBER_STATUS_INVALID_ARGUMENT, "%s is NULL", name);
    return ember_check_optional_buffer(ctx, buf, name, need);
}

/* Whether two buffers share memory: the same handle, or a wrapped one (ember_buffer_wrap;
 * allocations never overlap) whose address range meets the other's. An OpenCL cl_mem is an
 * opaque handle: only the same one is the same memory. */
static int same_memory(const ember_context *ctx, const ember_buffer *a, const ember_buffer *b) {
    if (!a || !b) return 0;
    if (a == b || a->handle == b->handle) return 1;
    if (!(a->wrapped || b->wrapped) || ctx->kind == EMBER_BACKEND_OPENCL) return 0;
    uintptr_t pa = (uintptr_t)a->handle, pb = (uintptr_t)b->handle;
    return pa < pb + b->bytes && pb < pa + a->bytes;
}

ember_status ember_check_no_alias(ember_context *ctx, const ember_named_buffer *outs,
                                  size_t num_outs, const ember_named_buffer *ins, size_t num_ins) {
    for (size_t o = 0; o < num_outs; o++) {
        const ember_buffer *b = outs[o].buf;
        if (!b) continue;
        for (size_t k = o + 1; k < num_outs; k++)
            EMBER_RETURN_IF(same_memory(ctx, outs[k].buf, b), ctx, EMBER_STATUS_INVALID_ARGUMENT,
                            "%s and %s are the same buffer or share memory (an op's outputs "
                            "must be distinct)",
                            outs[o].name, outs[k].name);
        for (size_t i = 0; i < num_ins; i++)
            EMBER_RETURN_IF(same_memory(ctx, ins[i].buf, b), ctx, EMBER_STATUS_INVALID_ARGUMENT,
                            "%s (written) and %s (read) are the same buffer or share memory: "
                            "give the output its own buffer",
                            outs[o].name, ins[i].name);
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_check_embedding_alias(ember_context *ctx, const ember_named_buffer *outs,
                                         size_t num_outs, ember_named_buffer data,
                                         const ember_buffer *indices, const ember_buffer *offsets,
                                         const ember_buffer *weights) {
    const ember_named_buffer ins[] = {
        data, {indices, "indices"}, {offsets, "offsets"}, {weights, "per_sample_weights"}};
    return ember_check_no_alias(ctx, outs, num_outs, ins, EMBER_COUNT_OF(ins));
}

ember_status ember_check_lookup_args(ember_context *ctx, const ember_lookup_desc *desc,
                                     const ember_buffer *indices, const ember_buffer *offsets,
                                     const ember_buffer *weights, const ember_buffer *out,
                                     const char *out_name, ember_lookup_desc *norm) {
    EMBER_RETURN_IF(!desc, ctx, EMBER_STATUS_INVALID_ARGUMENT, "desc is NULL");
    ember_lookup_desc d = *desc;
    EMBER_RETURN_IF(d.num_rows < 0, ctx, EMBER_STATUS_INVALID_ARGUMENT, "num_rows = %lld",
                    (long long)d.num_rows);
    EMBER_RETURN_IF(d.dim < 1, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "dim = %lld (must be at least 1)", (long long)d.dim);
    EMBER_RETURN_IF(d.num_indices < 0 || d.batch < 0, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "num_indices = %lld, batch = %lld (must not be negative)",
                    (long long)d.num_indices, (long long)d.batch);
    EMBER_RETURN_IF(d.index_type != EMBER_INDEX_INT64 && d.index_type != EMBER_INDEX_INT32, ctx,
                    EMBER_STATUS_INVALID_ARGUMENT, "unknown index type %d", (int)d.index_type);
    EMBER_RETURN_IF(d.index_type == EMBER_INDEX_INT32 && d.num_indices > INT32_MAX, ctx,
                    EMBER_STATUS_INVALID_ARGUMENT,
                    "%lld int32 indices: offsets cannot address them", (long long)d.num_indices);
    EMBER_RETURN_IF(d.padding_idx < -1 || d.padding_idx >= d.num_rows, ctx,
                    EMBER_STATUS_INVALID_ARGUMENT,
                    "padding_idx = %lld (expected -1 for none, or a row in [0, %lld))",
                    (long long)d.padding_idx, (long long)d.num_rows);
    EMBER_RETURN_IF(d.out_col_offset < 0 || d.out_row_stride < 0, ctx,
                    EMBER_STATUS_INVALID_ARGUMENT, "out_row_stride = %lld, out_col_offset = %lld",
                    (long long)d.out_row_stride, (long long)d.out_col_offset);
    if (d.out_row_stride == 0) d.out_row_stride = d.dim;
    EMBER_RETURN_IF(d.out_col_offset > d.out_row_stride - d.dim, ctx, EMBER_STATUS_SHAPE_MISMATCH,
                    "%lld columns from column %lld do not fit in rows of stride %lld",
                    (long long)d.dim, (long long)d.out_col_offset, (long long)d.out_row_stride);
    switch (d.pooling) {
    case EMBER_POOLING_NONE:
        EMBER_RETURN_IF(d.batch != d.num_indices, ctx, EMBER_STATUS_SHAPE_MISMATCH,
                        "without pooling batch (%lld) must equal num_indices (%lld)",
                        (long long)d.batch, (long long)d.num_indices);
        EMBER_RETURN_IF(offsets != NULL, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                        "offsets given without pooling (use EMBER_POOLING_SUM or MEAN)");
        break;
    case EMBER_POOLING_SUM:
    case EMBER_POOLING_MEAN:
        EMBER_RETURN_IF(offsets == NULL, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                        "pooling needs offsets (batch + 1 entries)");
        break;
    default:
        return ember_error(ctx, EMBER_STATUS_INVALID_ARGUMENT, "unknown pooling %d",
                           (int)d.pooling);
    }
    EMBER_RETURN_IF(weights && d.pooling != EMBER_POOLING_SUM, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "per_sample_weights need EMBER_POOLING_SUM");

    size_t isz = ember_index_size(d.index_type), need = 0;
    EMBER_FORWARD_IF_ERROR(ember_check_bytes(ctx, "indices", d.num_indices, 1, isz, &need));
    EMBER_FORWARD_IF_ERROR(ember_check_buffer(ctx, indices, "indices", need));
    if (offsets) {
        EMBER_RETURN_IF(d.batch == INT64_MAX, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                        "batch = %lld: offsets (batch + 1 entries) overflow", (long long)d.batch);
        EMBER_FORWARD_IF_ERROR(ember_check_bytes(ctx, "offsets", d.batch + 1, 1, isz, &need));
        EMBER_FORWARD_IF_ERROR(ember_check_buffer(ctx, offsets, "offsets", need));
    }
    EMBER_FORWARD_IF_ERROR(
        ember_check_bytes(ctx, "per_sample_weights", d.num_indices, 1, sizeof(float), &need));
    EMBER_FORWARD_IF_ERROR(ember_check_optional_buffer(ctx, weights, "per_sample_weights", need));
    EMBER_FORWARD_IF_ERROR(
        ember_check_bytes(ctx, out_name, d.batch, d.out_row_stride, sizeof(float), &need));
    EMBER_FORWARD_IF_ERROR(ember_check_buffer(ctx, out, out_name, need));
    size_t table_bytes;
    EMBER_FORWARD_IF_ERROR(
        ember_check_bytes(ctx, "table", d.num_rows, d.dim, sizeof(float), &table_bytes));
    *norm = d;
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_run_index_check(ember_context *ctx, const ember_lookup_desc *norm,
                                   const ember_buffer *indices, const ember_buffer *offsets) {
    if (norm->num_indices == 0 && !offsets) return EMBER_STATUS_SUCCESS;
    ember_index_problem p = {EMBER_INDEX_PROBLEM_NONE, 0, 0};
    EMBER_FORWARD_IF_ERROR(ctx->ops->check_indices(ctx, norm, indices, offsets, &p));
    return ember_index_problem_status(ctx, norm, &p);
}

ember_status ember_index_problem_status(ember_context *ctx, const ember_lookup_desc *norm,
                                        const ember_index_problem *problem) {
    const ember_index_problem p = *problem;
    switch (p.kind) {
    case EMBER_INDEX_PROBLEM_NONE:
        return EMBER_STATUS_SUCCESS;
    case EMBER_INDEX_PROBLEM_INDEX:
        return ember_error(ctx, EMBER_STATUS_INDEX_OUT_OF_RANGE,
                           "indices[%lld] = %lld is outside the table's rows [0, %lld)",
                           (long long)p.position, (long long)p.value, (long long)norm->num_rows);
    case EMBER_INDEX_PROBLEM_OFFSET_FIRST:
        return ember_error(ctx, EMBER_STATUS_BAD_OFFSETS, "offsets[0] = %lld, must be 0",
                           (long long)p.value);
    case EMBER_INDEX_PROBLEM_OFFSET_DECREASING:
        return ember_error(ctx, EMBER_STATUS_BAD_OFFSETS,
                           "offsets[%lld] = %lld is less than the offset before it "
                           "(offsets must not decrease)",
                           (long long)p.position, (long long)p.value);
    case EMBER_INDEX_PROBLEM_OFFSET_LAST:
        return ember_error(ctx, EMBER_STATUS_BAD_OFFSETS,
                           "offsets[%lld] = %lld, must equal the number of indices %lld",
                           (long long)p.position, (long long)p.value, (long long)norm->num_indices);
    default:
        return ember_error(ctx, EMBER_STATUS_INTERNAL, "index check returned kind %d", (int)p.kind);
    }
}

ember_status ember_check_optimizer(ember_context *ctx, const ember_optimizer *opt, int sparse) {
    EMBER_RETURN_IF(!opt, ctx, EMBER_STATUS_INVALID_ARGUMENT, "optimizer is NULL");
    switch (opt->kind) {
    case EMBER_OPTIMIZER_SGD:
    case EMBER_OPTIMIZER_ADAGRAD:
        break;
    case EMBER_OPTIMIZER_ROWWISE_ADAGRAD:
        EMBER_RETURN_IF(!sparse, ctx, EMBER_STATUS_NOT_SUPPORTED,
                        "row-wise Adagrad is for embedding tables (sparse updates) only");
        break;
    case EMBER_OPTIMIZER_ADAM:
        EMBER_RETURN_IF(sparse, ctx, EMBER_STATUS_NOT_SUPPORTED,
                        "Adam is for dense parameters only; use Adagrad or row-wise Adagrad "
                        "for embedding tables");
        EMBER_RETURN_IF(opt->step < 1, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                        "Adam step = %lld (1-based)", (long long)opt->step);
        EMBER_RETURN_IF(
            !(opt->beta1 >= 0.0f && opt->beta1 < 1.0f && opt->beta2 >= 0.0f && opt->beta2 < 1.0f),
            ctx, EMBER_STATUS_INVALID_ARGUMENT, "Adam betas (%g, %g) must be in [0, 1)",
            (double)opt->beta1, (double)opt->beta2);
        break;
    default:
        return ember_error(ctx, EMBER_STATUS_INVALID_ARGUMENT, "unknown optimizer kind %d",
                           (int)opt->kind);
    }
    EMBER_RETURN_IF(!isfinite(opt->learning_rate), ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "learning rate %g is not finite", (double)opt->learning_rate);
    EMBER_RETURN_IF(!(opt->eps >= 0.0f) || !isfinite(opt->eps), ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "eps %g (must be finite and >= 0)", (double)opt->eps);
    EMBER_RETURN_IF(!isfinite(opt->weight_decay), ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "weight decay %g is not finite", (double)opt->weight_decay);
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_check_mode(ember_context *ctx, ember_reduction_mode mode) {
    EMBER_RETURN_IF(mode != EMBER_REDUCTION_ATOMIC && mode != EMBER_REDUCTION_DETERMINISTIC, ctx,
                    EMBER_STATUS_INVALID_ARGUMENT, "unknown reduction mode %d", (int)mode);
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_check_table(ember_context *ctx, const ember_lookup_desc *d,
                               const ember_buffer *table, const char *name) {
    size_t need = 0;
    EMBER_FORWARD_IF_ERROR(ember_check_bytes(ctx, name, d->num_rows, d->dim, sizeof(float), &need));
    return ember_check_buffer(ctx, table, name, need);
}

ember_status ember_check_sparse_state(ember_context *ctx, const ember_optimizer *opt, int64_t rows,
                                      int64_t dim, const ember_buffer *state) {
    EMBER_FORWARD_IF_ERROR(ember_check_optimizer(ctx, opt, 1));
    int64_t floats = ember_optimizer_state_size(opt->kind, rows, dim);
    EMBER_RETURN_IF(floats < 0, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "optimizer state of %lld x %lld: negative or overflowing size", (long long)rows,
                    (long long)dim);
    if (floats == 0) return EMBER_STATUS_SUCCESS;
    size_t need = 0;
    EMBER_FORWARD_IF_ERROR(ember_check_bytes(ctx, "state", floats, 1, sizeof(float), &need));
    return ember_check_buffer(ctx, state, "state", need);
}
