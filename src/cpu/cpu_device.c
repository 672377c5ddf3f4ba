/* cpu_device.c: the CPU backend's device listing, context lifetime and thread count. */
#define _GNU_SOURCE /* sysconf(_SC_PHYS_PAGES) */
#include "cpu/cpu_internal.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

ember_status cpu_devices(ember_device_info *out, size_t capacity, size_t *count) {
    if (count) *count = 1;
    if (out && capacity >= 1) cpu_describe(&out[0]);
    return EMBER_STATUS_SUCCESS;
}

ember_status cpu_init(ember_context *ctx, int device) {
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

void cpu_destroy(ember_context *ctx) {
    cpu_impl *impl = (cpu_impl *)ctx->impl;
    if (impl) cpu_aligned_free(impl->scratch);
    free(impl);
    ctx->impl = NULL;
}

ember_status cpu_synchronize(ember_context *ctx) {
    return EMBER_STATUS_SUCCESS; /* every op has finished when it returns */
}
