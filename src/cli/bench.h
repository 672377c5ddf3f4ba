/* bench.h: the pieces of `ember bench` (shapes, index generation, timing, the op suite,
 * the report) shared by cmd_bench.c and the bench_*.c files.
 *
 * Byte counts (what "GB/s" means, the same in every backend and in docs/performance.md):
 * a row is dim * 4 bytes. N = batch * pooling indices per table, U = distinct rows among
 * them. Forward ops count every row read (N, duplicates included: the gather reads each)
 * plus every output row written; backward and update ops count the output gradient read
 * (batch rows) plus each distinct touched row of the table, gradient and optimizer state
 * read and written once (duplicates are summed before a row is touched, as a fused update
 * does). Indices and offsets are not counted (FBGEMM's convention). Rows/s is N / time. */
#ifndef EMBER_CLI_BENCH_H
#define EMBER_CLI_BENCH_H

#include "ember.h"
#include "util/clock.h"
#include "util/rng.h"

#include <stddef.h>
#include <stdint.h>

enum bench_dist { BENCH_DIST_UNIFORM = 0, BENCH_DIST_ZIPF = 1 };

/* The ops `--op` can name, in the order they run. */
enum bench_op {
    BENCH_OP_GATHER_COPY = 0, /* lookup NONE over a permutation of all rows: a device copy */
    BENCH_OP_LOOKUP_SUM,      /* pooled lookup forward (SUM) */
    BENCH_OP_LOOKUP_NONE,     /* plain lookup, one index per output row */
    BENCH_OP_BACKWARD_DENSE,  /* backward into a table-shaped gradient */
    BENCH_OP_BACKWARD_SPARSE, /* backward into unique ids + summed rows */
    BENCH_OP_UPDATE_SGD,      /* fused backward + SGD */
    BENCH_OP_UPDATE_ADAGRAD,  /* fused backward + Adagrad */
    BENCH_OP_UPDATE_ROWWISE,  /* fused backward + row-wise Adagrad */
    BENCH_OP_STEP_SGD,        /* forward + fused backward/SGD: one training step */
    BENCH_OP_DENSE_FWD,       /* dense layer forward (bias, ReLU) */
    BENCH_OP_DENSE_BWD,       /* dense layer backward (dx, dw, db) */
    BENCH_OP_SIGMOID,
    BENCH_OP_BCE, /* BCE with logits: loss and gradient */
    BENCH_OP_COUNT_
};

const char *bench_op_name(enum bench_op op);
/* Parses one name into *op; -1 when unknown. */
int bench_op_parse(const char *name, enum bench_op *op);

typedef struct bench_shape {
    int64_t tables, rows, dim, batch, pooling;
    enum bench_dist dist;
    double alpha;
    int64_t dense_in, dense_out; /* dense layer: [batch x in] -> [batch x out] */
    uint64_t seed;
} bench_shape;

typedef struct bench_config {
    bench_shape shape;
    int reps;
    int threads; /* 0: the CPU backend's default, the idle cores (the host copy: all) */
    ember_reduction_mode mode;
    int batched;              /* 1: pooled lookups and fused updates as one table-batched call */
    int ops[BENCH_OP_COUNT_]; /* 1: run it */
} bench_config;

/* One op's figures. */
typedef struct bench_result {
    int ran;          /* 0: not asked for; -1: failed or not supported */
    char error[256];  /* when ran == -1 */
    double first_ms;  /* the very first call (kernel builds, first touches) */
    double median_ms; /* per call, over reps after warm-up */
    double min_ms;
    int reps, inner; /* reps timed, calls per rep */
    double bytes;    /* per call, as defined above; 0 for dense ops */
    double rows;     /* index rows per call (0 for non-embedding ops) */
    double flops;    /* dense ops: per call */
    double gemm_ms;  /* dense ops: the same GEMMs called directly (CPU: cblas_sgemm,
                        CUDA: cublasSgemm) */
} bench_result;

