/* head.cl: sigmoid and binary cross-entropy with logits, in forms stable for any finite
 * logit. */

inline float ember_sigmoid1(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + exp(-x));
    float z = exp(x);
    return z / (1.0f + z);
}

__kernel void ember_sigmoid(__global const float *x, __global float *y, long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    y[i] = ember_sigmoid1(x[i]);
}

/* Each of G work-items sums the loss terms of one contiguous chunk (in double where the
 * device has it) into partial[g]; the host adds the G partials in double. With has_grad,
 * grad[i] = (sigmoid(x) - t) / n. */
__kernel void ember_bce(__global const float *x, __global const float *t, long n, long chunk,
                        __global EMBER_ACC *partial, int has_grad, __global float *grad, uint G) {
    uint g = get_global_id(0);
    if (g >= G) return;
    long lo = (long)g * chunk, hi = min(n, lo + chunk);
    EMBER_ACC acc = 0;
    for (long i = lo; i < hi; i++) {
        float xi = x[i], ti = t[i];
        /* A non-finite logit: PyTorch's value, as the CPU backend's bce_term. */
        if (!isfinite(xi)) {
            acc += (xi > 0.0f && ti < 1.0f) ? INFINITY : NAN;
            if (has_grad) grad[i] = (ember_sigmoid1(xi) - ti) / (float)n;
            continue;
        }
#ifdef cl_khr_fp64
        /* In double, as the CPU backend computes it. */
        double xv = (double)xi, tv = (double)ti;
        acc += (xv > 0.0 ? xv : 0.0) - xv * tv + log1p(exp(-fabs(xv)));
#else
        acc += (xi > 0.0f ? xi : 0.0f) - xi * ti + log1p(exp(-fabs(xi)));
#endif
        if (has_grad) grad[i] = (ember_sigmoid1(xi) - ti) / (float)n;
    }
    partial[g] = acc;
}
