/* cuda_direct.c: the baselines of `ember bench --backend cuda`, measured straight through
 * the CUDA runtime and cuBLAS without ember: device-to-device copy bandwidth (the basis of
 * its "x device copy" figures) and cublasSgemm called exactly as ember's dense layer calls
 * it. A module of its own so the `ember` program links neither library. */
#define _POSIX_C_SOURCE 200809L
#include "cuda_direct.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdlib.h>
#include <time.h>

#define EMBER_DIRECT_API __attribute__((visibility("default")))

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of t[0..n), sorting t. */
static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof t[0], cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

EMBER_DIRECT_API double ember_cuda_direct_copy_gbps(size_t bytes, int reps) {
    void *src = NULL, *dst = NULL;
    double gbs = -1.0, *t = malloc((size_t)(reps > 0 ? reps : 1) * sizeof *t);
    if (!t || reps <= 0 || cudaMalloc(&src, bytes) != cudaSuccess ||
        cudaMalloc(&dst, bytes) != cudaSuccess) {
        cudaGetLastError();
        goto done;
    }
    cudaMemset(src, 0, bytes);
    cudaMemset(dst, 0, bytes);
    for (int k = 0; k < reps + 2; k++) {
        cudaDeviceSynchronize();
        double t0 = now_s();
        cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0);
        cudaDeviceSynchronize();
        if (k >= 2) t[k - 2] = now_s() - t0;
    }
    if (cudaGetLastError() == cudaSuccess) gbs = 2.0 * (double)bytes / median(t, reps) / 1e9;
done:
    cudaFree(src);
    cudaFree(dst);
    free(t);
    return gbs;
}

/* ember_dense_forward is Y = X W^T, its backward dX = dY W and dW = dY^T X (row-major);
 * cuBLAS is column-major, so each is computed transposed. */
static void gemms(cublasHandle_t h, int fwd, int b, int in, int out, const float *x, const float *w,
                  float *y, const float *dy, float *dx, float *dw) {
    const float one = 1.0f, zero = 0.0f;
    if (fwd) {
        cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, out, b, in, &one, w, in, x, in, &zero, y, out);
    } else {
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, in, b, out, &one, w, in, dy, out, &zero, dx, in);
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, in, out, b, &one, x, in, dy, out, &zero, dw, in);
    }
}

EMBER_DIRECT_API double ember_cuda_direct_gemm_ms(int fwd, int batch, int in, int out, int reps) {
    enum { CALLS = 20 };
    float *x = NULL, *w = NULL, *y = NULL, *dy = NULL, *dx = NULL, *dw = NULL;
    cublasHandle_t h = NULL;
    double ms = -1.0, *t = malloc((size_t)(reps > 0 ? reps : 1) * sizeof *t);
    const size_t nx = (size_t)batch * in, nw = (size_t)out * in, ny = (size_t)batch * out;
    if (!t || reps <= 0 || cudaMalloc((void **)&x, nx * 4) != cudaSuccess ||
        cudaMalloc((void **)&w, nw * 4) != cudaSuccess ||
        cudaMalloc((void **)&y, ny * 4) != cudaSuccess ||
        cudaMalloc((void **)&dy, ny * 4) != cudaSuccess ||
        cudaMalloc((void **)&dx, nx * 4) != cudaSuccess ||
        cudaMalloc((void **)&dw, nw * 4) != cudaSuccess ||
        cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) {
        cudaGetLastError();
        goto done;
    }
    cublasSetMathMode(h, CUBLAS_DEFAULT_MATH); /* strict FP32, ember's default */
    cudaMemset(x, 0, nx * 4);
    cudaMemset(w, 0, nw * 4);
    cudaMemset(dy, 0, ny * 4);
    for (int r = 0; r < reps + 1; r++) {
        cudaDeviceSynchronize();
        double t0 = now_s();
        for (int q = 0; q < CALLS; q++) gemms(h, fwd, batch, in, out, x, w, y, dy, dx, dw);
        cudaDeviceSynchronize();
        if (r >= 1) t[r - 1] = (now_s() - t0) * 1e3 / CALLS;
    }
    if (cudaGetLastError() == cudaSuccess) ms = median(t, reps);
done:
    if (h) cublasDestroy(h);
    cudaFree(x), cudaFree(w), cudaFree(y), cudaFree(dy), cudaFree(dx), cudaFree(dw);
    free(t);
    return ms;
}
