/* ember_dist.h: embedding tables sharded across processes and machines on MPI
 * (libember_dist, built when MPI is found; libember itself never needs MPI).
 *
 * The pattern of DLRM, TorchRec and HugeCTR: embedding tables are model parallel (each
 * table, or each part of one, lives on one rank), the dense layers data parallel. Each rank
 * holds its own minibatch; a lookup sends every index to the rank owning its row
 * (MPI_Alltoallv), the owners look up and pool what they hold with ember's batched op on
 * their own context (any backend: device buffers are staged through host memory), and the
 * pooled (or partial) rows travel back. Each rank ends with its local batch's
 * [batch_local x sum(dim)] matrix, exactly what ember_embedding_lookup_batched would give
 * for those rows of the global batch (the ranks' batches concatenated in rank order).
 *
 * Sharding plans (TorchRec's names):
 *   TABLE_WISE   the whole table on one rank
 *   ROW_WISE     rows split in contiguous blocks over the ranks; owners return partial
 *                sums that the requesting rank adds in rank order
 *   COLUMN_WISE  columns split over the ranks; each owner returns its columns
 *   REPLICATED   a full copy on every rank (data parallel, for tiny tables): looked up
 *                locally, gradients summed over ranks with MPI_Allreduce
 * What equals the single-process batched ops on the global batch: TABLE_WISE and
 * COLUMN_WISE bit for bit in DETERMINISTIC mode (each owner runs the single-process op on
 * the global batch of its part); ROW_WISE and REPLICATED within the conformance tolerances
 * (partial sums are added in another order) and bit-identical from run to run.
 *
 * Collective calls: every rank of the communicator must make them, in the same order, with
 * the same table specs and plans. Every one of them agrees on its outcome before it writes
 * anything: an error on any rank (a bad index, bad offsets) makes the call return that
 * status on every rank, with a message naming the rank (ember_dist_last_error), and leaves
 * every table, state and output as it was. A rank that dies is handled by the MPI runtime
 * (Open MPI's mpirun ends the whole job); see docs/scale-out.md.
 */
#ifndef EMBER_DIST_H
#define EMBER_DIST_H

#include "ember.h"

#include <mpi.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- communicator ------------------------------------------------------------------------ */

typedef struct ember_dist_comm ember_dist_comm;

/* Wraps the caller's communicator (duplicated, so ember's messages never mix with the
 * caller's). The caller owns MPI_Init and MPI_Finalize; destroy this first. */
EMBER_API ember_status ember_dist_comm_create(MPI_Comm comm, ember_dist_comm **out);
/* For programs that use MPI only through ember: initialises MPI when nobody has (argc and
 * argv may be NULL) and wraps MPI_COMM_WORLD; ember_dist_comm_destroy then finalises MPI. */
EMBER_API ember_status ember_dist_comm_init(int *argc, char ***argv, ember_dist_comm **out);
/* Frees the duplicated communicator (and finalises MPI when comm_init initialised it).
 * Accepts NULL. Not collective in the sense of agreeing on errors, but every rank must
 * call it (MPI_Comm_free is collective). */
EMBER_API void ember_dist_comm_destroy(ember_dist_comm *comm);
EMBER_API int ember_dist_comm_rank(const ember_dist_comm *comm);
EMBER_API int ember_dist_comm_size(const ember_dist_comm *comm);
/* This rank's index among the ranks on its machine (for one rank per GPU: pass it, modulo
 * the device count, as the device of ember_context_create). */
EMBER_API int ember_dist_comm_local_rank(const ember_dist_comm *comm);
/* The message of the last failed call on this communicator or its tables ("" when none);
 * the same text on every rank for collective calls. */
EMBER_API const char *ember_dist_last_error(const ember_dist_comm *comm);

/* --- tables and plans -------------------------------------------------------------------- */

typedef enum ember_shard_kind {
    EMBER_SHARD_AUTO = 0, /* in a spec: let the planner choose */
    EMBER_SHARD_TABLE_WISE = 1,
    EMBER_SHARD_ROW_WISE = 2,
    EMBER_SHARD_COLUMN_WISE = 3,
    EMBER_SHARD_REPLICATED = 4
} ember_shard_kind;

/* "auto", "table-wise", "row-wise", "column-wise", "replicated"; NULL for others. */
EMBER_API const char *ember_shard_kind_name(ember_shard_kind kind);
EMBER_API ember_status ember_shard_kind_parse(const char *name, ember_shard_kind *kind);

/* One embedding table of the collection. */
typedef struct ember_dist_table_spec {
    int64_t num_rows;
    int64_t dim;
    ember_pooling pooling;
    ember_index_type index_type; /* of the indices and offsets the lookup is given */
    int64_t padding_idx;         /* -1: none */
    double indices_per_bag;      /* on average (L), for the cost estimate;
                                    0 counts as 1 */
    ember_shard_kind shard;      /* AUTO, or the user's choice, which the planner keeps */
} ember_dist_table_spec;

/* Fills a spec: int64 indices, no padding, one index per bag, planner's choice. */
EMBER_API void ember_dist_table_spec_init(ember_dist_table_spec *spec, int64_t num_rows,
                                          int64_t dim, ember_pooling pooling);

/* What the planner weighs. */
typedef struct ember_dist_planner_options {
    int64_t batch_per_rank;         /* B: bags per rank and step */
    uint64_t memory_per_rank;       /* bytes of tables + optimizer state a rank may hold
                                       (0: unlimited) */
    ember_optimizer_kind optimizer; /* for the state's size; ROWWISE_ADAGRAD rules out
                                       COLUMN_WISE (its per-row state spans all columns) */
} ember_dist_planner_options;

