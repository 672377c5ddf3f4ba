/* check_internal.h: what the files of src/check share: random inputs, device round trips
 * with guard bands, the comparison that fills a result, and the per-op runners. */
#ifndef EMBER_CHECK_INTERNAL_H
#define EMBER_CHECK_INTERNAL_H

#include "check_tolerance.h"
#include "ember_check.h"
#include "util/rng.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* --- random inputs (check_inputs.c), from the tree's generator ---------------------------- */

/* Uniform in [-1, 1), exactly representable. */
float chk_uniform(ember_rng *r);
/* Uniform integer in [0, n). */
int64_t chk_below(ember_rng *r, int64_t n);

/* The inputs of every embedding op of a case, drawn from the seed. */
typedef struct chk_emb {
    ember_lookup_desc desc; /* out_row_stride filled in */
    int64_t *idx;           /* num_indices */
    int64_t *off;           /* batch + 1, NULL without pooling */
    float *weights;         /* num_indices, or NULL */
    float *table;           /* rows x dim */
    float *out_init;        /* batch x stride: what the output holds before the lookup */
    float *grad_out;        /* batch x stride; outside the slice a huge value */
    float *grad_init;       /* rows x dim: backward_dense adds into this */
    ember_optimizer opt;
    float *state; /* state_n floats (or NULL) */
    int64_t state_n;
    int64_t num_unique; /* sparse step: distinct ascending ids and a gradient each */
    int64_t *uids;
    float *ugrads;
} chk_emb;

int chk_emb_make(const ember_check_case *c, uint64_t seed, chk_emb *e);
void chk_emb_free(chk_emb *e);
void chk_optimizer_for(const ember_check_case *c, ember_optimizer *opt);
/* The most times one row (padding left out) occurs among the case's indices. */
int64_t chk_max_run(const chk_emb *e);
/* 1 when a DETERMINISTIC backward on ctx must equal the CPU reference ref bit for bit
 * (check_tolerance.h: always, except CUDA with a row occurring more than
 * EMBER_TOL_CUDA_DET_RUN times); 0 without a reference. */
int chk_det_bit_exact(const ember_context *ctx, const ember_context *ref, const chk_emb *e);
/* Fills n floats uniformly in [lo, hi). */
void chk_fill(ember_rng *r, float *p, int64_t n, float lo, float hi);

/* --- device round trips (check_device.c) -------------------------------------------------
 * Every buffer is allocated CHK_GUARD elements longer than needed and the tail filled with
 * CHK_SENTINEL; chk_down downloads the tail too so the caller can check it. */

#define CHK_GUARD 16
#define CHK_SENTINEL 0xDEADBEEFu

#define CHK_MAX_OWNERS 64

typedef struct chk_dev {
    ember_context *ctx;
    char err[1024]; /* the failing call and its message */
    ember_status st;
    /* wrap: chk_up hands out wraps of its allocations' memory and keeps the allocations in
     * owners, freed by chk_dev_release */
    int wrap, nowners;
    ember_buffer *owners[CHK_MAX_OWNERS];
} chk_dev;

/* Frees the allocations behind wrapped buffers (after the wraps themselves). */
void chk_dev_release(chk_dev *d);

/* Allocates elems (+ guard) elements of esize bytes and uploads data (NULL: sentinels). */
ember_buffer *chk_up(chk_dev *d, const void *data, int64_t elems, size_t esize);
/* Downloads elems + guard elements into a new host array (NULL on failure, d->err set). */
void *chk_down(chk_dev *d, const ember_buffer *b, int64_t elems, size_t esize);
/* Records a failed status of `what` (with the context's message) unless one is recorded. */
int chk_fail_st(chk_dev *d, ember_status st, const char *what);
/* 1 for the CPU backend and the test-only ones built on it (outside the public enum): the
 * contexts whose thread count a case may set. */
int chk_cpu_like(ember_context *ctx);
/* Converts int64 indices to the case's index type (new host array). */
void *chk_index_bytes(const int64_t *p, int64_t n, ember_index_type t);

/* --- comparison (check_compare.c) -------------------------------------------------------- */

