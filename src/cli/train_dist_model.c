/* train_dist_model.c: the sharded Wide&Deep model's buffers, its forward and its training
 * step; see train_dist_model.h (the parameters in and out: train_dist_state.c). */
#include "train_dist_model_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ember_status dist_wd_agree(ember_dist_comm *comm, ember_status st, ember_model_err *err) {
    int rank = ember_dist_comm_rank(comm), size = ember_dist_comm_size(comm);
    int mine = st != EMBER_STATUS_SUCCESS ? rank : size, first = size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == size) return EMBER_STATUS_SUCCESS;
    int status = (int)st;
    char msg[sizeof err->msg];
    if (rank == first) snprintf(msg, sizeof msg, "rank %d: %.1500s", rank, err->msg);
    MPI_Bcast(&status, 1, MPI_INT, first, MPI_COMM_WORLD);
    MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, MPI_COMM_WORLD);
    return ember_merr(err, (ember_status)status, "%s", msg);
}

/* A failed libember_dist call: the same status and message on every rank. */
static ember_status dist_failed(dist_wd *d, ember_status st, const char *what,
                                ember_model_err *err) {
    return ember_merr(err, st, "%s: %s: %s", what, ember_status_name(st),
                      ember_dist_last_error(d->comm));
}

ember_status dist_wd_alloc(dist_wd *d, ember_buffer **out, int64_t floats, int zero,
                           ember_model_err *err) {
    size_t bytes = (size_t)(floats > 0 ? floats : 1) * sizeof(float);
    DCALL(ember_buffer_alloc(d->ctx, bytes, out), "allocating %zu bytes", bytes);
    if (zero) DCALL(ember_buffer_zero(d->ctx, *out, 0, bytes), "zeroing %zu bytes", bytes);
    return EMBER_STATUS_SUCCESS;
}

void dist_wd_free(dist_wd *d) {
    if (d == NULL) return;
    ember_dist_tables_destroy(d->deep);
    ember_dist_tables_destroy(d->wide);
    for (int f = 0; d->idx && f < d->F; f++) {
        ember_buffer_free(d->idx[f]);
        ember_buffer_free(d->offs[f]);
    }
    free(d->idx);
    free(d->offs);
    free(d->idx_floats);
    free(d->num_idx);
    free(d->offs_arg);
    ember_buffer *one[] = {d->wide_idx,  d->wide_offs, d->deep_out, d->wide_out,
                           d->deep_grad, d->wide_grad, d->labels,   d->probs};
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) ember_buffer_free(one[i]);
    for (int i = 0; i <= MAX_LAYERS; i++) {
        ember_buffer_free(d->a[i]);
        ember_buffer_free(d->g[i]);
    }
    for (int i = 0; i < MAX_LAYERS; i++) {
        ember_buffer *layer[] = {d->W[i],  d->bias[i], d->dW[i], d->db[i],
                                 d->sW[i], d->sW2[i],  d->sb[i], d->sb2[i]};
        for (size_t k = 0; k < sizeof layer / sizeof layer[0]; k++) ember_buffer_free(layer[k]);
    }
    free(d->host);
    free(d->pack);
    free(d);
}

/* Grows an index buffer to hold `count` int64 ids (a bag field's ids vary per batch). */
static ember_status ensure_idx(dist_wd *d, ember_buffer **buf, int64_t *have, int64_t count,
                               ember_model_err *err) {
    if (count <= *have && *buf != NULL) return EMBER_STATUS_SUCCESS;
    ember_buffer_free(*buf);
    *buf = NULL;
    int64_t want = count * 2 > 16 ? count * 2 : 16;
    DCALL(ember_buffer_alloc(d->ctx, (size_t)want * sizeof(int64_t), buf), "allocating %lld ids",
          (long long)want);
    *have = want;
    return EMBER_STATUS_SUCCESS;
}

/* This rank's ids and offsets onto the device (local: the caller agrees). A rank without
 * rows this batch sends the offsets {0} (its batch's arrays may never have been written). */
