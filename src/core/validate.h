/* validate.h: argument checks shared by the dispatch wrappers, run once before a backend
 * is called so backends never see edge cases. Each returns SUCCESS or records the error on
 * ctx and returns its status. */
#ifndef EMBER_CORE_VALIDATE_H
#define EMBER_CORE_VALIDATE_H

#include "core/backend.h"

/* ctx non-NULL. Cannot record on ctx when NULL, so records in the thread's error. */
ember_status ember_check_context(const ember_context *ctx);

/* *out = a * b (* c) in size_t, or an INVALID_ARGUMENT error naming `what` on overflow or
 * a negative factor. */
ember_status ember_check_bytes(ember_context *ctx, const char *what, int64_t a, int64_t b,
                               size_t elem, size_t *out);

/* A buffer argument and its name, for ember_check_no_alias. */
typedef struct ember_named_buffer {
    const ember_buffer *buf; /* may be NULL (an absent optional argument) */
    const char *name;
} ember_named_buffer;

/* The rule of every op: a buffer it writes is none of the buffers it reads and none of the
 * other buffers it writes (a kernel reading what it is writing would read half-updated or,
 * for indices, out-of-range values). Buffers an op updates in place (the table and state
 * of an optimizer step, dy of the dense backward) are listed once, among the outputs.
 * INVALID_ARGUMENT naming both arguments otherwise; NULL entries are skipped. */
ember_status ember_check_no_alias(ember_context *ctx, const ember_named_buffer *outs,
                                  size_t num_outs, const ember_named_buffer *ins, size_t num_ins);
#define EMBER_COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
/* `state` when the (validated) optimizer uses one, else NULL: SGD ignores its state
 * argument, so whatever is passed there is no output. */
static inline const ember_buffer *ember_used_state(const ember_optimizer *opt,
                                                   const ember_buffer *state) {
    return opt->kind == EMBER_OPTIMIZER_SGD ? NULL : state;
}

/* buf is non-NULL, belongs to ctx and holds at least `need` bytes. `name` is the argument's
 * name in messages. */
ember_status ember_check_buffer(ember_context *ctx, const ember_buffer *buf, const char *name,
                                size_t need);
/* As ember_check_buffer, but NULL is allowed. */
ember_status ember_check_optional_buffer(ember_context *ctx, const ember_buffer *buf,
                                         const char *name, size_t need);

/* Validates a lookup desc and the buffers every embedding op shares (indices, offsets,
 * per-sample weights, the output or output gradient, `out_name`), and writes the
 * normalised desc (out_row_stride filled in) to *norm. */
ember_status ember_check_lookup_args(ember_context *ctx, const ember_lookup_desc *desc,
                                     const ember_buffer *indices, const ember_buffer *offsets,
                                     const ember_buffer *weights, const ember_buffer *out,
                                     const char *out_name, ember_lookup_desc *norm);

/* Runs the backend's bounds-check pass and turns what it found into INDEX_OUT_OF_RANGE or
 * BAD_OFFSETS with the position and value in the message. */
ember_status ember_run_index_check(ember_context *ctx, const ember_lookup_desc *norm,
                                   const ember_buffer *indices, const ember_buffer *offsets);
/* What the check pass found as a status: SUCCESS for kind NONE, else INDEX_OUT_OF_RANGE or
 * BAD_OFFSETS recorded on ctx with the position and value in the message. */
ember_status ember_index_problem_status(ember_context *ctx, const ember_lookup_desc *norm,
                                        const ember_index_problem *problem);

/* Validates an optimizer's fields for a sparse (sparse != 0) or dense update. */
ember_status ember_check_optimizer(ember_context *ctx, const ember_optimizer *opt, int sparse);

/* mode is ATOMIC or DETERMINISTIC. */
ember_status ember_check_mode(ember_context *ctx, ember_reduction_mode mode);
/* `table` (named `name`) holds desc's num_rows x dim floats. */
ember_status ember_check_table(ember_context *ctx, const ember_lookup_desc *d,
                               const ember_buffer *table, const char *name);
/* The optimizer is valid for sparse updates and `state` holds what its kind needs. */
ember_status ember_check_sparse_state(ember_context *ctx, const ember_optimizer *opt, int64_t rows,
                                      int64_t dim, const ember_buffer *state);

/* The aliasing rule for the embedding ops: no output in `outs` is indices, offsets,
 * per-sample weights or `data` (the table a lookup reads, the gradient a backward reads). */
ember_status ember_check_embedding_alias(ember_context *ctx, const ember_named_buffer *outs,
                                         size_t num_outs, ember_named_buffer data,
                                         const ember_buffer *indices, const ember_buffer *offsets,
                                         const ember_buffer *weights);

/* Runs a validated, index-checked fused backward + update: the backend's fused entry, or
 * backward_sparse + sparse_step into scratch buffers when it has none. */
ember_status ember_dispatch_backward_update(ember_context *ctx, const ember_lookup_desc *d,
                                            const ember_buffer *indices,
                                            const ember_buffer *offsets,
                                            const ember_buffer *weights,
                                            const ember_buffer *grad_out, ember_reduction_mode mode,
                                            const ember_optimizer *opt, ember_buffer *table,
                                            ember_buffer *state);

#endif
