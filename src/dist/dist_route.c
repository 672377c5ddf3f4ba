/* dist_route.c: a rank's batch on its way to the owners: downloaded and validated (before
 * anything is sent or written), then each index sent to the ranks holding its row with one
 * MPI_Alltoallv, and the owners' view of the global batch kept for the backward. */
#include "dist_internal.h"

#include <stdlib.h>
#include <string.h>

void dist_local_batch_free(dist_local_batch *lb, int64_t num_tables) {
    for (int64_t t = 0; lb->idx && t < num_tables; t++) free(lb->idx[t]), free(lb->off[t]);
    free(lb->idx);
    free(lb->off);
    free(lb->num_indices);
    memset(lb, 0, sizeof *lb);
}

/* Downloads n indices of `type` from buf (checked to be big enough) as int64. */
static ember_status download_int64(ember_dist_tables *tabs, int64_t t, const char *what,
                                   const ember_buffer *buf, int64_t n, ember_index_type type,
                                   int64_t **out) {
    size_t esize = type == EMBER_INDEX_INT32 ? 4 : 8, bytes = (size_t)n * esize;
    if (n > 0 && (!buf || ember_buffer_size(buf) < bytes))
        return dist_error(tabs->comm,
                          buf ? EMBER_STATUS_BUFFER_TOO_SMALL : EMBER_STATUS_INVALID_ARGUMENT,
                          "table %lld: %s buffer %s (%lld entries needed)", (long long)t, what,
                          buf ? "too small" : "is NULL", (long long)n);
    void *raw = malloc(bytes > 0 ? bytes : 1);
    if (!raw) return dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
    ember_status st =
        n > 0 ? ember_buffer_download(tabs->ctx, buf, 0, raw, bytes) : EMBER_STATUS_SUCCESS;
    if (st != EMBER_STATUS_SUCCESS)
        dist_error(tabs->comm, st, "table %lld: %s: %s", (long long)t, what,
                   ember_context_last_error(tabs->ctx));
    else if (!(*out = dist_indices_to_int64(raw, n, type)))
        st = dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
    free(raw);
    return st;
}

/* The same checks, and the same messages, as the single-process ops. */
static ember_status check_table_batch(ember_dist_tables *tabs, int64_t t, const int64_t *idx,
                                      int64_t n, const int64_t *off, int64_t B) {
    const ember_dist_table_spec *s = &tabs->t[t].spec;
    if (off[0] != 0)
        return dist_error(tabs->comm, EMBER_STATUS_BAD_OFFSETS,
                          "table %lld: offsets[0] = %lld, "
                          "must be 0",
                          (long long)t, (long long)off[0]);
    for (int64_t b = 1; b <= B; b++)
        if (off[b] < off[b - 1])
            return dist_error(tabs->comm, EMBER_STATUS_BAD_OFFSETS,
                              "table %lld: offsets[%lld] = "
                              "%lld is less than offsets[%lld] = %lld",
                              (long long)t, (long long)b, (long long)off[b], (long long)(b - 1),
                              (long long)off[b - 1]);
    if (off[B] != n)
        return dist_error(tabs->comm, EMBER_STATUS_BAD_OFFSETS,
                          "table %lld: offsets[%lld] = %lld, "
                          "must equal num_indices = %lld",
                          (long long)t, (long long)B, (long long)off[B], (long long)n);
    for (int64_t i = 0; i < n; i++)
        if ((idx[i] < 0 || idx[i] >= s->num_rows) && idx[i] != s->padding_idx)
            return dist_error(tabs->comm, EMBER_STATUS_INDEX_OUT_OF_RANGE,
                              "table %lld: index "
                              "%lld at position %lld is out of range [0, %lld)",
                              (long long)t, (long long)idx[i], (long long)i,
                              (long long)s->num_rows);
    return EMBER_STATUS_SUCCESS;
}

static ember_status load_table(ember_dist_tables *tabs, int64_t t, int64_t B, int64_t n,
                               const ember_buffer *indices, const ember_buffer *offsets,
                               dist_local_batch *lb) {
    const ember_dist_table_spec *s = &tabs->t[t].spec;
    if (n < 0 || (s->pooling == EMBER_POOLING_NONE && n != B))
        return dist_error(tabs->comm, EMBER_STATUS_SHAPE_MISMATCH,
                          "table %lld: num_indices = %lld "
                          "with batch %lld",
                          (long long)t, (long long)n, (long long)B);
    ember_status st = download_int64(tabs, t, "indices", indices, n, s->index_type, &lb->idx[t]);
    if (st != EMBER_STATUS_SUCCESS) return st;
    lb->num_indices[t] = n;
    if (s->pooling == EMBER_POOLING_NONE) {
        if (!(lb->off[t] = malloc((size_t)(B + 1) * sizeof(int64_t))))
            return dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
        for (int64_t b = 0; b <= B; b++) lb->off[t][b] = b;
    } else {
        st = download_int64(tabs, t, "offsets", offsets, B + 1, s->index_type, &lb->off[t]);
        if (st != EMBER_STATUS_SUCCESS) return st;
    }
    return check_table_batch(tabs, t, lb->idx[t], n, lb->off[t], B);
}