static ember_status upload_batch(dist_wd *d, const ember_batch *b, ember_model_err *err) {
    const int64_t n = b->n;
    const size_t I = sizeof(int64_t);
    static const int64_t no_rows[1] = {0};
    for (int f = 0; f < d->F; f++) {
        const int64_t *offs = n > 0 ? b->deep_offs[f] : no_rows;
        d->num_idx[f] = b->deep_multi[f] ? offs[n] : n;
        EMBER_FORWARD_IF_ERROR(ensure_idx(d, &d->idx[f], &d->idx_floats[f], d->num_idx[f], err));
        if (d->num_idx[f] > 0)
            DCALL(ember_buffer_upload(d->ctx, d->idx[f], 0, b->deep_ids[f],
                                      (size_t)d->num_idx[f] * I),
                  "uploading the ids of field %d", f);
        if (b->deep_multi[f])
            DCALL(ember_buffer_upload(d->ctx, d->offs[f], 0, offs, (size_t)(n + 1) * I),
                  "uploading the offsets of field %d", f);
    }
    const int64_t *wide_offs = n > 0 ? b->wide_offs : no_rows;
    d->num_wide = wide_offs[n];
    EMBER_FORWARD_IF_ERROR(ensure_idx(d, &d->wide_idx, &d->wide_idx_floats, d->num_wide, err));
    if (d->num_wide > 0)
        DCALL(ember_buffer_upload(d->ctx, d->wide_idx, 0, b->wide_ids, (size_t)d->num_wide * I),
              "uploading the wide ids");
    DCALL(ember_buffer_upload(d->ctx, d->wide_offs, 0, wide_offs, (size_t)(n + 1) * I),
          "uploading the wide offsets");
    return EMBER_STATUS_SUCCESS;
}

/* Uploads the batch (agreed) and runs both distributed lookups. */
static ember_status lookups(dist_wd *d, const ember_batch *b, ember_model_err *err) {
    ember_status st = upload_batch(d, b, err);
    EMBER_FORWARD_IF_ERROR(dist_wd_agree(d->comm, st, err));
    const int64_t n = b->n;
    if (d->F > 0) {
        const ember_buffer **offs = d->offs_arg;
        for (int f = 0; f < d->F; f++) offs[f] = b->deep_multi[f] ? d->offs[f] : NULL;
        st = ember_dist_lookup(d->deep, n, d->num_idx, (const ember_buffer *const *)d->idx, offs,
                               d->deep_out);
        if (st != EMBER_STATUS_SUCCESS) return dist_failed(d, st, "embedding lookup", err);
    }
    const ember_buffer *wi = d->wide_idx, *wo = d->wide_offs;
    st = ember_dist_lookup(d->wide, n, &d->num_wide, &wi, &wo, d->wide_out);
    if (st != EMBER_STATUS_SUCCESS) return dist_failed(d, st, "wide lookup", err);
    return EMBER_STATUS_SUCCESS;
}

/* After the lookups, on this rank alone: x0 = [embeddings | numeric], the dense layers, and
 * the wide part added to the logits (a[nl]). Host staging: x0 is assembled on the host. */
static ember_status local_forward(dist_wd *d, const ember_batch *b, ember_model_err *err) {
    const int64_t n = b->n, Fd = (int64_t)d->F * d->dim, nn = d->fx->n_num;
    float *x0 = d->host, *deep = d->host + d->cap * d->n[0];
    if (Fd > 0)
        DCALL(ember_buffer_download(d->ctx, d->deep_out, 0, deep, (size_t)(n * Fd) * sizeof(float)),
              "downloading the embeddings");
    for (int64_t i = 0; i < n; i++) {
        memcpy(x0 + i * d->n[0], deep + i * Fd, (size_t)Fd * sizeof(float));
        memcpy(x0 + i * d->n[0] + Fd, b->num + i * nn, (size_t)nn * sizeof(float));
    }
    DCALL(ember_buffer_upload(d->ctx, d->a[0], 0, x0, (size_t)(n * d->n[0]) * sizeof(float)),
          "uploading the deep input");
    for (int i = 0; i < d->nl; i++)
        DCALL(ember_dense_forward(d->ctx, n, d->n[i], d->n[i + 1], d->a[i], d->W[i], d->bias[i],
                                  i < d->nl - 1 ? EMBER_ACTIVATION_RELU : EMBER_ACTIVATION_NONE,
                                  d->a[i + 1]),
              "dense forward of layer %d", i);
    float *logit = deep, *wide = deep + n;
    DCALL(ember_buffer_download(d->ctx, d->a[d->nl], 0, logit, (size_t)n * sizeof(float)),
          "downloading the logits");
    DCALL(ember_buffer_download(d->ctx, d->wide_out, 0, wide, (size_t)n * sizeof(float)),
          "downloading the wide part");
    for (int64_t i = 0; i < n; i++) logit[i] += wide[i];
    DCALL(ember_buffer_upload(d->ctx, d->a[d->nl], 0, logit, (size_t)n * sizeof(float)),
          "uploading the logits");
    return EMBER_STATUS_SUCCESS;
}

