/* cuda_direct.c: the self-test's baselines measured straight through the CUDA runtime and
 * cuBLAS, without ember: device-to-device copy bandwidth (the denominator of every "x copy"
 * figure) and cublasSgemm at the dense layer's shapes, called exactly as
 * ember_dense_forward calls it. */
#define _POSIX_C_SOURCE 200809L
#include "cuda_direct.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double direct_copy_gbs(size_t bytes) {
    void *src = NULL, *dst = NULL;
    double gbs = 0.0;
    if (cudaMalloc(&src, bytes) != cudaSuccess || cudaMalloc(&dst, bytes) != cudaSuccess) {
        printf("NOTE direct copy: cudaMalloc of 2 x %zu bytes failed\n", bytes);
        cudaGetLastError();
        goto done;
    }
    cudaMemset(src, 0, bytes);
    cudaMemset(dst, 0, bytes);
    double t[10];
    for (int k = 0; k < 12; k++) {
        cudaDeviceSynchronize();
        double t0 = now_s();
        cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0);
        cudaDeviceSynchronize();
        if (k >= 2) t[k - 2] = now_s() - t0;
    }
    if (cudaGetLastError() != cudaSuccess) goto done;
    qsort(t, 10, sizeof t[0], cmp_double);
    gbs = 2.0 * (double)bytes / t[5] / 1e9;
    printf("BENCH direct cudaMemcpy device-to-device %zu MiB: %.3f ms, %.1f GB/s (read+write)\n",
           bytes >> 20, t[5] * 1e3, gbs);
done:
    cudaFree(src);
    cudaFree(dst);
    return gbs;
}

double direct_sgemm_us(int m, int k, int n) {
    float *x = NULL, *w = NULL, *y = NULL;
    cublasHandle_t h = NULL;
    double us = 0.0;
    if (cudaMalloc((void **)&x, (size_t)m * k * 4) != cudaSuccess ||
        cudaMalloc((void **)&w, (size_t)n * k * 4) != cudaSuccess ||
        cudaMalloc((void **)&y, (size_t)m * n * 4) != cudaSuccess ||
        cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) {
        printf("NOTE direct sgemm: setup failed\n");
        cudaGetLastError();
        goto done;
    }
    cublasSetMathMode(h, CUBLAS_DEFAULT_MATH); /* strict FP32, as ember's default */
    cudaMemset(x, 0, (size_t)m * k * 4);
    cudaMemset(w, 0, (size_t)n * k * 4);
    const float one = 1.0f, zero = 0.0f;
    double t[7];
    for (int r = 0; r < 8; r++) { /* 20 back-to-back calls per timing, as the ember figure */
        cudaDeviceSynchronize();
        double t0 = now_s();
        for (int q = 0; q < 20; q++)
            cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &one, w, k, x, k, &zero, y, n);
        cudaDeviceSynchronize();
        if (r >= 1) t[r - 1] = (now_s() - t0) / 20;
    }
    qsort(t, 7, sizeof t[0], cmp_double);
    us = t[3] * 1e6;
    printf("BENCH direct cublasSgemm fp32 %dx%dx%d: %.1f us per call, %.2f TFLOP/s\n", m, k, n, us,
           2.0 * m * (double)k * n / t[3] / 1e12);
done:
    if (h) cublasDestroy(h);
    cudaFree(x);
    cudaFree(w);
    cudaFree(y);
    return us;
}
