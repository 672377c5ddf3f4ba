/* cuda_direct.h: the baselines `ember bench --backend cuda` divides by, measured straight
 * through the CUDA runtime and cuBLAS without ember (cuda_direct.c, built as the module
 * libember_cuda_direct.so beside the CUDA plugin; src/cli/bench_cuda_direct.c loads it). */
#ifndef EMBER_CUDA_DIRECT_H
#define EMBER_CUDA_DIRECT_H

#include <stddef.h>

/* The symbols bench_cuda_direct.c looks up. */
#define EMBER_CUDA_DIRECT_COPY_SYMBOL "ember_cuda_direct_copy_gbps"
#define EMBER_CUDA_DIRECT_GEMM_SYMBOL "ember_cuda_direct_gemm_ms"

/* Median device-to-device cudaMemcpy of `bytes` over `reps` timings after two warm-ups, in
 * GB/s counting bytes read + written; -1 on failure. */
double ember_cuda_direct_copy_gbps(size_t bytes, int reps);
typedef double (*ember_cuda_direct_copy_fn)(size_t bytes, int reps);

/* Median ms per call of the strict-FP32 cublasSgemm calls ember's dense forward (fwd = 1:
 * Y = X W^T) or backward (fwd = 0: dX = dY W and dW = dY^T X) makes for X [batch x in],
 * W [out x in] row-major; each timing is 20 calls back to back, as `ember bench` times its
 * ops. -1 on failure. */
double ember_cuda_direct_gemm_ms(int fwd, int batch, int in, int out, int reps);
typedef double (*ember_cuda_direct_gemm_fn)(int fwd, int batch, int in, int out, int reps);

#endif /* EMBER_CUDA_DIRECT_H */
