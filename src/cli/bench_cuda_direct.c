/* bench_cuda_direct.c: the baselines `ember bench --backend cuda` is judged by, a device
 * copy and cublasSgemm called directly, from the module libember_cuda_direct.so
 * (src/cuda/tools/cuda_direct.c) beside the CUDA plugin. Loaded only for CUDA runs, so
 * the program never links the CUDA runtime or cuBLAS itself; without the module the
 * figures are simply absent. */
#define _GNU_SOURCE /* dladdr */
#include "bench.h"
#include "cuda/tools/cuda_direct.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Beside the CUDA plugin: EMBER_CUDA_PLUGIN's folder, else libember's (as registry.c). */
static void *direct_module(void) {
    static void *module;
    static int tried;
    if (tried) return module;
    tried = 1;
    char path[PATH_MAX];
    const char *from = getenv("EMBER_CUDA_PLUGIN");
    Dl_info info;
    if (!(from && *from) && dladdr((void *)&ember_backend_name, &info) && info.dli_fname)
        from = info.dli_fname;
    const char *slash = from ? strrchr(from, '/') : NULL;
    snprintf(path, sizeof path, "%.*s%slibember_cuda_direct.so", slash ? (int)(slash - from) : 0,
             slash ? from : "", slash ? "/" : "");
    module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    return module;
}

double bench_cuda_direct_copy_gbps(size_t bytes, int reps) {
    void *m = direct_module();
    ember_cuda_direct_copy_fn f =
        m ? (ember_cuda_direct_copy_fn)dlsym(m, EMBER_CUDA_DIRECT_COPY_SYMBOL) : NULL;
    return f ? f(bytes, reps) : -1.0;
}

double bench_cuda_direct_gemm_ms(int fwd, int64_t batch, int64_t in, int64_t out, int reps) {
    void *m = direct_module();
    ember_cuda_direct_gemm_fn f =
        m ? (ember_cuda_direct_gemm_fn)dlsym(m, EMBER_CUDA_DIRECT_GEMM_SYMBOL) : NULL;
    return f ? f(fwd, (int)batch, (int)in, (int)out, reps) : -1.0;
}