/* One table's plan and its estimated cost per training step (forward + backward). */
typedef struct ember_dist_table_plan {
    ember_shard_kind kind; /* never AUTO */
    int owner;             /* TABLE_WISE: the rank holding the table; else -1 */
    double comm_bytes;     /* bytes one rank sends per step for this table */
    double lookup_bytes;   /* table bytes the busiest rank reads per step (fwd + bwd) */
    double memory_bytes;   /* table + state bytes on the fullest rank */
} ember_dist_table_plan;

/* Chooses a plan for every table, largest tables first: the user's choice where a spec
 * names one; otherwise the plan with the lowest 16 x comm_bytes (a network byte costs
 * about 16 bytes of memory traffic) + the busiest rank's lookup bytes once placed, among
 * TABLE_WISE (onto the least loaded rank), COLUMN_WISE, ROW_WISE and REPLICATED (tiny
 * tables, whose all-reduced gradient is cheaper than routing their lookups), that fits
 * memory_per_rank.
 * Not collective: every rank computes the same plans from the same inputs.
 * OUT_OF_MEMORY when no plan fits; INVALID_ARGUMENT for a user choice that cannot work. */
EMBER_API ember_status ember_dist_plan(ember_dist_comm *comm, int64_t num_tables,
                                       const ember_dist_table_spec *specs,
                                       const ember_dist_planner_options *options,
                                       ember_dist_table_plan *plans);
/* Prints the plans, one line per table and the totals per step, to `out`. */
EMBER_API void ember_dist_plan_print(FILE *out, int num_ranks, int64_t num_tables,
                                     const ember_dist_table_spec *specs,
                                     const ember_dist_table_plan *plans);

/* --- the sharded collection -------------------------------------------------------------- */

typedef struct ember_dist_tables ember_dist_tables;

/* Allocates this rank's shards (and their optimizer state for `optimizer`) on `ctx`, which
 * stays the caller's and must outlive the collection. Collective. Tables and states start
 * at zero: set them with ember_dist_tables_set. */
EMBER_API ember_status ember_dist_tables_create(ember_dist_comm *comm, ember_context *ctx,
                                                int64_t num_tables,
                                                const ember_dist_table_spec *specs,
                                                const ember_dist_table_plan *plans,
                                                ember_optimizer_kind optimizer,
                                                ember_dist_tables **out);
EMBER_API void ember_dist_tables_destroy(ember_dist_tables *tables);
/* sum(dim): the width of the lookup's output. */
EMBER_API int64_t ember_dist_tables_width(const ember_dist_tables *tables);

/* Copies this rank's part of table t from a full host table (num_rows x dim) and, when
 * `state` is not NULL, of its optimizer state (ember_optimizer_state_size floats). Each
 * rank reads only its part, so ranks may pass different memory holding the same values.
 * Not collective. */
EMBER_API ember_status ember_dist_tables_set(ember_dist_tables *tables, int64_t t,
                                             const float *table, const float *state);
/* Assembles the full table t (and its state when `state` is not NULL) on every rank.
 * Collective. */
EMBER_API ember_status ember_dist_tables_get(ember_dist_tables *tables, int64_t t, float *table,
                                             float *state);

/* Distributed lookup of this rank's batch: for each table t, indices[t] (of the spec's
 * index_type) holds num_indices[t] entries and offsets[t] batch_local + 1 CSR offsets (NULL with
 * POOLING_NONE, where num_indices[t] == batch_local), on the collection's context. `out`
 * receives [batch_local x width] floats, table t in its columns. batch_local may differ
 * between ranks. The routed batch is kept for the next ember_dist_backward_update.
 * Collective. */
EMBER_API ember_status ember_dist_lookup(ember_dist_tables *tables, int64_t batch_local,
                                         const int64_t *num_indices,
                                         const ember_buffer *const *indices,
                                         const ember_buffer *const *offsets, ember_buffer *out);

/* Backward of the last ember_dist_lookup fused with a sparse optimizer: grad_out is this
 * rank's [batch_local x width] gradient of the lookup's output (of the global loss: no
 * averaging over ranks is applied). The owners update their rows, as
 * ember_embedding_backward_update_batched would on the global batch. Collective. */
EMBER_API ember_status ember_dist_backward_update(ember_dist_tables *tables,
                                                  const ember_buffer *grad_out,
                                                  ember_reduction_mode mode,
                                                  const ember_optimizer *opt);

/* Averages n floats over the ranks in place (host memory): the data-parallel dense
 * gradients. Collective. */
EMBER_API ember_status ember_dist_allreduce_mean(ember_dist_comm *comm, float *data, int64_t n);

/* What the last lookup + backward cost this rank (reset by each lookup). */
typedef struct ember_dist_step_stats {
    uint64_t bytes_sent; /* payload this rank sent to other ranks */
    uint64_t bytes_received;
    uint64_t alltoall_bytes_max; /* the largest per-rank payload of any all-to-all */
    double alltoall_seconds;     /* in MPI_Alltoall(v) and the replicated MPI_Allreduce */
    double lookup_seconds;       /* in ember's lookup and fused backward (incl. staging) */
    double total_seconds;
} ember_dist_step_stats;
EMBER_API void ember_dist_tables_stats(const ember_dist_tables *tables,
                                       ember_dist_step_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* EMBER_DIST_H */
