/* group.cl: grouping of index positions by table row for the DETERMINISTIC (and sparse and
 * fused) backward, without float atomics.
 *
 * Keys (row, or `sentinel` = num_rows for padding) and values (positions) are sorted with a
 * stable LSD radix sort, then each run of equal keys becomes one segment. Each of the G
 * "chunk workers" is a work-group of one work-item that owns a contiguous slice of the
 * input: its digit counts live in its own column of `hist`, so no atomics are needed and
 * the scatter keeps input order within a digit (stability). On a CPU device (PoCL) a chunk
 * worker is a plain sequential loop over cache-friendly data. */

__kernel void ember_group_keys(__global const char *idx, int is32, long pad, uint sentinel,
                               __global uint *key, __global uint *val, long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    long r = ember_idx(idx, is32, i);
    key[i] = r == pad ? sentinel : (uint)r;
    val[i] = (uint)i;
}

__kernel void ember_radix_hist(__global const uint *key, long n, long chunk, uint shift, uint mask,
                               __global uint *hist, uint G) {
    uint g = get_global_id(0);
    if (g >= G) return;
    for (uint d = 0; d <= mask; d++) hist[d * G + g] = 0;
    long lo = (long)g * chunk, hi = min(n, lo + chunk);
    for (long i = lo; i < hi; i++) hist[((key[i] >> shift) & mask) * G + g]++;
}

/* Exclusive prefix sum of `count` entries in place, digit-major: every chunk's slot for
 * digit d comes after all slots of smaller digits and of earlier chunks. v[count] receives
 * the total. */
__kernel void ember_scan_exclusive(__global uint *v, long count) {
    if (get_global_id(0) != 0) return;
    uint run = 0;
    for (long i = 0; i < count; i++) {
        uint c = v[i];
        v[i] = run;
        run += c;
    }
    v[count] = run;
}

__kernel void ember_radix_scatter(__global const uint *key_in, __global const uint *val_in,
                                  __global uint *key_out, __global uint *val_out, long n,
                                  long chunk, uint shift, uint mask, __global uint *hist, uint G) {
    uint g = get_global_id(0);
    if (g >= G) return;
    long lo = (long)g * chunk, hi = min(n, lo + chunk);
    for (long i = lo; i < hi; i++) {
        uint k = key_in[i];
        uint p = hist[((k >> shift) & mask) * G + g]++;
        key_out[p] = k;
        val_out[p] = val_in[i];
    }
}

/* Segments: cnt[g] = the runs (distinct non-padding rows) that start in chunk g. */
__kernel void ember_seg_count(__global const uint *key, long n, long chunk, uint sentinel,
                              __global uint *cnt, uint G) {
    uint g = get_global_id(0);
    if (g >= G) return;
    long lo = (long)g * chunk, hi = min(n, lo + chunk);
    uint c = 0;
    for (long i = lo; i < hi; i++)
        if (key[i] != sentinel && (i == 0 || key[i] != key[i - 1])) c++;
    cnt[g] = c;
}

/* After the exclusive scan of cnt: info[0] = number of segments; seg_start[total] = end of
 * the last one (n, or where the padding run starts: ember_seg_write overwrites it). */
__kernel void ember_seg_total(__global const uint *cnt, uint G, long n, __global uint *seg_start,
                              __global uint *info) {
    if (get_global_id(0) != 0) return;
    uint total = cnt[G];
    info[0] = total;
    seg_start[total] = (uint)n;
}

__kernel void ember_seg_write(__global const uint *key, long n, long chunk, uint sentinel,
                              __global const uint *cnt, __global const uint *info,
                              __global uint *seg_start, __global uint *ukey, uint G) {
    uint g = get_global_id(0);
    if (g >= G) return;
    long lo = (long)g * chunk, hi = min(n, lo + chunk);
    uint u = cnt[g];
    for (long i = lo; i < hi; i++) {
        if (i > 0 && key[i] == key[i - 1]) continue;
        if (key[i] == sentinel) {
            seg_start[info[0]] = (uint)i;
        } else {
            seg_start[u] = (uint)i;
            ukey[u] = key[i];
            u++;
        }
    }
}

/* --- reduction of one segment: the row's contributions in input order ------------------ */

