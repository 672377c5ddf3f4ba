/* dist_tables.c: the sharded collection: where each table's shards live, allocating this
 * rank's, and copying whole tables (and optimizer state) in and out of it. */
#include "dist_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

void dist_layout(const ember_dist_table_spec *spec, const ember_dist_table_plan *plan,
                 int num_ranks, dist_shard *shards) {
    int64_t R = spec->num_rows, D = spec->dim, N = num_ranks;
    for (int r = 0; r < num_ranks; r++) {
        dist_shard *s = &shards[r];
        *s = (dist_shard){0, R, 0, D};
        switch (plan->kind) {
        case EMBER_SHARD_TABLE_WISE:
            if (r != plan->owner) s->rows = s->cols = 0;
            break;
        case EMBER_SHARD_ROW_WISE: { /* contiguous blocks of ceil(R/N) rows */
            int64_t block = (R + N - 1) / N;
            s->row_start = r * block < R ? r * block : R;
            s->rows = (s->row_start + block < R ? s->row_start + block : R) - s->row_start;
            break;
        }
        case EMBER_SHARD_COLUMN_WISE: { /* D/N columns each, the first D%N ranks one more */
            int64_t base = D / N, extra = D % N;
            s->col_start = r * base + (r < extra ? r : extra);
            s->cols = base + (r < extra ? 1 : 0);
            break;
        }
        default: /* REPLICATED: the whole table everywhere */
            break;
        }
    }
}

int dist_participates(const dist_table *tb, int r) {
    return tb->plan.kind != EMBER_SHARD_REPLICATED && tb->shards[r].rows > 0 &&
           tb->shards[r].cols > 0;
}

/* State floats of a shard: Adagrad one per element, row-wise Adagrad one per row. */
static int64_t shard_state_size(const ember_dist_tables *tabs, const dist_shard *s) {
    return ember_optimizer_state_size(tabs->optimizer, s->rows, s->cols);
}

/* Checks the plans against the specs (the same on every rank, so no agreement needed). */
static ember_status check_plans(ember_dist_comm *comm, int64_t num_tables,
                                const ember_dist_table_spec *specs,
                                const ember_dist_table_plan *plans, ember_optimizer_kind opt) {
    for (int64_t t = 0; t < num_tables; t++) {
        const ember_dist_table_spec *s = &specs[t];
        const ember_dist_table_plan *p = &plans[t];
        if (s->num_rows < 1 || s->dim < 1 || s->padding_idx < -1 || s->padding_idx >= s->num_rows ||
            (s->index_type != EMBER_INDEX_INT64 && s->index_type != EMBER_INDEX_INT32) ||
            (s->pooling != EMBER_POOLING_NONE && s->pooling != EMBER_POOLING_SUM &&
             s->pooling != EMBER_POOLING_MEAN))
            return dist_error(comm, EMBER_STATUS_INVALID_ARGUMENT,
                              "table %lld: rows %lld, dim %lld, padding_idx %lld, index type or "
                              "pooling invalid",
                              (long long)t, (long long)s->num_rows, (long long)s->dim,
                              (long long)s->padding_idx);
        if (p->kind < EMBER_SHARD_TABLE_WISE || p->kind > EMBER_SHARD_REPLICATED ||
            (p->kind == EMBER_SHARD_TABLE_WISE && (p->owner < 0 || p->owner >= comm->size)))
            return dist_error(comm, EMBER_STATUS_INVALID_ARGUMENT,
                              "table %lld: plan kind %d or owner %d invalid on %d ranks",
                              (long long)t, (int)p->kind, p->owner, comm->size);
        if (p->kind == EMBER_SHARD_COLUMN_WISE && opt == EMBER_OPTIMIZER_ROWWISE_ADAGRAD)
            return dist_error(comm, EMBER_STATUS_INVALID_ARGUMENT,
                              "table %lld: column-wise sharding cannot hold row-wise Adagrad's "
                              "per-row state",
                              (long long)t);
    }
    if (opt != EMBER_OPTIMIZER_SGD && opt != EMBER_OPTIMIZER_ADAGRAD &&
        opt != EMBER_OPTIMIZER_ROWWISE_ADAGRAD)
        return dist_error(comm, EMBER_STATUS_INVALID_ARGUMENT,
                          "optimizer kind %d is not a sparse optimizer", (int)opt);
    return EMBER_STATUS_SUCCESS;
}

