/* dist_lookup.c: the distributed forward. Validate and agree, route the indices to the
 * owners, let each owner run ember's batched lookup over the global batch of its shards,
 * send each rank its rows back, and assemble [batch_local x width] (row-wise partial sums
 * added in rank order); replicated tables are looked up locally. */
#include "dist_internal.h"

#include <stdlib.h>
#include <string.h>

/* The owner's lookup over all its shards: [batch_global x owned_width] on the host. */
static ember_status owner_lookup(ember_dist_tables *tabs, float *host) {
    int64_t W = tabs->owned_width[tabs->comm->rank], rows = tabs->routed.batch_global;
    if (W == 0 || rows == 0) return EMBER_STATUS_SUCCESS;
    dist_owner_args a;
    double t0 = dist_now();
    ember_status st = dist_owner_args_make(tabs, &a);
    if (st != EMBER_STATUS_SUCCESS) return st;
    st = ember_embedding_lookup_batched(
        tabs->ctx, a.count, a.descs, (const ember_buffer *const *)a.tables,
        (const ember_buffer *const *)a.idx, (const ember_buffer *const *)a.off, NULL, a.rows);
    if (st == EMBER_STATUS_SUCCESS) st = ember_buffer_download(tabs->ctx, a.rows, 0, host, a.bytes);
    tabs->stats.lookup_seconds += dist_now() - t0;
    if (st != EMBER_STATUS_SUCCESS)
        dist_error(tabs->comm, st, "owner lookup: %s", ember_context_last_error(tabs->ctx));
    dist_owner_args_free(&a);
    return st;
}

/* Adds (or, for the first contribution, copies) a block's rows into the output columns. */
static void place_block(float *dst, int64_t dst_stride, const float *src, int64_t src_stride,
                        int64_t rows, int64_t cols, int add) {
    for (int64_t b = 0; b < rows; b++) {
        float *d = dst + b * dst_stride;
        const float *s = src + b * src_stride;
        if (add)
            for (int64_t j = 0; j < cols; j++) d[j] += s[j];
        else
            memcpy(d, s, (size_t)cols * sizeof *d);
    }
}

/* The local [B x width] output from the blocks every owner sent back (recv: from rank d,
 * B x owned_width[d] floats). Replicated columns are left for the local lookup. */
static void assemble(const ember_dist_tables *tabs, const float *recv, float *host) {
    int N = tabs->comm->size;
    int64_t B = tabs->routed.batches[tabs->comm->rank];
    memset(host, 0, (size_t)(B * tabs->width) * sizeof *host);
    for (int64_t t = 0; t < tabs->num_tables; t++) {
        const dist_table *tb = &tabs->t[t];
        int first = 1;
        const float *from = recv;
        for (int d = 0; d < N; from += B * tabs->owned_width[d], d++) {
            if (!dist_participates(tb, d)) continue;
            const dist_shard *s = &tb->shards[d];
            place_block(host + tb->out_col + s->col_start, tabs->width, from + tb->owned_col[d],
                        tabs->owned_width[d], B, s->cols,
                        tb->plan.kind == EMBER_SHARD_ROW_WISE && !first);
            first = 0;
        }
        const float *count = tabs->routed.mean_count[t];
        for (int64_t b = 0; count && b < B; b++)
            for (int64_t j = 0; count[b] > 0 && j < tb->spec.dim; j++)
                host[b * tabs->width + tb->out_col + j] /= count[b]; /* sum, then / count */
    }
}

/* The replicated tables, looked up locally straight into `out`'s columns. */
static ember_status replicated_lookup(ember_dist_tables *tabs, ember_buffer *out) {
    int64_t T = tabs->num_tables, B = tabs->routed.batches[tabs->comm->rank], k = 0;
    ember_lookup_desc *descs = malloc((size_t)T * sizeof *descs);
    const ember_buffer **bufs = malloc((size_t)T * 3 * sizeof *bufs);
    ember_status st = EMBER_STATUS_SUCCESS;
    if (!descs || !bufs) st = dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    for (int64_t t = 0; st == EMBER_STATUS_SUCCESS && t < T; t++) {
        const dist_table *tb = &tabs->t[t];
        if (tb->plan.kind != EMBER_SHARD_REPLICATED) continue;
        ember_lookup_desc_init(&descs[k], tb->spec.num_rows, tb->spec.dim,
                               tabs->routed.rep_num_indices[t], B, tb->spec.pooling);
        descs[k].padding_idx = tb->spec.padding_idx;
        descs[k].out_row_stride = tabs->width;
        descs[k].out_col_offset = tb->out_col;
        bufs[k] = tb->table, bufs[T + k] = tabs->routed.rep_idx[t];
        bufs[2 * T + k] = tabs->routed.rep_off[t];
        k++;
    }
    if (st == EMBER_STATUS_SUCCESS && k > 0 && B > 0) {
        st = ember_embedding_lookup_batched(tabs->ctx, k, descs, bufs, bufs + T, bufs + 2 * T, NULL,
                                            out);
        if (st != EMBER_STATUS_SUCCESS)
            dist_error(tabs->comm, st, "replicated lookup: %s",
                       ember_context_last_error(tabs->ctx));
    }
    free(descs);
    free(bufs);
    return st;
}

