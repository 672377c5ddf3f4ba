/* cuda_common.cuh: what the CUDA backend's .cu files share: per-context state, error
 * macros that turn CUDA/cuBLAS failures into ember_status, scratch memory, small helpers.
 * Only .cu files of src/cuda include it. */
#ifndef EMBER_CUDA_COMMON_CUH
#define EMBER_CUDA_COMMON_CUH

#include "cuda/cuda_internal.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdint.h>

/* Index-check results remembered per context (see cuda_check.cu): a pair of index/offset
 * buffers already found valid for a shape is not checked (and synchronised on) again until
 * something writes to either buffer. */
#define CUDA_CHECK_CACHE 128

struct cuda_checked {
    const void *indices, *offsets;
    int64_t num_rows, num_indices, batch;
    int index_type, used;
};

struct cuda_impl {
    int device;
    cudaStream_t stream;     /* where work runs: own_stream, or the caller's (set_stream) */
    cudaStream_t own_stream; /* created and destroyed with the context */
    cublasHandle_t blas;
    unsigned long long *flags_dev;  /* cuda_check.cu's problem flags (4 entries) */
    unsigned long long *flags_host; /* pinned mirror */
    float *loss_dev;                /* cuda_head.cu's loss */
    float *loss_host;               /* pinned */
    void *scratch;                  /* grown on demand, see cuda_scratch */
    size_t scratch_bytes;
    float *ones; /* a vector of ones for cuBLAS column sums */
    size_t ones_len;
    int cache_enabled;
    unsigned cache_next;
    unsigned cache_last; /* slot of the last hit or insertion: where the next search starts */
    struct cuda_checked cache[CUDA_CHECK_CACHE];
    int sm_count;
};

static inline cuda_impl *cuda_impl_of(ember_context *ctx) {
    return (cuda_impl *)ctx->impl;
}

/* Every CUDA failure becomes DEVICE_ERROR naming the error and the call. */
#define CUDA_TRY(ctx, call)                                                                        \
    do {                                                                                           \
        cudaError_t ember_cu_err_ = (call);                                                        \
        if (ember_cu_err_ != cudaSuccess) {                                                        \
            return ember_error((ctx), EMBER_STATUS_DEVICE_ERROR, "%s failed: %s (%s) at %s:%d",    \
                               #call, cudaGetErrorName(ember_cu_err_),                             \
                               cudaGetErrorString(ember_cu_err_), __FILE__, __LINE__);             \
        }                                                                                          \
    } while (0)

/* After a kernel launch: a bad launch configuration shows here, a fault later. */
#define CUDA_LAUNCHED(ctx, kernel_name)                                                            \
    do {                                                                                           \
        cudaError_t ember_cu_err_ = cudaGetLastError();                                            \
        if (ember_cu_err_ != cudaSuccess) {                                                        \
            return ember_error((ctx), EMBER_STATUS_DEVICE_ERROR, "launch of %s failed: %s (%s)",   \
                               kernel_name, cudaGetErrorName(ember_cu_err_),                       \
                               cudaGetErrorString(ember_cu_err_));                                 \
        }                                                                                          \
    } while (0)

const char *cuda_cublas_status_name(cublasStatus_t s);

