/* cpu_head.c: the sigmoid output head: stable sigmoid and binary cross-entropy with logits. */
#include "cpu/cpu_internal.h"

#include <math.h>
#include <omp.h>

/* exp of a non-positive number only, so nothing overflows for any finite x; NaN stays NaN
 * (it fails x >= 0 and goes through exp). */
static inline float sigmoid_f(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

ember_status cpu_sigmoid(ember_context *ctx, int64_t n, const ember_buffer *x, ember_buffer *y) {
    const float *X = (const float *)x->handle;
    float *Y = (float *)y->handle;
    int nt = cpu_threads_for(ctx, n);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t i = 0; i < n; i++) Y[i] = sigmoid_f(X[i]);
    return EMBER_STATUS_SUCCESS;
}

/* One loss term: max(x,0) - x*t + log1p(exp(-|x|)) for a finite logit. A non-finite one
 * gives PyTorch's value ((1 - t) x - log_sigmoid(x)): +inf for x = +inf with t < 1, NaN
 * otherwise (NaN, -inf, or +inf with t = 1), where this formula's own would differ. */
static inline double bce_term(double x, double t) {
    if (!isfinite(x)) return x > 0.0 && t < 1.0 ? (double)INFINITY : (double)NAN;
    return (x > 0.0 ? x : 0.0) - x * t + log1p(exp(-fabs(x)));
}

/* loss_i = bce_term, in double and summed in double: the mean of a large batch keeps its
 * digits. grad_i = (sigmoid(x) - t) / n in float. */
ember_status cpu_bce_with_logits(ember_context *ctx, int64_t n, const ember_buffer *logits,
                                 const ember_buffer *labels, float *loss, ember_buffer *grad) {
    const float *X = (const float *)logits->handle;
    const float *T = (const float *)labels->handle;
    float *G = grad ? (float *)grad->handle : NULL;
    const float fn = (float)n;
    double sum = 0.0;
    int nt = cpu_threads_for(ctx, n);
#pragma omp parallel for num_threads(nt) schedule(static) reduction(+ : sum) if (nt > 1)
    for (int64_t i = 0; i < n; i++) {
        if (loss) sum += bce_term((double)X[i], (double)T[i]);
        if (G) G[i] = (sigmoid_f(X[i]) - T[i]) / fn;
    }
    if (loss) *loss = (float)(sum / (double)n);
    return EMBER_STATUS_SUCCESS;
}
