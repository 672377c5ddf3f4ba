/* ember_check.h: the one list of conformance cases and its runner, shared by the Criterion
 * suite (tests/conformance) and `ember check`.
 *
 * A case is plain data (op, shapes, index distribution, seed, options); running it on a
 * backend computes the op there, computes it again on the reference (the CPU backend, or
 * for the CPU backend itself a naive double-precision oracle), and compares the two with
 * the tolerance table in check_tolerance.h. Guard bands of known values around every
 * output catch out-of-bounds writes. The runner never crashes on a broken backend: any
 * unexpected status is a reported failure, a backend that cannot be created is a skip
 * with the reason. */
#ifndef EMBER_CHECK_H
#define EMBER_CHECK_H

#include "ember.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The op a case checks; also the group `ember check` reports under. */
typedef enum ember_check_op {
    EMBER_CHECK_LOOKUP = 0,
    EMBER_CHECK_BACKWARD_DENSE,
    EMBER_CHECK_BACKWARD_SPARSE,
    EMBER_CHECK_SPARSE_STEP,
    EMBER_CHECK_BACKWARD_UPDATE,
    EMBER_CHECK_DENSE_STEP,
    EMBER_CHECK_DENSE_FORWARD,
    EMBER_CHECK_DENSE_BACKWARD,
    EMBER_CHECK_SIGMOID,
    EMBER_CHECK_BCE,
    EMBER_CHECK_SEED,                    /* the seed's walkthrough and lookup == one-hot x table */
    EMBER_CHECK_ERRORS,                  /* invalid inputs: documented status, nothing written */
    EMBER_CHECK_LOOKUP_BATCHED,          /* ember_embedding_lookup_batched */
    EMBER_CHECK_BACKWARD_UPDATE_BATCHED, /* ember_embedding_backward_update_batched */
    EMBER_CHECK_OUT_OF_MEMORY,           /* an absurd allocation: OUT_OF_MEMORY, context usable */
    EMBER_CHECK_OP_COUNT_
} ember_check_op;

/* "lookup", "backward_dense", ..., "seed", "errors", "lookup_batched", ..., "out_of_memory" */
const char *ember_check_op_name(ember_check_op op);

/* How indices are drawn. Every distribution uses row 0 and row rows-1 when it can. */
typedef enum ember_check_dist {
    EMBER_CHECK_DIST_UNIFORM = 0,
    EMBER_CHECK_DIST_DUPLICATES, /* 90% of the indices from three hot rows */
    EMBER_CHECK_DIST_ALL_EQUAL,  /* every index the same row: maximum contention */
    EMBER_CHECK_DIST_ZIPF        /* Zipf, alpha 1.05 */
} ember_check_dist;

/* Seed-walkthrough variants (op EMBER_CHECK_SEED). */
typedef enum ember_check_seed_kind {
    EMBER_CHECK_SEED_WALKTHROUGH_SPARSE = 0, /* backward_dense + backward_sparse + SGD step */
    EMBER_CHECK_SEED_WALKTHROUGH_FUSED,      /* the same through backward_update */
    EMBER_CHECK_SEED_ONEHOT                  /* lookup(i) == one-hot(i) x table */
} ember_check_seed_kind;

/* Error-path variants (op EMBER_CHECK_ERRORS). */
typedef enum ember_check_error_kind {
    EMBER_CHECK_ERR_INDEX_NEGATIVE = 0, /* indices[p] = -3 */
    EMBER_CHECK_ERR_INDEX_TOO_BIG,      /* indices[p] = rows (one past the end) */
    EMBER_CHECK_ERR_OFFSET_FIRST,       /* offsets[0] = 1 */
    EMBER_CHECK_ERR_OFFSET_DECREASING,  /* offsets[p] < offsets[p-1] */
    EMBER_CHECK_ERR_OFFSET_LAST,        /* offsets[batch] = num_indices + 1 */
    EMBER_CHECK_ERR_OUT_TOO_SMALL,      /* the output buffer one float short */
    EMBER_CHECK_ERR_TABLE_TOO_SMALL,    /* the table buffer one float short */
    EMBER_CHECK_ERR_BATCH_MISMATCH,     /* POOLING_NONE with batch != num_indices */
    EMBER_CHECK_ERR_SLICE_TOO_WIDE,     /* out_col_offset + dim > out_row_stride */
    EMBER_CHECK_ERR_WEIGHTS_WITH_MEAN,  /* per-sample weights with MEAN pooling */
    EMBER_CHECK_ERR_PADDING_TOO_BIG,    /* padding_idx >= rows */
    EMBER_CHECK_ERR_ROWWISE_DENSE,      /* dense step with row-wise Adagrad */
    EMBER_CHECK_ERR_DENSE_TOO_SMALL,    /* dense forward with y one float short */
    EMBER_CHECK_ERR_WRONG_CONTEXT,      /* the table allocated on another context */
    EMBER_CHECK_ERR_BATCHED_BATCH,      /* batched ops: table 2's batch differs from table 0's */
    EMBER_CHECK_ERR_BATCHED_STRIDE,     /* batched ops: table 2's out_row_stride differs */
    EMBER_CHECK_ERR_BATCHED_TWO_BAD     /* batched ops: bad indices in tables 1 and 2 (table 2's
                                           at a lower position): table 1 must be named */
} ember_check_error_kind;

