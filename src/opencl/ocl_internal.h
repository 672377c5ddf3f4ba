/* ocl_internal.h: what the OpenCL backend's files share: the per-context state, the kernel
 * table, scratch buffers, small helpers for setting arguments and launching, and the op
 * prototypes. */
#ifndef EMBER_OCL_INTERNAL_H
#define EMBER_OCL_INTERNAL_H

#include "core/backend.h"

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include <stddef.h>
#include <stdint.h>

/* X(enum suffix, kernel name): every kernel of kernels/ (*.cl files), created once per context. */
#define OCL_KERNEL_LIST(X)                                                                         \
    X(CHECK, "ember_check")                                                                        \
    X(LOOKUP, "ember_lookup")                                                                      \
    X(LOOKUP_ROWS, "ember_lookup_rows")                                                            \
    X(BACKWARD_ATOMIC, "ember_backward_atomic")                                                    \
    X(BAG_INFO, "ember_bag_info")                                                                  \
    X(GROUP_KEYS, "ember_group_keys")                                                              \
    X(RADIX_HIST, "ember_radix_hist")                                                              \
    X(SCAN_EXCLUSIVE, "ember_scan_exclusive")                                                      \
    X(RADIX_SCATTER, "ember_radix_scatter")                                                        \
    X(SEG_COUNT, "ember_seg_count")                                                                \
    X(SEG_TOTAL, "ember_seg_total")                                                                \
    X(SEG_WRITE, "ember_seg_write")                                                                \
    X(GROUP_DENSE, "ember_group_dense")                                                            \
    X(GROUP_SPARSE, "ember_group_sparse")                                                          \
    X(GROUP_UPDATE, "ember_group_update")                                                          \
    X(SPARSE_STEP, "ember_sparse_step")                                                            \
    X(DENSE_STEP, "ember_dense_step")                                                              \
    X(BIAS_ACT, "ember_bias_act")                                                                  \
    X(RELU_BACKWARD, "ember_relu_backward")                                                        \
    X(COL_SUM, "ember_col_sum")                                                                    \
    X(SIGMOID, "ember_sigmoid")                                                                    \
    X(BCE, "ember_bce")

typedef enum ocl_kernel_id {
#define OCL_KERNEL_ENUM_(id, name) OCL_K_##id,
    OCL_KERNEL_LIST(OCL_KERNEL_ENUM_)
#undef OCL_KERNEL_ENUM_
        OCL_K_COUNT
} ocl_kernel_id;

/* Scratch buffers kept on the context and grown on demand (one thread per context, and the
 * in-order queue runs ops one after another, so reuse across calls is safe). */
typedef enum ocl_scratch_id {
    OCL_S_FLAG = 0, /* a stand-in for absent optional buffers (ocl_mem) */
    OCL_S_CHECK,    /* check pass flags, one 32-byte slot per table (ocl_check.c) */
    OCL_S_KEY_A,    /* group: keys and positions, ping-pong */
    OCL_S_VAL_A,
    OCL_S_KEY_B,
    OCL_S_VAL_B,
    OCL_S_HIST,      /* radix digit counts [digits x G] + 1 */
    OCL_S_BAG_OF,    /* position -> bag */
    OCL_S_INV_COUNT, /* bag -> 1 / count (MEAN) */
    OCL_S_SEG_START, /* segment starts [n + 1] */
    OCL_S_UKEY,      /* segment rows [n] */
    OCL_S_SEG_CNT,   /* per-chunk segment counts [G + 1] */
    OCL_S_INFO,      /* number of segments */
    OCL_S_PARTIAL,   /* bce partial sums */
    OCL_S_GEMM_TEMP, /* CLBlast's GEMM temporary buffer */
    OCL_S_COUNT
} ocl_scratch_id;

typedef struct ocl_impl {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel kernels[OCL_K_COUNT];
    size_t kernel_max_local[OCL_K_COUNT]; /* CL_KERNEL_WORK_GROUP_SIZE of each kernel */
    int64_t check_clean;                  /* leading OCL_S_CHECK slots known clean (ocl_check.c) */
    cl_mem scratch[OCL_S_COUNT];
    size_t scratch_bytes[OCL_S_COUNT];
    cl_ulong max_alloc;  /* CL_DEVICE_MAX_MEM_ALLOC_SIZE */
    cl_ulong global_mem; /* CL_DEVICE_GLOBAL_MEM_SIZE */
    cl_uint compute_units;
    int is_cpu;           /* CL_DEVICE_TYPE_CPU: one work-item per row is fastest */
    size_t row_local;     /* work-group size of the row-per-work-item kernels */
    int atomic_cas;       /* ATOMIC dense backward by compare-and-swap (GPUs), else grouped */
    int fp64;             /* the device has cl_khr_fp64 (bce partials are doubles) */
    double build_seconds; /* clBuildProgram of this context */
    int used_clblast;     /* a GEMM ran: CLBlast holds programs of this context */
    int profile;          /* EMBER_OPENCL_PROFILE set: time every kernel, print at destroy */
    double prof_seconds[OCL_K_COUNT];
    double prof_min[OCL_K_COUNT];
    long prof_calls[OCL_K_COUNT];
} ocl_impl;

static inline ocl_impl *ocl_of(ember_context *ctx) {
    return (ocl_impl *)ctx->impl;
}

/* Work-group size of the element-wise launches (PoCL runs a work-group as one loop). */
#define OCL_LOCAL 64