typedef struct bench_run {
    ember_backend_kind kind;
    char device[256];
    double create_ms;        /* ember_context_create (OpenCL: includes building programs) */
    double setup_ms;         /* allocating and uploading the tables and indices */
    double device_copy_gbps; /* CUDA: cudaMemcpy device to device, 1 GiB (0: not measured) */
    int64_t unique_rows;     /* U summed over tables */
    int64_t num_indices;     /* N summed over tables */
    bench_result op[BENCH_OP_COUNT_];
} bench_run;

/* ---- bench_data.c: deterministic inputs ---- */
/* Uniform float in [lo, hi) from the tree's generator (util/rng.h). */
float bench_rng_float(ember_rng *rng, float lo, float hi);
/* Fills idx[0..n) with rows in [0, rows), uniform or Zipf(alpha) over ranks mapped to rows
 * by a fixed pseudo-random permutation (so hot rows are spread over the table, as FBGEMM's
 * generator does). Returns 0, or -1 when out of memory. */
int bench_make_indices(int64_t *idx, int64_t n, int64_t rows, enum bench_dist dist, double alpha,
                       uint64_t seed);
/* The number of distinct values in idx[0..n). -1 when out of memory. */
int64_t bench_count_unique(const int64_t *idx, int64_t n);

/* ---- bench_time.c: clocks, medians, host copy bandwidth ---- */
double bench_median(double *v, int n); /* sorts v */
double bench_min(const double *v, int n);
/* STREAM-style copy of two arrays of `bytes` each with `threads` threads (0: all cores),
 * `reps` times; *gbps gets the median (read + write bytes per second / 1e9). Returns 0, or
 * -1 when the arrays cannot be allocated. */
int bench_host_copy(size_t bytes, int threads, int reps, double *gbps, int *threads_used);

/* ---- bench_gemm.c: the direct OpenBLAS baseline ---- */
/* The core type OpenBLAS chose ("Haswell", "Zen", ...). */
const char *bench_openblas_core(void);
/* Median ms of the SGEMMs ember's dense forward (fwd = 1) or backward (fwd = 0) performs
 * for the shape, called directly through cblas_sgemm with `threads` OpenBLAS threads. */
double bench_direct_gemm_ms(int fwd, int64_t batch, int64_t in, int64_t out, int threads, int reps);

/* ---- bench_cuda_direct.c: the direct CUDA baselines (libember_cuda_direct.so) ---- */
/* Device-to-device cudaMemcpy of `bytes`, median GB/s (read + write); -1 without the module
 * or on failure. */
double bench_cuda_direct_copy_gbps(size_t bytes, int reps);
/* As bench_direct_gemm_ms, through cublasSgemm on the device; -1 when unavailable. */
double bench_cuda_direct_gemm_ms(int fwd, int64_t batch, int64_t in, int64_t out, int reps);

/* ---- bench_ops.c: the suite on one context ---- */
/* Runs every op the config asks for on a fresh context of `kind` and fills *run. Returns 0,
 * or 1 when the context could not be created or the inputs not allocated (message printed
 * to stderr, prefixed with cmd). An op that fails is recorded in its result and the rest
 * still run. */
int bench_run_suite(const char *cmd, ember_backend_kind kind, int device, const bench_config *cfg,
                    int verbose, bench_run *run);

/* ---- bench_report.c: text and JSON ---- */
typedef struct bench_report {
    const bench_config *cfg;
    const bench_run *main; /* the backend asked for */
    const bench_run *cpu;  /* the CPU side by side (NULL when main is the CPU) */
    double host_copy_gbps;
    int host_copy_threads;
    const char *openblas_core;
    int deterministic;
} bench_report;

void bench_print_text(const bench_report *r);
void bench_print_json(const bench_report *r);

#endif /* EMBER_CLI_BENCH_H */