/* After the lookups, on this rank alone: the probabilities of its rows. */
static ember_status local_probabilities(dist_wd *d, const ember_batch *b, float *probs,
                                        ember_model_err *err) {
    EMBER_FORWARD_IF_ERROR(local_forward(d, b, err));
    DCALL(ember_sigmoid(d->ctx, b->n, d->a[d->nl], d->probs), "sigmoid");
    DCALL(ember_buffer_download(d->ctx, d->probs, 0, probs, (size_t)b->n * sizeof(float)),
          "downloading probabilities");
    return EMBER_STATUS_SUCCESS;
}

ember_status dist_wd_predict(dist_wd *d, const ember_batch *b, float *probs, ember_model_err *err) {
    EMBER_FORWARD_IF_ERROR(lookups(d, b, err));
    ember_status st = b->n > 0 ? local_probabilities(d, b, probs, err) : EMBER_STATUS_SUCCESS;
    return dist_wd_agree(d->comm, st, err);
}

/* This rank's share of the step before the sum over ranks: forward, the BCE gradient of
 * the global mean loss (scaled by n / n_global), the dense backward, and the weight
 * gradients and the loss packed for the all-reduce. */
static ember_status local_backward(dist_wd *d, const ember_batch *b, int64_t n_global,
                                   ember_model_err *err) {
    const int64_t n = b->n;
    const int L = d->nl;
    EMBER_FORWARD_IF_ERROR(local_forward(d, b, err));
    DCALL(ember_buffer_upload(d->ctx, d->labels, 0, b->label, (size_t)n * sizeof(float)),
          "uploading labels");
    float loss = 0.0f;
    DCALL(ember_bce_with_logits(d->ctx, n, d->a[L], d->labels, &loss, d->g[L]), "BCE loss");
    float *glogit = d->host;
    DCALL(ember_buffer_download(d->ctx, d->g[L], 0, glogit, (size_t)n * sizeof(float)),
          "downloading the logit gradient");
    const float scale = (float)((double)n / (double)n_global);
    for (int64_t i = 0; i < n; i++) glogit[i] *= scale;
    DCALL(ember_buffer_upload(d->ctx, d->g[L], 0, glogit, (size_t)n * sizeof(float)),
          "uploading the logit gradient");
    DCALL(ember_buffer_upload(d->ctx, d->wide_grad, 0, glogit, (size_t)n * sizeof(float)),
          "uploading the wide gradient");
    float *pack = d->pack;
    for (int i = L - 1; i >= 0; i--) {
        ember_buffer *dx = (i > 0 || d->F > 0) ? d->g[i] : NULL;
        DCALL(ember_dense_backward(d->ctx, n, d->n[i], d->n[i + 1], d->a[i], d->W[i], d->a[i + 1],
                                   d->g[i + 1],
                                   i < L - 1 ? EMBER_ACTIVATION_RELU : EMBER_ACTIVATION_NONE, dx,
                                   d->dW[i], d->db[i]),
              "dense backward of layer %d", i);
    }
    for (int i = 0; i < L; i++) {
        const int64_t w = d->n[i] * d->n[i + 1], o = d->n[i + 1];
        DCALL(ember_buffer_download(d->ctx, d->dW[i], 0, pack, (size_t)w * sizeof(float)),
              "downloading layer %d's weight gradient", i);
        DCALL(ember_buffer_download(d->ctx, d->db[i], 0, pack + w, (size_t)o * sizeof(float)),
              "downloading layer %d's bias gradient", i);
        pack += w + o;
    }
    d->pack[d->grad_floats] = loss * (float)n;
    return EMBER_STATUS_SUCCESS;
}

static void make_opt(ember_optimizer *o, ember_optimizer_kind k, float lr, float l2, int64_t step) {
    ember_optimizer_init(o, k, lr);
    o->weight_decay = l2;
    o->step = step;
}

/* After the sum: the dense optimizer steps (the same on every rank) and the embeddings'
 * output gradient (the first F * dim columns of dX0). Local: the caller agrees. */
