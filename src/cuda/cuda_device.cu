// cuda_device.cu: CUDA devices, context lifetime (stream, cuBLAS handle), scratch memory.
#include "cuda/cuda_common.cuh"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cuda_cublas_status_name(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS:
        return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
        return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
        return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
        return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
        return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
        return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
        return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
        return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
        return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR:
        return "CUBLAS_STATUS_LICENSE_ERROR";
    default:
        return "unknown cuBLAS status";
    }
}

extern "C" ember_status cuda_devices(ember_device_info *out, size_t capacity, size_t *count) {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess || n == 0) {
        char reason[256];
        if (err != cudaSuccess) {
            snprintf(reason, sizeof reason, "no CUDA device: %s (%s, error %d)",
                     cudaGetErrorString(err), cudaGetErrorName(err), (int)err);
            cudaGetLastError(); /* clear the sticky-free error state for later calls */
        } else {
            snprintf(reason, sizeof reason, "no CUDA device: the driver reports none");
        }
        if (capacity > 0) {
            memset(out, 0, sizeof *out);
            out->kind = EMBER_BACKEND_CUDA;
            out->index = 0;
            snprintf(out->name, sizeof out->name, "cuda");
            out->usable = 0;
            snprintf(out->reason, sizeof out->reason, "%s", reason);
        }
        *count = 1;
        return ember_error(NULL, EMBER_STATUS_NO_DEVICE, "%s", reason);
    }
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    for (int i = 0; i < n && (size_t)i < capacity; i++) {
        ember_device_info *d = &out[i];
        memset(d, 0, sizeof *d);
        d->kind = EMBER_BACKEND_CUDA;
        d->index = i;
        cudaDeviceProp p;
        err = cudaGetDeviceProperties(&p, i);
        if (err != cudaSuccess) {
            snprintf(d->name, sizeof d->name, "cuda device %d", i);
            snprintf(d->reason, sizeof d->reason, "cudaGetDeviceProperties failed: %s",
                     cudaGetErrorName(err));
            cudaGetLastError();
            continue;
        }
        snprintf(d->name, sizeof d->name, "%s", p.name);
        snprintf(d->detail, sizeof d->detail,
                 "compute capability %d.%d, %d SMs, driver %d.%d, runtime %d.%d, PCI %02x:%02x",
                 p.major, p.minor, p.multiProcessorCount, driver / 1000, (driver % 1000) / 10,
                 runtime / 1000, (runtime % 1000) / 10, p.pciBusID, p.pciDeviceID);
        d->memory_bytes = (uint64_t)p.totalGlobalMem;
        if (p.major < 8) {
            snprintf(d->reason, sizeof d->reason,
                     "compute capability %d.%d: this build has code for 8.0 and newer", p.major,
                     p.minor);
        } else {
            d->usable = 1;
        }
    }
    *count = (size_t)n;
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status cuda_enter(ember_context *ctx, cuda_impl **impl) {
    cuda_impl *m = cuda_impl_of(ctx);
    *impl = m;
    int cur = -1;
    if (cudaGetDevice(&cur) != cudaSuccess || cur != m->device)
        CUDA_TRY(ctx, cudaSetDevice(m->device));
    return EMBER_STATUS_SUCCESS;
}

/* Frees what init made; safe on a half-made impl. */
static void release(cuda_impl *m) {
    if (!m) return;
    if (m->stream) cudaStreamSynchronize(m->stream);
    if (m->blas) cublasDestroy(m->blas);
    cudaFree(m->scratch);
    cudaFree(m->ones);
    cudaFree(m->flags_dev);
    cudaFree(m->loss_dev);
    if (m->flags_host) cudaFreeHost(m->flags_host);
    if (m->loss_host) cudaFreeHost(m->loss_host);
    if (m->own_stream) cudaStreamDestroy(m->own_stream); /* never the caller's */
    cudaGetLastError();
    free(m);
}

static ember_status apply_math_mode(ember_context *ctx, cuda_impl *m, ember_math_mode mode) {
    /* CUBLAS_DEFAULT_MATH: IEEE FP32 products; TF32 tensor cores only when asked. */
    cublasMath_t mm =
        mode == EMBER_MATH_ALLOW_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH;
    EMBER_CUBLAS_TRY(ctx, cublasSetMathMode(m->blas, mm));
    return EMBER_STATUS_SUCCESS;
}

