/* cuda_optim.cuh: the optimizer update rules on the device, shared by the fused backward
 * (cuda_backward.cu) and the plain optimizer steps (cuda_optim.cu), so both round identically.
 * Compiled with --fmad=false: each product and sum rounds on its own, as the CPU's C does. */
#ifndef EMBER_CUDA_OPTIM_CUH
#define EMBER_CUDA_OPTIM_CUH

#include "cuda/cuda_common.cuh"

#include <math.h>

struct ember_opt_params {
    int kind; /* ember_optimizer_kind */
    float lr, eps, b1, b2, wd;
    float step_size, sqrt_bc2; /* Adam: lr / (1 - b1^step), sqrt(1 - b2^step), from double */
};

static inline ember_opt_params ember_opt_params_make(const ember_optimizer *o) {
    ember_opt_params p;
    p.kind = (int)o->kind;
    p.lr = o->learning_rate;
    p.eps = o->eps;
    p.b1 = o->beta1;
    p.b2 = o->beta2;
    p.wd = o->weight_decay;
    const double step = o->step > 0 ? (double)o->step : 1.0;
    p.step_size = (float)((double)o->learning_rate / (1.0 - pow((double)o->beta1, step)));
    p.sqrt_bc2 = (float)sqrt(1.0 - pow((double)o->beta2, step));
    return p;
}

/* Weight decay, applied to the gradient first (touched entries only). */
__device__ __forceinline__ float opt_decayed(const ember_opt_params &p, float g, float w) {
    return p.wd != 0.0f ? g + p.wd * w : g;
}

/* One element of SGD, Adagrad or Adam (not row-wise Adagrad, which needs the whole row). */
__device__ __forceinline__ void opt_elem(const ember_opt_params &p, float *w, float *s, float *s2,
                                         float g) {
    const float wv = *w;
    g = opt_decayed(p, g, wv);
    switch (p.kind) {
    case EMBER_OPTIMIZER_SGD:
        *w = wv - p.lr * g;
        break;
    case EMBER_OPTIMIZER_ADAGRAD: {
        const float sv = *s + g * g;
        *s = sv;
        *w = wv - p.lr * g / (sqrtf(sv) + p.eps);
        break;
    }
    case EMBER_OPTIMIZER_ADAM: { /* PyTorch's form, as the CPU backend */
        const float m = p.b1 * *s + (1.0f - p.b1) * g;
        const float v = p.b2 * *s2 + (1.0f - p.b2) * (g * g);
        *s = m;
        *s2 = v;
        const float denom = sqrtf(v) / p.sqrt_bc2 + p.eps;
        *w = wv - p.step_size * (m / denom);
        break;
    }
    default:
        break;
    }
}

/* Adds the V values of every lane of the warp to `sum` in column order (lane 0's first),
 * for columns below `valid`: a sequential sum over the row exactly as the CPU's loop,
 * computed identically on every lane. All lanes must call it. */
template <int V>
__device__ __forceinline__ float ordered_row_sum(float sum, const fvec<V> &x, int64_t cb,
                                                 int64_t valid) {
    for (int src = 0; src < 32; src++) {
#pragma unroll
        for (int k = 0; k < V; k++) {
            const float v = __shfl_sync(0xffffffffu, x.v[k], src);
            if (cb + src * V + k < valid) sum += v;
        }
    }
    return sum;
}

#endif /* EMBER_CUDA_OPTIM_CUH */
