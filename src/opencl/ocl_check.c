/* ocl_check.c: the OpenCL bounds-check pass (kernels/check.cl): every offset and index
 * checked on the device, one read-back of the flags in the common case. */
#include "opencl/ocl_internal.h"

#include <limits.h>
#include <string.h>

/* Entries checked per launch, so positions fit the kernels' int atomics. */
#define OCL_CHECK_CHUNK ((int64_t)1 << 30)

/* Reads element `pos` of an index buffer (the offending value of a failed check). */
static ember_status read_index(ember_context *ctx, const ember_buffer *b, ember_index_type t,
                               int64_t pos, int64_t *value) {
    size_t isz = ember_index_size(t);
    union {
        int64_t l;
        int32_t i;
    } v;
    OCL_CHECK(ctx,
              clEnqueueReadBuffer(ocl_of(ctx)->queue, (cl_mem)b->handle, CL_TRUE,
                                  (size_t)pos * isz, isz, &v, 0, NULL, NULL),
              "clEnqueueReadBuffer (index check)");
    *value = isz == 4 ? (int64_t)v.i : v.l;
    return EMBER_STATUS_SUCCESS;
}

typedef struct check_flags {
    cl_int index_pos, decr_pos;
    cl_long first, last;
} check_flags;

/* flag[0], flag[1] = INT_MAX; first/last are written by the kernel whenever it runs. The
 * kernel only touches the positions when it finds a problem, so clean flags stay clean and
 * are rewritten only after a failed check (one command less on the hot path). */
static ember_status reset_flags(ember_context *ctx, cl_mem flag) {
    ocl_impl *im = ocl_of(ctx);
    if (!im->flags_dirty) return EMBER_STATUS_SUCCESS;
    static const cl_int init[2] = {INT_MAX, INT_MAX}; /* static: the write is non-blocking */
    OCL_CHECK(ctx,
              clEnqueueWriteBuffer(im->queue, flag, CL_FALSE, 0, sizeof init, init, 0, NULL,
                                   NULL),
              "clEnqueueWriteBuffer (check flags)");
    im->flags_dirty = 0;
    return EMBER_STATUS_SUCCESS;
}

static ember_status read_flags(ember_context *ctx, cl_mem flag, check_flags *f) {
    cl_long raw[3];
    ocl_of(ctx)->flags_dirty = 1; /* until the read shows otherwise */
    OCL_CHECK(ctx,
              clEnqueueReadBuffer(ocl_of(ctx)->queue, flag, CL_TRUE, 0, sizeof raw, raw, 0, NULL,
                                  NULL),
              "clEnqueueReadBuffer (check flags)");
    cl_int pos[2];
    memcpy(pos, &raw[0], sizeof pos);
    f->index_pos = pos[0];
    f->decr_pos = pos[1];
    f->first = raw[1];
    f->last = raw[2];
    ocl_of(ctx)->flags_dirty = f->index_pos != INT_MAX || f->decr_pos != INT_MAX;
    return EMBER_STATUS_SUCCESS;
}

/* One launch checking offsets [obase, obase + olen) and indices [ibase, ibase + ilen). */
static ember_status launch_check(ember_context *ctx, const ember_lookup_desc *d,
                                 const ember_buffer *indices, const ember_buffer *offsets,
                                 int64_t obase, int64_t olen, int64_t ibase, int64_t ilen,
                                 cl_mem flag) {
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
    ocl_arg_mem(&c, flag);
    return ocl_launch(ctx, &c, (size_t)(olen + ilen), OCL_LOCAL);
}

/* Same order of reports as the CPU backend: offsets[0], then the lowest decreasing offset,
 * then offsets[batch], then the lowest bad index. Usually one read-back in all. */
ember_status ocl_check_indices(ember_context *ctx, const ember_lookup_desc *d,
                               const ember_buffer *indices, const ember_buffer *offsets,
                               ember_index_problem *problem) {
    problem->kind = EMBER_INDEX_PROBLEM_NONE;
    problem->position = -1;
    problem->value = 0;
    cl_mem flag = ocl_of(ctx)->scratch[OCL_S_FLAG];
    int64_t count = offsets ? d->batch + 1 : 0;
    int64_t n = d->num_indices;
    check_flags f = {INT_MAX, INT_MAX, 0, 0};

    if (count <= OCL_CHECK_CHUNK && n <= OCL_CHECK_CHUNK) {
        /* The common case: every check in one pass, one read-back. */
        EMBER_FORWARD_IF_ERROR(reset_flags(ctx, flag));
        EMBER_FORWARD_IF_ERROR(launch_check(ctx, d, indices, offsets, 0, count, 0, n, flag));
        EMBER_FORWARD_IF_ERROR(read_flags(ctx, flag, &f));
        if (count) {
            if (f.first != 0) {
                problem->kind = EMBER_INDEX_PROBLEM_OFFSET_FIRST;
                problem->position = 0;
                problem->value = f.first;
                return EMBER_STATUS_SUCCESS;
            }
            if (f.decr_pos != INT_MAX) {
                problem->kind = EMBER_INDEX_PROBLEM_OFFSET_DECREASING;
                problem->position = f.decr_pos;
                return read_index(ctx, offsets, d->index_type, f.decr_pos, &problem->value);
            }
            if (f.last != n) {
                problem->kind = EMBER_INDEX_PROBLEM_OFFSET_LAST;
                problem->position = d->batch;
                problem->value = f.last;
                return EMBER_STATUS_SUCCESS;
            }
        }
        if (n && f.index_pos != INT_MAX) {
            problem->kind = EMBER_INDEX_PROBLEM_INDEX;
            problem->position = f.index_pos;
            return read_index(ctx, indices, d->index_type, f.index_pos, &problem->value);
        }
        return EMBER_STATUS_SUCCESS;
    }

    /* Huge inputs: chunk by chunk, stopping at the first problem. */
    if (count) {
        int64_t first = 0, last = 0;
        for (int64_t base = 0; base < count; base += OCL_CHECK_CHUNK) {
            int64_t len = count - base < OCL_CHECK_CHUNK ? count - base : OCL_CHECK_CHUNK;
            EMBER_FORWARD_IF_ERROR(reset_flags(ctx, flag));
            EMBER_FORWARD_IF_ERROR(launch_check(ctx, d, indices, offsets, base, len, 0, 0, flag));
            EMBER_FORWARD_IF_ERROR(read_flags(ctx, flag, &f));
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
                return read_index(ctx, offsets, d->index_type, problem->position,
                                  &problem->value);
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
        EMBER_FORWARD_IF_ERROR(reset_flags(ctx, flag));
        EMBER_FORWARD_IF_ERROR(launch_check(ctx, d, indices, offsets, 0, 0, base, len, flag));
        EMBER_FORWARD_IF_ERROR(read_flags(ctx, flag, &f));
        if (f.index_pos != INT_MAX) {
            problem->kind = EMBER_INDEX_PROBLEM_INDEX;
            problem->position = base + f.index_pos;
            return read_index(ctx, indices, d->index_type, problem->position, &problem->value);
        }
    }
    return EMBER_STATUS_SUCCESS;
}
