/* optim.cuh: the optimizer update rules on the device, shared by the fused backward
 * (backward.cu) and the plain optimizer steps (optim.cu), so both round identically.
 * Compiled with --fmad=false: each product and sum rounds on its own, as the CPU's C does. */
#ifndef EMBER_CUDA_OPTIM_CUH
#define EMBER_CUDA_OPTIM_CUH

#include "cuda/cuda_common.cuh"

#include <math.h>

struct ember_opt_params {
    int kind; /* ember_optimizer_kind */
    float lr, eps, b1, b2, wd;
    float bc1, bc2; /* Adam: 1 - beta^step */
};

static inline ember_opt_params ember_opt_params_make(const ember_optimizer *o) {
    ember_opt_params p;
    p.kind = (int)o->kind;
    p.lr = o->learning_rate;
    p.eps = o->eps;
    p.b1 = o->beta1;
    p.b2 = o->beta2;
    p.wd = o->weight_decay;
    p.bc1 = 1.0f - powf(o->beta1, (float)o->step);
    p.bc2 = 1.0f - powf(o->beta2, (float)o->step);
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
    case EMBER_OPTIMIZER_ADAM: {
        const float m = p.b1 * *s + (1.0f - p.b1) * g;
        const float v = p.b2 * *s2 + (1.0f - p.b2) * g * g;
        *s = m;
        *s2 = v;
        const float mhat = m / p.bc1, vhat = v / p.bc2;
        *w = wv - p.lr * mhat / (sqrtf(vhat) + p.eps);
        break;
    }
    default:
        break;
    }
}

/* Sum over the warp, the same tree every time (deterministic). */
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

#endif /* EMBER_CUDA_OPTIM_CUH */