#define EMBER_CUBLAS_TRY(ctx, call)                                                                \
    do {                                                                                           \
        cublasStatus_t ember_cb_st_ = (call);                                                      \
        if (ember_cb_st_ != CUBLAS_STATUS_SUCCESS) {                                               \
            return ember_error((ctx),                                                              \
                               ember_cb_st_ == CUBLAS_STATUS_ALLOC_FAILED                          \
                                   ? EMBER_STATUS_OUT_OF_MEMORY                                    \
                                   : EMBER_STATUS_DEVICE_ERROR,                                    \
                               "%s failed: %s", #call, cuda_cublas_status_name(ember_cb_st_));     \
        }                                                                                          \
    } while (0)

#ifdef __cplusplus
extern "C" {
#endif
/* Makes the context's device current for this thread (contexts on several devices may be
 * used from one thread) and returns its state. Every entry point calls it first. */
ember_status cuda_enter(ember_context *ctx, cuda_impl **impl);
/* Device scratch of at least `bytes`, kept on the context and grown on demand (waiting for
 * the stream first, since queued kernels may still use the old block). */
ember_status cuda_scratch(ember_context *ctx, size_t bytes, void **out);
/* A device vector of at least n ones (float), for column sums through cuBLAS. */
ember_status cuda_ones(ember_context *ctx, size_t n, const float **out);
/* cudaMalloc with the OUT_OF_MEMORY message (bytes asked, bytes free). */
ember_status cuda_malloc(ember_context *ctx, size_t bytes, void **out, const char *what);
/* Forgets remembered index checks involving this device pointer: called for every buffer
 * an op writes, uploads, zeroes or frees. */
void cuda_written(ember_context *ctx, const void *handle);
#ifdef __cplusplus
}
#endif

/* 256 threads per block; warps of 32. */
#define CUDA_BLOCK 256
#define CUDA_WARPS_PER_BLOCK (CUDA_BLOCK / 32)

static inline unsigned cuda_blocks(int64_t items, int64_t per_block, unsigned cap) {
    int64_t b = (items + per_block - 1) / per_block;
    if (b < 1) b = 1;
    if (b > (int64_t)cap) b = cap;
    return (unsigned)b;
}

/* --- small vectors: V floats per lane (4 when the layout allows float4, else 1) -------- */
template <int V> struct fvec { float v[V]; };

template <int V> __device__ __forceinline__ fvec<V> fvec_load(const float *p) {
    fvec<V> r;
    if constexpr (V == 4) {
        float4 t = __ldg(reinterpret_cast<const float4 *>(p));
        r.v[0] = t.x, r.v[1] = t.y, r.v[2] = t.z, r.v[3] = t.w;
    } else {
#pragma unroll
        for (int i = 0; i < V; i++) r.v[i] = __ldg(p + i);
    }
    return r;
}
/* Plain (non-__ldg) load for memory this kernel also writes. */
template <int V> __device__ __forceinline__ fvec<V> fvec_load_rw(const float *p) {
    fvec<V> r;
    if constexpr (V == 4) {
        float4 t = *reinterpret_cast<const float4 *>(p);
        r.v[0] = t.x, r.v[1] = t.y, r.v[2] = t.z, r.v[3] = t.w;
    } else {
#pragma unroll
        for (int i = 0; i < V; i++) r.v[i] = p[i];
    }
    return r;
}
template <int V> __device__ __forceinline__ void fvec_store(float *p, const fvec<V> &r) {
    if constexpr (V == 4) {
        *reinterpret_cast<float4 *>(p) = make_float4(r.v[0], r.v[1], r.v[2], r.v[3]);
    } else {
#pragma unroll
        for (int i = 0; i < V; i++) p[i] = r.v[i];
    }
}
template <int V> __device__ __forceinline__ fvec<V> fvec_zero() {
    fvec<V> r;
#pragma unroll
    for (int i = 0; i < V; i++) r.v[i] = 0.0f;
    return r;
}

/* Reads index i of an int32 or int64 index array. */
template <typename I> __device__ __forceinline__ int64_t idx_at(const void *p, int64_t i) {
    return (int64_t)__ldg(reinterpret_cast<const I *>(p) + i);
}

/* 1 when float4 access is possible for a row layout: dim and stride multiples of 4 and the
 * base 16-byte aligned. */
static inline int cuda_vec4_ok(int64_t dim, int64_t stride, const void *base) {
    return dim % 4 == 0 && stride % 4 == 0 && ((uintptr_t)base % 16) == 0;
}

#endif /* EMBER_CUDA_COMMON_CUH */
