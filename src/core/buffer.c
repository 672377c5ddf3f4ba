/* buffer.c: device memory handles; the backend owns the memory, this file the bookkeeping:
 * each context lists its live buffers, so that destroying a context with buffers still
 * alive releases their memory and leaves their handles safe to free afterwards. */
#include "core/validate.h"

#include <stdlib.h>

ember_status ember_buffer_alloc(ember_context *ctx, size_t bytes, ember_buffer **out) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    EMBER_RETURN_IF(!out, ctx, EMBER_STATUS_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    EMBER_RETURN_IF(bytes == 0, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "cannot allocate 0 bytes");
    ember_buffer *buf = malloc(sizeof *buf);
    EMBER_RETURN_IF(!buf, ctx, EMBER_STATUS_OUT_OF_MEMORY,
                    "cannot allocate a buffer handle (%zu bytes of host memory)", sizeof *buf);
    void *handle = NULL;
    ember_status st = ctx->ops->buffer_alloc(ctx, bytes, &handle);
    if (st != EMBER_STATUS_SUCCESS) {
        free(buf);
        return st;
    }
    buf->ctx = ctx;
    buf->bytes = bytes;
    buf->handle = handle;
    buf->prev = NULL;
    buf->next = ctx->buffers;
    if (ctx->buffers) ctx->buffers->prev = buf;
    ctx->buffers = buf;
    *out = buf;
    return EMBER_STATUS_SUCCESS;
}

/* Releases the buffer's memory and takes it off its context's list; the handle stays. */
static void release(ember_buffer *buf) {
    ember_context *ctx = buf->ctx;
    ctx->ops->buffer_free(ctx, buf->handle);
    if (buf->prev)
        buf->prev->next = buf->next;
    else
        ctx->buffers = buf->next;
    if (buf->next) buf->next->prev = buf->prev;
    buf->ctx = NULL;
    buf->handle = NULL;
    buf->prev = buf->next = NULL;
}

void ember_buffer_free(ember_buffer *buf) {
    if (!buf) return;
    if (buf->ctx) release(buf); /* else its context was destroyed and released it */
    free(buf);
}

size_t ember_buffer_release_all(ember_context *ctx) {
    size_t n = 0;
    while (ctx->buffers) {
        release(ctx->buffers);
        n++;
    }
    return n;
}

size_t ember_buffer_size(const ember_buffer *buf) { return buf ? buf->bytes : 0; }

/* [offset, offset + bytes) lies inside buf. */
static ember_status check_range(ember_context *ctx, const ember_buffer *buf, size_t offset,
                                size_t bytes, const void *host, const char *what) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    EMBER_FORWARD_IF_ERROR(ember_check_buffer(ctx, buf, "buffer", 0));
    EMBER_RETURN_IF(bytes > 0 && !host && what, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "%s host pointer is NULL", what);
    EMBER_RETURN_IF(offset > buf->bytes || bytes > buf->bytes - offset, ctx,
                    EMBER_STATUS_BUFFER_TOO_SMALL,
                    "bytes [%zu, %zu + %zu) lie outside the buffer's %zu bytes", offset, offset,
                    bytes, buf->bytes);
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_buffer_upload(ember_context *ctx, ember_buffer *dst, size_t offset,
                                 const void *src, size_t bytes) {
    EMBER_FORWARD_IF_ERROR(check_range(ctx, dst, offset, bytes, src, "source"));
    if (bytes == 0) return EMBER_STATUS_SUCCESS;
    return ctx->ops->buffer_upload(ctx, dst->handle, offset, src, bytes);
}

ember_status ember_buffer_download(ember_context *ctx, const ember_buffer *src, size_t offset,
                                   void *dst, size_t bytes) {
    EMBER_FORWARD_IF_ERROR(check_range(ctx, src, offset, bytes, dst, "destination"));
    if (bytes == 0) return EMBER_STATUS_SUCCESS;
    return ctx->ops->buffer_download(ctx, src->handle, offset, dst, bytes);
}

ember_status ember_buffer_zero(ember_context *ctx, ember_buffer *buf, size_t offset,
                               size_t bytes) {
    EMBER_FORWARD_IF_ERROR(check_range(ctx, buf, offset, bytes, NULL, NULL));
    if (bytes == 0) return EMBER_STATUS_SUCCESS;
    return ctx->ops->buffer_zero(ctx, buf->handle, offset, bytes);
}