ember_status dist_local_batch_load(ember_dist_tables *tabs, int64_t batch,
                                   const int64_t *num_indices, const ember_buffer *const *indices,
                                   const ember_buffer *const *offsets, const ember_buffer *out,
                                   dist_local_batch *lb) {
    int64_t T = tabs->num_tables;
    memset(lb, 0, sizeof *lb);
    lb->batch = batch;
    if (batch < 0 || !num_indices || !indices)
        return dist_error(tabs->comm, EMBER_STATUS_INVALID_ARGUMENT,
                          "batch %lld negative, or num_indices or indices NULL", (long long)batch);
    if (batch > 0 &&
        (!out || ember_buffer_size(out) < (size_t)(batch * tabs->width) * sizeof(float)))
        return dist_error(
            tabs->comm, out ? EMBER_STATUS_BUFFER_TOO_SMALL : EMBER_STATUS_INVALID_ARGUMENT,
            "out must hold %lld x %lld floats", (long long)batch, (long long)tabs->width);
    lb->idx = calloc((size_t)T, sizeof *lb->idx);
    lb->off = calloc((size_t)T, sizeof *lb->off);
    lb->num_indices = calloc((size_t)T, sizeof *lb->num_indices);
    if (!lb->idx || !lb->off || !lb->num_indices)
        return dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
    for (int64_t t = 0; t < T; t++) {
        ember_status st =
            load_table(tabs, t, batch, num_indices[t], indices[t], offsets ? offsets[t] : NULL, lb);
        if (st != EMBER_STATUS_SUCCESS) return st;
    }
    return EMBER_STATUS_SUCCESS;
}

/* Row-wise shards get only their rows (renumbered from 0) and never the padding index;
 * the others get every index. */
static int routes_to(const dist_table *tb, int d, int64_t i, int64_t *local) {
    const dist_shard *s = &tb->shards[d];
    if (tb->plan.kind != EMBER_SHARD_ROW_WISE) {
        *local = i;
        return 1;
    }
    *local = i - s->row_start;
    return i != tb->spec.padding_idx && i >= s->row_start && i < s->row_start + s->rows;
}

/* Writes (send != NULL) or counts the message to rank d: for each table d holds a shard of,
 * this rank's offsets (batch + 1) and then the indices d gets. Returns its length. */
static int64_t pack_for(const ember_dist_tables *tabs, const dist_local_batch *lb, int d,
                        int64_t *send) {
    int64_t len = 0, B = lb->batch;
    for (int64_t t = 0; t < tabs->num_tables; t++) {
        const dist_table *tb = &tabs->t[t];
        if (!dist_participates(tb, d)) continue;
        int64_t *off = send ? send + len : NULL, *idx = off ? off + B + 1 : NULL, n = 0, local;
        for (int64_t b = 0; b < B; b++) {
            if (off) off[b] = n;
            for (int64_t p = lb->off[t][b]; p < lb->off[t][b + 1]; p++)
                if (routes_to(tb, d, lb->idx[t][p], &local)) {
                    if (idx) idx[n] = local;
                    n++;
                }
        }
        if (off) off[B] = n;
        len += B + 1 + n;
    }
    return len;
}

ember_status dist_routed_alloc(ember_dist_tables *tabs) {
    dist_routed *rt = &tabs->routed;
    int64_t T = tabs->num_tables, N = tabs->comm->size;
    rt->batches = calloc((size_t)N, sizeof *rt->batches);
    rt->batch_start = calloc((size_t)N, sizeof *rt->batch_start);
    rt->idx = calloc((size_t)T, sizeof *rt->idx);
    rt->off = calloc((size_t)T, sizeof *rt->off);
    rt->num_idx = calloc((size_t)T, sizeof *rt->num_idx);
    rt->rep_idx = calloc((size_t)T, sizeof *rt->rep_idx);
    rt->rep_off = calloc((size_t)T, sizeof *rt->rep_off);
    rt->rep_host_idx = calloc((size_t)T, sizeof *rt->rep_host_idx);
    rt->rep_num_indices = calloc((size_t)T, sizeof *rt->rep_num_indices);
    rt->mean_count = calloc((size_t)T, sizeof *rt->mean_count);
    if (!rt->batches || !rt->batch_start || !rt->idx || !rt->off || !rt->num_idx || !rt->rep_idx ||
        !rt->rep_off || !rt->rep_host_idx || !rt->rep_num_indices || !rt->mean_count)
        return dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
    return EMBER_STATUS_SUCCESS;
}

