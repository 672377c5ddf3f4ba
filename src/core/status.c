/* status.c: status names and messages (from the one X-macro list) and error recording. */
#include "core/backend.h"

#include <stdio.h>
#include <string.h>

const char *ember_status_string(ember_status status) {
    switch (status) {
#define EMBER_STATUS_MSG_(name, msg)                                                               \
    case EMBER_STATUS_##name:                                                                      \
        return msg;
        EMBER_STATUS_LIST(EMBER_STATUS_MSG_)
#undef EMBER_STATUS_MSG_
    default:
        return "unknown status";
    }
}

const char *ember_status_name(ember_status status) {
    switch (status) {
#define EMBER_STATUS_NAME_(name, msg)                                                              \
    case EMBER_STATUS_##name:                                                                      \
        return #name;
        EMBER_STATUS_LIST(EMBER_STATUS_NAME_)
#undef EMBER_STATUS_NAME_
    default:
        return "UNKNOWN";
    }
}

/* Errors of calls that have no context (create, device listing) land here, per thread. */
static _Thread_local char thread_last_error[2048];

const char *ember_last_error(void) {
    return thread_last_error;
}

ember_status ember_error_v(ember_context *ctx, ember_status status, const char *fmt, va_list ap) {
    char *dst = ctx ? ctx->last_error : thread_last_error;
    size_t cap = ctx ? sizeof ctx->last_error : sizeof thread_last_error;
    int n = snprintf(dst, cap, "%s: ", ember_status_string(status));
    if (n < 0 || (size_t)n >= cap) n = 0;
    vsnprintf(dst + n, cap - (size_t)n, fmt, ap);
    return status;
}

ember_status ember_error(ember_context *ctx, ember_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ember_error_v(ctx, status, fmt, ap);
    va_end(ap);
    return status;
}

const char *ember_context_last_error(const ember_context *ctx) {
    return ctx ? ctx->last_error : "no context";
}
