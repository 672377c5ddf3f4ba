/* dist_backward.c: the distributed backward fused with the sparse optimizers. Each rank's
 * output gradient travels to the owners of the shards it read (MPI_Alltoallv), which run
 * ember's fused batched backward + update over the global batch kept by the lookup. A
 * replicated table's gradient is each rank's dense backward summed with MPI_Allreduce
 * (with a count of uses per row, so only rows the global batch used are updated), then the
 * same sparse step on every rank, so the replicas stay identical. */
#include "dist_internal.h"

#include <stdlib.h>
#include <string.h>

/* Writes (send != NULL) or counts the gradient blocks for rank d: for each shard d holds,
 * this rank's [B x cols] slice of grad (row-wise MEAN bags divided by their count, as the
 * owner pools them as sums). */
static int64_t pack_grads(const ember_dist_tables *tabs, const float *grad, int d, float *send) {
    int64_t B = tabs->routed.batches[tabs->comm->rank], len = 0;
    for (int64_t t = 0; t < tabs->num_tables; t++) {
        const dist_table *tb = &tabs->t[t];
        if (!dist_participates(tb, d)) continue;
        const dist_shard *s = &tb->shards[d];
        const float *count = tabs->routed.mean_count[t];
        for (int64_t b = 0; send && b < B; b++)
            for (int64_t j = 0; j < s->cols; j++) {
                float g = grad[b * tabs->width + tb->out_col + s->col_start + j];
                send[len + b * s->cols + j] = count ? (count[b] > 0 ? g / count[b] : 0.0f) : g;
            }
        len += B * s->cols;
    }
    return len;
}

/* The owner's [batch_global x owned_width] gradient from every rank's blocks. */
static void unpack_grads(const ember_dist_tables *tabs, const float *recv, float *owned) {
    int me = tabs->comm->rank;
    int64_t W = tabs->owned_width[me];
    const float *from = recv;
    for (int r = 0; r < tabs->comm->size; r++) {
        int64_t B = tabs->routed.batches[r], row0 = tabs->routed.batch_start[r];
        for (int64_t t = 0; t < tabs->num_tables; t++) {
            const dist_table *tb = &tabs->t[t];
            if (!dist_participates(tb, me)) continue;
            int64_t cols = tb->shards[me].cols;
            for (int64_t b = 0; b < B; b++)
                memcpy(owned + (row0 + b) * W + tb->owned_col[me], from + b * cols,
                       (size_t)cols * sizeof *owned);
            from += B * cols;
        }
    }
}

/* Uploads the owner's gradient and runs the fused batched backward + update. */
static ember_status owner_update(ember_dist_tables *tabs, const float *owned,
                                 ember_reduction_mode mode, const ember_optimizer *opt) {
    int64_t W = tabs->owned_width[tabs->comm->rank], rows = tabs->routed.batch_global;
    if (W == 0 || rows == 0) return EMBER_STATUS_SUCCESS;
    dist_owner_args a;
    double t0 = dist_now();
    ember_status st = dist_owner_args_make(tabs, &a);
    if (st != EMBER_STATUS_SUCCESS) return st;
    st = ember_buffer_upload(tabs->ctx, a.rows, 0, owned, a.bytes);
    if (st == EMBER_STATUS_SUCCESS)
        st = ember_embedding_backward_update_batched(
            tabs->ctx, a.count, a.descs, (const ember_buffer *const *)a.idx,
            (const ember_buffer *const *)a.off, NULL, a.rows, mode, opt, a.tables,
            opt->kind == EMBER_OPTIMIZER_SGD ? NULL : a.states);
    if (st == EMBER_STATUS_SUCCESS) st = ember_context_synchronize(tabs->ctx);
    tabs->stats.lookup_seconds += dist_now() - t0;
    if (st != EMBER_STATUS_SUCCESS)
        dist_error(tabs->comm, st, "owner update: %s", ember_context_last_error(tabs->ctx));
    dist_owner_args_free(&a);
    return st;
}

/* Replicated table t: this rank's dense gradient [R x D] and, in column D, how many of
 * its indices named each row (host, R x (D + 1)). */
