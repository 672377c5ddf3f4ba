/* common.cl: definitions every ember OpenCL kernel shares (index reads, float atomics).
 *
 * The kernels follow the CPU backend's numeric conventions (src/cpu/cpu_internal.h): no FMA
 * contraction, sums in input order starting from +0.0f or from the first term, MEAN as
 * sum / (float)count, backward MEAN scale 1.0f / (float)count. */
#pragma OPENCL FP_CONTRACT OFF

/* Tests of the BUILD_FAILED path set EMBER_OPENCL_BUILD_OPTIONS=-DEMBER_TEST_BUILD_ERROR. */
#ifdef EMBER_TEST_BUILD_ERROR
#error "EMBER_TEST_BUILD_ERROR: a deliberate kernel build failure (tests of the error path)"
#endif
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#define EMBER_ACC double
#else
#define EMBER_ACC float
#endif

#define EMBER_POOL_NONE 0
#define EMBER_POOL_SUM 1
#define EMBER_POOL_MEAN 2

/* Software prefetch of a row on CPU devices (the host defines EMBER_CPU_DEVICE): PoCL's
 * OpenCL prefetch() is an empty function, but clang's __builtin_prefetch reaches the CPU.
 * Random table rows are the cost of every embedding op; fetching a few rows ahead lets
 * their cache misses overlap. At most 1 KiB of a row is fetched. */
#if defined(EMBER_CPU_DEVICE) && defined(__clang__)
#define EMBER_PREFETCH(p, bytes, rw)                                                               \
    {                                                                                              \
        __global const char *pf_ = (__global const char *)(p);                                     \
        long pfn_ = min((long)(bytes), (long)1024);                                                \
        for (long pfo_ = 0; pfo_ < pfn_; pfo_ += 64) __builtin_prefetch(pf_ + pfo_, rw, 3);        \
    }
#else
#define EMBER_PREFETCH(p, bytes, rw)
#endif
/* How many rows ahead to prefetch (a build option may override it when tuning). */
#ifndef EMBER_PREFETCH_AHEAD
#define EMBER_PREFETCH_AHEAD 6
#endif

/* Helpers that must be inlined so that the literal flags of the specialised call sites reach
 * their loops (clang's attribute; other compilers get plain inline). */
#ifdef __clang__
#define EMBER_INLINE inline __attribute__((always_inline))
#else
#define EMBER_INLINE inline
#endif

/* Scalar "vector" load/store, so one macro body serves float16, float4 and float. */
#define EMBER_LD1(q, p) ((p)[q])
#define EMBER_ST1(v, q, p) ((p)[q] = (v))

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
    union {
        unsigned int u;
        float f;
    } old, upd;
    unsigned int seen = *(volatile __global unsigned int *)addr;
    do {
        old.u = seen;
        upd.f = old.f + v;
        seen = atomic_cmpxchg((volatile __global unsigned int *)addr, old.u, upd.u);
    } while (seen != old.u);
}