/* Where position p's gradient row starts and its scale (has_scale 0: exactly 1). */
EMBER_INLINE __global const float *
ember_contrib_row(__global const float *grad_out, long stride, long col_off, int pooled,
                  __global const uint *bag_of, __global const float *w, int has_w,
                  __global const float *inv_count, int is_mean, uint p, float *scale) {
    long bag = pooled ? (long)bag_of[p] : (long)p;
    *scale = has_w ? w[p] : (is_mean ? inv_count[bag] : 1.0f);
    return grad_out + bag * stride + col_off;
}

/* Arguments every segment reduction takes, as one macro so the kernels stay in step. */
#define EMBER_SEG_ARGS                                                                             \
    __global const uint *seg_start, __global const uint *ukey, __global const uint *sorted_pos,    \
        __global const uint *info, __global const float *grad_out, long stride, long col_off,      \
        long dim, int pooled, __global const uint *bag_of, __global const float *sw, int has_w,    \
        __global const float *inv_count, int is_mean, long npos
#define EMBER_SEG_PASS                                                                             \
    sorted_pos, grad_out, stride, col_off, pooled, bag_of, sw, has_w, inv_count, is_mean, npos

/* The segment's summed gradient for columns c .. c + nq*W - 1 (nq <= 4 vectors of width
 * W) in *r0..*r3, each contribution row read once per pass, summed in input order starting
 * from the first term. */
#define EMBER_SEG_PASS_FN(W, VT)                                                                   \
    EMBER_INLINE void ember_seg_pass##W(                                                           \
        long s, long e, long c, int nq, long dim, VT *r0, VT *r1, VT *r2, VT *r3,                  \
        __global const uint *sorted_pos, __global const float *grad_out, long stride,              \
        long col_off, int pooled, __global const uint *bag_of, __global const float *w, int has_w, \
        __global const float *inv_count, int is_mean, long npos) {                                 \
        VT z = (VT)(0.0f), a0 = z, a1 = z, a2 = z, a3 = z;                                         \
        int scaled = has_w || is_mean;                                                             \
        for (long k = s; k < e; k++) {                                                             \
            float sc;                                                                              \
            if (c == 0 && k + EMBER_PREFETCH_AHEAD < npos) {                                       \
                uint pp_ = sorted_pos[k + EMBER_PREFETCH_AHEAD];                                   \
                long bb_ = pooled ? (long)bag_of[pp_] : (long)pp_;                                 \
                EMBER_PREFETCH(grad_out + bb_ * stride + col_off, dim * 4, 0);                     \
            }                                                                                      \
            __global const float *g =                                                              \
                ember_contrib_row(grad_out, stride, col_off, pooled, bag_of, w, has_w, inv_count,  \
                                  is_mean, sorted_pos[k], &sc) +                                   \
                c;                                                                                 \
            VT t0 = EMBER_LD##W(0, g);                                                             \
            VT t1 = nq > 1 ? EMBER_LD##W(1, g) : z;                                                \
            VT t2 = nq > 2 ? EMBER_LD##W(2, g) : z;                                                \
            VT t3 = nq > 3 ? EMBER_LD##W(3, g) : z;                                                \
            if (scaled) {                                                                          \
                t0 = t0 * sc;                                                                      \
                t1 = t1 * sc;                                                                      \
                t2 = t2 * sc;                                                                      \
                t3 = t3 * sc;                                                                      \
            }                                                                                      \
            if (k == s) {                                                                          \
                a0 = t0;                                                                           \
                a1 = t1;                                                                           \
                a2 = t2;                                                                           \
                a3 = t3;                                                                           \
            } else {                                                                               \
                a0 += t0;                                                                          \
                a1 += t1;                                                                          \
                a2 += t2;                                                                          \
                a3 += t3;                                                                          \
            }                                                                                      \
        }                                                                                          \
        *r0 = a0;                                                                                  \
        *r1 = a1;                                                                                  \
        *r2 = a2;                                                                                  \
        *r3 = a3;                                                                                  \
    }
#define EMBER_LD16(q, p) vload16(q, p)
#define EMBER_ST16(v, q, p) vstore16(v, q, p)
#define EMBER_LD4(q, p) vload4(q, p)
#define EMBER_ST4(v, q, p) vstore4(v, q, p)
EMBER_SEG_PASS_FN(16, float16)
EMBER_SEG_PASS_FN(4, float4)
EMBER_SEG_PASS_FN(1, float)