void dist_routed_clear(ember_dist_tables *tabs) {
    dist_routed *rt = &tabs->routed;
    for (int64_t t = 0; t < tabs->num_tables; t++) {
        if (rt->idx) ember_buffer_free(rt->idx[t]), ember_buffer_free(rt->off[t]);
        if (rt->rep_idx) ember_buffer_free(rt->rep_idx[t]), ember_buffer_free(rt->rep_off[t]);
        if (rt->rep_host_idx) free(rt->rep_host_idx[t]);
        if (rt->mean_count) free(rt->mean_count[t]);
    }
    free(rt->batches), free(rt->batch_start), free(rt->idx), free(rt->off), free(rt->num_idx);
    free(rt->rep_idx), free(rt->rep_off), free(rt->rep_host_idx), free(rt->rep_num_indices);
    free(rt->mean_count);
    memset(rt, 0, sizeof *rt);
}

/* From every rank's message, this rank's shard of table t over the global batch (bags in
 * rank order): offsets (batch_global + 1) and indices, uploaded to the context. */
static ember_status unpack_table(ember_dist_tables *tabs, int64_t t, const int64_t *recv,
                                 int64_t *cursor) {
    dist_routed *rt = &tabs->routed;
    int N = tabs->comm->size;
    int64_t n = 0, *off = malloc((size_t)(rt->batch_global + 1) * sizeof *off);
    for (int r = 0; r < N; r++) n += recv[cursor[r] + rt->batches[r]];
    int64_t *idx = malloc((size_t)(n > 0 ? n : 1) * sizeof *idx);
    ember_status st = EMBER_STATUS_SUCCESS;
    if (!off || !idx) st = dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
    for (int64_t r = 0, g = 0, m = 0; st == EMBER_STATUS_SUCCESS && r < N; r++) {
        const int64_t *ro = recv + cursor[r], B = rt->batches[r], *ri = ro + B + 1;
        for (int64_t b = 0; b < B; b++) off[g++] = m + ro[b];
        memcpy(idx + m, ri, (size_t)ro[B] * sizeof *idx);
        m += ro[B];
        cursor[r] += B + 1 + ro[B];
        if (r == N - 1) off[g] = m;
    }
    if (st == EMBER_STATUS_SUCCESS) {
        rt->num_idx[t] = n;
        st = dist_upload_int64(tabs, idx, n, &rt->idx[t]);
        /* POOLING_NONE on a whole-row shard keeps one index per bag and needs no offsets. */
        int none = tabs->t[t].spec.pooling == EMBER_POOLING_NONE &&
                   tabs->t[t].plan.kind != EMBER_SHARD_ROW_WISE;
        if (st == EMBER_STATUS_SUCCESS && !none)
            st = dist_upload_int64(tabs, off, rt->batch_global + 1, &rt->off[t]);
    }
    free(off);
    free(idx);
    return st;
}

/* What this rank keeps of its own batch: the replicated tables' indices (looked up
 * locally) and, for row-wise MEAN tables, 1 / (indices in the bag) per bag. */
