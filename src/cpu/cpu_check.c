/* cpu_check.c: the bounds-check pass over offsets and indices, run before every op. */
#include "cpu/cpu_internal.h"

#include <omp.h>

/* Blocks of this many entries are tested with a branch-free OR (vectorised); only a block
 * that holds a bad entry is scanned again for its first one. */
#define CHECK_BLOCK 1024

#define DEFINE_FIRST_BAD(NAME, T)                                                         \
    static int64_t NAME(const T *v, int64_t lo, int64_t hi, uint64_t rows) {              \
        for (int64_t b = lo; b < hi; b += CHECK_BLOCK) {                                  \
            int64_t e = b + CHECK_BLOCK < hi ? b + CHECK_BLOCK : hi;                      \
            int bad = 0;                                                                  \
            for (int64_t i = b; i < e; i++) bad |= (uint64_t)(int64_t)v[i] >= rows;       \
            if (!bad) continue;                                                           \
            for (int64_t i = b; i < e; i++)                                               \
                if ((uint64_t)(int64_t)v[i] >= rows) return i;                            \
        }                                                                                 \
        return -1;                                                                        \
    }
DEFINE_FIRST_BAD(first_bad_i64, int64_t)
DEFINE_FIRST_BAD(first_bad_i32, int32_t)

/* Lowest position in [lo, hi) (hi <= count) where v[i] < v[i-1]; i >= 1. */
#define DEFINE_FIRST_DECREASE(NAME, T)                                                    \
    static int64_t NAME(const T *v, int64_t lo, int64_t hi) {                             \
        if (lo < 1) lo = 1;                                                               \
        for (int64_t b = lo; b < hi; b += CHECK_BLOCK) {                                  \
            int64_t e = b + CHECK_BLOCK < hi ? b + CHECK_BLOCK : hi;                      \
            int bad = 0;                                                                  \
            for (int64_t i = b; i < e; i++) bad |= v[i] < v[i - 1];                       \
            if (!bad) continue;                                                           \
            for (int64_t i = b; i < e; i++)                                               \
                if (v[i] < v[i - 1]) return i;                                            \
        }                                                                                 \
        return -1;                                                                        \
    }
DEFINE_FIRST_DECREASE(first_decrease_i64, int64_t)
DEFINE_FIRST_DECREASE(first_decrease_i32, int32_t)

/* The lowest position over all threads of what `find` reports in each thread's range. */
static int64_t parallel_first(const ember_context *ctx, int64_t n, int is32, const void *v,
                              uint64_t rows, int decreasing) {
    int nt = cpu_threads_for(ctx, n / 8);
    int64_t best = -1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = omp_get_thread_num(), nth = omp_get_num_threads();
        int64_t lo = n / nth * t, hi = t == nth - 1 ? n : lo + n / nth;
        int64_t r;
        if (decreasing)
            r = is32 ? first_decrease_i32((const int32_t *)v, lo, hi)
                     : first_decrease_i64((const int64_t *)v, lo, hi);
        else
            r = is32 ? first_bad_i32((const int32_t *)v, lo, hi, rows)
                     : first_bad_i64((const int64_t *)v, lo, hi, rows);
        if (r >= 0) {
#pragma omp critical(ember_cpu_check)
            if (best < 0 || r < best) best = r;
        }
    }
    return best;
}

ember_status cpu_check_indices(ember_context *ctx, const ember_lookup_desc *desc,
                               const ember_buffer *indices, const ember_buffer *offsets,
                               ember_index_problem *problem) {
    problem->kind = EMBER_INDEX_PROBLEM_NONE;
    problem->position = -1;
    problem->value = 0;
    int is32 = desc->index_type == EMBER_INDEX_INT32;
    if (offsets) {
        const void *o = offsets->handle;
        int64_t count = desc->batch + 1;
        int64_t first = ember_index_at(o, desc->index_type, 0);
        if (first != 0) {
            problem->kind = EMBER_INDEX_PROBLEM_OFFSET_FIRST;
            problem->position = 0;
            problem->value = first;
            return EMBER_STATUS_SUCCESS;
        }
        int64_t p = parallel_first(ctx, count, is32, o, 0, 1);
        if (p >= 0) {
            problem->kind = EMBER_INDEX_PROBLEM_OFFSET_DECREASING;
            problem->position = p;
            problem->value = ember_index_at(o, desc->index_type, p);
            return EMBER_STATUS_SUCCESS;
        }
        int64_t last = ember_index_at(o, desc->index_type, desc->batch);
        if (last != desc->num_indices) {
            problem->kind = EMBER_INDEX_PROBLEM_OFFSET_LAST;
            problem->position = desc->batch;
            problem->value = last;
            return EMBER_STATUS_SUCCESS;
        }
    }
    if (desc->num_indices > 0) {
        int64_t p = parallel_first(ctx, desc->num_indices, is32, indices->handle,
                                   (uint64_t)desc->num_rows, 0);
        if (p >= 0) {
            problem->kind = EMBER_INDEX_PROBLEM_INDEX;
            problem->position = p;
            problem->value = ember_index_at(indices->handle, desc->index_type, p);
        }
    }
    return EMBER_STATUS_SUCCESS;
}
