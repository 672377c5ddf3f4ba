/* optimizer_api.c: optimizer names, defaults, state sizes and the dense optimizer step. */
#include "core/validate.h"

void ember_optimizer_init(ember_optimizer *opt, ember_optimizer_kind kind, float learning_rate) {
    if (!opt) return;
    opt->kind = kind;
    opt->learning_rate = learning_rate;
    opt->eps = kind == EMBER_OPTIMIZER_ADAM ? 1e-8f : 1e-10f;
    opt->beta1 = 0.9f;
    opt->beta2 = 0.999f;
    opt->weight_decay = 0.0f;
    opt->step = 1;
}

const char *ember_optimizer_name(ember_optimizer_kind kind) {
    switch (kind) {
    case EMBER_OPTIMIZER_SGD:
        return "sgd";
    case EMBER_OPTIMIZER_ADAGRAD:
        return "adagrad";
    case EMBER_OPTIMIZER_ROWWISE_ADAGRAD:
        return "rowwise_adagrad";
    case EMBER_OPTIMIZER_ADAM:
        return "adam";
    }
    return NULL;
}

int64_t ember_optimizer_state_size(ember_optimizer_kind kind, int64_t rows, int64_t dim) {
    if (rows < 0 || dim < 0) return -1;
    int64_t floats;
    switch (kind) {
    case EMBER_OPTIMIZER_ADAGRAD:
    case EMBER_OPTIMIZER_ADAM:
        return __builtin_mul_overflow(rows, dim, &floats) ? -1 : floats;
    case EMBER_OPTIMIZER_ROWWISE_ADAGRAD:
        return rows;
    default:
        return 0;
    }
}

ember_status ember_dense_optimizer_step(ember_context *ctx, const ember_optimizer *opt, int64_t n,
                                        ember_buffer *param, const ember_buffer *grad,
                                        ember_buffer *state, ember_buffer *state2) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    EMBER_FORWARD_IF_ERROR(ember_check_optimizer(ctx, opt, 0));
    size_t need = 0;
    EMBER_FORWARD_IF_ERROR(ember_check_bytes(ctx, "param", n, 1, sizeof(float), &need));
    EMBER_FORWARD_IF_ERROR(ember_check_buffer(ctx, param, "param", need));
    EMBER_FORWARD_IF_ERROR(ember_check_buffer(ctx, grad, "grad", need));
    if (opt->kind != EMBER_OPTIMIZER_SGD)
        EMBER_FORWARD_IF_ERROR(ember_check_buffer(ctx, state, "state", need));
    if (opt->kind == EMBER_OPTIMIZER_ADAM)
        EMBER_FORWARD_IF_ERROR(ember_check_buffer(ctx, state2, "state2", need));
    /* state and state2 only count where the kind uses them (SGD ignores both). */
    const ember_named_buffer outs[] = {
        {param, "param"},
        {ember_used_state(opt, state), "state"},
        {opt->kind == EMBER_OPTIMIZER_ADAM ? state2 : NULL, "state2"}};
    const ember_named_buffer ins[] = {{grad, "grad"}};
    EMBER_FORWARD_IF_ERROR(
        ember_check_no_alias(ctx, outs, EMBER_COUNT_OF(outs), ins, EMBER_COUNT_OF(ins)));
    if (n == 0) return EMBER_STATUS_SUCCESS;
    return ctx->ops->dense_step(ctx, opt, n, param, grad, state, state2);
}
