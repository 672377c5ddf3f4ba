/* backward.cl: ATOMIC dense backward (scatter-add with a compare-and-swap float add) and
 * the per-position bag information the grouped (sorted) backward needs. */

/* Scale of the contributions of bag b: 1 / count of its non-padding indices (MEAN only). */
inline float ember_bag_inv_count(__global const char *idx, int is32, long s, long e, long pad) {
    int cnt = 0;
    for (long j = s; j < e; j++)
        if (ember_idx(idx, is32, j) != pad) cnt++;
    return cnt > 0 ? 1.0f / (float)cnt : 0.0f;
}

/* One work-item per output row (bag): adds its gradient row, scaled, into every table row
 * the bag read. */
__kernel void ember_backward_atomic(__global const float *grad_out, long stride, long col_off,
                                    long dim, __global const char *idx, __global const char *off,
                                    int is32, int pooling, long pad, __global const float *w,
                                    int has_w, __global float *grad_table, long batch) {
    long b = get_global_id(0);
    if (b >= batch) return;
    __global const float *g = grad_out + b * stride + col_off;
    if (pooling == EMBER_POOL_NONE) {
        long r = ember_idx(idx, is32, b);
        if (r == pad) return;
        for (long c = 0; c < dim; c++) ember_atomic_add_f(grad_table + r * dim + c, g[c]);
        return;
    }
    long s = ember_idx(off, is32, b), e = ember_idx(off, is32, b + 1);
    float inv = pooling == EMBER_POOL_MEAN ? ember_bag_inv_count(idx, is32, s, e, pad) : 1.0f;
    for (long j = s; j < e; j++) {
        long r = ember_idx(idx, is32, j);
        if (r == pad) continue;
        __global float *dst = grad_table + r * dim;
        if (has_w) {
            float wj = w[j];
            for (long c = 0; c < dim; c++) ember_atomic_add_f(dst + c, g[c] * wj);
        } else if (pooling == EMBER_POOL_MEAN) {
            for (long c = 0; c < dim; c++) ember_atomic_add_f(dst + c, g[c] * inv);
        } else {
            for (long c = 0; c < dim; c++) ember_atomic_add_f(dst + c, g[c]);
        }
    }
}

/* One work-item per bag: bag_of[j] = b for its positions, and (MEAN) inv_count[b]. */
__kernel void ember_bag_info(__global const char *idx, __global const char *off, int is32,
                             int pooling, long pad, __global uint *bag_of,
                             __global float *inv_count, long batch) {
    long b = get_global_id(0);
    if (b >= batch) return;
    long s = ember_idx(off, is32, b), e = ember_idx(off, is32, b + 1);
    for (long j = s; j < e; j++) bag_of[j] = (uint)b;
    if (pooling == EMBER_POOL_MEAN) inv_count[b] = ember_bag_inv_count(idx, is32, s, e, pad);
}
