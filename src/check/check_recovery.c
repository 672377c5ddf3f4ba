/* check_recovery.c: the out-of-memory cases: an allocation no device can satisfy must
 * return EMBER_STATUS_OUT_OF_MEMORY (its message naming the size asked, as include/ember.h
 * promises), leave *out NULL, and leave the context working. */
#include "check_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void chk_run_out_of_memory(const ember_check_case *c, ember_context *ctx, ember_context *ref,
                           uint64_t seed, ember_check_result *r) {
    (void)ref, (void)seed;
    size_t bytes = c->alloc_bytes > SIZE_MAX ? SIZE_MAX : (size_t)c->alloc_bytes;
    /* Not NULL beforehand, so a buffer handed back by a failed call shows. */
    ember_buffer *sentinel = (ember_buffer *)&bytes, *big = sentinel;
    ember_status st = ember_buffer_alloc(ctx, bytes, &big);
    const char *msg = ember_context_last_error(ctx);
    r->metric = "exact";
    if (st != EMBER_STATUS_OUT_OF_MEMORY) {
        chk_result_failf(r, "ember_buffer_alloc(%zu bytes) returned %s, want OUT_OF_MEMORY (%s)",
                         bytes, ember_status_name(st), msg ? msg : "");
        if (st == EMBER_STATUS_SUCCESS && big != sentinel) ember_buffer_free(big);
        return;
    }
    if (big != NULL && big != sentinel)
        chk_result_failf(r, "ember_buffer_alloc failed but returned a buffer");
    char size[32];
    snprintf(size, sizeof size, "%zu", bytes);
    if (!msg || !strstr(msg, size))
        chk_result_failf(r, "the OUT_OF_MEMORY message \"%s\" does not name the size asked (%s)",
                         msg ? msg : "(null)", size);
    chk_still_usable(ctx, r, "the failed allocation");
}
