/* ocl_check.c: the OpenCL bounds-check pass (kernels/check.cl): every offset and index
 * checked on the device. All tables of a call (one for the plain ops, every table of a
 * batched call) are launched back to back, each into its own slot of one flags buffer, and
 * the slots come back in one read: one host round trip per call when all are valid. */
#include "opencl/ocl_internal.h"

#include <limits.h>
#include <string.h>

/* Entries checked per launch, so positions fit the kernels' int atomics; a table with more
 * is checked chunk by chunk (a read-back per chunk). */
#define OCL_CHECK_CHUNK ((int64_t)1 << 30)
/* Tables per read-back: bounds the flags buffer (32 bytes a table). */
#define OCL_CHECK_SLOTS ((int64_t)1024)

/* One table's slot of the flags buffer, as check.cl writes it. */
typedef struct check_slot {
    cl_int index_pos, decr_pos; /* lowest bad index / decreasing offset; INT_MAX: none */
    cl_long first, last;        /* offsets[0] and offsets[batch], when offsets were checked */
    cl_long unused;             /* pads the slot to a size clEnqueueFillBuffer takes */
} check_slot;

/* Reads element `pos` of an index buffer (the offending value of a failed check). */
static ember_status read_index(ember_context *ctx, const ember_buffer *b, ember_index_type t,
                               int64_t pos, int64_t *value) {
    size_t isz = ember_index_size(t);
    union {
        int64_t l;
        int32_t i;
    } v;
    OCL_CHECK(ctx,
              clEnqueueReadBuffer(ocl_of(ctx)->queue, (cl_mem)b->handle, CL_TRUE, (size_t)pos * isz,
                                  isz, &v, 0, NULL, NULL),
              "clEnqueueReadBuffer (index check)");
    *value = isz == 4 ? (int64_t)v.i : v.l;
    return EMBER_STATUS_SUCCESS;
}

/* Makes slots [0, n) of the flags buffer clean (positions INT_MAX), filling only where they
 * may not be: a launch writes a position only when it finds a problem, so clean slots stay
 * clean and are refilled only after a failed check (one command less per call). */
static ember_status clean_slots(ember_context *ctx, int64_t n, cl_mem *flags) {
    ocl_impl *im = ocl_of(ctx);
    size_t had = im->scratch_bytes[OCL_S_CHECK];
    EMBER_FORWARD_IF_ERROR(ocl_scratch(ctx, OCL_S_CHECK, (size_t)n * sizeof(check_slot), flags));
    if (im->scratch_bytes[OCL_S_CHECK] != had) im->check_clean = 0; /* a new buffer */
    if (im->check_clean >= n) return EMBER_STATUS_SUCCESS;
    static const check_slot clean = {INT_MAX, INT_MAX, 0, 0, 0};
    OCL_CHECK(ctx,
              clEnqueueFillBuffer(im->queue, *flags, &clean, sizeof clean, 0,
                                  (size_t)n * sizeof clean, 0, NULL, NULL),
              "clEnqueueFillBuffer (check flags)");
    im->check_clean = n;
    return EMBER_STATUS_SUCCESS;
}

/* Reads slots [0, n) back (waiting for the launches) and notes how many stay clean. */
static ember_status read_slots(ember_context *ctx, cl_mem flags, int64_t n, check_slot *out) {
    ocl_impl *im = ocl_of(ctx);
    int64_t clean = im->check_clean;
    im->check_clean = 0; /* until the read shows otherwise */
    OCL_CHECK(ctx,
              clEnqueueReadBuffer(im->queue, flags, CL_TRUE, 0, (size_t)n * sizeof *out, out, 0,
                                  NULL, NULL),
              "clEnqueueReadBuffer (check flags)");
    for (int64_t i = 0; i < n; i++)
        if (out[i].index_pos != INT_MAX || out[i].decr_pos != INT_MAX) {
            clean = i;
            break;
        }
    im->check_clean = clean;
    return EMBER_STATUS_SUCCESS;
}

/* One launch checking offsets [obase, obase + olen) and indices [ibase, ibase + ilen) into
 * slot `slot` of the flags buffer. */