/* 1 when the desc's indices are int32 (the kernels' `is32` argument). */
static inline int ocl_is32(const ember_lookup_desc *d) {
    return d->index_type == EMBER_INDEX_INT32;
}

/* "CL_OUT_OF_RESOURCES" etc. */
const char *ocl_error_name(cl_int err);
/* Records "<what> failed: CL_... (code)" with the status an OpenCL error maps to
 * (allocation failures -> OUT_OF_MEMORY, the rest DEVICE_ERROR). */
ember_status ocl_fail(ember_context *ctx, cl_int err, const char *what);
#define OCL_CHECK(ctx, call, what)                                                                 \
    do {                                                                                           \
        cl_int ocl_err_ = (call);                                                                  \
        if (ocl_err_ != CL_SUCCESS) return ocl_fail((ctx), ocl_err_, (what));                      \
    } while (0)

/* A scratch buffer of at least `bytes` (> 0); contents undefined. */
ember_status ocl_scratch(ember_context *ctx, ocl_scratch_id id, size_t bytes, cl_mem *out);

/* Argument setting: the first failure is kept and reported by ocl_launch. */
typedef struct ocl_call {
    ocl_kernel_id id;
    cl_kernel k;
    cl_uint n;
    cl_int err;
    cl_uint bad; /* the argument that failed */
} ocl_call;
static inline ocl_call ocl_begin(ember_context *ctx, ocl_kernel_id id) {
    ocl_call c = {id, ocl_of(ctx)->kernels[id], 0, CL_SUCCESS, 0};
    return c;
}
static inline void ocl_arg(ocl_call *c, size_t size, const void *value) {
    if (c->err == CL_SUCCESS) {
        c->err = clSetKernelArg(c->k, c->n, size, value);
        c->bad = c->n;
    }
    c->n++;
}
#define OCL_ARG(call, v) ocl_arg(&(call), sizeof(v), &(v))
/* Typed helpers so integer widths always match the kernel's (long, int, uint, float). */
static inline void ocl_arg_mem(ocl_call *c, cl_mem m) {
    ocl_arg(c, sizeof(m), &m);
}
static inline void ocl_arg_long(ocl_call *c, int64_t v) {
    cl_long x = (cl_long)v;
    ocl_arg(c, sizeof(x), &x);
}
static inline void ocl_arg_int(ocl_call *c, int v) {
    cl_int x = (cl_int)v;
    ocl_arg(c, sizeof(x), &x);
}
static inline void ocl_arg_uint(ocl_call *c, uint32_t v) {
    cl_uint x = (cl_uint)v;
    ocl_arg(c, sizeof(x), &x);
}
static inline void ocl_arg_float(ocl_call *c, float v) {
    cl_float x = (cl_float)v;
    ocl_arg(c, sizeof(x), &x);
}
/* Enqueues the kernel over `global` work-items (rounded up to a multiple of `local` when
 * local > 0; kernels ignore the extra ids). global 0 enqueues nothing. */
ember_status ocl_launch(ember_context *ctx, ocl_call *c, size_t global, size_t local);

/* The cl_mem of a buffer, or a harmless stand-in for an absent optional one (the kernel
 * does not read it). */
static inline cl_mem ocl_mem(ember_context *ctx, const ember_buffer *b) {
    if (b) return (cl_mem)b->handle;
    cl_mem flag = ocl_of(ctx)->scratch[OCL_S_FLAG];
    return flag;
}

/* The sparse optimizer's arguments, last in every kernel that applies it (kernels/optim.cl,
 * group.cl): kind, lr, eps, weight decay, table, state (a stand-in for SGD's none). */
static inline void ocl_arg_sparse_optimizer(ocl_call *c, ember_context *ctx,
                                            const ember_optimizer *opt, const ember_buffer *table,
                                            const ember_buffer *state) {
    ocl_arg_int(c, (int)opt->kind);
    ocl_arg_float(c, opt->learning_rate);
    ocl_arg_float(c, opt->eps);
    ocl_arg_float(c, opt->weight_decay);
    ocl_arg_mem(c, (cl_mem)table->handle);
    ocl_arg_mem(c, ocl_mem(ctx, opt->kind == EMBER_OPTIMIZER_SGD ? NULL : state));
}

/* --- grouping by row (ocl_group.c) ------------------------------------------------------ */
typedef struct ocl_groups {
    cl_mem seg_start, ukey, sorted_pos, info; /* see kernels/group.cl */
    cl_mem bag_of, inv_count;                 /* bag info (pooled / MEAN), else stand-ins */
    int64_t n;                                /* positions grouped (num_indices) */
} ocl_groups;
/* Sorts the positions by row on the device and finds the runs; nothing is read back. */
ember_status ocl_group_by_row(ember_context *ctx, const ember_lookup_desc *d,
                              const ember_buffer *indices, const ember_buffer *offsets,
                              ocl_groups *g);
/* Sets the EMBER_SEG_ARGS arguments of a segment kernel. */
void ocl_group_args(ocl_call *c, const ember_lookup_desc *d, const ocl_groups *g,
                    const ember_buffer *grad_out, const ember_buffer *weights, ember_context *ctx);

/* --- the ops: ocl_<op> for every op of EMBER_BACKEND_OPS (core/backend.h), each in the file
 * of its group (docs/design.md); the ones ocl_ops.c leaves NULL are declared, never defined. */
#define OCL_DECLARE_OP_(presence, ret, op, params) ret ocl_##op params;
EMBER_BACKEND_OPS(OCL_DECLARE_OP_)
#undef OCL_DECLARE_OP_

#endif /* EMBER_OCL_INTERNAL_H */
