/* buffer.c: device memory handles; the backend owns the memory, this file the bookkeeping:
 * each context lists its live buffers, so that destroying a context with buffers still
 * alive releases their memory and leaves their handles safe to free afterwards. */
#include "core/validate.h"

#include <stdlib.h>

/* A handle for `bytes` at `handle` on ctx's list of live buffers; NULL when out of memory. */
static ember_buffer *new_handle(ember_context *ctx, size_t bytes, void *handle, int wrapped) {
    ember_buffer *buf = malloc(sizeof *buf);
    if (!buf) return NULL;
    buf->ctx = ctx;
    buf->bytes = bytes;
    buf->handle = handle;
    buf->wrapped = wrapped;
    buf->prev = NULL;
    buf->next = ctx->buffers;
    if (ctx->buffers) ctx->buffers->prev = buf;
    ctx->buffers = buf;
    return buf;
}

ember_status ember_buffer_alloc(ember_context *ctx, size_t bytes, ember_buffer **out) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    EMBER_RETURN_IF(!out, ctx, EMBER_STATUS_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    EMBER_RETURN_IF(bytes == 0, ctx, EMBER_STATUS_INVALID_ARGUMENT, "cannot allocate 0 bytes");
    void *handle = NULL;
    EMBER_FORWARD_IF_ERROR(ctx->ops->buffer_alloc(ctx, bytes, &handle));
    *out = new_handle(ctx, bytes, handle, 0);
    if (!*out) {
        ctx->ops->buffer_free(ctx, handle);
        return ember_error(ctx, EMBER_STATUS_OUT_OF_MEMORY,
                           "cannot allocate a buffer handle (%zu bytes of host memory)",
                           sizeof(ember_buffer));
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_buffer_wrap(ember_context *ctx, void *native, size_t bytes, ember_buffer **out) {
    EMBER_FORWARD_IF_ERROR(ember_check_context(ctx));
    EMBER_RETURN_IF(!out, ctx, EMBER_STATUS_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    EMBER_RETURN_IF(!native, ctx, EMBER_STATUS_INVALID_ARGUMENT, "the memory to wrap is NULL");
    EMBER_RETURN_IF(bytes == 0, ctx, EMBER_STATUS_INVALID_ARGUMENT, "cannot wrap 0 bytes");
    if (ctx->ops->buffer_wrap_check)
        EMBER_FORWARD_IF_ERROR(ctx->ops->buffer_wrap_check(ctx, native, bytes));
    *out = new_handle(ctx, bytes, native, 1);
    EMBER_RETURN_IF(!*out, ctx, EMBER_STATUS_OUT_OF_MEMORY,
                    "cannot allocate a buffer handle (%zu bytes of host memory)",
                    sizeof(ember_buffer));
    return EMBER_STATUS_SUCCESS;
}

void *ember_buffer_native(const ember_buffer *buf) {
    return buf ? buf->handle : NULL;
}

/* Releases the buffer's memory (not wrapped memory: the caller's) and takes it off its
 * context's list; the handle stays. */
static void release(ember_buffer *buf) {
    ember_context *ctx = buf->ctx;
    if (!buf->wrapped) ctx->ops->buffer_free(ctx, buf->handle);
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

size_t ember_buffer_size(const ember_buffer *buf) {
    return buf ? buf->bytes : 0;
}

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

ember_status ember_buffer_zero(ember_context *ctx, ember_buffer *buf, size_t offset, size_t bytes) {
    EMBER_FORWARD_IF_ERROR(check_range(ctx, buf, offset, bytes, NULL, NULL));
    if (bytes == 0) return EMBER_STATUS_SUCCESS;
    return ctx->ops->buffer_zero(ctx, buf->handle, offset, bytes);
}