static ember_status launch_check(ember_context *ctx, const ember_lookup_desc *d,
                                 const ember_buffer *indices, const ember_buffer *offsets,
                                 int64_t obase, int64_t olen, int64_t ibase, int64_t ilen,
                                 cl_mem flags, int slot) {
    ocl_call c = ocl_begin(ctx, OCL_K_CHECK);
    ocl_arg_mem(&c, ocl_mem(ctx, offsets));
    ocl_arg_long(&c, obase);
    ocl_arg_long(&c, olen);
    ocl_arg_long(&c, d->batch + 1);
    ocl_arg_mem(&c, ocl_mem(ctx, indices));
    ocl_arg_long(&c, ibase);
    ocl_arg_long(&c, ilen);
    ocl_arg_long(&c, d->num_rows);
    ocl_arg_int(&c, ocl_is32(d));
    ocl_arg_mem(&c, flags);
    ocl_arg_int(&c, slot);
    return ocl_launch(ctx, &c, (size_t)(olen + ilen), OCL_LOCAL);
}

/* A table's problem from its slot (the whole table checked by one launch), in the CPU
 * backend's order of reports: offsets[0], the lowest decreasing offset, offsets[batch], the
 * lowest bad index. */
static ember_status slot_problem(ember_context *ctx, const ember_lookup_desc *d,
                                 const ember_buffer *indices, const ember_buffer *offsets,
                                 const check_slot *f, ember_index_problem *problem) {
    if (offsets) {
        if (f->first != 0) {
            problem->kind = EMBER_INDEX_PROBLEM_OFFSET_FIRST;
            problem->position = 0;
            problem->value = f->first;
            return EMBER_STATUS_SUCCESS;
        }
        if (f->decr_pos != INT_MAX) {
            problem->kind = EMBER_INDEX_PROBLEM_OFFSET_DECREASING;
            problem->position = f->decr_pos;
            return read_index(ctx, offsets, d->index_type, f->decr_pos, &problem->value);
        }
        if (f->last != d->num_indices) {
            problem->kind = EMBER_INDEX_PROBLEM_OFFSET_LAST;
            problem->position = d->batch;
            problem->value = f->last;
            return EMBER_STATUS_SUCCESS;
        }
    }
    if (d->num_indices && f->index_pos != INT_MAX) {
        problem->kind = EMBER_INDEX_PROBLEM_INDEX;
        problem->position = f->index_pos;
        return read_index(ctx, indices, d->index_type, f->index_pos, &problem->value);
    }
    return EMBER_STATUS_SUCCESS;
}

static int is_huge(const ember_lookup_desc *d, const ember_buffer *offsets) {
    return d->num_indices > OCL_CHECK_CHUNK || (offsets && d->batch + 1 > OCL_CHECK_CHUNK);
}

/* Tables [t0, t0 + n) (n <= OCL_CHECK_SLOTS, none huge): one launch each, one read-back. */
static ember_status check_group(ember_context *ctx, int64_t t0, int64_t n,
                                const ember_lookup_desc *descs, const ember_buffer *const *indices,
                                const ember_buffer *const *offsets, int64_t *table,
                                ember_index_problem *problem) {
    cl_mem flags;
    check_slot f[OCL_CHECK_SLOTS];
    EMBER_FORWARD_IF_ERROR(clean_slots(ctx, n, &flags));
    for (int64_t i = 0; i < n; i++) {
        const ember_lookup_desc *d = &descs[t0 + i];
        const ember_buffer *off = offsets ? offsets[t0 + i] : NULL;
        int64_t count = off ? d->batch + 1 : 0;
        if (count + d->num_indices > 0)
            EMBER_FORWARD_IF_ERROR(launch_check(ctx, d, indices[t0 + i], off, 0, count, 0,
                                                d->num_indices, flags, (int)i));
    }
    EMBER_FORWARD_IF_ERROR(read_slots(ctx, flags, n, f));
    for (int64_t i = 0; i < n; i++) {
        EMBER_FORWARD_IF_ERROR(slot_problem(ctx, &descs[t0 + i], indices[t0 + i],
                                            offsets ? offsets[t0 + i] : NULL, &f[i], problem));
        if (problem->kind != EMBER_INDEX_PROBLEM_NONE) {
            *table = t0 + i;
            break;
        }
    }
    return EMBER_STATUS_SUCCESS;
}

/* A table of more than OCL_CHECK_CHUNK entries: chunk by chunk, stopping at the first
 * problem. */
