/* registry.c: which backends exist, loading the CUDA plugin, and context lifetime. */
#define _GNU_SOURCE /* dladdr */
#include "core/backend.h"

#include <ctype.h>
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every backend kind this build can name: the public ones, and in test builds the
 * perturbed one, which is not in the public enum. */
static const struct {
    ember_backend_kind kind;
    const char *name;
} backend_names[] = {
    {EMBER_BACKEND_CPU, "cpu"},
    {EMBER_BACKEND_CUDA, "cuda"},
    {EMBER_BACKEND_OPENCL, "opencl"},
#ifdef EMBER_WITH_TEST_BACKEND
    {EMBER_BACKEND_PERTURBED, "perturbed"},
#endif
};
#define NUM_BACKEND_NAMES (sizeof backend_names / sizeof backend_names[0])

const char *ember_backend_name(ember_backend_kind kind) {
    for (size_t i = 0; i < NUM_BACKEND_NAMES; i++)
        if (backend_names[i].kind == kind) return backend_names[i].name;
    return NULL;
}

ember_status ember_backend_parse(const char *name, ember_backend_kind *kind) {
    if (!name || !kind)
        return ember_error(NULL, EMBER_STATUS_INVALID_ARGUMENT, "name or kind is NULL");
    for (size_t i = 0; i < NUM_BACKEND_NAMES; i++) {
        const char *a = name, *b = backend_names[i].name;
        while (*a && *b && tolower((unsigned char)*a) == *b) a++, b++;
        if (!*a && !*b) {
            *kind = backend_names[i].kind;
            return EMBER_STATUS_SUCCESS;
        }
    }
#ifdef EMBER_WITH_TEST_BACKEND
    const char *expected = "cpu, cuda, opencl or perturbed";
#else
    const char *expected = "cpu, cuda or opencl";
#endif
    return ember_error(NULL, EMBER_STATUS_INVALID_ARGUMENT, "unknown backend '%s' (expected %s)",
                       name, expected);
}

/* --- backend plugins ------------------------------------------------------------------- */

ember_status ember_backend_ops_check(const struct ember_backend_ops *ops, const char *what,
                                     char *why, size_t why_size) {
    if (ops->abi_version != EMBER_BACKEND_ABI_VERSION) {
        snprintf(why, why_size,
                 "%s was built for backend ABI %u, this libember (%s) expects ABI %u: build "
                 "or install the two from the same ember version",
                 what, (unsigned)ops->abi_version, EMBER_VERSION_STRING,
                 (unsigned)EMBER_BACKEND_ABI_VERSION);
        return EMBER_STATUS_BACKEND_NOT_COMPILED;
    }
    if (ops->size != sizeof *ops) {
        snprintf(why, why_size,
                 "%s has a %u-byte ops table, this libember expects %zu bytes (same ABI "
                 "version %u: was the version not bumped?)",
                 what, (unsigned)ops->size, sizeof *ops, (unsigned)EMBER_BACKEND_ABI_VERSION);
        return EMBER_STATUS_BACKEND_NOT_COMPILED;
    }
#define EMBER_OP_IS_REQUIRED_REQUIRED 1
#define EMBER_OP_IS_REQUIRED_OPTIONAL 0
#define CHECK_PRESENT_(presence, ret, op, params)                                                  \
    if (EMBER_OP_IS_REQUIRED_##presence && !ops->op) {                                             \
        snprintf(why, why_size, "%s lacks the required op %s", what, #op);                         \
        return EMBER_STATUS_BACKEND_NOT_COMPILED;                                                  \
    }
    EMBER_BACKEND_OPS(CHECK_PRESENT_)
#undef CHECK_PRESENT_
    return EMBER_STATUS_SUCCESS;
}

const struct ember_backend_ops *ember_backend_plugin_load(const char *path, const char *symbol,
                                                          ember_status *status, char *why,
                                                          size_t why_size) {
    if (access(path, R_OK) != 0) {
        *status = EMBER_STATUS_BACKEND_NOT_COMPILED;
        snprintf(why, why_size, "no plugin at %s", path);
        return NULL;
    }
    void *plugin = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!plugin) {
        *status = EMBER_STATUS_DEVICE_ERROR;
        snprintf(why, why_size, "cannot load the plugin: %s", dlerror());
        return NULL;
    }
    const struct ember_backend_ops *ops = (const struct ember_backend_ops *)dlsym(plugin, symbol);
    if (!ops) {
        *status = EMBER_STATUS_DEVICE_ERROR;
        snprintf(why, why_size, "the plugin %s lacks %s", path, symbol);
        return NULL;
    }
    char what[PATH_MAX + 16];
    snprintf(what, sizeof what, "the plugin %s", path);
    *status = ember_backend_ops_check(ops, what, why, why_size);
    return *status == EMBER_STATUS_SUCCESS ? ops : NULL;
}

/* --- the CUDA plugin ---------------------------------------------------------------------
 * libember_cuda.so links cuBLAS, which costs about 0.4 s to load: only processes that ask for
 * CUDA load it, and only when the NVIDIA driver is present at all. */

