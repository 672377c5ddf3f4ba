/* optim.cl: optimizer updates: fused backward + sparse step, sparse step from a coalesced
 * gradient, dense step. Weight decay is folded into the gradient first (g += wd * w). */

/* SGD / Adagrad on four parameters; st unused for SGD. */
inline void ember_opt4(int kind, float lr, float eps, float wd, __global float *w,
                       __global float *st, float4 g) {
    float4 wv = vload4(0, w);
    if (wd != 0.0f) g = g + wd * wv;
    if (kind == EMBER_OPT_ADAGRAD) {
        float4 s = vload4(0, st) + g * g;
        vstore4(s, 0, st);
        vstore4(wv - lr * g / (sqrt(s) + eps), 0, w);
    } else {
        vstore4(wv - lr * g, 0, w);
    }
}

inline void ember_opt1(int kind, float lr, float eps, float wd, __global float *w,
                       __global float *st, float g) {
    float wv = *w;
    if (wd != 0.0f) g = g + wd * wv;
    if (kind == EMBER_OPT_ADAGRAD) {
        float s = *st + g * g;
        *st = s;
        *w = wv - lr * g / (sqrt(s) + eps);
    } else {
        *w = wv - lr * g;
    }
}

inline float ember_sumsq4(float acc, float4 g) {
    acc += g.x * g.x;
    acc += g.y * g.y;
    acc += g.z * g.z;
    acc += g.w * g.w;
    return acc;
}

/* Fused backward + sparse optimizer: one work-item per segment (distinct row). Row-wise
 * Adagrad needs the whole row's mean(g*g) first, so its gradient is summed twice. */
__kernel void ember_group_update(EMBER_SEG_ARGS, int kind, float lr, float eps, float wd,
                                 __global float *table, __global float *state) {
    uint u = get_global_id(0);
    if (u >= info[0]) return;
    long s = seg_start[u], e = seg_start[u + 1];
    long row = (long)ukey[u];
    __global float *w = table + row * dim;
    long c;
    if (kind == EMBER_OPT_ROWWISE) {
        float ss = 0.0f;
        for (c = 0; c + 4 <= dim; c += 4) {
            float4 g = ember_seg_sum4(s, e, c, EMBER_SEG_PASS);
            if (wd != 0.0f) g = g + wd * vload4(0, w + c);
            ss = ember_sumsq4(ss, g);
        }
        for (; c < dim; c++) {
            float g = ember_seg_sum1(s, e, c, EMBER_SEG_PASS);
            if (wd != 0.0f) g = g + wd * w[c];
            ss += g * g;
        }
        float sv = state[row] + ss / (float)dim;
        state[row] = sv;
        float denom = sqrt(sv) + eps;
        for (c = 0; c + 4 <= dim; c += 4) {
            float4 g = ember_seg_sum4(s, e, c, EMBER_SEG_PASS);
            float4 wv = vload4(0, w + c);
            if (wd != 0.0f) g = g + wd * wv;
            vstore4(wv - lr * g / denom, 0, w + c);
        }
        for (; c < dim; c++) {
            float g = ember_seg_sum1(s, e, c, EMBER_SEG_PASS);
            float wv = w[c];
            if (wd != 0.0f) g = g + wd * wv;
            w[c] = wv - lr * g / denom;
        }
        return;
    }
    __global float *st = kind == EMBER_OPT_ADAGRAD ? state + row * dim : table;
    for (c = 0; c + 4 <= dim; c += 4)
        ember_opt4(kind, lr, eps, wd, w + c, st + c, ember_seg_sum4(s, e, c, EMBER_SEG_PASS));
    for (; c < dim; c++)
        ember_opt1(kind, lr, eps, wd, w + c, st + c, ember_seg_sum1(s, e, c, EMBER_SEG_PASS));
}

/* Sparse step from a coalesced gradient: one work-item per unique row. */
__kernel void ember_sparse_step(__global const long *ids, __global const float *grads,
                                long n_unique, long dim, int kind, float lr, float eps,
                                float wd, __global float *table, __global float *state) {
    long u = get_global_id(0);
    if (u >= n_unique) return;
    long row = ids[u];
    __global float *w = table + row * dim;
    __global const float *gr = grads + u * dim;
    long c;
    if (kind == EMBER_OPT_ROWWISE) {
        float ss = 0.0f;
        for (c = 0; c < dim; c++) {
            float g = gr[c];
            if (wd != 0.0f) g = g + wd * w[c];
            ss += g * g;
        }
        float sv = state[row] + ss / (float)dim;
        state[row] = sv;
        float denom = sqrt(sv) + eps;
        for (c = 0; c < dim; c++) {
            float g = gr[c];
            float wv = w[c];
            if (wd != 0.0f) g = g + wd * wv;
            w[c] = wv - lr * g / denom;
        }
        return;
    }
    __global float *st = kind == EMBER_OPT_ADAGRAD ? state + row * dim : table;
    for (c = 0; c + 4 <= dim; c += 4)
        ember_opt4(kind, lr, eps, wd, w + c, st + c, vload4(0, gr + c));
    for (; c < dim; c++) ember_opt1(kind, lr, eps, wd, w + c, st + c, gr[c]);
}

/* Dense step over n parameters: SGD, Adagrad or Adam (bias corrections bc1 = 1 - beta1^t,
 * bc2 = 1 - beta2^t computed on the host). */
__kernel void ember_dense_step(__global float *param, __global const float *grad,
                               __global float *st, __global float *st2, long n, int kind,
                               float lr, float eps, float wd, float b1, float b2, float bc1,
                               float bc2) {
    long i = get_global_id(0);
    if (i >= n) return;
    float w = param[i];
    float g = grad[i];
    if (wd != 0.0f) g = g + wd * w;
    if (kind == EMBER_OPT_SGD) {
        param[i] = w - lr * g;
    } else if (kind == EMBER_OPT_ADAGRAD) {
        float s = st[i] + g * g;
        st[i] = s;
        param[i] = w - lr * g / (sqrt(s) + eps);
    } else {
        float m = b1 * st[i] + (1.0f - b1) * g;
        float v = b2 * st2[i] + (1.0f - b2) * g * g;
        st[i] = m;
        st2[i] = v;
        float mhat = m / bc1;
        float vhat = v / bc2;
        param[i] = w - lr * mhat / (sqrt(vhat) + eps);
    }
}
