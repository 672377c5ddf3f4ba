/* lookup.cl: embedding lookup (gather, pooled SUM/MEAN with weights and padding).
 * One work-item per (output row, chunk of 4 columns): the row's indices are read once per
 * chunk and each chunk's adds run in input order, as on the CPU. */
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
