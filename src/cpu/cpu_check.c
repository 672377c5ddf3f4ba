/* cpu_check.c: the bounds-check pass over offsets and indices, run before every op: one
 * table, or all tables of a batched call in one parallel pass. */
#include "cpu/cpu_internal.h"

#include <omp.h>

/* Blocks of this many entries are tested with a branch-free OR (vectorised); only a block
 * that holds a bad entry is scanned again for its first one. */
#define CHECK_BLOCK 1024

#define DEFINE_FIRST_BAD(NAME, T)                                                                  \
    static int64_t NAME(const T *v, int64_t lo, int64_t hi, uint64_t rows) {                       \
        for (int64_t b = lo; b < hi; b += CHECK_BLOCK) {                                           \
            int64_t e = b + CHECK_BLOCK < hi ? b + CHECK_BLOCK : hi;                               \
            int bad = 0;                                                                           \
            for (int64_t i = b; i < e; i++) bad |= (uint64_t)(int64_t)v[i] >= rows;                \
            if (!bad) continue;                                                                    \
            for (int64_t i = b; i < e; i++)                                                        \
                if ((uint64_t)(int64_t)v[i] >= rows) return i;                                     \
        }                                                                                          \
        return -1;                                                                                 \
    }
DEFINE_FIRST_BAD(first_bad_i64, int64_t)
DEFINE_FIRST_BAD(first_bad_i32, int32_t)

/* Lowest position in [lo, hi) (hi <= count) where v[i] < v[i-1]; i >= 1. */
#define DEFINE_FIRST_DECREASE(NAME, T)                                                             \
    static int64_t NAME(const T *v, int64_t lo, int64_t hi) {                                      \
        if (lo < 1) lo = 1;                                                                        \
        for (int64_t b = lo; b < hi; b += CHECK_BLOCK) {                                           \
            int64_t e = b + CHECK_BLOCK < hi ? b + CHECK_BLOCK : hi;                               \
            int bad = 0;                                                                           \
            for (int64_t i = b; i < e; i++) bad |= v[i] < v[i - 1];                                \
            if (!bad) continue;                                                                    \
            for (int64_t i = b; i < e; i++)                                                        \
                if (v[i] < v[i - 1]) return i;                                                     \
        }                                                                                          \
        return -1;                                                                                 \
    }
DEFINE_FIRST_DECREASE(first_decrease_i64, int64_t)
DEFINE_FIRST_DECREASE(first_decrease_i32, int32_t)

/* Entries per unit of work: enough to amortise the scheduling, few enough that one large
 * table still spreads over every thread. */
#define CHECK_UNIT ((int64_t)1 << 16)

/* Entries [lo, hi) of one table's offsets (scanned for a decrease) or indices (scanned for
 * one outside [0, rows)); found: the lowest such position, or -1. */
typedef struct check_unit {
    const void *v;
    int64_t lo, hi, found;
    uint64_t rows;
    int is32, offsets;
} check_unit;

static int64_t scan(const check_unit *u) {
    if (u->offsets)
        return u->is32 ? first_decrease_i32((const int32_t *)u->v, u->lo, u->hi)
                       : first_decrease_i64((const int64_t *)u->v, u->lo, u->hi);
    return u->is32 ? first_bad_i32((const int32_t *)u->v, u->lo, u->hi, u->rows)
                   : first_bad_i64((const int64_t *)u->v, u->lo, u->hi, u->rows);
}

/* The units covering entries [0, n) of v, written from u[k] on (u NULL: only counted);
 * returns the next k. */
static int64_t add_units(check_unit *u, int64_t k, const void *v, int64_t n, int is32, int offsets,
                         uint64_t rows) {
    for (int64_t lo = 0; lo < n; lo += CHECK_UNIT, k++)
        if (u) {
            check_unit x = {v,    lo,     lo + CHECK_UNIT < n ? lo + CHECK_UNIT : n, -1, rows,
                            is32, offsets};
            u[k] = x;
        }
    return k;
}

/* One table's units, from u[k] on (u NULL: only counted); returns the next k. */
static int64_t table_units(check_unit *u, int64_t k, const ember_lookup_desc *d,
                           const ember_buffer *indices, const ember_buffer *offsets) {
    int is32 = d->index_type == EMBER_INDEX_INT32;
    if (offsets) k = add_units(u, k, offsets->handle, d->batch + 1, is32, 1, 0);
    if (d->num_indices > 0)
        k = add_units(u, k, indices->handle, d->num_indices, is32, 0, (uint64_t)d->num_rows);
    return k;
}

