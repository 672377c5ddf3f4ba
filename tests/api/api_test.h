/* api_test.h: what the API tests share: a context per backend and buffers made from host
 * arrays. */
#ifndef EMBER_TEST_API_H
#define EMBER_TEST_API_H

#include <criterion/criterion.h>
#include <ember.h>

/* A context on `kind`, or NULL (test skipped by the caller) when it has no device. */
static inline ember_context *api_context(ember_backend_kind kind) {
    ember_context *ctx = NULL;
    if (ember_context_create(&ctx, kind, -1) != EMBER_STATUS_SUCCESS) return NULL;
    return ctx;
}

/* A buffer holding `bytes` copied from `host` (zeroed when host is NULL). */
static inline ember_buffer *api_buffer(ember_context *ctx, const void *host, size_t bytes) {
    ember_buffer *b = NULL;
    cr_assert_eq(ember_buffer_alloc(ctx, bytes, &b), EMBER_STATUS_SUCCESS, "%s",
                 ember_context_last_error(ctx));
    if (host)
        cr_assert_eq(ember_buffer_upload(ctx, b, 0, host, bytes), EMBER_STATUS_SUCCESS);
    else
        cr_assert_eq(ember_buffer_zero(ctx, b, 0, bytes), EMBER_STATUS_SUCCESS);
    return b;
}

#endif
