/* dense_api.c: public dense layer forward and backward calls. */
#include "core/validate.h"

static ember_status check_dims(ember_context *ctx, int64_t batch, int64_t in, int64_t out,
                               ember_activation act) {
    EMBER_RETURN_IF(batch < 0 || in < 1 || out < 1, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "batch = %lld, in = %lld, out = %lld (batch >= 0, in and out >= 1)",
                    (long long)batch, (long long)in, (long long)out);
    EMBER_RETURN_IF(act != EMBER_ACTIVATION_NONE && act != EMBER_ACTIVATION_RELU, ctx,
                    EMBER_STATUS_INVALID_ARGUMENT, "unknown activation %d", (int)act);
    return EMBER_STATUS_SUCCESS;
}

/* Checks a required (or, when optional, possibly NULL) rows x cols float matrix. */
static ember_status check_matrix(ember_context *ctx, const ember_buffer *buf, const char *name,
                                 int64_t rows, int64_t cols, int optional) {
    size_t need = 0;
    EMBER_FORWARD_IF_ERROR(ember_check_bytes(ctx, name, rows, cols, sizeof(float), &need));
    return optional ? ember_check_optional_buffer(ctx, buf, name, need)
                    : ember_check_buffer(ctx, buf, name, need);
}

ember_status ember_dense_forward(ember_context *ctx, int64_t batch, int64_t in, int64_t out,
                                 const ember_buffer *x, const ember_buffer *w,
                                 const ember_buffer *b, ember_activation act, ember_buffer *y) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    EMBER_FORWARD_IF_ERROR(check_dims(ctx, batch, in, out, act));
    EMBER_FORWARD_IF_ERROR(check_matrix(ctx, x, "x", batch, in, 0));
    EMBER_FORWARD_IF_ERROR(check_matrix(ctx, w, "w", out, in, 0));
    EMBER_FORWARD_IF_ERROR(check_matrix(ctx, b, "b", out, 1, 1));
    EMBER_FORWARD_IF_ERROR(check_matrix(ctx, y, "y", batch, out, 0));
    const ember_named_buffer outs[] = {{y, "y"}};
    const ember_named_buffer ins[] = {{x, "x"}, {w, "w"}, {b, "b"}};
    EMBER_FORWARD_IF_ERROR(
        ember_check_no_alias(ctx, outs, EMBER_COUNT_OF(outs), ins, EMBER_COUNT_OF(ins)));
    if (batch == 0) return EMBER_STATUS_SUCCESS;
    return ctx->ops->dense_forward(ctx, batch, in, out, x, w, b, act, y);
}

ember_status ember_dense_backward(ember_context *ctx, int64_t batch, int64_t in, int64_t out,
                                  const ember_buffer *x, const ember_buffer *w,
                                  const ember_buffer *y, ember_buffer *dy, ember_activation act,
                                  ember_buffer *dx, ember_buffer *dw, ember_buffer *db) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    EMBER_FORWARD_IF_ERROR(check_dims(ctx, batch, in, out, act));
    EMBER_FORWARD_IF_ERROR(check_matrix(ctx, x, "x", batch, in, 0));
    EMBER_FORWARD_IF_ERROR(check_matrix(ctx, w, "w", out, in, 0));
    EMBER_FORWARD_IF_ERROR(check_matrix(ctx, y, "y", batch, out, act == EMBER_ACTIVATION_NONE));
    EMBER_FORWARD_IF_ERROR(check_matrix(ctx, dy, "dy", batch, out, 0));
    EMBER_FORWARD_IF_ERROR(check_matrix(ctx, dx, "dx", batch, in, 1));
    EMBER_FORWARD_IF_ERROR(check_matrix(ctx, dw, "dw", out, in, 0));
    EMBER_FORWARD_IF_ERROR(check_matrix(ctx, db, "db", out, 1, 1));
    /* dy is written (masked by the ReLU) as well as read: it counts as an output. */
    const ember_named_buffer outs[] = {{dy, "dy"}, {dx, "dx"}, {dw, "dw"}, {db, "db"}};
    const ember_named_buffer ins[] = {{x, "x"}, {w, "w"}, {y, "y"}};
    EMBER_FORWARD_IF_ERROR(
        ember_check_no_alias(ctx, outs, EMBER_COUNT_OF(outs), ins, EMBER_COUNT_OF(ins)));
    if (batch == 0) {        /* the gradient of an empty batch is zero */
        size_t dw_bytes = 0; /* checked above not to overflow */
        EMBER_FORWARD_IF_ERROR(ember_check_bytes(ctx, "dw", out, in, sizeof(float), &dw_bytes));
        EMBER_FORWARD_IF_ERROR(ember_buffer_zero(ctx, dw, 0, dw_bytes));
        if (db) EMBER_FORWARD_IF_ERROR(ember_buffer_zero(ctx, db, 0, (size_t)out * sizeof(float)));
        return EMBER_STATUS_SUCCESS;
    }
    return ctx->ops->dense_backward(ctx, batch, in, out, x, w, y, dy, act, dx, dw, db);
}