static ember_status replicated_local_grad(ember_dist_tables *tabs, int64_t t,
                                          const ember_buffer *grad_out, ember_reduction_mode mode,
                                          float *host) {
    const dist_table *tb = &tabs->t[t];
    const dist_routed *rt = &tabs->routed;
    int64_t R = tb->spec.num_rows, D = tb->spec.dim, B = rt->batches[tabs->comm->rank];
    memset(host, 0, (size_t)(R * (D + 1)) * sizeof *host);
    ember_buffer *g = NULL;
    size_t bytes = (size_t)(R * D) * sizeof(float);
    ember_status st = EMBER_STATUS_SUCCESS;
    if (B > 0) {
        ember_lookup_desc d;
        ember_lookup_desc_init(&d, R, D, rt->rep_num_indices[t], B, tb->spec.pooling);
        d.padding_idx = tb->spec.padding_idx;
        d.out_row_stride = tabs->width;
        d.out_col_offset = tb->out_col;
        st = ember_buffer_alloc(tabs->ctx, bytes, &g);
        if (st == EMBER_STATUS_SUCCESS) st = ember_buffer_zero(tabs->ctx, g, 0, bytes);
        if (st == EMBER_STATUS_SUCCESS)
            st = ember_embedding_backward_dense(tabs->ctx, &d, rt->rep_idx[t], rt->rep_off[t], NULL,
                                                grad_out, mode, g);
        float *dense = st == EMBER_STATUS_SUCCESS ? malloc(bytes) : NULL;
        if (st == EMBER_STATUS_SUCCESS && !dense) st = EMBER_STATUS_OUT_OF_MEMORY;
        if (st == EMBER_STATUS_SUCCESS) st = ember_buffer_download(tabs->ctx, g, 0, dense, bytes);
        for (int64_t i = 0; st == EMBER_STATUS_SUCCESS && i < R; i++)
            memcpy(host + i * (D + 1), dense + i * D, (size_t)D * sizeof *host);
        free(dense);
        ember_buffer_free(g);
    }
    for (int64_t p = 0; p < rt->rep_num_indices[t]; p++) {
        int64_t i = rt->rep_host_idx[t][p];
        if (i != tb->spec.padding_idx) host[i * (D + 1) + D] += 1.0f;
    }
    if (st != EMBER_STATUS_SUCCESS)
        dist_error(tabs->comm, st, "table %lld: replicated gradient: %s", (long long)t,
                   ember_context_last_error(tabs->ctx));
    return st;
}

/* The summed gradient (after the all-reduce) applied to the rows any rank used. */
static ember_status replicated_step(ember_dist_tables *tabs, int64_t t, const float *sum,
                                    const ember_optimizer *opt) {
    dist_table *tb = &tabs->t[t];
    int64_t R = tb->spec.num_rows, D = tb->spec.dim, nu = 0;
    int64_t *ids = malloc((size_t)R * sizeof *ids);
    float *g = malloc((size_t)(R * D) * sizeof *g);
    ember_buffer *bid = NULL, *bg = NULL;
    ember_status st = ids && g ? EMBER_STATUS_SUCCESS : EMBER_STATUS_OUT_OF_MEMORY;
    for (int64_t i = 0; st == EMBER_STATUS_SUCCESS && i < R; i++) {
        if (sum[i * (D + 1) + D] == 0.0f) continue;
        ids[nu] = i;
        memcpy(g + nu * D, sum + i * (D + 1), (size_t)D * sizeof *g);
        nu++;
    }
    if (st == EMBER_STATUS_SUCCESS && nu > 0) {
        st = dist_upload_int64(tabs, ids, nu, &bid);
        if (st == EMBER_STATUS_SUCCESS)
            st = ember_buffer_alloc(tabs->ctx, (size_t)(nu * D) * sizeof *g, &bg);
        if (st == EMBER_STATUS_SUCCESS)
            st = ember_buffer_upload(tabs->ctx, bg, 0, g, (size_t)(nu * D) * sizeof *g);
        if (st == EMBER_STATUS_SUCCESS)
            st = ember_sparse_optimizer_step(tabs->ctx, opt, R, D, tb->table,
                                             opt->kind == EMBER_OPTIMIZER_SGD ? NULL : tb->state,
                                             bid, bg, nu);
    }
    if (st != EMBER_STATUS_SUCCESS)
        dist_error(tabs->comm, st, "table %lld: replicated update: %s", (long long)t,
                   ember_context_last_error(tabs->ctx));
    ember_buffer_free(bid);
    ember_buffer_free(bg);
    free(ids);
    free(g);
    return st;
}

/* Every replicated table: local gradient, agreement, all-reduce, the same step everywhere. */
static ember_status replicated_update(ember_dist_tables *tabs, ember_status st,
                                      const ember_buffer *grad_out, ember_reduction_mode mode,
                                      const ember_optimizer *opt) {
    for (int64_t t = 0; t < tabs->num_tables; t++) {
        const dist_table *tb = &tabs->t[t];
        if (tb->plan.kind != EMBER_SHARD_REPLICATED) continue;
        int64_t n = tb->spec.num_rows * (tb->spec.dim + 1);
        float *host = malloc((size_t)n * sizeof *host);
        if (st == EMBER_STATUS_SUCCESS && !host)
            st = dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
        double t0 = dist_now();
        if (st == EMBER_STATUS_SUCCESS) st = replicated_local_grad(tabs, t, grad_out, mode, host);
        tabs->stats.lookup_seconds += dist_now() - t0;
        st = dist_agree(tabs->comm, st, 0, NULL);
        t0 = dist_now();
        if (st == EMBER_STATUS_SUCCESS) /* counts of uses are exact in float below 2^24 */
            st = dist_mpi(
                tabs->comm,
                MPI_Allreduce(MPI_IN_PLACE, host, (int)n, MPI_FLOAT, MPI_SUM, tabs->comm->comm),
                "MPI_Allreduce");
        tabs->stats.alltoall_seconds += dist_now() - t0;
        tabs->stats.bytes_sent += tabs->comm->size > 1 ? (uint64_t)n * sizeof(float) : 0;
        t0 = dist_now();
        if (st == EMBER_STATUS_SUCCESS) st = replicated_step(tabs, t, host, opt);
        tabs->stats.lookup_seconds += dist_now() - t0;
        free(host);
    }
    return st;
}