static ember_status local_update(dist_wd *d, const ember_optimizer *od, int64_t n,
                                 ember_model_err *err) {
    const float *pack = d->pack;
    for (int i = 0; i < d->nl; i++) {
        const int64_t w = d->n[i] * d->n[i + 1], o = d->n[i + 1];
        DCALL(ember_buffer_upload(d->ctx, d->dW[i], 0, pack, (size_t)w * sizeof(float)),
              "uploading layer %d's weight gradient", i);
        DCALL(ember_buffer_upload(d->ctx, d->db[i], 0, pack + w, (size_t)o * sizeof(float)),
              "uploading layer %d's bias gradient", i);
        DCALL(ember_dense_optimizer_step(d->ctx, od, w, d->W[i], d->dW[i], d->sW[i], d->sW2[i]),
              "optimizer step of layer %d weights", i);
        DCALL(ember_dense_optimizer_step(d->ctx, od, o, d->bias[i], d->db[i], d->sb[i], d->sb2[i]),
              "optimizer step of layer %d bias", i);
        pack += w + o;
    }
    const int64_t Fd = (int64_t)d->F * d->dim;
    if (n == 0 || Fd == 0) return EMBER_STATUS_SUCCESS;
    float *g0 = d->host, *grad = d->host + d->cap * d->n[0];
    DCALL(ember_buffer_download(d->ctx, d->g[0], 0, g0, (size_t)(n * d->n[0]) * sizeof(float)),
          "downloading the input gradient");
    for (int64_t i = 0; i < n; i++)
        memcpy(grad + i * Fd, g0 + i * d->n[0], (size_t)Fd * sizeof(float));
    DCALL(ember_buffer_upload(d->ctx, d->deep_grad, 0, grad, (size_t)(n * Fd) * sizeof(float)),
          "uploading the embeddings' gradient");
    return EMBER_STATUS_SUCCESS;
}

ember_status dist_wd_train_step(dist_wd *d, const ember_batch *b, int64_t n_global,
                                double *loss_sum, ember_model_err *err) {
    *loss_sum = 0.0;
    EMBER_FORWARD_IF_ERROR(lookups(d, b, err));
    ember_status st = EMBER_STATUS_SUCCESS;
    memset(d->pack, 0, (size_t)(d->grad_floats + 2) * sizeof(float));
    if (b->n > 0) st = local_backward(d, b, n_global, err);
    d->pack[d->grad_floats + 1] = st != EMBER_STATUS_SUCCESS ? 1.0f : 0.0f;
    /* One all-reduce: the dense gradients, the loss and whether any rank failed. */
    MPI_Allreduce(MPI_IN_PLACE, d->pack, (int)(d->grad_floats + 2), MPI_FLOAT, MPI_SUM,
                  MPI_COMM_WORLD);
    if (d->pack[d->grad_floats + 1] > 0.0f) return dist_wd_agree(d->comm, st, err);
    *loss_sum = d->pack[d->grad_floats];
    if (!isfinite(*loss_sum)) return EMBER_STATUS_SUCCESS; /* the caller reports divergence */
    d->step++;
    ember_optimizer ow, od, oe;
    make_opt(&ow, d->cfg.wide_opt, d->cfg.wide_lr, d->cfg.wide_l2, d->step);
    make_opt(&od, d->cfg.deep_opt, d->cfg.deep_lr, d->cfg.deep_l2, d->step);
    make_opt(&oe, d->cfg.emb_opt, d->cfg.emb_lr, d->cfg.emb_l2, d->step);
    st = local_update(d, &od, b->n, err);
    EMBER_FORWARD_IF_ERROR(dist_wd_agree(d->comm, st, err));
    st = ember_dist_backward_update(d->wide, d->wide_grad, d->cfg.reduction, &ow);
    if (st != EMBER_STATUS_SUCCESS) return dist_failed(d, st, "wide backward/update", err);
    if (d->F > 0) {
        st = ember_dist_backward_update(d->deep, d->deep_grad, d->cfg.reduction, &oe);
        if (st != EMBER_STATUS_SUCCESS) return dist_failed(d, st, "embedding backward/update", err);
    }
    return EMBER_STATUS_SUCCESS;
}

int64_t dist_wd_epochs_done(const dist_wd *d) {
    return d->epochs_done;
}

void dist_wd_set_epochs_done(dist_wd *d, int64_t epochs) {
    d->epochs_done = epochs;
}

void dist_wd_set_best_valid(dist_wd *d, double auc, const char *valid_on) {
    d->best_valid_auc = auc;
    snprintf(d->valid_on, sizeof d->valid_on, "%s", valid_on);
}
