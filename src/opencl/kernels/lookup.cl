/* lookup.cl: embedding lookup (gather, pooled SUM/MEAN with weights and padding), in input
 * order as on the CPU. Two mappings: ember_lookup_rows (one work-item per output row; CPU
 * devices, where PoCL runs a work-group as a loop and wide vector accumulators keep each row
 * read in one contiguous sweep) and ember_lookup (one work-item per output row and chunk of 4
 * columns; GPUs). Private arrays indexed at run time are slow on PoCL (7x measured), so
 * accumulators are a few named vectors. */

/* One pass over a bag for columns c .. c + nq*W - 1 (nq <= 4 vectors of width W), with up
 * to four vector accumulators: each table row is read once per pass, contiguously. LD/ST
 * load and store vector q of a row. */
#define EMBER_BAG_PASS(NAME, VT, LD, ST)                                                           \
    EMBER_INLINE void NAME(__global const float *table, long dim, long c, int nq,                  \
                           __global const char *idx, int is32, long s, long e, long pad,           \
                           __global const float *w, int has_w, int mean, int accumulate,           \
                           __global float *o, long n_total) {                                      \
        VT a0 = (VT)(0.0f), a1 = a0, a2 = a0, a3 = a0;                                             \
        int cnt = 0;                                                                               \
        for (long j = s; j < e; j++) {                                                             \
            if (c == 0 && j + EMBER_PREFETCH_AHEAD < n_total)                                      \
                EMBER_PREFETCH(table + ember_idx(idx, is32, j + EMBER_PREFETCH_AHEAD) * dim,       \
                               dim * 4, 0);                                                        \
            long r = ember_idx(idx, is32, j);                                                      \
            if (r == pad) continue;                                                                \
            cnt++;                                                                                 \
            __global const float *row = table + r * dim + c;                                       \
            if (has_w) {                                                                           \
                float wj = w[j];                                                                   \
                a0 += LD(0, row) * wj;                                                             \
                if (nq > 1) a1 += LD(1, row) * wj;                                                 \
                if (nq > 2) a2 += LD(2, row) * wj;                                                 \
                if (nq > 3) a3 += LD(3, row) * wj;                                                 \
            } else {                                                                               \
                a0 += LD(0, row);                                                                  \
                if (nq > 1) a1 += LD(1, row);                                                      \
                if (nq > 2) a2 += LD(2, row);                                                      \
                if (nq > 3) a3 += LD(3, row);                                                      \
            }                                                                                      \
        }                                                                                          \
        if (mean && cnt > 0) {                                                                     \
            float fc = (float)cnt;                                                                 \
            a0 = a0 / fc;                                                                          \
            a1 = a1 / fc;                                                                          \
            a2 = a2 / fc;                                                                          \
            a3 = a3 / fc;                                                                          \
        }                                                                                          \
        __global float *oc = o + c;                                                                \
        if (accumulate) {                                                                          \
            a0 = LD(0, oc) + a0;                                                                   \
            if (nq > 1) a1 = LD(1, oc) + a1;                                                       \
            if (nq > 2) a2 = LD(2, oc) + a2;                                                       \
            if (nq > 3) a3 = LD(3, oc) + a3;                                                       \
        }                                                                                          \
        ST(a0, 0, oc);                                                                             \
        if (nq > 1) ST(a1, 1, oc);                                                                 \
        if (nq > 2) ST(a2, 2, oc);                                                                 \
        if (nq > 3) ST(a3, 3, oc);                                                                 \
    }
EMBER_BAG_PASS(ember_bag_pass16, float16, vload16, vstore16)
EMBER_BAG_PASS(ember_bag_pass4, float4, vload4, vstore4)
EMBER_BAG_PASS(ember_bag_pass1, float, EMBER_LD1, EMBER_ST1)