static ember_status keep_local(ember_dist_tables *tabs, const dist_local_batch *lb) {
    dist_routed *rt = &tabs->routed;
    for (int64_t t = 0; t < tabs->num_tables; t++) {
        const dist_table *tb = &tabs->t[t];
        if (tb->plan.kind == EMBER_SHARD_REPLICATED) {
            int64_t n = lb->num_indices[t];
            rt->rep_num_indices[t] = n;
            rt->rep_host_idx[t] = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
            if (!rt->rep_host_idx[t])
                return dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
            memcpy(rt->rep_host_idx[t], lb->idx[t], (size_t)n * sizeof(int64_t));
            ember_status st = dist_upload_int64(tabs, lb->idx[t], n, &rt->rep_idx[t]);
            if (st == EMBER_STATUS_SUCCESS && tb->spec.pooling != EMBER_POOLING_NONE)
                st = dist_upload_int64(tabs, lb->off[t], lb->batch + 1, &rt->rep_off[t]);
            if (st != EMBER_STATUS_SUCCESS) return st;
        } else if (tb->plan.kind == EMBER_SHARD_ROW_WISE &&
                   tb->spec.pooling == EMBER_POOLING_MEAN) {
            float *count = rt->mean_count[t] =
                malloc((size_t)(lb->batch > 0 ? lb->batch : 1) * sizeof *count);
            if (!count)
                return dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
            for (int64_t b = 0; b < lb->batch; b++) {
                count[b] = 0;
                for (int64_t p = lb->off[t][b]; p < lb->off[t][b + 1]; p++)
                    count[b] += lb->idx[t][p] != tb->spec.padding_idx;
            }
        }
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status dist_route_indices(ember_dist_tables *tabs, const dist_local_batch *lb) {
    int N = tabs->comm->size, me = tabs->comm->rank;
    dist_routed *rt = &tabs->routed;
    int64_t *scount = tabs->counts, *rcount = scount + N, *cursor = scount + 2 * N, stotal = 0,
            rtotal = 0;
    for (int r = 0; r < N; r++) {
        rt->batch_start[r] = rt->batch_global;
        rt->batch_global += rt->batches[r];
    }
    for (int d = 0; d < N; d++) stotal += scount[d] = pack_for(tabs, lb, d, NULL);
    ember_status st = dist_mpi(
        tabs->comm, MPI_Alltoall(scount, 1, MPI_INT64_T, rcount, 1, MPI_INT64_T, tabs->comm->comm),
        "MPI_Alltoall");
    for (int r = 0; r < N; r++) cursor[r] = rtotal, rtotal += rcount[r];
    int64_t *send = malloc((size_t)(stotal > 0 ? stotal : 1) * sizeof *send);
    int64_t *recv = malloc((size_t)(rtotal > 0 ? rtotal : 1) * sizeof *recv);
    if (st == EMBER_STATUS_SUCCESS && (!send || !recv))
        st = dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
    for (int64_t d = 0, at = 0; st == EMBER_STATUS_SUCCESS && d < N; d++)
        at += pack_for(tabs, lb, (int)d, send + at);
    st = dist_alltoallv(tabs, st, send, scount, recv, rcount, MPI_INT64_T, sizeof(int64_t));
    for (int64_t t = 0; st == EMBER_STATUS_SUCCESS && t < tabs->num_tables; t++)
        if (dist_participates(&tabs->t[t], me)) st = unpack_table(tabs, t, recv, cursor);
    if (st == EMBER_STATUS_SUCCESS) st = keep_local(tabs, lb);
    if (st == EMBER_STATUS_SUCCESS) rt->valid = 1;
    free(send);
    free(recv);
    return st;
}

void dist_owner_args_free(dist_owner_args *a) {
    ember_buffer_free(a->rows);
    free(a->descs);
    free(a->tables);
    memset(a, 0, sizeof *a);
}

ember_status dist_owner_args_make(ember_dist_tables *tabs, dist_owner_args *a) {
    int me = tabs->comm->rank;
    int64_t T = tabs->num_tables;
    const dist_routed *rt = &tabs->routed;
    memset(a, 0, sizeof *a);
    a->descs = malloc((size_t)T * sizeof *a->descs);
    a->tables = malloc((size_t)T * 4 * sizeof *a->tables);
    if (!a->descs || !a->tables) {
        dist_owner_args_free(a);
        return dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
    }
    a->states = a->tables + T, a->idx = a->tables + 2 * T, a->off = a->tables + 3 * T;
    for (int64_t t = 0; t < T; t++) {
        const dist_table *tb = &tabs->t[t];
        if (!dist_participates(tb, me)) continue;
        const dist_shard *s = &tb->shards[me];
        int row_wise = tb->plan.kind == EMBER_SHARD_ROW_WISE;
        int64_t k = a->count++;
        /* Row-wise owners return partial sums: the requester divides MEAN bags by their
         * count, and the padding index never reaches them. */
        ember_pooling pooling = row_wise ? EMBER_POOLING_SUM : tb->spec.pooling;
        ember_lookup_desc_init(&a->descs[k], s->rows, s->cols, rt->num_idx[t], rt->batch_global,
                               pooling);
        a->descs[k].padding_idx = row_wise ? -1 : tb->spec.padding_idx;
        a->descs[k].out_row_stride = tabs->owned_width[me];
        a->descs[k].out_col_offset = tb->owned_col[me];
        a->tables[k] = tb->table, a->states[k] = tb->state;
        a->idx[k] = rt->idx[t], a->off[k] = rt->off[t];
    }
    a->bytes = (size_t)(rt->batch_global * tabs->owned_width[me]) * sizeof(float);
    ember_status st = ember_buffer_alloc(tabs->ctx, a->bytes, &a->rows);
    if (st != EMBER_STATUS_SUCCESS) {
        dist_error(tabs->comm, st, "owner rows: %s", ember_context_last_error(tabs->ctx));
        dist_owner_args_free(a);
    }
    return st;
}
