/* check.cl: the bounds-check pass, one launch for a table's offsets and indices together.
 * Each offending entry records its position with atomic_min in the table's 32-byte slot
 * `slot` of a flags buffer that the host reads back once for all tables of a call:
 *   int  flag[0]: lowest bad index position, flag[1]: lowest decreasing offset position
 *   long flag64[1]: offsets[0], flag64[2]: offsets[count - 1]
 * Work-items 0 .. olen-1 check offsets obase.., the next ilen check indices ibase..;
 * positions are relative to the chunk bases, so they fit an int. */
__kernel void ember_check(__global const char *off, long obase, long olen, long count,
                          __global const char *idx, long ibase, long ilen, long rows, int is32,
                          __global int *flags, int slot) {
    __global int *flag = flags + 8 * (long)slot;
    long i = get_global_id(0);
    if (i < olen) {
        long p = obase + i;
        long v = ember_idx(off, is32, p);
        __global long *flag64 = (__global long *)flag;
        if (p == 0) flag64[1] = v;
        if (p == count - 1) flag64[2] = v;
        if (p > 0 && v < ember_idx(off, is32, p - 1)) atomic_min(&flag[1], (int)i);
        return;
    }
    i -= olen;
    if (i >= ilen) return;
    long v = ember_idx(idx, is32, ibase + i);
    if (v < 0 || v >= rows) atomic_min(&flag[0], (int)i);
}