static pthread_once_t cuda_once = PTHREAD_ONCE_INIT;
static const struct ember_backend_ops *cuda_ops;
static ember_status cuda_status;
static char cuda_reason[PATH_MAX + 512];
static char cuda_plugin_path[PATH_MAX];

static void find_cuda_plugin(void) {
    const char *env = getenv("EMBER_CUDA_PLUGIN");
    if (env && *env) {
        snprintf(cuda_plugin_path, sizeof cuda_plugin_path, "%s", env);
        return;
    }
    Dl_info info;
    if (dladdr((void *)&ember_backend_name, &info) && info.dli_fname) {
        const char *slash = strrchr(info.dli_fname, '/');
        int dir_len = slash ? (int)(slash - info.dli_fname) : 0;
        snprintf(cuda_plugin_path, sizeof cuda_plugin_path, "%.*s%slibember_cuda.so", dir_len,
                 info.dli_fname, slash ? "/" : "");
    } else {
        snprintf(cuda_plugin_path, sizeof cuda_plugin_path, "libember_cuda.so");
    }
}

static void load_cuda(void) {
    find_cuda_plugin();
    if (access(cuda_plugin_path, R_OK) != 0) {
        cuda_status = EMBER_STATUS_BACKEND_NOT_COMPILED;
        snprintf(cuda_reason, sizeof cuda_reason, "no CUDA plugin at %s", cuda_plugin_path);
        return;
    }
    void *driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!driver) {
        cuda_status = EMBER_STATUS_NO_DEVICE;
        snprintf(cuda_reason, sizeof cuda_reason,
                 "no CUDA device: the NVIDIA driver (libcuda.so.1) is not installed");
        return;
    }
    /* Kept loaded: the CUDA runtime loads it again and unloading drivers is fragile. */
    cuda_ops = ember_backend_plugin_load(cuda_plugin_path, EMBER_CUDA_PLUGIN_SYMBOL, &cuda_status,
                                         cuda_reason, sizeof cuda_reason);
}

/* The ops of a backend, or NULL with *status and *reason saying why not. */
static const struct ember_backend_ops *backend_ops(ember_backend_kind kind, ember_status *status,
                                                   const char **reason) {
    *status = EMBER_STATUS_BACKEND_NOT_COMPILED;
#ifdef EMBER_WITH_TEST_BACKEND
    if (kind == EMBER_BACKEND_PERTURBED) { /* registered in test builds only */
        *status = EMBER_STATUS_SUCCESS;
        return &ember_perturbed_backend_ops;
    }
#endif
    switch (kind) {
    case EMBER_BACKEND_CPU:
        *status = EMBER_STATUS_SUCCESS;
        return &ember_cpu_backend_ops;
    case EMBER_BACKEND_OPENCL:
#ifdef EMBER_WITH_OPENCL
        *status = EMBER_STATUS_SUCCESS;
        return &ember_opencl_backend_ops;
#else
        *reason = "configure found no OpenCL or CLBlast";
        return NULL;
#endif
    case EMBER_BACKEND_CUDA:
        pthread_once(&cuda_once, load_cuda);
        *status = cuda_status;
        *reason = cuda_reason;
        return cuda_ops;
    default:
        *status = EMBER_STATUS_INVALID_ARGUMENT;
        *reason = "unknown backend kind";
        return NULL;
    }
}

int ember_backend_compiled(ember_backend_kind kind) {
#ifdef EMBER_WITH_TEST_BACKEND
    if (kind == EMBER_BACKEND_PERTURBED) return 1;
#endif
    switch (kind) {
    case EMBER_BACKEND_CPU:
        return 1;
    case EMBER_BACKEND_OPENCL:
#ifdef EMBER_WITH_OPENCL
        return 1;
#else
        return 0;
#endif
    case EMBER_BACKEND_CUDA:
        pthread_once(&cuda_once, load_cuda);
        return cuda_status != EMBER_STATUS_BACKEND_NOT_COMPILED;
    default:
        return 0;
    }
}

ember_status ember_backend_devices(ember_backend_kind kind, ember_device_info *out, size_t capacity,
                                   size_t *count) {
    if (!count) return ember_error(NULL, EMBER_STATUS_INVALID_ARGUMENT, "count is NULL");
    if (capacity > 0 && !out)
        return ember_error(NULL, EMBER_STATUS_INVALID_ARGUMENT, "out is NULL with capacity %zu",
                           capacity);
    *count = 0;
    ember_status st;
    const char *reason = "";
    const struct ember_backend_ops *ops = backend_ops(kind, &st, &reason);
    if (ops) return ops->devices(out, capacity, count);
    if (st == EMBER_STATUS_INVALID_ARGUMENT)
        return ember_error(NULL, st, "unknown backend kind %d", (int)kind);
    if (capacity > 0) {
        memset(out, 0, sizeof *out);
        out->kind = kind;
        out->usable = 0;
        snprintf(out->name, sizeof out->name, "%s", ember_backend_name(kind));
        if (st == EMBER_STATUS_BACKEND_NOT_COMPILED)
            snprintf(out->reason, sizeof out->reason, "not compiled in: %.200s", reason);
        else
            snprintf(out->reason, sizeof out->reason, "%.255s", reason);
    }
    *count = 1;
    return ember_error(NULL, st, "%s", reason);
}

