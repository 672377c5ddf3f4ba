/* optim.cl: optimizer updates: fused backward + sparse step, sparse step from a coalesced
 * gradient, dense step. Weight decay is folded into the gradient first (g += wd * w). */

/* SGD / Adagrad on one vector of parameters (as cpu_optim_row; st unused for SGD). */
#define EMBER_OPT_FN(W, VT)                                                                        \
    EMBER_INLINE void ember_opt##W(int kind, float lr, float eps, float wd, __global float *w,     \
                                   __global float *st, VT g) {                                     \
        VT wv = EMBER_LD##W(0, w);                                                                 \
        if (wd != 0.0f) g = g + wd * wv;                                                           \
        if (kind == EMBER_OPT_ADAGRAD) {                                                           \
            VT sv = EMBER_LD##W(0, st) + g * g;                                                    \
            EMBER_ST##W(sv, 0, st);                                                                \
            EMBER_ST##W(wv - (lr * g) / (sqrt(sv) + eps), 0, w);                                   \
        } else {                                                                                   \
            EMBER_ST##W(wv - lr * g, 0, w);                                                        \
        }                                                                                          \
    }
EMBER_OPT_FN(16, float16)
EMBER_OPT_FN(4, float4)
EMBER_OPT_FN(1, float)

/* Sum of squares in column order (the CPU's order), one lane after another. */
inline float ember_sumsq1(float acc, float g) {
    return acc + g * g;
}
inline float ember_sumsq4(float acc, float4 g) {
    acc += g.x * g.x;
    acc += g.y * g.y;
    acc += g.z * g.z;
    acc += g.w * g.w;
    return acc;
}
inline float ember_sumsq16(float acc, float16 g) {
    acc = ember_sumsq4(acc, g.s0123);
    acc = ember_sumsq4(acc, g.s4567);
    acc = ember_sumsq4(acc, g.s89ab);
    return ember_sumsq4(acc, g.scdef);
}

#define EMBER_UPDATE_BLOCK(VT, W, c, nq)                                                           \
    {                                                                                              \
        VT a0, a1, a2, a3;                                                                         \
        ember_seg_pass##W(s, e, c, nq, dim, &a0, &a1, &a2, &a3, EMBER_SEG_PASS);                   \
        long o_ = (c);                                                                             \
        ember_opt##W(kind, lr, eps, wd, w + o_, st + o_, a0);                                      \
        if (nq > 1) ember_opt##W(kind, lr, eps, wd, w + o_ + W, st + o_ + W, a1);                  \
        if (nq > 2) ember_opt##W(kind, lr, eps, wd, w + o_ + 2 * W, st + o_ + 2 * W, a2);          \
        if (nq > 3) ember_opt##W(kind, lr, eps, wd, w + o_ + 3 * W, st + o_ + 3 * W, a3);          \
    }
/* Row-wise Adagrad, first sweep: the row's sum of g'^2 (g' = g + wd w) in column order. */
#define EMBER_ROWSUM_BLOCK(VT, W, c, nq)                                                           \
    {                                                                                              \
        VT a0, a1, a2, a3;                                                                         \
        ember_seg_pass##W(s, e, c, nq, dim, &a0, &a1, &a2, &a3, EMBER_SEG_PASS);                   \
        __global float *wc = w + (c);                                                              \
        if (wd != 0.0f) {                                                                          \
            a0 = a0 + wd * EMBER_LD##W(0, wc);                                                     \
            if (nq > 1) a1 = a1 + wd * EMBER_LD##W(1, wc);                                         \
            if (nq > 2) a2 = a2 + wd * EMBER_LD##W(2, wc);                                         \
            if (nq > 3) a3 = a3 + wd * EMBER_LD##W(3, wc);                                         \
        }                                                                                          \
        ss = ember_sumsq##W(ss, a0);                                                               \
        if (nq > 1) ss = ember_sumsq##W(ss, a1);                                                   \
        if (nq > 2) ss = ember_sumsq##W(ss, a2);                                                   \
        if (nq > 3) ss = ember_sumsq##W(ss, a3);                                                   \
    }
/* Row-wise Adagrad, second sweep: w -= (lr g') / denom. */
#define EMBER_ROWAPPLY_ONE(W, VT, P, A)                                                            \
    {                                                                                              \
        __global float *p_ = (P);                                                                  \
        VT wv = EMBER_LD##W(0, p_);                                                                \
        VT g = (A);                                                                                \
        if (wd != 0.0f) g = g + wd * wv;                                                           \
        EMBER_ST##W(wv - (lr * g) / denom, 0, p_);                                                 \
    }
