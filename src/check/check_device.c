/* check_device.c: host <-> device round trips for the runners, with a guard band of
 * sentinels after every buffer, and the first failing call remembered. */
#include "check_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int chk_fail_st(chk_dev *d, ember_status st, const char *what) {
    if (st == EMBER_STATUS_SUCCESS) return 0;
    if (d->st == EMBER_STATUS_SUCCESS) {
        d->st = st;
        snprintf(d->err, sizeof d->err, "%s returned %s: %s", what, ember_status_name(st),
                 d->ctx ? ember_context_last_error(d->ctx) : "");
    }
    return -1;
}

static void fill_sentinel(unsigned char *p, size_t bytes) {
    uint32_t s = CHK_SENTINEL;
    for (size_t i = 0; i + 4 <= bytes; i += 4) memcpy(p + i, &s, 4);
}

/* A buffer wrapping b's memory; b joins d->owners (NULL and b freed on failure). */
static ember_buffer *wrap_of(chk_dev *d, ember_buffer *b, size_t bytes) {
    ember_buffer *w = NULL;
    if (d->nowners == CHK_MAX_OWNERS) {
        chk_fail_st(d, EMBER_STATUS_INTERNAL, "chk_up: more wrapped buffers than CHK_MAX_OWNERS");
    } else if (chk_fail_st(d, ember_buffer_wrap(d->ctx, ember_buffer_native(b), bytes, &w),
                           "ember_buffer_wrap") == 0) {
        d->owners[d->nowners++] = b;
        return w;
    }
    ember_buffer_free(b);
    return NULL;
}

ember_buffer *chk_up(chk_dev *d, const void *data, int64_t elems, size_t esize) {
    if (d->st != EMBER_STATUS_SUCCESS) return NULL;
    if (elems < 0) elems = 0;
    size_t bytes = (size_t)elems * esize, total = bytes + CHK_GUARD * esize;
    unsigned char *host = malloc(total);
    if (!host) {
        chk_fail_st(d, EMBER_STATUS_OUT_OF_MEMORY, "host malloc");
        return NULL;
    }
    if (data && bytes)
        memcpy(host, data, bytes);
    else
        fill_sentinel(host, bytes);
    fill_sentinel(host + bytes, total - bytes);
    ember_buffer *b = NULL;
    ember_status st = ember_buffer_alloc(d->ctx, total, &b);
    if (chk_fail_st(d, st, "ember_buffer_alloc") == 0) {
        st = ember_buffer_upload(d->ctx, b, 0, host, total);
        if (chk_fail_st(d, st, "ember_buffer_upload") != 0) {
            ember_buffer_free(b);
            b = NULL;
        }
    } else {
        b = NULL;
    }
    free(host);
    return b && d->wrap ? wrap_of(d, b, total) : b;
}

void chk_dev_release(chk_dev *d) {
    for (int i = 0; i < d->nowners; i++) ember_buffer_free(d->owners[i]);
    d->nowners = 0;
}

void *chk_down(chk_dev *d, const ember_buffer *b, int64_t elems, size_t esize) {
    if (d->st != EMBER_STATUS_SUCCESS || !b) return NULL;
    if (elems < 0) elems = 0;
    size_t total = ((size_t)elems + CHK_GUARD) * esize;
    void *host = malloc(total);
    if (!host) {
        chk_fail_st(d, EMBER_STATUS_OUT_OF_MEMORY, "host malloc");
        return NULL;
    }
    ember_status st = ember_buffer_download(d->ctx, b, 0, host, total);
    if (chk_fail_st(d, st, "ember_buffer_download") != 0) {
        free(host);
        return NULL;
    }
    return host;
}

int chk_cpu_like(ember_context *ctx) {
    ember_backend_kind k = ember_context_kind(ctx);
    return k != EMBER_BACKEND_CUDA && k != EMBER_BACKEND_OPENCL;
}

void *chk_index_bytes(const int64_t *p, int64_t n, ember_index_type t) {
    size_t es = t == EMBER_INDEX_INT32 ? 4 : 8;
    void *out = malloc(((size_t)(n > 0 ? n : 0) + 1) * es);
    if (!out) return NULL;
    for (int64_t i = 0; i < n; i++) {
        if (t == EMBER_INDEX_INT32)
            ((int32_t *)out)[i] = (int32_t)p[i];
        else
            ((int64_t *)out)[i] = p[i];
    }
    return out;
}