/* Batched ops: at most this many tables in one case (more than the 32 one CUDA launch
 * takes). */
#define EMBER_CHECK_MAX_TABLES 40

typedef struct ember_check_case {
    char name[96]; /* unique; what --case takes */
    ember_check_op op;
    int full_only; /* 1: large shape, run only with --full */
    uint64_t seed; /* the default seed (--seed overrides) */

    /* embedding ops */
    int64_t rows, dim, batch;
    int64_t bag; /* mean bag length (pooled); bags hold 0 .. 2*bag indices */
    ember_index_type index_type;
    ember_pooling pooling;
    int padding;          /* 1: padding_idx is a row that occurs among the indices */
    int weights;          /* 1: per-sample weights (SUM) */
    int empty_bags;       /* 1: some bags (the first among them) are empty */
    int64_t stride_extra; /* out_row_stride = dim + stride_extra */
    int64_t col_offset;   /* out_col_offset (<= stride_extra) */
    int accumulate;
    ember_check_dist dist;
    ember_reduction_mode mode;
    ember_optimizer_kind opt;
    float weight_decay;
    int special; /* 1: NaN and infinities among the inputs */
    /* 1: every buffer the op is given wraps (ember_buffer_wrap) the memory of an allocated
     * one (ember_buffer_native), for embedding and batched ops: checked as allocated buffers
     * are, and bit for bit against a run on allocated buffers where the op is deterministic */
    int wrapped;

    /* dense ops: batch above, and */
    int64_t in, out;
    ember_activation act;
    int bias;
    int no_dx;        /* dense backward: dx = NULL */
    int tf32;         /* dense ops under EMBER_MATH_ALLOW_TF32 (then strict again) */
    int head_outputs; /* BCE: 0 loss and grad, 1 loss only (grad NULL), 2 grad only */

    /* elementwise ops and dense optimizer: n elements */
    int64_t n;

    /* batched ops (batch, bag, mode, opt, weight_decay, accumulate above): table t is table
     * variant (first_variant + t) of check_batched.c's list (its own rows, dim, pooling, index
     * type, weights, padding, empty bags), tables side by side in one output, each followed
     * by stride_extra untouched columns. Errors on a batched op: three tables, the bad input
     * in table 2. */
    int num_tables;
    int first_variant;

    uint64_t alloc_bytes; /* op OUT_OF_MEMORY: the size asked of ember_buffer_alloc */

    int seed_kind;         /* ember_check_seed_kind, op SEED */
    int error;             /* ember_check_error_kind, op ERRORS */
    ember_check_op target; /* op ERRORS: the op given the bad input */
} ember_check_case;

size_t ember_check_case_count(void);
/* NULL when i >= count. */
const ember_check_case *ember_check_case_at(size_t i);
/* The case of that name, or NULL. */
const ember_check_case *ember_check_case_find(const char *name);
/* "rows=93 dim=7 batch=13 bag=3 int32 sum ..." */
void ember_check_case_describe(const ember_check_case *c, char *buf, size_t size);

typedef enum ember_check_outcome {
    EMBER_CHECK_PASSED = 0,
    EMBER_CHECK_FAILED = 1,
    EMBER_CHECK_SKIPPED = 2
} ember_check_outcome;

typedef struct ember_check_result {
    ember_check_outcome outcome;
    char reason[1024]; /* failed/skipped: why ("skipped: no CUDA device: ...") */
    char backend[32];  /* the backend's name */
    uint64_t seed;
    /* The worst element seen, as error and the tolerance at that element (metric "abs"),
     * or the normalised squared error and its bound (metric "nmse"); "exact" when the case
     * demands bit equality (error is then the number of differing elements). */
    const char *metric;
    double max_error, tolerance;
    /* The first element out of tolerance (failed only, has_diff 1). */
    int has_diff;
    char diff_array[32]; /* "out", "grad_table", "table", "state", ... */
    int64_t diff_index;  /* flat element index in that array */
    int64_t diff_row, diff_col;
    double diff_got, diff_want;
    char reproduce[256]; /* "ember check --backend K --case NAME --seed S" */
    double seconds;
} ember_check_result;

/* Runs case c with `seed` on context ctx (device index `device`, for the reproduce
 * command). `ref` is a CPU context to compare against, or NULL to compare against the
 * double-precision oracle (what the CPU backend itself is checked with). Never fails:
 * everything is reported in *r. */
void ember_check_run_on(const ember_check_case *c, ember_context *ctx, int device,
                        ember_context *ref, uint64_t seed, ember_check_result *r);

/* Creates the contexts itself: backend `kind` on `device`, and for any kind other than
 * CPU a CPU reference. A backend that cannot be created gives SKIPPED with the reason
 * (CUDA: "no CUDA device: ..."); with require = 1 it gives FAILED instead. */
void ember_check_run(const ember_check_case *c, ember_backend_kind kind, int device, uint64_t seed,
                     int require, ember_check_result *r);

/* Writes "ember check --backend K [--device N] --case NAME --seed S" to buf. */
void ember_check_reproduce(const ember_check_case *c, ember_backend_kind kind, int device,
                           uint64_t seed, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* EMBER_CHECK_H */