#define EMBER_ROWAPPLY_BLOCK(VT, W, c, nq)                                                         \
    {                                                                                              \
        VT a0, a1, a2, a3;                                                                         \
        ember_seg_pass##W(s, e, c, nq, dim, &a0, &a1, &a2, &a3, EMBER_SEG_PASS);                   \
        EMBER_ROWAPPLY_ONE(W, VT, w + (c), a0)                                                     \
        if (nq > 1) EMBER_ROWAPPLY_ONE(W, VT, w + (c) + W, a1)                                     \
        if (nq > 2) EMBER_ROWAPPLY_ONE(W, VT, w + (c) + 2 * W, a2)                                 \
        if (nq > 3) EMBER_ROWAPPLY_ONE(W, VT, w + (c) + 3 * W, a3)                                 \
    }

/* Fused backward + sparse optimizer: one work-item per segment (distinct row); the row's
 * summed gradient never leaves the work-item. Row-wise Adagrad needs the whole row's
 * mean(g^2) before any update, so it sums the gradient twice. */
EMBER_INLINE void ember_group_update_one(EMBER_SEG_ARGS, int kind, float lr, float eps, float wd,
                                         __global float *table, __global float *state, uint u) {
    long s = seg_start[u], e = seg_start[u + 1];
    long row = (long)ukey[u];
    __global float *w = table + row * dim;
    if (u + EMBER_PREFETCH_AHEAD < info[0]) {
        long ahead = (long)ukey[u + EMBER_PREFETCH_AHEAD];
        EMBER_PREFETCH(table + ahead * dim, dim * 4, 1);
        if (kind == EMBER_OPT_ADAGRAD) EMBER_PREFETCH(state + ahead * dim, dim * 4, 1);
    }
    if (kind == EMBER_OPT_ROWWISE) {
        float ss = 0.0f;
        EMBER_COLUMN_BLOCKS(dim, EMBER_ROWSUM_BLOCK)
        float sv = state[row] + ss / (float)dim;
        state[row] = sv;
        float denom = sqrt(sv) + eps;
        EMBER_COLUMN_BLOCKS(dim, EMBER_ROWAPPLY_BLOCK)
        return;
    }
    __global float *st = kind == EMBER_OPT_ADAGRAD ? state + row * dim : w;
    EMBER_COLUMN_BLOCKS(dim, EMBER_UPDATE_BLOCK)
}

/* As ember_lookup_rows: the common flag combinations get specialised copies. */
__kernel void ember_group_update(EMBER_SEG_ARGS, int kind, float lr, float eps, float wd,
                                 __global float *table, __global float *state) {
    uint u = get_global_id(0);
    if (u >= info[0]) return;
    if (!has_w && !is_mean && wd == 0.0f) {
        if (kind == EMBER_OPT_SGD)
            ember_group_update_one(seg_start, ukey, sorted_pos, info, grad_out, stride, col_off,
                                   dim, pooled, bag_of, sw, 0, inv_count, 0, npos, EMBER_OPT_SGD,
                                   lr, eps, 0.0f, table, state, u);
        else if (kind == EMBER_OPT_ADAGRAD)
            ember_group_update_one(seg_start, ukey, sorted_pos, info, grad_out, stride, col_off,
                                   dim, pooled, bag_of, sw, 0, inv_count, 0, npos,
                                   EMBER_OPT_ADAGRAD, lr, eps, 0.0f, table, state, u);
        else
            ember_group_update_one(seg_start, ukey, sorted_pos, info, grad_out, stride, col_off,
                                   dim, pooled, bag_of, sw, 0, inv_count, 0, npos,
                                   EMBER_OPT_ROWWISE, lr, eps, 0.0f, table, state, u);
    } else {
        ember_group_update_one(seg_start, ukey, sorted_pos, info, grad_out, stride, col_off, dim,
                               pooled, bag_of, sw, has_w, inv_count, is_mean, npos, kind, lr, eps,
                               wd, table, state, u);
    }
}

/* Sparse step from a coalesced gradient: one work-item per unique row. */
__kernel void ember_sparse_step(__global const long *ids, __global const float *grads,
                                long n_unique, long dim, int kind, float lr, float eps, float wd,
                                __global float *table, __global float *state) {
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

/* Dense step over n parameters: SGD, Adagrad or Adam in the CPU backend's form (PyTorch's):
 * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; w -= step_size * (m / (sqrt(v) / sqrt_bc2
 * + eps)), step_size = lr / (1 - b1^t) and sqrt_bc2 = sqrt(1 - b2^t) computed on the host
 * in double. */
__kernel void ember_dense_step(__global float *param, __global const float *grad,
                               __global float *st, __global float *st2, long n, int kind, float lr,
                               float eps, float wd, float b1, float b2, float step_size,
                               float sqrt_bc2) {
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
        param[i] = w - (lr * g) / (sqrt(s) + eps);
    } else {
        float m = b1 * st[i] + (1.0f - b1) * g;
        float v = b2 * st2[i] + (1.0f - b2) * (g * g);
        st[i] = m;
        st2[i] = v;
        float denom = sqrt(v) / sqrt_bc2 + eps;
        param[i] = w - step_size * (m / denom);
    }
}