static ember_status check_chunked(ember_context *ctx, const ember_lookup_desc *d,
                                  const ember_buffer *indices, const ember_buffer *offsets,
                                  ember_index_problem *problem) {
    cl_mem flags;
    int64_t count = offsets ? d->batch + 1 : 0;
    int64_t n = d->num_indices;
    check_slot f = {INT_MAX, INT_MAX, 0, 0, 0};
    if (count) {
        int64_t first = 0, last = 0;
        for (int64_t base = 0; base < count; base += OCL_CHECK_CHUNK) {
            int64_t len = count - base < OCL_CHECK_CHUNK ? count - base : OCL_CHECK_CHUNK;
            EMBER_FORWARD_IF_ERROR(clean_slots(ctx, 1, &flags));
            EMBER_FORWARD_IF_ERROR(
                launch_check(ctx, d, indices, offsets, base, len, 0, 0, flags, 0));
            EMBER_FORWARD_IF_ERROR(read_slots(ctx, flags, 1, &f));
            if (base == 0) first = f.first;
            if (base + len == count) last = f.last;
            if (base == 0 && first != 0) {
                problem->kind = EMBER_INDEX_PROBLEM_OFFSET_FIRST;
                problem->position = 0;
                problem->value = first;
                return EMBER_STATUS_SUCCESS;
            }
            if (f.decr_pos != INT_MAX) {
                problem->kind = EMBER_INDEX_PROBLEM_OFFSET_DECREASING;
                problem->position = base + f.decr_pos;
                return read_index(ctx, offsets, d->index_type, problem->position, &problem->value);
            }
        }
        if (last != n) {
            problem->kind = EMBER_INDEX_PROBLEM_OFFSET_LAST;
            problem->position = d->batch;
            problem->value = last;
            return EMBER_STATUS_SUCCESS;
        }
    }
    for (int64_t base = 0; base < n; base += OCL_CHECK_CHUNK) {
        int64_t len = n - base < OCL_CHECK_CHUNK ? n - base : OCL_CHECK_CHUNK;
        EMBER_FORWARD_IF_ERROR(clean_slots(ctx, 1, &flags));
        EMBER_FORWARD_IF_ERROR(launch_check(ctx, d, indices, offsets, 0, 0, base, len, flags, 0));
        EMBER_FORWARD_IF_ERROR(read_slots(ctx, flags, 1, &f));
        if (f.index_pos != INT_MAX) {
            problem->kind = EMBER_INDEX_PROBLEM_INDEX;
            problem->position = base + f.index_pos;
            return read_index(ctx, indices, d->index_type, problem->position, &problem->value);
        }
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status ocl_check_indices_batched(ember_context *ctx, int64_t num_tables,
                                       const ember_lookup_desc *descs,
                                       const ember_buffer *const *indices,
                                       const ember_buffer *const *offsets, int64_t *table,
                                       ember_index_problem *problem) {
    *table = -1;
    problem->kind = EMBER_INDEX_PROBLEM_NONE;
    problem->position = -1;
    problem->value = 0;
    for (int64_t t0 = 0; t0 < num_tables && *table < 0; t0 += OCL_CHECK_SLOTS) {
        int64_t n = num_tables - t0 < OCL_CHECK_SLOTS ? num_tables - t0 : OCL_CHECK_SLOTS;
        int huge = 0;
        for (int64_t i = 0; i < n; i++)
            huge |= is_huge(&descs[t0 + i], offsets ? offsets[t0 + i] : NULL);
        if (!huge) {
            EMBER_FORWARD_IF_ERROR(
                check_group(ctx, t0, n, descs, indices, offsets, table, problem));
            continue;
        }
        for (int64_t t = t0; t < t0 + n && *table < 0; t++) { /* in table order */
            const ember_buffer *off = offsets ? offsets[t] : NULL;
            if (is_huge(&descs[t], off))
                EMBER_FORWARD_IF_ERROR(check_chunked(ctx, &descs[t], indices[t], off, problem));
            else
                EMBER_FORWARD_IF_ERROR(
                    check_group(ctx, t, 1, descs, indices, offsets, table, problem));
            if (problem->kind != EMBER_INDEX_PROBLEM_NONE) *table = t;
        }
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status ocl_check_indices(ember_context *ctx, const ember_lookup_desc *d,
                               const ember_buffer *indices, const ember_buffer *offsets,
                               ember_index_problem *problem) {
    int64_t table;
    return ocl_check_indices_batched(ctx, 1, d, &indices, &offsets, &table, problem);
}
