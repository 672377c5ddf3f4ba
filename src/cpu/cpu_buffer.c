/* cpu_buffer.c: the CPU backend's memory: buffers (64-byte aligned host memory, huge pages
 * for large ones), per-context scratch, and threaded copies. */
#define _GNU_SOURCE /* sysconf(_SC_AVPHYS_PAGES) */
#include "cpu/cpu_internal.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Buffers of this size or more go on transparent huge pages: a random row gather over a
 * 256 MB table otherwise misses the TLB on nearly every row (4 KB pages), which costs more
 * than the row itself. The kernel here has THP in "madvise" mode, so it must be asked. */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_MIN ((size_t)4 << 20)

void *cpu_aligned_alloc(size_t bytes) {
    if (bytes == 0) bytes = 64;
    if (bytes > SIZE_MAX - HUGE_PAGE) return NULL;
    if (bytes >= HUGE_MIN) {
        size_t size = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        void *p = aligned_alloc(HUGE_PAGE, size);
#ifdef MADV_HUGEPAGE
        if (p) (void)madvise(p, size, MADV_HUGEPAGE); /* a hint: failure is harmless */
#endif
        return p;
    }
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

void cpu_aligned_free(void *p) {
    free(p);
}

void *cpu_scratch(ember_context *ctx, size_t bytes) {
    cpu_impl *impl = (cpu_impl *)ctx->impl;
    if (bytes <= impl->scratch_bytes) return impl->scratch;
    /* Grow by half again so a slowly growing workload does not reallocate every call. */
    size_t want = bytes + bytes / 2;
    if (want < bytes) want = bytes;
    cpu_aligned_free(impl->scratch);
    impl->scratch = cpu_aligned_alloc(want);
    impl->scratch_bytes = impl->scratch ? want : 0;
    if (!impl->scratch) {
        ember_error(ctx, EMBER_STATUS_OUT_OF_MEMORY,
                    "cpu: cannot allocate %zu bytes of scratch memory", want);
        return NULL;
    }
    return impl->scratch;
}

ember_status cpu_buffer_alloc(ember_context *ctx, size_t bytes, void **handle) {
    void *p = cpu_aligned_alloc(bytes);
    if (!p) {
        long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        return ember_error(
            ctx, EMBER_STATUS_OUT_OF_MEMORY,
            "cpu: cannot allocate %zu bytes of host memory (about %llu bytes "
            "free)",
            bytes,
            (unsigned long long)(pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0));
    }
    *handle = p;
    return EMBER_STATUS_SUCCESS;
}

void cpu_buffer_free(ember_context *ctx, void *handle) {
    cpu_aligned_free(handle);
}

/* Large copies use every thread: one core alone reaches only about half the machine's
 * memory bandwidth. */
static void cpu_copy(const ember_context *ctx, void *dst, const void *src, size_t bytes) {
    int nt = cpu_threads_for(ctx, (int64_t)(bytes / 64 / 16));
    if (nt <= 1) {
        memcpy(dst, src, bytes);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        size_t lo = bytes / (size_t)n * (size_t)t, hi = t == n - 1 ? bytes : lo + bytes / (size_t)n;
        memcpy((char *)dst + lo, (const char *)src + lo, hi - lo);
    }
}

ember_status cpu_buffer_upload(ember_context *ctx, void *handle, size_t offset, const void *src,
                               size_t bytes) {
    if (bytes) cpu_copy(ctx, (char *)handle + offset, src, bytes);
    return EMBER_STATUS_SUCCESS;
}

ember_status cpu_buffer_download(ember_context *ctx, const void *handle, size_t offset, void *dst,
                                 size_t bytes) {
    if (bytes) cpu_copy(ctx, dst, (const char *)handle + offset, bytes);
    return EMBER_STATUS_SUCCESS;
}

ember_status cpu_buffer_zero(ember_context *ctx, void *handle, size_t offset, size_t bytes) {
    char *p = (char *)handle + offset;
    int nt = cpu_threads_for(ctx, (int64_t)(bytes / 64 / 16));
    if (nt <= 1) {
        memset(p, 0, bytes);
        return EMBER_STATUS_SUCCESS;
    }
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        size_t lo = bytes / (size_t)n * (size_t)t, hi = t == n - 1 ? bytes : lo + bytes / (size_t)n;
        memset(p + lo, 0, hi - lo);
    }
    return EMBER_STATUS_SUCCESS;
}