/* The lowest found position of the units [*k, end) of one kind (they are in position
 * order), -1 if none; *k moves past them. */
static int64_t first_found(const check_unit *u, int64_t *k, int64_t n) {
    int64_t found = -1, end = *k + (n + CHECK_UNIT - 1) / CHECK_UNIT;
    for (int64_t i = *k; i < end && found < 0; i++) found = u[i].found;
    *k = end;
    return found;
}

/* One table's problem from its scanned units (from u[*k] on), in the order of reports:
 * offsets[0], the lowest decreasing offset, offsets[batch], the lowest bad index. */
static void table_problem(const ember_lookup_desc *d, const ember_buffer *indices,
                          const ember_buffer *offsets, const check_unit *u, int64_t *k,
                          ember_index_problem *p) {
    ember_index_type it = d->index_type;
    int64_t decrease = offsets ? first_found(u, k, d->batch + 1) : -1;
    int64_t bad = first_found(u, k, d->num_indices);
    if (offsets) {
        const void *o = offsets->handle;
        int64_t first = ember_index_at(o, it, 0), last = ember_index_at(o, it, d->batch);
        if (first != 0) {
            p->kind = EMBER_INDEX_PROBLEM_OFFSET_FIRST;
            p->position = 0;
            p->value = first;
            return;
        }
        if (decrease >= 0) {
            p->kind = EMBER_INDEX_PROBLEM_OFFSET_DECREASING;
            p->position = decrease;
            p->value = ember_index_at(o, it, decrease);
            return;
        }
        if (last != d->num_indices) {
            p->kind = EMBER_INDEX_PROBLEM_OFFSET_LAST;
            p->position = d->batch;
            p->value = last;
            return;
        }
    }
    if (bad >= 0) {
        p->kind = EMBER_INDEX_PROBLEM_INDEX;
        p->position = bad;
        p->value = ember_index_at(indices->handle, it, bad);
    }
}

/* Every table's entries are cut into units and all units scanned in one parallel loop, so
 * many small tables use every thread as one large one does. */
ember_status cpu_check_indices_batched(ember_context *ctx, int64_t num_tables,
                                       const ember_lookup_desc *descs,
                                       const ember_buffer *const *indices,
                                       const ember_buffer *const *offsets, int64_t *table,
                                       ember_index_problem *problem) {
    *table = -1;
    problem->kind = EMBER_INDEX_PROBLEM_NONE;
    problem->position = -1;
    problem->value = 0;
    int64_t nu = 0, work = 0;
    for (int64_t t = 0; t < num_tables; t++) {
        nu = table_units(NULL, nu, &descs[t], indices[t], offsets ? offsets[t] : NULL);
        work += descs[t].num_indices + (offsets && offsets[t] ? descs[t].batch + 1 : 0);
    }
    if (nu == 0) return EMBER_STATUS_SUCCESS;
    check_unit *u = (check_unit *)cpu_scratch(ctx, (size_t)nu * sizeof *u);
    if (!u) return EMBER_STATUS_OUT_OF_MEMORY; /* recorded by cpu_scratch */
    for (int64_t t = 0, k = 0; t < num_tables; t++)
        k = table_units(u, k, &descs[t], indices[t], offsets ? offsets[t] : NULL);
    int nt = cpu_threads_for(ctx, work / 8);
    if (nt > nu) nt = (int)nu;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
    for (int64_t i = 0; i < nu; i++) u[i].found = scan(&u[i]);
    for (int64_t t = 0, k = 0; t < num_tables; t++) {
        table_problem(&descs[t], indices[t], offsets ? offsets[t] : NULL, u, &k, problem);
        if (problem->kind != EMBER_INDEX_PROBLEM_NONE) {
            *table = t;
            return EMBER_STATUS_SUCCESS;
        }
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status cpu_check_indices(ember_context *ctx, const ember_lookup_desc *desc,
                               const ember_buffer *indices, const ember_buffer *offsets,
                               ember_index_problem *problem) {
    int64_t table;
    return cpu_check_indices_batched(ctx, 1, desc, &indices, &offsets, &table, problem);
}