/* Allocates and zeroes n floats on the collection's context (NULL when n is 0). */
static ember_status alloc_zero(ember_dist_tables *tabs, int64_t n, ember_buffer **out) {
    *out = NULL;
    if (n <= 0) return EMBER_STATUS_SUCCESS;
    size_t bytes = (size_t)n * sizeof(float);
    ember_status st = ember_buffer_alloc(tabs->ctx, bytes, out);
    if (st == EMBER_STATUS_SUCCESS) st = ember_buffer_zero(tabs->ctx, *out, 0, bytes);
    if (st != EMBER_STATUS_SUCCESS)
        dist_error(tabs->comm, st, "shard of %zu bytes: %s", bytes,
                   ember_context_last_error(tabs->ctx));
    return st;
}

/* Lays out every table, gives it its columns, and allocates this rank's shards. */
static ember_status build(ember_dist_tables *tabs, const ember_dist_table_spec *specs,
                          const ember_dist_table_plan *plans) {
    int N = tabs->comm->size, me = tabs->comm->rank;
    for (int64_t t = 0; t < tabs->num_tables; t++) {
        dist_table *tb = &tabs->t[t];
        tb->spec = specs[t], tb->plan = plans[t];
        tb->out_col = tabs->width;
        tabs->width += specs[t].dim;
        tb->shards = malloc((size_t)N * sizeof *tb->shards);
        tb->owned_col = malloc((size_t)N * sizeof *tb->owned_col);
        if (!tb->shards || !tb->owned_col)
            return dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
        dist_layout(&tb->spec, &tb->plan, N, tb->shards);
        for (int r = 0; r < N; r++) {
            tb->owned_col[r] = dist_participates(tb, r) ? tabs->owned_width[r] : -1;
            if (tb->owned_col[r] >= 0) tabs->owned_width[r] += tb->shards[r].cols;
        }
        const dist_shard *s = &tb->shards[me];
        if (tb->plan.kind == EMBER_SHARD_REPLICATED || dist_participates(tb, me)) {
            ember_status st = alloc_zero(tabs, s->rows * s->cols, &tb->table);
            if (st == EMBER_STATUS_SUCCESS)
                st = alloc_zero(tabs, shard_state_size(tabs, s), &tb->state);
            if (st != EMBER_STATUS_SUCCESS) return st;
        }
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_dist_tables_create(ember_dist_comm *comm, ember_context *ctx, int64_t num_tables,
                                      const ember_dist_table_spec *specs,
                                      const ember_dist_table_plan *plans,
                                      ember_optimizer_kind optimizer, ember_dist_tables **out) {
    if (!comm || !out) return EMBER_STATUS_INVALID_ARGUMENT;
    *out = NULL;
    if (!ctx || num_tables < 1 || !specs || !plans)
        return dist_error(comm, EMBER_STATUS_INVALID_ARGUMENT,
                          "context, specs or plans missing, or no table");
    ember_status st = check_plans(comm, num_tables, specs, plans, optimizer);
    if (st != EMBER_STATUS_SUCCESS) return st;
    ember_dist_tables *tabs = calloc(1, sizeof *tabs);
    if (tabs) {
        tabs->comm = comm, tabs->ctx = ctx, tabs->optimizer = optimizer;
        tabs->num_tables = num_tables;
        tabs->t = calloc((size_t)num_tables, sizeof *tabs->t);
        tabs->owned_width = calloc((size_t)comm->size, sizeof *tabs->owned_width);
        tabs->counts = calloc((size_t)comm->size * 3, sizeof *tabs->counts);
    }
    if (!tabs || !tabs->t || !tabs->owned_width || !tabs->counts)
        st = dist_error(comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
    else
        st = build(tabs, specs, plans);
    /* One rank out of device memory fails the creation everywhere. */
    st = dist_agree(comm, st, 0, NULL);
    if (st != EMBER_STATUS_SUCCESS) {
        ember_dist_tables_destroy(tabs);
        return st;
    }
    *out = tabs;
    return EMBER_STATUS_SUCCESS;
}

void ember_dist_tables_destroy(ember_dist_tables *tabs) {
    if (!tabs) return;
    dist_routed_clear(tabs);
    for (int64_t t = 0; tabs->t && t < tabs->num_tables; t++) {
        ember_buffer_free(tabs->t[t].table);
        ember_buffer_free(tabs->t[t].state);
        free(tabs->t[t].shards);
        free(tabs->t[t].owned_col);
    }
    free(tabs->t);
    free(tabs->owned_width);
    free(tabs->counts);
    free(tabs);
}

int64_t ember_dist_tables_width(const ember_dist_tables *tabs) {
    return tabs ? tabs->width : 0;
}

void ember_dist_tables_stats(const ember_dist_tables *tabs, ember_dist_step_stats *stats) {
    if (tabs && stats) *stats = tabs->stats;
}

/* Copies the block rows x cols at (row_start, col_start) of a full row-major matrix with
 * `full_cols` columns to or from a packed block (to_block: full -> block). */
static void copy_block(float *full, int64_t full_cols, float *block, const dist_shard *s,
                       int to_block) {
    for (int64_t i = 0; i < s->rows; i++) {
        float *f = full + (s->row_start + i) * full_cols + s->col_start, *b = block + i * s->cols;
        memcpy(to_block ? b : f, to_block ? f : b, (size_t)s->cols * sizeof(float));
    }
}

/* The shard of the state as a block of the full state: Adagrad's is shaped like the table,
 * row-wise Adagrad's is one column. */
static dist_shard state_block(const ember_dist_tables *tabs, const dist_shard *s) {
    if (tabs->optimizer == EMBER_OPTIMIZER_ROWWISE_ADAGRAD)
        return (dist_shard){s->row_start, s->rows, 0, s->rows > 0 && s->cols > 0 ? 1 : 0};
    return *s;
}

static int64_t state_cols(const ember_dist_tables *tabs, const dist_table *tb) {
    return tabs->optimizer == EMBER_OPTIMIZER_ROWWISE_ADAGRAD ? 1 : tb->spec.dim;
}

ember_status ember_dist_tables_set(ember_dist_tables *tabs, int64_t t, const float *table,
                                   const float *state) {
    if (!tabs) return EMBER_STATUS_INVALID_ARGUMENT;
    if (t < 0 || t >= tabs->num_tables || !table)
        return dist_error(tabs->comm, EMBER_STATUS_INVALID_ARGUMENT, "table %lld or data invalid",
                          (long long)t);
    dist_table *tb = &tabs->t[t];
    const dist_shard *s = &tb->shards[tabs->comm->rank];
    ember_status st = EMBER_STATUS_SUCCESS;
    for (int part = 0; part < 2 && st == EMBER_STATUS_SUCCESS; part++) {
        ember_buffer *dst = part == 0 ? tb->table : tb->state;
        const float *src = part == 0 ? table : state;
        if (!dst || !src) continue;
        dist_shard b = part == 0 ? *s : state_block(tabs, s);
        int64_t full_cols = part == 0 ? tb->spec.dim : state_cols(tabs, tb);
        float *block = malloc((size_t)(b.rows * b.cols) * sizeof *block);
        if (!block) return dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
        copy_block((float *)src, full_cols, block, &b, 1);
        st = ember_buffer_upload(tabs->ctx, dst, 0, block,
                                 (size_t)(b.rows * b.cols) * sizeof *block);
        if (st != EMBER_STATUS_SUCCESS)
            dist_error(tabs->comm, st, "table %lld: %s", (long long)t,
                       ember_context_last_error(tabs->ctx));
        free(block);
    }
    return st;
}

/* Gathers one part (0 table, 1 state) of table t from every rank into `full`. */
static ember_status gather_part(ember_dist_tables *tabs, dist_table *tb, int part, float *full) {
    int N = tabs->comm->size, me = tabs->comm->rank;
    int *counts = calloc((size_t)N * 2, sizeof *counts), *displs = counts + N;
    int64_t total = 0;
    ember_status st = counts ? EMBER_STATUS_SUCCESS
                             : dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    /* A replicated table comes from rank 0's copy. */
    for (int r = 0; st == EMBER_STATUS_SUCCESS && r < N; r++) {
        int holds = tb->plan.kind == EMBER_SHARD_REPLICATED ? r == 0 : dist_participates(tb, r);
        dist_shard b = part == 0 ? tb->shards[r] : state_block(tabs, &tb->shards[r]);
        int64_t n = holds ? b.rows * b.cols : 0;
        if (total + n > INT_MAX)
            st = dist_error(tabs->comm, EMBER_STATUS_INVALID_ARGUMENT,
                            "table of %lld floats is too large to gather", (long long)(total + n));
        else
            displs[r] = (int)total, counts[r] = (int)n, total += n;
    }
    float *all =
        st == EMBER_STATUS_SUCCESS ? malloc((size_t)(total > 0 ? total : 1) * sizeof *all) : NULL;
    if (st == EMBER_STATUS_SUCCESS && !all)
        st = dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
    if (st == EMBER_STATUS_SUCCESS && counts[me] > 0) {
        st = ember_buffer_download(tabs->ctx, part == 0 ? tb->table : tb->state, 0,
                                   all + displs[me], (size_t)counts[me] * sizeof(float));
        if (st != EMBER_STATUS_SUCCESS)
            dist_error(tabs->comm, st, "%s", ember_context_last_error(tabs->ctx));
    }
    st = dist_agree(tabs->comm, st, 0, NULL);
    if (st == EMBER_STATUS_SUCCESS)
        st = dist_mpi(tabs->comm,
                      MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, counts, displs,
                                     MPI_FLOAT, tabs->comm->comm),
                      "MPI_Allgatherv");
    for (int r = 0; st == EMBER_STATUS_SUCCESS && r < N; r++) {
        dist_shard b = part == 0 ? tb->shards[r] : state_block(tabs, &tb->shards[r]);
        if (counts[r] > 0)
            copy_block(full, part == 0 ? tb->spec.dim : state_cols(tabs, tb), all + displs[r], &b,
                       0);
    }
    free(all);
    free(counts);
    return st;
}

ember_status ember_dist_tables_get(ember_dist_tables *tabs, int64_t t, float *table, float *state) {
    if (!tabs) return EMBER_STATUS_INVALID_ARGUMENT;
    if (t < 0 || t >= tabs->num_tables || !table)
        return dist_error(tabs->comm, EMBER_STATUS_INVALID_ARGUMENT, "table %lld or data invalid",
                          (long long)t);
    dist_table *tb = &tabs->t[t];
    ember_status st = gather_part(tabs, tb, 0, table);
    if (st == EMBER_STATUS_SUCCESS && state && tabs->optimizer != EMBER_OPTIMIZER_SGD)
        st = gather_part(tabs, tb, 1, state);
    return st;
}

int64_t *dist_indices_to_int64(const void *raw, int64_t n, ember_index_type type) {
    int64_t *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p) return NULL;
    for (int64_t i = 0; i < n; i++)
        p[i] = type == EMBER_INDEX_INT32 ? ((const int32_t *)raw)[i] : ((const int64_t *)raw)[i];
    return p;
}

ember_status dist_upload_int64(ember_dist_tables *tabs, const int64_t *p, int64_t n,
                               ember_buffer **out) {
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof *p;
    ember_status st = ember_buffer_alloc(tabs->ctx, bytes, out);
    if (st == EMBER_STATUS_SUCCESS && n > 0)
        st = ember_buffer_upload(tabs->ctx, *out, 0, p, (size_t)n * sizeof *p);
    if (st != EMBER_STATUS_SUCCESS) {
        dist_error(tabs->comm, st, "staging %lld indices: %s", (long long)n,
                   ember_context_last_error(tabs->ctx));
        ember_buffer_free(*out);
        *out = NULL;
    }
    return st;
}

ember_status dist_alltoallv(ember_dist_tables *tabs, ember_status local, const void *send,
                            const int64_t *scount, void *recv, const int64_t *rcount,
                            MPI_Datatype type, size_t esize) {
    int N = tabs->comm->size, me = tabs->comm->rank;
    int *c = malloc((size_t)N * 4 * sizeof *c);
    if (!c) return dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
    int *sc = c, *sd = c + N, *rc = c + 2 * N, *rd = c + 3 * N;
    int64_t so = 0, ro = 0;
    for (int r = 0; r < N; r++) {
        sc[r] = (int)scount[r], sd[r] = (int)so, rc[r] = (int)rcount[r], rd[r] = (int)ro;
        so += scount[r], ro += rcount[r];
        if (r != me) {
            tabs->stats.bytes_sent += (uint64_t)scount[r] * esize;
            tabs->stats.bytes_received += (uint64_t)rcount[r] * esize;
        }
    }
    ember_status st = local;
    if (st == EMBER_STATUS_SUCCESS && (so > INT_MAX || ro > INT_MAX))
        st = dist_error(
            tabs->comm, EMBER_STATUS_INVALID_ARGUMENT,
            "a step routes more than 2^31 elements through one rank; use smaller batches");
    /* Every rank must know before it enters the all-to-all that no rank stays out: the
     * caller's status and the size check are agreed in one step. */
    st = dist_agree(tabs->comm, st, 0, NULL);
    double t0 = dist_now();
    if (st == EMBER_STATUS_SUCCESS)
        st = dist_mpi(tabs->comm,
                      MPI_Alltoallv(send, sc, sd, type, recv, rc, rd, type, tabs->comm->comm),
                      "MPI_Alltoallv");
    tabs->stats.alltoall_seconds += dist_now() - t0;
    uint64_t payload = (uint64_t)(so > ro ? so : ro) * esize;
    if (payload > tabs->stats.alltoall_bytes_max) tabs->stats.alltoall_bytes_max = payload;
    free(c);
    return st;
}
