/* cpu_backend.c: the CPU backend's ops table, device listing, context and host memory. */
#define _GNU_SOURCE /* sysconf(_SC_PHYS_PAGES) */
#include "cpu/cpu_internal.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* --- threads ------------------------------------------------------------------------------ */

int cpu_threads(const ember_context *ctx) {
    /* The default (0) is every core nobody else is running on (cpu_load.c). */
    int t = ctx && ctx->threads > 0 ? ctx->threads : cpu_idle_cores(omp_get_max_threads());
    if (t < 1) t = 1;
    if (t > 64) t = 64; /* cpu_groups holds at most 64 chunks */
    return t;
}

int cpu_threads_for(const ember_context *ctx, int64_t work) {
    /* Waking an OpenMP team costs a few microseconds, about what one core needs for 2048
     * cache lines of gather: below that one thread is faster. */
    int t = cpu_threads(ctx);
    int64_t useful = work / 2048;
    if (useful < 1) useful = 1;
    return useful < t ? (int)useful : t;
}

/* --- memory -------------------------------------------------------------------------------- */

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

void cpu_aligned_free(void *p) { free(p); }

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

static ember_status cpu_buffer_alloc(ember_context *ctx, size_t bytes, void **handle) {
    void *p = cpu_aligned_alloc(bytes);
    if (!p) {
        long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        return ember_error(ctx, EMBER_STATUS_OUT_OF_MEMORY,
                           "cpu: cannot allocate %zu bytes of host memory (about %llu bytes "
                           "free)",
                           bytes,
                           (unsigned long long)(pages > 0 && page > 0
                                                    ? (uint64_t)pages * (uint64_t)page
                                                    : 0));
    }
    *handle = p;
    return EMBER_STATUS_SUCCESS;
}

static void cpu_buffer_free(ember_context *ctx, void *handle) { cpu_aligned_free(handle); }

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

static ember_status cpu_buffer_upload(ember_context *ctx, void *handle, size_t offset,
                                      const void *src, size_t bytes) {
    if (bytes) cpu_copy(ctx, (char *)handle + offset, src, bytes);
    return EMBER_STATUS_SUCCESS;
}

static ember_status cpu_buffer_download(ember_context *ctx, const void *handle, size_t offset,
                                        void *dst, size_t bytes) {
    if (bytes) cpu_copy(ctx, dst, (const char *)handle + offset, bytes);
    return EMBER_STATUS_SUCCESS;
}

static ember_status cpu_buffer_zero(ember_context *ctx, void *handle, size_t offset,
                                    size_t bytes) {
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

/* --- devices and contexts ---------------------------------------------------------------- */

static void cpu_model_name(char *out, size_t cap) {
    snprintf(out, cap, "CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *v = strchr(line, ':');
        if (!v) continue;
        v++;
        while (*v == ' ' || *v == '\t') v++;
        size_t len = strcspn(v, "\n");
        if (len > 0) snprintf(out, cap, "%.*s", (int)len, v);
        break;
    }
    fclose(f);
}

static void cpu_describe(ember_device_info *info) {
    memset(info, 0, sizeof *info);
    info->kind = EMBER_BACKEND_CPU;
    info->index = 0;
    cpu_model_name(info->name, sizeof info->name);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    info->memory_bytes = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    const char *core = openblas_get_corename();
    snprintf(info->detail, sizeof info->detail, "%d threads (OpenMP), OpenBLAS core %s",
             omp_get_max_threads(), core ? core : "unknown");
    info->usable = 1;
}

static ember_status cpu_devices(ember_device_info *out, size_t capacity, size_t *count) {
    if (count) *count = 1;
    if (out && capacity >= 1) cpu_describe(&out[0]);
    return EMBER_STATUS_SUCCESS;
}

static ember_status cpu_init(ember_context *ctx, int device) {
    if (device != 0 && device != -1)
        return ember_error(ctx, EMBER_STATUS_NO_DEVICE,
                           "cpu: device %d does not exist (the CPU backend has device 0 only)",
                           device);
    cpu_impl *impl = (cpu_impl *)calloc(1, sizeof *impl);
    if (!impl)
        return ember_error(ctx, EMBER_STATUS_OUT_OF_MEMORY,
                           "cpu: cannot allocate %zu bytes for the context", sizeof *impl);
    ember_device_info info;
    cpu_describe(&info);
    snprintf(ctx->device_name, sizeof ctx->device_name, "%s", info.name);
    ctx->device = 0;
    ctx->impl = impl;
    return EMBER_STATUS_SUCCESS;
}

static void cpu_destroy(ember_context *ctx) {
    cpu_impl *impl = (cpu_impl *)ctx->impl;
    if (impl) cpu_aligned_free(impl->scratch);
    free(impl);
    ctx->impl = NULL;
}

static ember_status cpu_synchronize(ember_context *ctx) {
    return EMBER_STATUS_SUCCESS; /* every op has finished when it returns */
}

static ember_status cpu_set_threads(ember_context *ctx, int threads) {
    if (threads < 0)
        return ember_error(ctx, EMBER_STATUS_INVALID_ARGUMENT,
                           "cpu: threads must be >= 0 (0: all cores), got %d", threads);
    ctx->threads = threads;
    return EMBER_STATUS_SUCCESS;
}

const struct ember_backend_ops ember_cpu_backend_ops = {
    .kind = EMBER_BACKEND_CPU,
    .name = "cpu",
    .devices = cpu_devices,
    .init = cpu_init,
    .destroy = cpu_destroy,
    .synchronize = cpu_synchronize,
    .set_threads = cpu_set_threads,
    .set_math_mode = NULL, /* strict FP32 always */
    .buffer_alloc = cpu_buffer_alloc,
    .buffer_free = cpu_buffer_free,
    .buffer_upload = cpu_buffer_upload,
    .buffer_download = cpu_buffer_download,
    .buffer_zero = cpu_buffer_zero,
    .check_indices = cpu_check_indices,
    .lookup = cpu_lookup,
    .backward_dense = cpu_backward_dense,
    .backward_sparse = cpu_backward_sparse,
    .sparse_step = cpu_sparse_step,
    .backward_update = cpu_backward_update,
    .dense_step = cpu_dense_step,
    .dense_forward = cpu_dense_forward,
    .dense_backward = cpu_dense_backward,
    .sigmoid = cpu_sigmoid,
    .bce_with_logits = cpu_bce_with_logits,
};