/* One output row: column blocks of 64, then 16, 4 and 1. */
EMBER_INLINE void ember_lookup_row(__global const float *table, long dim, __global const char *idx,
                                   __global const char *off, int is32, int pooling, long pad,
                                   __global const float *w, int has_w, __global float *out,
                                   long stride, long col_off, int accumulate, long b,
                                   long n_total) {
    long s = b, e = b + 1; /* POOLING_NONE: the bag of one index */
    if (pooling != EMBER_POOL_NONE) {
        s = ember_idx(off, is32, b);
        e = ember_idx(off, is32, b + 1);
    }
    int mean = pooling == EMBER_POOL_MEAN;
    __global float *o = out + b * stride + col_off;
    long c = 0;
    for (; c + 64 <= dim; c += 64)
        ember_bag_pass16(table, dim, c, 4, idx, is32, s, e, pad, w, has_w, mean, accumulate, o,
                         n_total);
    if (c + 16 <= dim) {
        int nq = (int)((dim - c) / 16);
        ember_bag_pass16(table, dim, c, nq, idx, is32, s, e, pad, w, has_w, mean, accumulate, o,
                         n_total);
        c += 16 * nq;
    }
    if (c + 4 <= dim) {
        int nq = (int)((dim - c) / 4);
        ember_bag_pass4(table, dim, c, nq, idx, is32, s, e, pad, w, has_w, mean, accumulate, o,
                        n_total);
        c += 4 * nq;
    }
    if (c < dim)
        ember_bag_pass1(table, dim, c, (int)(dim - c), idx, is32, s, e, pad, w, has_w, mean,
                        accumulate, o, n_total);
}

/* One work-item per output row (CPU devices). PoCL compiles the flags tested inside the
 * loops poorly when they are run-time values (4x slower measured), so the common cases call
 * the body with literal flags and get their own specialised copy. */
__kernel void ember_lookup_rows(__global const float *table, long dim, __global const char *idx,
                                __global const char *off, int is32, int pooling, long pad,
                                __global const float *w, int has_w, __global float *out,
                                long stride, long col_off, int accumulate, long batch,
                                long n_total) {
    long b = get_global_id(0);
    if (b >= batch) return;
    if (!has_w && !accumulate && pad < 0) {
        if (is32)
            ember_lookup_row(table, dim, idx, off, 1, pooling, -1, w, 0, out, stride, col_off, 0, b,
                             n_total);
        else
            ember_lookup_row(table, dim, idx, off, 0, pooling, -1, w, 0, out, stride, col_off, 0, b,
                             n_total);
    } else {
        ember_lookup_row(table, dim, idx, off, is32, pooling, pad, w, has_w, out, stride, col_off,
                         accumulate, b, n_total);
    }
}

#define EMBER_LK_VEC 4

__kernel void ember_lookup(__global const float *table, long dim, long nchunks,
                           __global const char *idx, __global const char *off, int is32,
                           int pooling, long pad, __global const float *w, int has_w,
                           __global float *out, long stride, long col_off, int accumulate,
                           long batch) {
    long gid = get_global_id(0);
    long b = gid / nchunks;
    if (b >= batch) return;
    long c0 = (gid - b * nchunks) * EMBER_LK_VEC;
    __global float *o = out + b * stride + col_off + c0;
    if (c0 + EMBER_LK_VEC <= dim) {
        float4 acc = (float4)(0.0f);
        if (pooling == EMBER_POOL_NONE) {
            long r = ember_idx(idx, is32, b);
            if (r != pad) acc = vload4(0, table + r * dim + c0);
        } else {
            long s = ember_idx(off, is32, b), e = ember_idx(off, is32, b + 1);
            int cnt = 0;
            if (has_w) {
                for (long j = s; j < e; j++) {
                    long r = ember_idx(idx, is32, j);
                    if (r == pad) continue;
                    acc += vload4(0, table + r * dim + c0) * w[j];
                    cnt++;
                }
            } else {
                for (long j = s; j < e; j++) {
                    long r = ember_idx(idx, is32, j);
                    if (r == pad) continue;
                    acc += vload4(0, table + r * dim + c0);
                    cnt++;
                }
            }
            if (pooling == EMBER_POOL_MEAN && cnt > 0) acc = acc / (float)cnt;
        }
        if (accumulate) acc = vload4(0, o) + acc;
        vstore4(acc, 0, o);
        return;
    }
    /* The last, partial chunk (dim not a multiple of 4). */
    long cn = dim - c0;
    for (long c = 0; c < cn; c++) {
        float acc = 0.0f;
        if (pooling == EMBER_POOL_NONE) {
            long r = ember_idx(idx, is32, b);
            if (r != pad) acc = table[r * dim + c0 + c];
        } else {
            long s = ember_idx(off, is32, b), e = ember_idx(off, is32, b + 1);
            int cnt = 0;
            for (long j = s; j < e; j++) {
                long r = ember_idx(idx, is32, j);
                if (r == pad) continue;
                float v = table[r * dim + c0 + c];
                acc += has_w ? v * w[j] : v;
                cnt++;
            }
            if (pooling == EMBER_POOL_MEAN && cnt > 0) acc = acc / (float)cnt;
        }
        if (accumulate) acc = o[c] + acc;
        o[c] = acc;
    }
}