/* This rank's checks before anything is sent: a routed batch, a valid optimizer and mode,
 * a big enough gradient; the gradient downloaded to the host (B x width). */
static ember_status load_grad(ember_dist_tables *tabs, const ember_buffer *grad_out,
                              ember_reduction_mode mode, const ember_optimizer *opt, float **grad) {
    *grad = NULL;
    if (!tabs->routed.valid)
        return dist_error(tabs->comm, EMBER_STATUS_INVALID_ARGUMENT,
                          "no batch: ember_dist_lookup must come first");
    if (!opt || opt->kind != tabs->optimizer ||
        (mode != EMBER_REDUCTION_ATOMIC && mode != EMBER_REDUCTION_DETERMINISTIC))
        return dist_error(tabs->comm, EMBER_STATUS_INVALID_ARGUMENT,
                          "optimizer missing or not the collection's kind, or mode %d invalid",
                          (int)mode);
    int64_t n = tabs->routed.batches[tabs->comm->rank] * tabs->width;
    if (n > 0 && (!grad_out || ember_buffer_size(grad_out) < (size_t)n * sizeof(float)))
        return dist_error(tabs->comm,
                          grad_out ? EMBER_STATUS_BUFFER_TOO_SMALL : EMBER_STATUS_INVALID_ARGUMENT,
                          "grad_out must hold %lld floats", (long long)n);
    *grad = malloc((size_t)(n > 0 ? n : 1) * sizeof **grad);
    if (!*grad) return dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
    ember_status st =
        n > 0 ? ember_buffer_download(tabs->ctx, grad_out, 0, *grad, (size_t)n * sizeof **grad)
              : EMBER_STATUS_SUCCESS;
    if (st != EMBER_STATUS_SUCCESS)
        dist_error(tabs->comm, st, "grad_out: %s", ember_context_last_error(tabs->ctx));
    return st;
}

ember_status ember_dist_backward_update(ember_dist_tables *tabs, const ember_buffer *grad_out,
                                        ember_reduction_mode mode, const ember_optimizer *opt) {
    if (!tabs) return EMBER_STATUS_INVALID_ARGUMENT;
    double t0 = dist_now();
    int N = tabs->comm->size, me = tabs->comm->rank;
    float *grad = NULL, *send = NULL, *recv = NULL, *owned = NULL;
    ember_status st = load_grad(tabs, grad_out, mode, opt, &grad);
    int64_t *scount = tabs->counts, *rcount = scount + N, stotal = 0, rtotal = 0;
    int routed = tabs->routed.valid; /* the same on every rank: set by an agreed lookup */
    if (routed) {
        for (int r = 0; r < N; r++) {
            stotal += scount[r] = pack_grads(tabs, grad, r, NULL);
            rcount[r] = 0; /* what r sends me: B_r x my shards' columns */
            for (int64_t t = 0; t < tabs->num_tables; t++)
                if (dist_participates(&tabs->t[t], me))
                    rcount[r] += tabs->routed.batches[r] * tabs->t[t].shards[me].cols;
            rtotal += rcount[r];
        }
        send = malloc((size_t)(stotal > 0 ? stotal : 1) * sizeof *send);
        recv = malloc((size_t)(rtotal > 0 ? rtotal : 1) * sizeof *recv);
        owned =
            malloc((size_t)(tabs->routed.batch_global * tabs->owned_width[me] + 1) * sizeof *owned);
        if (st == EMBER_STATUS_SUCCESS && (!send || !recv || !owned))
            st = dist_error(tabs->comm, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
        for (int64_t d = 0, at = 0; st == EMBER_STATUS_SUCCESS && d < N; d++)
            at += pack_grads(tabs, grad, (int)d, send + at);
        /* Agreed first: a bad gradient anywhere stops every rank before any update. */
        st = dist_alltoallv(tabs, st, send, scount, recv, rcount, MPI_FLOAT, sizeof(float));
        if (st == EMBER_STATUS_SUCCESS) {
            unpack_grads(tabs, recv, owned);
            st = owner_update(tabs, owned, mode, opt);
        }
        st = replicated_update(tabs, st, grad_out, mode, opt);
    }
    free(grad), free(send), free(recv), free(owned);
    st = dist_agree(tabs->comm, st, 0, NULL);
    tabs->stats.total_seconds += dist_now() - t0;
    return st;
}
