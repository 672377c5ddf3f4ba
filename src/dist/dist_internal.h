/* dist_internal.h: what the files of libember_dist share: the communicator, the shard
 * layout of each table, the batch routed by the last lookup, and the agreement step every
 * collective call runs before it writes anything. Built only on ember's public API. */
#ifndef EMBER_DIST_INTERNAL_H
#define EMBER_DIST_INTERNAL_H

#include "ember_dist.h"

#include <stdint.h>

struct ember_dist_comm {
    MPI_Comm comm; /* ember's duplicate, with MPI_ERRORS_RETURN */
    int rank, size;
    int local_rank; /* among the ranks of this machine */
    int owns_mpi;   /* 1: ember_dist_comm_init called MPI_Init, destroy finalises */
    char last_error[1024];
};

/* Records a message on comm (printf-style) and returns status. */
ember_status dist_error(ember_dist_comm *comm, ember_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Turns an MPI return code into IO_ERROR naming the call (SUCCESS for MPI_SUCCESS). */
ember_status dist_mpi(ember_dist_comm *comm, int rc, const char *call);

/* The agreement of a collective call: every rank passes its own status (its message in
 * comm->last_error) and an int64 to share (the batch size); all_values (size entries, may be
 * NULL) receives every rank's value. When any rank failed, every rank returns the status of
 * the lowest failing rank, with that rank's message prefixed by "rank R: ". */
ember_status dist_agree(ember_dist_comm *comm, ember_status local, int64_t value,
                        int64_t *all_values);

/* Seconds on a monotonic clock (MPI_Wtime). */
double dist_now(void);

/* The part of a table one rank holds: rows [row_start, row_start + rows) and columns
 * [col_start, col_start + cols); empty (rows or cols 0) when the rank holds none. */
typedef struct dist_shard {
    int64_t row_start, rows, col_start, cols;
} dist_shard;

/* The shards of table `spec` under `plan` on every rank (shards has num_ranks entries). */
void dist_layout(const ember_dist_table_spec *spec, const ember_dist_table_plan *plan,
                 int num_ranks, dist_shard *shards);

typedef struct dist_table {
    ember_dist_table_spec spec;
    ember_dist_table_plan plan;
    int64_t out_col;     /* the table's first column in the lookup's output */
    dist_shard *shards;  /* per rank */
    int64_t *owned_col;  /* per rank: first column of its shard in that rank's owner
                            matrix (-1: not a participant; REPLICATED: always -1) */
    ember_buffer *table; /* this rank's shard (the full table when REPLICATED) */
    ember_buffer *state; /* its optimizer state, or NULL */
} dist_table;

/* The batch the last lookup routed: what this rank's shards saw of the global batch (for
 * the backward), and this rank's own indices of the replicated tables. */
typedef struct dist_routed {
    int valid;
    int64_t *batches;     /* per rank: its batch_local */
    int64_t *batch_start; /* per rank: its first row in the global batch */
    int64_t batch_global;
    ember_buffer **idx, **off;         /* per table: owner side (global batch), or NULL */
    int64_t *num_idx;                  /* per table: owner side, entries of idx */
    ember_buffer **rep_idx, **rep_off; /* per table: REPLICATED, this rank's own batch */
    int64_t **rep_host_idx;            /* per table: REPLICATED, the same on the host */
    int64_t *rep_num_indices;          /* per table */
    float **mean_count;                /* per table, ROW_WISE + MEAN: indices per local bag (padding
                                          left out), by which the requester divides */
} dist_routed;

struct ember_dist_tables {
    ember_dist_comm *comm;
    ember_context *ctx;
    ember_optimizer_kind optimizer;
    int64_t num_tables;
    dist_table *t;
    int64_t width;        /* sum(dim) */
    int64_t *owned_width; /* per rank: the width of its owner matrix */
    int64_t *counts;      /* 3 x ranks: all-to-all counts, allocated up front so that no
                             rank can fail between two collectives */
    dist_routed routed;
    ember_dist_step_stats stats;
};

/* 1 when rank r holds a (non-empty) shard of a non-replicated table. */
int dist_participates(const dist_table *tb, int r);

/* Converts a downloaded index array of `type` (n entries) to int64 (new array). */
int64_t *dist_indices_to_int64(const void *raw, int64_t n, ember_index_type type);

/* Uploads n int64 (n may be 0) into a new buffer on ctx. */
ember_status dist_upload_int64(ember_dist_tables *tabs, const int64_t *p, int64_t n,
                               ember_buffer **out);

/* Frees the routed batch's buffers and marks it invalid. */
void dist_routed_clear(ember_dist_tables *tabs);

/* MPI_Alltoallv of int64 or float elements with counts in elements, after agreeing on
 * `local` (this rank's status so far): on any failure no rank enters the all-to-all and
 * every rank returns the agreed error. Adds the bytes and the time to the step's stats. */
ember_status dist_alltoallv(ember_dist_tables *tabs, ember_status local, const void *send,
                            const int64_t *scount, void *recv, const int64_t *rcount,
                            MPI_Datatype type, size_t esize);

/* This rank's batch as given to ember_dist_lookup, downloaded to host as int64 with CSR
 * offsets for every table (POOLING_NONE: 0, 1, ..., batch). */
typedef struct dist_local_batch {
    int64_t batch;
    int64_t **idx, **off; /* per table */
    int64_t *num_indices; /* per table */
} dist_local_batch;

void dist_local_batch_free(dist_local_batch *lb, int64_t num_tables);
/* Downloads and validates this rank's batch (every index in range or the padding index,
 * every offset list well formed, the output big enough); the status is this rank's alone. */
ember_status dist_local_batch_load(ember_dist_tables *tabs, int64_t batch,
                                   const int64_t *num_indices, const ember_buffer *const *indices,
                                   const ember_buffer *const *offsets, const ember_buffer *out,
                                   dist_local_batch *lb);
/* Allocates tabs->routed for a new batch (before the agreement that fills its batches). */
ember_status dist_routed_alloc(ember_dist_tables *tabs);
/* Sends every index to the ranks holding its rows and keeps what this rank's shards
 * received (the global batch of each shard) in tabs->routed; needs routed.batches, agreed
 * on every rank. */
ember_status dist_route_indices(ember_dist_tables *tabs, const dist_local_batch *lb);

/* The arguments of a batched op over this rank's shards and the routed global batch
 * (owner side): `count` descs, tables, states, indices and offsets, and `rows`, the
 * [batch_global x owned_width] device buffer (`bytes` long) that the lookup writes and the
 * fused update reads its gradient from. */
typedef struct dist_owner_args {
    int64_t count;
    ember_lookup_desc *descs;
    ember_buffer **tables, **states, **idx, **off;
    ember_buffer *rows;
    size_t bytes;
} dist_owner_args;

ember_status dist_owner_args_make(ember_dist_tables *tabs, dist_owner_args *a);
void dist_owner_args_free(dist_owner_args *a);

#endif
