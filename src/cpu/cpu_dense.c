/* cpu_dense.c: dense layer forward and backward through OpenBLAS SGEMM, with the bias,
 * ReLU and bias-gradient passes fused around it. */
#include "cpu/cpu_internal.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

/* OpenBLAS (Debian's pthreads build) runs its own thread pool, and an OpenMP team that
 * has just finished an embedding op keeps spinning for a while: on two cores the two pools
 * then fight (a profile of a Wide&Deep step showed a third of the time in libgomp's spin
 * and sched_yield). So OpenBLAS always runs single-threaded, and the GEMM is split by
 * rows of C over the backend's own OpenMP team: one pool for everything. */
static void blas_single_thread(void) {
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

/* Threads worth using for an [M x N x K] GEMM: work in units of 64x64x64 blocks, and each
 * thread gets at least 16 rows of C. */
static int gemm_threads(const ember_context *ctx, int64_t M, int64_t N, int64_t K) {
    int64_t work = (M / 64 + 1) * (N / 64 + 1) * (K / 64 + 1) * 2048 / 32;
    int nt = cpu_threads_for(ctx, work);
    if (nt > M / 16) nt = (int)(M / 16 > 1 ? M / 16 : 1);
    return nt;
}

/* C[M x N] = op(A) op(B) (+ C when accumulate), row-major, on at most `max_threads`
 * threads (what cpu_blas_begin granted). K == 0 gives zeros (or leaves C) without asking
 * OpenBLAS. Rows of C are split over the threads; row i of op(A) starts at A + i * lda (no
 * transpose) or A + i (transposed). */
static void gemm(const ember_context *ctx, int max_threads, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb,
                 int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                 int64_t ldb, float *C, int64_t ldc, int accumulate) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        if (!accumulate)
            for (int64_t i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(float));
        return;
    }
    blas_single_thread();
    int nt = gemm_threads(ctx, M, N, K);
    if (nt > max_threads) nt = max_threads;
    const float beta = accumulate ? 1.0f : 0.0f;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int t = omp_get_thread_num(), n = omp_get_num_threads();
        const int64_t lo = M * t / n, hi = M * (t + 1) / n;
        if (hi > lo) {
            const float *At = ta == CblasNoTrans ? A + lo * lda : A + lo;
            cblas_sgemm(CblasRowMajor, ta, tb, (blasint)(hi - lo), (blasint)N, (blasint)K, 1.0f, At,
                        (blasint)lda, B, (blasint)ldb, beta, C + lo * ldc, (blasint)ldc);
        }
    }
}

ember_status cpu_dense_forward(ember_context *ctx, int64_t batch, int64_t in, int64_t out,
                               const ember_buffer *x, const ember_buffer *w, const ember_buffer *b,
                               ember_activation act, ember_buffer *y) {
    if (batch > INT32_MAX || in > INT32_MAX || out > INT32_MAX)
        return ember_error(ctx, EMBER_STATUS_NOT_SUPPORTED,
                           "cpu: dense layer sizes must be below 2^31 for OpenBLAS");
    /* OpenBLAS's buffers first, so that OUT_OF_MEMORY leaves y untouched. */
    int granted;
    EMBER_FORWARD_IF_ERROR(cpu_blas_begin(ctx, gemm_threads(ctx, batch, out, in), &granted));
    float *Y = (float *)y->handle;
    const float *bias = b ? (const float *)b->handle : NULL;
    /* The bias is written into Y first and SGEMM adds X W^T to it (beta = 1): OpenBLAS
     * would otherwise spend a pass zeroing Y for beta = 0, so the bias costs nothing. The
     * pass runs on the calling thread: OpenBLAS's own threads are still spinning right
     * around its calls and an OpenMP team would fight them for the cores. */
    if (bias)
        for (int64_t i = 0; i < batch; i++) memcpy(Y + i * out, bias, (size_t)out * sizeof(float));
    /* Y (+)= X W^T: X [batch x in], W [out x in]. */
    gemm(ctx, granted, CblasNoTrans, CblasTrans, batch, out, in, (const float *)x->handle, in,
         (const float *)w->handle, in, Y, out, bias != NULL);
    cpu_blas_end(granted);
    if (act == EMBER_ACTIVATION_RELU) {
        const int64_t total = batch * out;
        /* v < 0 ? 0 : v keeps NaN as NaN (as PyTorch's relu), where fmaxf would hide it. */
        for (int64_t i = 0; i < total; i++) Y[i] = Y[i] < 0.0f ? 0.0f : Y[i];
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status cpu_dense_backward(ember_context *ctx, int64_t batch, int64_t in, int64_t out,
                                const ember_buffer *x, const ember_buffer *w, const ember_buffer *y,
                                ember_buffer *dy, ember_activation act, ember_buffer *dx,
                                ember_buffer *dw, ember_buffer *db) {
    if (batch > INT32_MAX || in > INT32_MAX || out > INT32_MAX)
        return ember_error(ctx, EMBER_STATUS_NOT_SUPPORTED,
                           "cpu: dense layer sizes must be below 2^31 for OpenBLAS");
    /* OpenBLAS's buffers first, so that OUT_OF_MEMORY leaves dy and the outputs untouched. */
    int want = dx ? gemm_threads(ctx, batch, in, out) : 1, granted;
    if (dw && gemm_threads(ctx, out, in, batch) > want) want = gemm_threads(ctx, out, in, batch);
    EMBER_FORWARD_IF_ERROR(cpu_blas_begin(ctx, want, &granted));
    float *DY = (float *)dy->handle;
    const float *Yv = y ? (const float *)y->handle : NULL;
    const int relu = act == EMBER_ACTIVATION_RELU;
    float *DB = db ? (float *)db->handle : NULL;
    if (relu || DB) {
        /* One pass over dy on the calling thread (as in the forward, an OpenMP team here
         * would fight OpenBLAS's spinning threads): mask it by y > 0 and sum its columns
         * in row order, in double, 1024 columns at a time. */
        double acc[1024];
        for (int64_t c0 = 0; c0 < out; c0 += 1024) {
            const int64_t c1 = c0 + 1024 < out ? c0 + 1024 : out;
            for (int64_t j = c0; j < c1; j++) acc[j - c0] = 0.0;
            for (int64_t i = 0; i < batch; i++) {
                float *row = DY + i * out;
                if (relu) {
                    const float *yr = Yv + i * out;
                    for (int64_t j = c0; j < c1; j++) row[j] = yr[j] > 0.0f ? row[j] : 0.0f;
                }
                if (DB)
                    for (int64_t j = c0; j < c1; j++) acc[j - c0] += (double)row[j];
            }
            if (DB)
                for (int64_t j = c0; j < c1; j++) DB[j] = (float)acc[j - c0];
        }
    }
    /* dx [batch x in] = dy [batch x out] W [out x in] */
    if (dx)
        gemm(ctx, granted, CblasNoTrans, CblasNoTrans, batch, in, out, DY, out,
             (const float *)w->handle, in, (float *)dx->handle, in, 0);
    /* dw [out x in] = dy^T [out x batch] x [batch x in] */
    if (dw)
        gemm(ctx, granted, CblasTrans, CblasNoTrans, out, in, batch, DY, out,
             (const float *)x->handle, in, (float *)dw->handle, in, 0);
    cpu_blas_end(granted);
    return EMBER_STATUS_SUCCESS;
}
