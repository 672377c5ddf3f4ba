/* common.cl: definitions every ember OpenCL kernel shares (index reads, float atomics).
 *
 * The kernels follow the CPU backend's numeric conventions (src/cpu/cpu_internal.h): no FMA
 * contraction, sums in input order starting from +0.0f or from the first term, MEAN as
 * sum / (float)count, backward MEAN scale 1.0f / (float)count. */
#pragma OPENCL FP_CONTRACT OFF
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#define EMBER_ACC double
#else
#define EMBER_ACC float
#endif

#define EMBER_POOL_NONE 0
#define EMBER_POOL_SUM 1
#define EMBER_POOL_MEAN 2

#define EMBER_OPT_SGD 0
#define EMBER_OPT_ADAGRAD 1
#define EMBER_OPT_ROWWISE 2
#define EMBER_OPT_ADAM 3

/* Indices and offsets come as int64 or int32 (is32); the branch is uniform across a
 * launch, so it costs little and saves building every kernel twice. */
inline long ember_idx(__global const char *p, int is32, long i) {
    return is32 ? (long)((__global const int *)p)[i] : ((__global const long *)p)[i];
}

/* OpenCL 1.2 has no float atomic add: compare-and-swap on the 32-bit pattern. */
inline void ember_atomic_add_f(volatile __global float *addr, float v) {
    union { unsigned int u; float f; } old, upd;
    unsigned int seen = *(volatile __global unsigned int *)addr;
    do {
        old.u = seen;
        upd.f = old.f + v;
        seen = atomic_cmpxchg((volatile __global unsigned int *)addr, old.u, upd.u);
    } while (seen != old.u);
}
