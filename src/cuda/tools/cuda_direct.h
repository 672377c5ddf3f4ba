/* cuda_direct.h: baselines measured without ember (cuda_direct.c), for the self-test. */
#ifndef EMBER_CUDA_DIRECT_H
#define EMBER_CUDA_DIRECT_H

#include <stddef.h>

/* Median device-to-device cudaMemcpy of `bytes`; returns GB/s counting bytes read + written
 * (0 on failure) and prints a BENCH line. */
double direct_copy_gbs(size_t bytes);
/* Median time in microseconds of one strict-FP32 cublasSgemm computing Y = X W^T for X
 * [m x k], W [n x k] row-major (0 on failure); prints a BENCH line. */
double direct_sgemm_us(int m, int k, int n);

#endif /* EMBER_CUDA_DIRECT_H */
