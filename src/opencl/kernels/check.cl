/* check.cl: the bounds-check pass. Each kernel records the lowest offending position of its
 * kind with atomic_min in a small flag buffer that the host reads back once:
 *   int  flag[0]: lowest bad index position, flag[1]: lowest decreasing offset position
 *   long flag64[1]: offsets[0], flag64[2]: offsets[count - 1]
 * Positions are relative to the chunk (`base`) so they fit an int. */
__kernel void ember_check_indices(__global const char *idx, int is32, long base, long n,
                                  long rows, __global int *flag) {
    long i = get_global_id(0);
    if (i >= n) return;
    long v = ember_idx(idx, is32, base + i);
    if (v < 0 || v >= rows) atomic_min(&flag[0], (int)i);
}

/* Offsets, entries base .. base + n - 1 of `count` (batch + 1). */
__kernel void ember_check_offsets(__global const char *off, int is32, long base, long n,
                                  long count, __global int *flag) {
    long i = get_global_id(0);
    if (i >= n) return;
    long p = base + i;
    long v = ember_idx(off, is32, p);
    __global long *flag64 = (__global long *)flag;
    if (p == 0) flag64[1] = v;
    if (p == count - 1) flag64[2] = v;
    if (p > 0 && v < ember_idx(off, is32, p - 1)) atomic_min(&flag[1], (int)i);
}
