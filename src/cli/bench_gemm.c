/* bench_gemm.c: the baseline the dense layer is judged by: the same SGEMMs called directly
 * through OpenBLAS's CBLAS, in the same process and run as ember's dense ops. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <cblas.h>
#include <stdlib.h>
#include <unistd.h>

const char *bench_openblas_core(void) {
    const char *c = openblas_get_corename();
    return c != NULL ? c : "unknown";
}

static float *rand_floats(size_t n, uint64_t seed) {
    float *p = malloc(n * sizeof *p);
    if (p == NULL) return NULL;
    ember_rng rng = {seed};
    for (size_t i = 0; i < n; i++) p[i] = bench_rng_float(&rng, -1.0f, 1.0f);
    return p;
}

/* ember_dense_forward is Y = X W^T (+ b, ReLU); its backward is dX = dY W and
 * dW = dY^T X (+ db). Row-major, W in PyTorch's [out x in] layout. */
static void gemms(int fwd, int b, int in, int out, const float *x, const float *w, float *y,
                  const float *dy, float *dx, float *dw) {
    if (fwd) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, out, in, 1.0f, x, in, w, in, 0.0f,
                    y, out);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, in, out, 1.0f, dy, out, w, in,
                    0.0f, dx, in);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, b, 1.0f, dy, out, x, in, 0.0f,
                    dw, in);
    }
}

double bench_direct_gemm_ms(int fwd, int64_t batch, int64_t in, int64_t out, int threads,
                            int reps) {
    size_t nb = (size_t)batch, ni = (size_t)in, no = (size_t)out;
    float *x = rand_floats(nb * ni, 11), *w = rand_floats(no * ni, 12);
    float *y = rand_floats(nb * no, 13), *dy = rand_floats(nb * no, 14);
    float *dx = rand_floats(nb * ni, 15), *dw = rand_floats(no * ni, 16);
    double *t = malloc((size_t)(reps > 0 ? reps : 1) * sizeof *t);
    double ms = -1.0;
    if (x && w && y && dy && dx && dw && t && reps > 0) {
        /* Set the count explicitly: a backend may have left OpenBLAS at one thread. */
        int saved = openblas_get_num_threads();
        if (threads <= 0) {
            long n = sysconf(_SC_NPROCESSORS_ONLN);
            threads = n > 0 ? (int)n : 1;
        }
        openblas_set_num_threads(threads);
        for (int r = 0; r < 2; r++) gemms(fwd, (int)batch, (int)in, (int)out, x, w, y, dy, dx, dw);
        for (int r = 0; r < reps; r++) {
            double t0 = ember_now();
            gemms(fwd, (int)batch, (int)in, (int)out, x, w, y, dy, dx, dw);
            t[r] = (ember_now() - t0) * 1e3;
        }
        ms = bench_median(t, reps);
        openblas_set_num_threads(saved);
    }
    free(x);
    free(w);
    free(y);
    free(dy);
    free(dx);
    free(dw);
    free(t);
    return ms;
}