static ember_status init_impl(ember_context *ctx, cuda_impl *m, int device) {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
        cudaGetLastError();
        return ember_error(ctx, EMBER_STATUS_NO_DEVICE, "no CUDA device: %s (%s)",
                           cudaGetErrorString(err), cudaGetErrorName(err));
    }
    if (device >= n)
        return ember_error(ctx, EMBER_STATUS_NO_DEVICE, "CUDA device %d does not exist (%d found)",
                           device, n);
    m->device = device;
    CUDA_TRY(ctx, cudaSetDevice(device));
    cudaDeviceProp p;
    CUDA_TRY(ctx, cudaGetDeviceProperties(&p, device));
    if (p.major < 8)
        return ember_error(ctx, EMBER_STATUS_NO_DEVICE,
                           "%s has compute capability %d.%d: this build has code for 8.0 and newer",
                           p.name, p.major, p.minor);
    snprintf(ctx->device_name, sizeof ctx->device_name, "%s", p.name);
    m->sm_count = p.multiProcessorCount;
    CUDA_TRY(ctx, cudaStreamCreateWithFlags(&m->own_stream, cudaStreamNonBlocking));
    m->stream = m->own_stream;
    EMBER_CUBLAS_TRY(ctx, cublasCreate(&m->blas));
    EMBER_CUBLAS_TRY(ctx, cublasSetStream(m->blas, m->stream));
    EMBER_FORWARD_IF_ERROR(apply_math_mode(ctx, m, ctx->math_mode));
    EMBER_FORWARD_IF_ERROR(cuda_malloc(ctx, 4 * sizeof(unsigned long long), (void **)&m->flags_dev,
                                       "index-check flags"));
    EMBER_FORWARD_IF_ERROR(cuda_malloc(ctx, sizeof(float), (void **)&m->loss_dev, "loss"));
    CUDA_TRY(ctx, cudaMallocHost((void **)&m->flags_host, 4 * sizeof(unsigned long long)));
    CUDA_TRY(ctx, cudaMallocHost((void **)&m->loss_host, sizeof(float)));
    const char *env = getenv("CUDA_CHECK_CACHE");
    m->cache_enabled = !(env && env[0] == '0');
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status cuda_init(ember_context *ctx, int device) {
    cuda_impl *m = (cuda_impl *)calloc(1, sizeof *m);
    if (!m)
        return ember_error(ctx, EMBER_STATUS_OUT_OF_MEMORY,
                           "cannot allocate the CUDA context state (%zu bytes)", sizeof *m);
    ember_status st = init_impl(ctx, m, device < 0 ? 0 : device);
    if (st != EMBER_STATUS_SUCCESS) {
        release(m);
        return st;
    }
    ctx->impl = m;
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status cuda_set_stream(ember_context *ctx, void *stream) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    cudaStream_t next = stream ? (cudaStream_t)stream : m->own_stream;
    if (next == m->stream) return EMBER_STATUS_SUCCESS;
    /* What ran on the old stream (and the scratch memory it used) must be done before work on
     * the new one may start. */
    CUDA_TRY(ctx, cudaStreamSynchronize(m->stream));
    EMBER_CUBLAS_TRY(ctx, cublasSetStream(m->blas, next));
    m->stream = next;
    return EMBER_STATUS_SUCCESS;
}

extern "C" void cuda_destroy(ember_context *ctx) {
    cuda_impl *m = cuda_impl_of(ctx);
    if (!m) return;
    cudaSetDevice(m->device);
    release(m);
    ctx->impl = NULL;
}

extern "C" ember_status cuda_synchronize(ember_context *ctx) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    CUDA_TRY(ctx, cudaStreamSynchronize(m->stream));
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status cuda_set_math_mode(ember_context *ctx, ember_math_mode mode) {
    cuda_impl *m;
    EMBER_FORWARD_IF_ERROR(cuda_enter(ctx, &m));
    return apply_math_mode(ctx, m, mode);
}

extern "C" ember_status cuda_malloc(ember_context *ctx, size_t bytes, void **out,
                                    const char *what) {
    *out = NULL;
    cudaError_t err = cudaMalloc(out, bytes);
    if (err == cudaErrorMemoryAllocation) {
        cudaGetLastError(); /* not sticky: clear it so the context stays usable */
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        *out = NULL;
        return ember_error(
            ctx, EMBER_STATUS_OUT_OF_MEMORY,
            "cudaMalloc of %zu bytes for %s failed: %zu bytes free of %zu on the device", bytes,
            what, free_b, total_b);
    }
    if (err != cudaSuccess) {
        *out = NULL;
        return ember_error(ctx, EMBER_STATUS_DEVICE_ERROR,
                           "cudaMalloc of %zu bytes for %s failed: %s (%s)", bytes, what,
                           cudaGetErrorName(err), cudaGetErrorString(err));
    }
    return EMBER_STATUS_SUCCESS;
}

extern "C" ember_status cuda_scratch(ember_context *ctx, size_t bytes, void **out) {
    cuda_impl *m = cuda_impl_of(ctx);
    if (bytes == 0) bytes = 256;
    if (m->scratch_bytes < bytes) {
        size_t want = bytes + bytes / 4; /* grow with headroom to avoid regrowing each call */
        want = (want + 4095) & ~(size_t)4095;
        CUDA_TRY(ctx, cudaStreamSynchronize(m->stream));
        cudaFree(m->scratch);
        m->scratch = NULL;
        m->scratch_bytes = 0;
        EMBER_FORWARD_IF_ERROR(cuda_malloc(ctx, want, &m->scratch, "scratch"));
        m->scratch_bytes = want;
    }
    *out = m->scratch;
    return EMBER_STATUS_SUCCESS;
}

static __global__ void fill_ones(float *p, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        p[i] = 1.0f;
}

extern "C" ember_status cuda_ones(ember_context *ctx, size_t n, const float **out) {
    cuda_impl *m = cuda_impl_of(ctx);
    if (n == 0) n = 1;
    if (m->ones_len < n) {
        size_t want = n < 4096 ? 4096 : n;
        CUDA_TRY(ctx, cudaStreamSynchronize(m->stream));
        cudaFree(m->ones);
        m->ones = NULL;
        m->ones_len = 0;
        EMBER_FORWARD_IF_ERROR(cuda_malloc(ctx, want * sizeof(float), (void **)&m->ones, "ones"));
        fill_ones<<<cuda_blocks((int64_t)want, CUDA_BLOCK, 1024), CUDA_BLOCK, 0, m->stream>>>(
            m->ones, (int64_t)want);
        CUDA_LAUNCHED(ctx, "fill_ones");
        m->ones_len = want;
    }
    *out = m->ones;
    return EMBER_STATUS_SUCCESS;
}

extern "C" void cuda_written(ember_context *ctx, const void *handle) {
    cuda_impl *m = cuda_impl_of(ctx);
    if (!m || !handle) return;
    for (int i = 0; i < CUDA_CHECK_CACHE; i++) {
        struct cuda_checked *c = &m->cache[i];
        if (c->used && (c->indices == handle || c->offsets == handle)) c->used = 0;
    }
}