ember_status ember_context_create(ember_context **out, ember_backend_kind kind, int device) {
    if (!out) return ember_error(NULL, EMBER_STATUS_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (device < -1)
        return ember_error(NULL, EMBER_STATUS_INVALID_ARGUMENT,
                           "device index %d (expected -1 for the default, or >= 0)", device);
    ember_status st;
    const char *reason = "";
    const struct ember_backend_ops *ops = backend_ops(kind, &st, &reason);
    if (!ops) return ember_error(NULL, st, "%s", reason);
    ember_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return ember_error(NULL, EMBER_STATUS_OUT_OF_MEMORY,
                           "cannot allocate a context (%zu bytes)", sizeof *ctx);
    ctx->ops = ops;
    ctx->kind = kind;
    ctx->device = device;
    st = ops->init(ctx, device);
    if (st != EMBER_STATUS_SUCCESS) {
        if (ctx->last_error[0])
            ember_error(NULL, st, "%s backend, device %d: %s", ops->name, device, ctx->last_error);
        else
            ember_error(NULL, st, "%s backend, device %d", ops->name, device);
        free(ctx);
        return st;
    }
    *out = ctx;
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_context_create_best(ember_context **out) {
    if (!out) return ember_error(NULL, EMBER_STATUS_INVALID_ARGUMENT, "out is NULL");
    if (ember_context_create(out, EMBER_BACKEND_CUDA, 0) == EMBER_STATUS_SUCCESS)
        return EMBER_STATUS_SUCCESS;
    const char *ocl = getenv("EMBER_OPENCL_DEVICE");
    if (ocl && *ocl && ember_context_create(out, EMBER_BACKEND_OPENCL, -1) == EMBER_STATUS_SUCCESS)
        return EMBER_STATUS_SUCCESS;
    return ember_context_create(out, EMBER_BACKEND_CPU, 0);
}

ember_status ember_context_destroy(ember_context *ctx) {
    if (!ctx) return EMBER_STATUS_SUCCESS;
    ctx->ops->synchronize(ctx);
    size_t live = ember_buffer_release_all(ctx);
    ctx->ops->destroy(ctx);
    free(ctx);
    if (live == 0) return EMBER_STATUS_SUCCESS;
    return ember_error(NULL, EMBER_STATUS_INVALID_ARGUMENT,
                       "context destroyed with %zu buffer%s still allocated: released now; "
                       "free %s with ember_buffer_free (the handles stay valid for that)",
                       live, live == 1 ? "" : "s", live == 1 ? "it" : "them");
}

ember_backend_kind ember_context_kind(const ember_context *ctx) {
    return ctx ? ctx->kind : EMBER_BACKEND_CPU;
}

const char *ember_context_device_name(const ember_context *ctx) {
    return ctx ? ctx->device_name : "";
}

ember_status ember_context_synchronize(ember_context *ctx) {
    if (!ctx) return ember_error(NULL, EMBER_STATUS_INVALID_ARGUMENT, "context is NULL");
    return ctx->ops->synchronize(ctx);
}

ember_status ember_context_set_threads(ember_context *ctx, int threads) {
    if (!ctx) return ember_error(NULL, EMBER_STATUS_INVALID_ARGUMENT, "context is NULL");
    EMBER_RETURN_IF(threads < 0, ctx, EMBER_STATUS_INVALID_ARGUMENT,
                    "threads = %d (expected 0 for the idle cores, or more)", threads);
    if (ctx->ops->set_threads) EMBER_FORWARD_IF_ERROR(ctx->ops->set_threads(ctx, threads));
    ctx->threads = threads;
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_context_set_math_mode(ember_context *ctx, ember_math_mode mode) {
    if (!ctx) return ember_error(NULL, EMBER_STATUS_INVALID_ARGUMENT, "context is NULL");
    EMBER_RETURN_IF(mode != EMBER_MATH_STRICT_FP32 && mode != EMBER_MATH_ALLOW_TF32, ctx,
                    EMBER_STATUS_INVALID_ARGUMENT, "unknown math mode %d", (int)mode);
    if (ctx->ops->set_math_mode) EMBER_FORWARD_IF_ERROR(ctx->ops->set_math_mode(ctx, mode));
    ctx->math_mode = mode;
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_context_set_stream(ember_context *ctx, void *stream) {
    if (!ctx) return ember_error(NULL, EMBER_STATUS_INVALID_ARGUMENT, "context is NULL");
    EMBER_RETURN_IF(!ctx->ops->set_stream, ctx, EMBER_STATUS_NOT_SUPPORTED,
                    "the %s backend has no streams (ember_context_set_stream is CUDA's)",
                    ctx->ops->name);
    return ctx->ops->set_stream(ctx, stream);
}
