/* head_api.c: public sigmoid and binary cross-entropy calls. */
#include "core/validate.h"

static ember_status check_vector(ember_context *ctx, const ember_buffer *buf, const char *name,
                                 int64_t n, int optional) {
    size_t need = 0;
    EMBER_FORWARD_IF_ERROR(ember_check_bytes(ctx, name, n, 1, sizeof(float), &need));
    return optional ? ember_check_optional_buffer(ctx, buf, name, need)
                    : ember_check_buffer(ctx, buf, name, need);
}

ember_status ember_sigmoid(ember_context *ctx, int64_t n, const ember_buffer *x, ember_buffer *y) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    EMBER_RETURN_IF(n < 0, ctx, EMBER_STATUS_INVALID_ARGUMENT, "n = %lld", (long long)n);
    EMBER_FORWARD_IF_ERROR(check_vector(ctx, x, "x", n, 0));
    EMBER_FORWARD_IF_ERROR(check_vector(ctx, y, "y", n, 0));
    const ember_named_buffer outs[] = {{y, "y"}};
    const ember_named_buffer ins[] = {{x, "x"}};
    EMBER_FORWARD_IF_ERROR(
        ember_check_no_alias(ctx, outs, EMBER_COUNT_OF(outs), ins, EMBER_COUNT_OF(ins)));
    if (n == 0) return EMBER_STATUS_SUCCESS;
    return ctx->ops->sigmoid(ctx, n, x, y);
}

ember_status ember_bce_with_logits(ember_context *ctx, int64_t n, const ember_buffer *logits,
                                   const ember_buffer *labels, float *loss, ember_buffer *grad) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    EMBER_RETURN_IF(n < 0, ctx, EMBER_STATUS_INVALID_ARGUMENT, "n = %lld", (long long)n);
    EMBER_FORWARD_IF_ERROR(check_vector(ctx, logits, "logits", n, 0));
    EMBER_FORWARD_IF_ERROR(check_vector(ctx, labels, "labels", n, 0));
    EMBER_FORWARD_IF_ERROR(check_vector(ctx, grad, "grad", n, 1));
    const ember_named_buffer outs[] = {{grad, "grad"}};
    const ember_named_buffer ins[] = {{logits, "logits"}, {labels, "labels"}};
    EMBER_FORWARD_IF_ERROR(
        ember_check_no_alias(ctx, outs, EMBER_COUNT_OF(outs), ins, EMBER_COUNT_OF(ins)));
    if (n == 0) {
        if (loss) *loss = 0.0f;
        return EMBER_STATUS_SUCCESS;
    }
    return ctx->ops->bce_with_logits(ctx, n, logits, labels, loss, grad);
}