/* Runs BLOCK(VT, W, c, nq) over a row's columns: blocks of 64 (4 x float16), then 16, 4
 * and single columns, so any dim works and the common ones take one or two passes. */
#define EMBER_COLUMN_BLOCKS(dim, BLOCK)                                                            \
    {                                                                                              \
        long c_ = 0;                                                                               \
        for (; c_ + 64 <= (dim); c_ += 64) BLOCK(float16, 16, c_, 4)                               \
        if (c_ + 16 <= (dim)) {                                                                    \
            int nq_ = (int)(((dim)-c_) / 16);                                                      \
            BLOCK(float16, 16, c_, nq_)                                                            \
            c_ += 16 * nq_;                                                                        \
        }                                                                                          \
        if (c_ + 4 <= (dim)) {                                                                     \
            int nq_ = (int)(((dim)-c_) / 4);                                                       \
            BLOCK(float4, 4, c_, nq_)                                                              \
            c_ += 4 * nq_;                                                                         \
        }                                                                                          \
        if (c_ < (dim)) {                                                                          \
            int nq_ = (int)((dim)-c_);                                                             \
            BLOCK(float, 1, c_, nq_)                                                               \
        }                                                                                          \
    }

/* Dense deterministic backward: grad_table[row] += the segment's sum. One work-item per
 * segment (launched for an upper bound; those past info[0] return). */
#define EMBER_DENSE_BLOCK(VT, W, c, nq)                                                            \
    {                                                                                              \
        VT a0, a1, a2, a3;                                                                         \
        ember_seg_pass##W(s, e, c, nq, dim, &a0, &a1, &a2, &a3, EMBER_SEG_PASS);                   \
        __global float *d_ = dst + (c);                                                            \
        EMBER_ST##W(EMBER_LD##W(0, d_) + a0, 0, d_);                                               \
        if (nq > 1) EMBER_ST##W(EMBER_LD##W(1, d_) + a1, 1, d_);                                   \
        if (nq > 2) EMBER_ST##W(EMBER_LD##W(2, d_) + a2, 2, d_);                                   \
        if (nq > 3) EMBER_ST##W(EMBER_LD##W(3, d_) + a3, 3, d_);                                   \
    }
__kernel void ember_group_dense(EMBER_SEG_ARGS, __global float *grad_table) {
    uint u = get_global_id(0);
    if (u >= info[0]) return;
    long s = seg_start[u], e = seg_start[u + 1];
    __global float *dst = grad_table + (long)ukey[u] * dim;
    if (u + EMBER_PREFETCH_AHEAD < info[0])
        EMBER_PREFETCH(grad_table + (long)ukey[u + EMBER_PREFETCH_AHEAD] * dim, dim * 4, 1);
    EMBER_COLUMN_BLOCKS(dim, EMBER_DENSE_BLOCK)
}

/* Sparse backward: unique_ids[u] = row, unique_grads[u] = the segment's sum. */
#define EMBER_SPARSE_BLOCK(VT, W, c, nq)                                                           \
    {                                                                                              \
        VT a0, a1, a2, a3;                                                                         \
        ember_seg_pass##W(s, e, c, nq, dim, &a0, &a1, &a2, &a3, EMBER_SEG_PASS);                   \
        __global float *d_ = dst + (c);                                                            \
        EMBER_ST##W(a0, 0, d_);                                                                    \
        if (nq > 1) EMBER_ST##W(a1, 1, d_);                                                        \
        if (nq > 2) EMBER_ST##W(a2, 2, d_);                                                        \
        if (nq > 3) EMBER_ST##W(a3, 3, d_);                                                        \
    }
__kernel void ember_group_sparse(EMBER_SEG_ARGS, __global long *unique_ids,
                                 __global float *unique_grads) {
    uint u = get_global_id(0);
    if (u >= info[0]) return;
    long s = seg_start[u], e = seg_start[u + 1];
    unique_ids[u] = (long)ukey[u];
    __global float *dst = unique_grads + (long)u * dim;
    EMBER_COLUMN_BLOCKS(dim, EMBER_SPARSE_BLOCK)
}