/* The rows of every rank's bags back to it, and this rank's output from them. */
static ember_status return_rows(ember_dist_tables *tabs, ember_status st, const float *owned,
                                ember_buffer *out) {
    int N = tabs->comm->size, me = tabs->comm->rank;
    const dist_routed *rt = &tabs->routed;
    int64_t W = tabs->owned_width[me], B = rt->batches[me], rtotal = 0;
    int64_t *scount = tabs->counts, *rcount = scount + N;
    for (int r = 0; r < N; r++) {
        scount[r] = rt->batches[r] * W; /* rows [batch_start[r], +batches[r]) of owned */
        rcount[r] = B * tabs->owned_width[r];
        rtotal += rcount[r];
    }
    float *recv = malloc((size_t)(rtotal > 0 ? rtotal : 1) * sizeof *recv);
    float *host = malloc((size_t)(B * tabs->width > 0 ? B * tabs->width : 1) * sizeof *host);
    if (st == EMBER_STATUS_SUCCESS && (!recv || !host))
        st = dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
    st = dist_alltoallv(tabs, st, owned, scount, recv, rcount, MPI_FLOAT, sizeof(float));
    if (st == EMBER_STATUS_SUCCESS && B > 0) {
        assemble(tabs, recv, host);
        double t0 = dist_now();
        st = ember_buffer_upload(tabs->ctx, out, 0, host, (size_t)(B * tabs->width) * sizeof *host);
        if (st != EMBER_STATUS_SUCCESS)
            dist_error(tabs->comm, st, "output: %s", ember_context_last_error(tabs->ctx));
        else
            st = replicated_lookup(tabs, out);
        tabs->stats.lookup_seconds += dist_now() - t0;
    }
    free(recv);
    free(host);
    return st;
}

ember_status ember_dist_lookup(ember_dist_tables *tabs, int64_t batch_local,
                               const int64_t *num_indices, const ember_buffer *const *indices,
                               const ember_buffer *const *offsets, ember_buffer *out) {
    if (!tabs) return EMBER_STATUS_INVALID_ARGUMENT;
    double t0 = dist_now();
    memset(&tabs->stats, 0, sizeof tabs->stats);
    dist_routed_clear(tabs);
    dist_local_batch lb;
    ember_status st =
        dist_local_batch_load(tabs, batch_local, num_indices, indices, offsets, out, &lb);
    ember_status alloc = dist_routed_alloc(tabs);
    if (st == EMBER_STATUS_SUCCESS) st = alloc;
    /* Nothing has been sent or written yet: a bad index anywhere stops every rank here. */
    st = dist_agree(tabs->comm, st, batch_local, tabs->routed.batches);
    float *owned = NULL;
    if (st == EMBER_STATUS_SUCCESS) { /* on every rank */
        st = dist_route_indices(tabs, &lb);
        int64_t n = tabs->routed.batch_global * tabs->owned_width[tabs->comm->rank];
        if (st == EMBER_STATUS_SUCCESS) {
            owned = malloc((size_t)(n > 0 ? n : 1) * sizeof *owned);
            st = owned ? owner_lookup(tabs, owned)
                       : dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
        }
        /* return_rows agrees on every rank's status before its all-to-all. */
        st = return_rows(tabs, st, owned, out);
    }
    free(owned);
    dist_local_batch_free(&lb, tabs->num_tables);
    st = dist_agree(tabs->comm, st, 0, NULL);
    if (st != EMBER_STATUS_SUCCESS) dist_routed_clear(tabs);
    tabs->stats.total_seconds = dist_now() - t0;
    return st;
}