void chk_result_failf(ember_check_result *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Checks the CHK_GUARD elements after elems (esize 4 or 8) hold the sentinel. */
int chk_guard_ok(ember_check_result *r, const char *name, const void *host, int64_t elems,
                 size_t esize);
/* Compares got[0..n) with want[0..n) element by element: |got - want| <= tol[i] * factor
 * (tol NULL: exact), NaN where NaN, the same infinity. cols gives [row, col] in reports.
 * Returns the number of failing elements; records the worst error and the first failure. */
int64_t chk_compare(ember_check_result *r, const char *name, const float *got, const double *want,
                    const double *tol, double factor, int64_t n, int64_t cols);
/* Compares by normalised squared error against bound; reports the largest element error. */
int chk_compare_nmse(ember_check_result *r, const char *name, const float *got, const double *want,
                     double bound, int64_t n, int64_t cols);
/* got == want bit for bit (for run-to-run identity). */
int64_t chk_compare_bits(ember_check_result *r, const char *name, const float *got,
                         const float *want, int64_t n, int64_t cols, const char *what);
/* Float array to double (new array). */
double *chk_to_double(const float *p, int64_t n);

/* 1 when building the case list ran out of memory (check_cases.c): the list is shorter
 * than it should be, so every case run fails with that reason. */
int chk_case_list_incomplete(void);

/* --- runners per op family (one file each) ----------------------------------------------- */

/* ref NULL: compare with the oracle. Each fills r (outcome stays PASSED unless failed). */
void chk_run_embedding(const ember_check_case *c, ember_context *ctx, ember_context *ref,
                       uint64_t seed, ember_check_result *r);
void chk_run_optim_dense(const ember_check_case *c, ember_context *ctx, ember_context *ref,
                         uint64_t seed, ember_check_result *r);
void chk_run_dense(const ember_check_case *c, ember_context *ctx, ember_context *ref, uint64_t seed,
                   ember_check_result *r);
void chk_run_head(const ember_check_case *c, ember_context *ctx, ember_context *ref, uint64_t seed,
                  ember_check_result *r);
void chk_run_seed(const ember_check_case *c, ember_context *ctx, ember_context *ref, uint64_t seed,
                  ember_check_result *r);
void chk_run_errors(const ember_check_case *c, ember_context *ctx, ember_context *ref,
                    uint64_t seed, ember_check_result *r);
/* The table-batched lookup and fused backward + update (check_batched.c). */
void chk_run_batched(const ember_check_case *c, ember_context *ctx, ember_context *ref,
                     uint64_t seed, ember_check_result *r);
/* An absurd ember_buffer_alloc, then a small op (check_recovery.c). */
void chk_run_out_of_memory(const ember_check_case *c, ember_context *ctx, ember_context *ref,
                           uint64_t seed, ember_check_result *r);
/* Fails r unless a tiny lookup still succeeds on ctx, `after` naming what went before
 * (check_errors.c). */
void chk_still_usable(ember_context *ctx, ember_check_result *r, const char *after);
/* Table t of a batched case as a single-table case (op LOOKUP or BACKWARD_UPDATE) whose
 * output slice is its place in the shared output; the inputs of table t are that case's
 * chk_emb_make with chk_batched_seed(seed, t). */
void chk_batched_table(const ember_check_case *c, int t, ember_check_case *tc);
uint64_t chk_batched_seed(uint64_t seed, int t);

/* --- the oracle (check_oracle.c): naive, in double, with each element's tolerance ------- */

typedef struct chk_want {
    double *v;   /* expected values */
    double *tol; /* absolute tolerance vs oracle */
    int64_t n;
} chk_want;

void chk_want_free(chk_want *w);
/* Sets every tolerance of w to 0: the comparison becomes bit-exact (NaN where NaN). */
void chk_want_exact(chk_want *w);
/* Compares one embedding output array (with its guard band): want from the reference run
 * `ref` when there is one (tolerance w->tol * EMBER_TOL_VS_CPU_FACTOR), else the oracle's
 * w->v (check_embedding.c). */
void chk_cmp_emb(ember_check_result *r, const char *name, const float *got, const float *ref,
                 const chk_want *w, int64_t n, int64_t cols);

/* lookup: the whole [batch x stride] output (initial values outside the slice). */
int chk_oracle_lookup(const chk_emb *e, chk_want *out);
/* backward_dense: the whole table-shaped gradient, starting from e->grad_init. */
int chk_oracle_backward_dense(const chk_emb *e, chk_want *grad);
/* backward_sparse: ascending distinct ids (*nu of them) and their summed gradient rows. */
int chk_oracle_backward_sparse(const chk_emb *e, int64_t **ids, int64_t *nu, chk_want *grads);
/* optimizer on rows `ids` (nu) with gradients g (nu x dim) whose tolerance is gtol (NULL:
 * exact gradients): the whole table and state after the step. */
int chk_oracle_sparse_step(const chk_emb *e, const int64_t *ids, int64_t nu, const double *g,
                           const double *gtol, chk_want *table, chk_want *state);
/* dense optimizer over n parameters. */
int chk_oracle_dense_step(const ember_optimizer *opt, int64_t n, const float *w, const float *g,
                          const float *s, const float *s2, chk_want *w_out, chk_want *s_out,
                          chk_want *s2_out);

#endif
