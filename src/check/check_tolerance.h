/* check_tolerance.h: THE tolerance table of the conformance suite; no tolerance lives
 * anywhere else.
 *
 * u = FLT_EPSILON (2^-23, twice the unit roundoff). "vs oracle": the CPU backend against
 * the naive double-precision oracle. "vs CPU": any other backend against the CPU backend;
 * both sides then carry rounding error, so every bound is multiplied by
 * EMBER_TOL_VS_CPU_FACTOR (bit-exact stays bit-exact).
 *
 *  what                               bound on |got - want| per element
 *  ---------------------------------  ----------------------------------------------------
 *  lookup, POOLING_NONE, no accumulate  0: bit-exact (a gather copies floats)
 *  any lookup, vs CPU                   0: bit-exact (each bag summed in input order with
 *                                       the same float operations: sum, then / count for
 *                                       MEAN, then + the old value with accumulate)
 *  lookup(i) vs one-hot(i) x table      0: bit-exact (every product is by an exact 0 or 1)
 *  seed walkthrough                     0: gradient exactly ones; row 2 == old - 0.1f, the
 *                                       other rows bit-for-bit unchanged
 *  untouched elements (guard bands,     0: bit-for-bit the sentinel / the initial value
 *    other columns, rows not indexed)
 *  pooled lookup / accumulate vs oracle K_SUM * (n + 1) * u * sum|terms|, n = number of
 *    and sparse backward (ATOMIC or     terms added into that element (duplicates included,
 *    DETERMINISTIC)                     so the bound grows with the duplicate count); the
 *                                       +1 covers MEAN's division / a weight's product
 *  DETERMINISTIC backward               bit-identical to itself: two runs, and on the CPU
 *                                       1 thread vs 2 threads
 *  sparse ids, num_unique               exact
 *  optimizers (sparse, dense, fused)    K_OPT * u * (|w| + |update|) plus the error of the
 *                                       gradient propagated through the update (fused),
 *                                       plus Adam's bias-correction rounding
 *  GEMM (dense forward, backward)       nmse = sum (got-want)^2 / sum want^2 <= NMSE_GEMM
 *                                       (ReLU's mask and dy's overwrite: exact)
 *  GEMM with EMBER_MATH_ALLOW_TF32      a backend that uses TF32 (CUDA): nmse <= NMSE_TF32,
 *                                       16 * (2^-10)^2: TF32 keeps 10 mantissa bits, each
 *                                       product carries two such roundings (random-sign
 *                                       sums give about (2/3) * (2^-10)^2); strict FP32
 *                                       again once the mode is reset. Any other backend:
 *                                       bit-identical to its strict FP32 result
 *  DETERMINISTIC backward vs CPU        0: bit-exact (every backend sums a row's
 *    (dense, sparse, fused, batched)    contributions in input order and adds the sum once,
 *                                       docs/design.md), except CUDA when a row occurs more
 *                                       than EMBER_TOL_CUDA_DET_RUN times in one call (its
 *                                       long runs are split); then the sum bound above
 *  sigmoid, BCE gradient                K_ELEM * u * sum|terms| + DENORM_FLOOR (OpenCL may
 *                                       flush denormals to zero)
 *  BCE loss (a mean of n terms)         K_ELEM * (n + 2) * u * mean(|terms|)
 *  NaN / infinity                       same positions: NaN where NaN, the same infinity
 */
#ifndef EMBER_CHECK_TOLERANCE_H
#define EMBER_CHECK_TOLERANCE_H

#include <float.h>

#define EMBER_TOL_U ((double)FLT_EPSILON)
#define EMBER_TOL_K_SUM 1.0
#define EMBER_TOL_K_OPT 16.0
#define EMBER_TOL_K_ELEM 8.0
#define EMBER_TOL_NMSE_GEMM 1e-9
#define EMBER_TOL_NMSE_TF32 (16.0 / 1048576.0)
#define EMBER_TOL_CUDA_DET_RUN 64
#define EMBER_TOL_DENORM_FLOOR (2.0 * (double)FLT_MIN)
#define EMBER_TOL_VS_CPU_FACTOR 2.0

/* The summation bound for an element that received n terms of total magnitude mag. */
static inline double ember_tol_sum(double n, double mag) {
    return n <= 0 ? 0.0 : EMBER_TOL_K_SUM * (n + 1.0) * EMBER_TOL_U * mag;
}

#endif
