/* train_dist_state.c: the sharded Wide&Deep model made (its tables planned and created),
 * and its parameters and optimizer state moved in and out in checkpoint order: from a
 * single-process model at the start, to rank 0's checkpoint, and the best epoch's copy.
 * See train_dist_model.h. */
#include "train_dist_model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The optimizer-state buffers of dense layer i, in the order wd_layout.h lists them (NULL
 * where the optimizer keeps none). */
static void layer_states(dist_wd *d, int i, ember_buffer *s[4]) {
    s[0] = d->sW[i], s[1] = d->sW2[i], s[2] = d->sb[i], s[3] = d->sb2[i];
}

/* The state tensors of the wide table, of each embedding table and of the dense layers, in
 * checkpoint order: how many there are. */
static int count_states(dist_wd *d) {
    int n =
        (d->cfg.wide_opt != EMBER_OPTIMIZER_SGD) + (d->cfg.emb_opt != EMBER_OPTIMIZER_SGD) * d->F;
    for (int i = 0; i < d->nl; i++) {
        ember_buffer *s[4];
        layer_states(d, i, s);
        for (int k = 0; k < 4; k++) n += s[k] != NULL;
    }
    return n;
}

/* Parameters (checkpoint order) and states (one array per state tensor, or NULL: left as
 * they are) into this rank's shards and dense copy. Local. */
static ember_status set_all(dist_wd *d, const float *p, float *const *states,
                            ember_model_err *err) {
    int s = 0;
    const float *ws = states && d->cfg.wide_opt != EMBER_OPTIMIZER_SGD ? states[s++] : NULL;
    DCALL(ember_dist_tables_set(d->wide, 0, p, ws), "setting the wide weights");
    p += d->fx->d_wide;
    for (int f = 0; f < d->F; f++) {
        const float *es = states && d->cfg.emb_opt != EMBER_OPTIMIZER_SGD ? states[s++] : NULL;
        DCALL(ember_dist_tables_set(d->deep, f, p, es), "setting embedding table %d", f);
        p += d->fx->field_buckets[f] * d->dim;
    }
    for (int i = 0; i < d->nl; i++) {
        const int64_t counts[4] = {d->n[i] * d->n[i + 1], d->n[i] * d->n[i + 1], d->n[i + 1],
                                   d->n[i + 1]};
        DCALL(ember_buffer_upload(d->ctx, d->W[i], 0, p, (size_t)counts[0] * sizeof(float)),
              "setting layer %d", i);
        DCALL(ember_buffer_upload(d->ctx, d->bias[i], 0, p + counts[0],
                                  (size_t)counts[2] * sizeof(float)),
              "setting layer %d", i);
        p += counts[0] + counts[2];
        ember_buffer *sb[4];
        layer_states(d, i, sb);
        for (int k = 0; k < 4; k++)
            if (sb[k] != NULL && states != NULL)
                DCALL(ember_buffer_upload(d->ctx, sb[k], 0, states[s++],
                                          (size_t)counts[k] * sizeof(float)),
                      "setting layer %d's optimizer state", i);
    }
    return EMBER_STATUS_SUCCESS;
}

/* The whole model onto every rank's host (states may be NULL). Collective. */
static ember_status get_all(dist_wd *d, float *p, float **states, ember_model_err *err) {
    int s = 0;
    float *ws = states && d->cfg.wide_opt != EMBER_OPTIMIZER_SGD ? states[s++] : NULL;
    ember_status st = ember_dist_tables_get(d->wide, 0, p, ws);
    p += d->fx->d_wide;
    for (int f = 0; f < d->F && st == EMBER_STATUS_SUCCESS; f++) {
        float *es = states && d->cfg.emb_opt != EMBER_OPTIMIZER_SGD ? states[s++] : NULL;
        st = ember_dist_tables_get(d->deep, f, p, es);
        p += d->fx->field_buckets[f] * d->dim;
    }
    if (st != EMBER_STATUS_SUCCESS)
        return ember_merr(err, st, "gathering the tables: %s", ember_dist_last_error(d->comm));
    for (int i = 0; i < d->nl; i++) {
        const int64_t counts[4] = {d->n[i] * d->n[i + 1], d->n[i] * d->n[i + 1], d->n[i + 1],
                                   d->n[i + 1]};
        DCALL(ember_buffer_download(d->ctx, d->W[i], 0, p, (size_t)counts[0] * sizeof(float)),
              "reading layer %d", i);
        DCALL(ember_buffer_download(d->ctx, d->bias[i], 0, p + counts[0],
                                    (size_t)counts[2] * sizeof(float)),
              "reading layer %d", i);
        p += counts[0] + counts[2];
        ember_buffer *sb[4];
        layer_states(d, i, sb);
        for (int k = 0; k < 4; k++)
            if (sb[k] != NULL && states != NULL)
                DCALL(ember_buffer_download(d->ctx, sb[k], 0, states[s++],
                                            (size_t)counts[k] * sizeof(float)),
                      "reading layer %d's optimizer state", i);
    }
    return EMBER_STATUS_SUCCESS;
}

int64_t dist_wd_num_params(const dist_wd *d) {
    int64_t n = d->fx->d_wide;
    for (int f = 0; f < d->F; f++) n += d->fx->field_buckets[f] * d->dim;
    for (int i = 0; i < d->nl; i++) n += d->n[i] * d->n[i + 1] + d->n[i + 1];
    return n;
}

ember_status dist_wd_get_params(dist_wd *d, float *host, ember_model_err *err) {
    ember_status st = get_all(d, host, NULL, err);
    return dist_wd_agree(d->comm, st, err);
}

ember_status dist_wd_set_params(dist_wd *d, const float *host, ember_model_err *err) {
    ember_status st = set_all(d, host, NULL, err);
    return dist_wd_agree(d->comm, st, err);
}

/* Host arrays for every state tensor of the layout (free with free_states). */
static float **alloc_states(const ember_wd_layout *l) {
    float **s = calloc((size_t)(l->nstates > 0 ? l->nstates : 1), sizeof *s);
    for (int i = 0; s && i < l->nstates; i++) {
        s[i] = malloc((size_t)(l->states[i].count > 0 ? l->states[i].count : 1) * sizeof(float));
        if (s[i] == NULL) {
            for (int k = 0; k < i; k++) free(s[k]);
            free(s);
            return NULL;
        }
    }
    return s;
}

static void free_states(float **s, int n) {
    for (int i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

/* Rank 0's part of a save: the assembled model into a single-process model, written. */
static ember_status write_checkpoint(dist_wd *d, const float *params, float *const *states,
                                     int nstates, const char *path, ember_model_err *err) {
    ember_wd_model *m = NULL;
    EMBER_FORWARD_IF_ERROR(ember_wd_create(d->ctx, &d->cfg, 1, &m, err));
    ember_status st = ember_wd_set_params(m, params, err);
    for (int i = 0; i < nstates && st == EMBER_STATUS_SUCCESS; i++)
        st = ember_wd_set_state(m, i, states[i], err);
    ember_wd_set_step(m, d->step);
    ember_wd_set_epochs_done(m, d->epochs_done);
    if (!isnan(d->best_valid_auc)) ember_wd_set_best_valid(m, d->best_valid_auc, d->valid_on);
    if (st == EMBER_STATUS_SUCCESS) st = ember_checkpoint_save(m, path, err);
    ember_wd_free(m);
    return st;
}

ember_status dist_wd_save(dist_wd *d, const char *path, ember_model_err *err) {
    ember_wd_layout l;
    ember_status st = ember_wd_layout_of(&d->cfg, &l);
    if (st != EMBER_STATUS_SUCCESS) return ember_merr(err, st, "the model's layout");
    float *params = malloc((size_t)dist_wd_num_params(d) * sizeof(float));
    float **states = alloc_states(&l);
    st = params && states ? EMBER_STATUS_SUCCESS
                          : ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of host memory");
    st = dist_wd_agree(d->comm, st, err);
    if (st == EMBER_STATUS_SUCCESS)
        st = dist_wd_agree(d->comm, get_all(d, params, states, err), err);
    if (st == EMBER_STATUS_SUCCESS) {
        if (ember_dist_comm_rank(d->comm) == 0)
            st = write_checkpoint(d, params, states, l.nstates, path, err);
        st = dist_wd_agree(d->comm, st, err);
    }
    free(params);
    free_states(states, l.nstates);
    ember_wd_layout_free(&l);
    return st;
}

/* The parameters, state and step counts of a single-process model of the same config. */
static ember_status load_from(dist_wd *d, ember_wd_model *m, ember_model_err *err) {
    const int nstates = ember_wd_num_state_tensors(m);
    if (nstates != count_states(d) || ember_wd_num_params(m) != dist_wd_num_params(d))
        return ember_merr(err, EMBER_STATUS_INTERNAL,
                          "the model holds %d state tensors and %lld floats, the sharded one "
                          "%d and %lld",
                          nstates, (long long)ember_wd_num_params(m), count_states(d),
                          (long long)dist_wd_num_params(d));
    float *params = malloc((size_t)ember_wd_num_params(m) * sizeof(float));
    float **states = calloc((size_t)(nstates > 0 ? nstates : 1), sizeof *states);
    ember_status st = params && states
                          ? ember_wd_get_params(m, params, err)
                          : ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < nstates && st == EMBER_STATUS_SUCCESS; i++) {
        ember_st_tensor info;
        ember_wd_state_info(m, i, &info);
        states[i] = malloc((size_t)(info.count > 0 ? info.count : 1) * sizeof(float));
        st = states[i] ? ember_wd_get_state(m, i, states[i], err)
                       : ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    if (st == EMBER_STATUS_SUCCESS) st = set_all(d, params, states, err);
    d->step = ember_wd_step(m);
    d->epochs_done = ember_wd_epochs_done(m);
    free(params);
    free_states(states, nstates);
    return st;
}

/* One collection of tables (deep: one per field; wide: one) planned and created. */
static ember_status make_tables(dist_wd *d, int64_t count, ember_dist_table_spec *specs,
                                ember_optimizer_kind opt, FILE *plan_out, const char *what,
                                ember_dist_tables **out, ember_model_err *err) {
    ember_dist_table_plan *plans = calloc((size_t)count, sizeof *plans);
    if (plans == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    ember_dist_planner_options po = {.batch_per_rank = d->cap, .optimizer = opt};
    ember_status st = ember_dist_plan(d->comm, count, specs, &po, plans);
    if (st != EMBER_STATUS_SUCCESS)
        ember_merr(err, st, "planning the %s: %s", what, ember_dist_last_error(d->comm));
    st = dist_wd_agree(d->comm, st, err);
    if (st == EMBER_STATUS_SUCCESS && plan_out && ember_dist_comm_rank(d->comm) == 0) {
        fprintf(plan_out, "%s:\n", what);
        ember_dist_plan_print(plan_out, ember_dist_comm_size(d->comm), count, specs, plans);
    }
    if (st == EMBER_STATUS_SUCCESS) {
        st = ember_dist_tables_create(d->comm, d->ctx, count, specs, plans, opt, out);
        if (st != EMBER_STATUS_SUCCESS)
            ember_merr(err, st, "creating the %s: %s", what, ember_dist_last_error(d->comm));
    }
    free(plans);
    return st;
}

static ember_status create_tables(dist_wd *d, const ember_rare_ids *rare, FILE *plan_out,
                                  ember_model_err *err) {
    const ember_features *fx = d->fx;
    ember_dist_table_spec wide;
    ember_dist_table_spec_init(&wide, fx->d_wide > 0 ? fx->d_wide : 1, 1, EMBER_POOLING_SUM);
    EMBER_FORWARD_IF_ERROR(
        make_tables(d, 1, &wide, d->cfg.wide_opt, plan_out, "wide weights", &d->wide, err));
    if (d->F == 0) return EMBER_STATUS_SUCCESS;
    ember_dist_table_spec *specs = calloc((size_t)d->F, sizeof *specs);
    if (specs == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    for (int f = 0; f < d->F; f++) {
        int multi = fx->schema->cols[fx->deep_col[f]].kind == EMBER_COL_MULTI;
        ember_dist_table_spec_init(&specs[f], fx->field_buckets[f], d->dim,
                                   multi ? EMBER_POOLING_MEAN : EMBER_POOLING_NONE);
        specs[f].padding_idx = ember_rare_ids_padding(rare, f);
    }
    ember_status st =
        make_tables(d, d->F, specs, d->cfg.emb_opt, plan_out, "embedding tables", &d->deep, err);
    free(specs);
    return st;
}

/* This rank's buffers: the batch, the dense layers and their state, the staging. Local. */
static ember_status alloc_local(dist_wd *d, ember_model_err *err) {
    const int64_t cap = d->cap, Fd = (int64_t)d->F * d->dim;
    size_t nf = (size_t)(d->F > 0 ? d->F : 1);
    d->idx = calloc(nf, sizeof *d->idx);
    d->offs = calloc(nf, sizeof *d->offs);
    d->idx_floats = calloc(nf, sizeof *d->idx_floats);
    d->num_idx = calloc(nf, sizeof *d->num_idx);
    d->offs_arg = calloc(nf, sizeof *d->offs_arg);
    d->host = malloc((size_t)(cap * (d->n[0] + Fd + 2)) * sizeof(float));
    for (int i = 0; i < d->nl; i++) d->grad_floats += d->n[i] * d->n[i + 1] + d->n[i + 1];
    d->pack = malloc((size_t)(d->grad_floats + 2) * sizeof(float));
    if (!d->idx || !d->offs || !d->idx_floats || !d->num_idx || !d->offs_arg || !d->host ||
        !d->pack)
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    const size_t I = sizeof(int64_t);
    for (int f = 0; f < d->F; f++)
        DCALL(ember_buffer_alloc(d->ctx, (size_t)(cap + 1) * I, &d->offs[f]), "allocating offsets");
    DCALL(ember_buffer_alloc(d->ctx, (size_t)(cap + 1) * I, &d->wide_offs), "allocating offsets");
    ember_buffer **one[] = {&d->deep_out,  &d->deep_grad, &d->wide_out,
                            &d->wide_grad, &d->labels,    &d->probs};
    const int64_t floats[] = {cap * Fd, cap * Fd, cap, cap, cap, cap};
    for (int k = 0; k < 6; k++) EMBER_FORWARD_IF_ERROR(dist_wd_alloc(d, one[k], floats[k], 0, err));
    for (int i = 0; i <= d->nl; i++) {
        EMBER_FORWARD_IF_ERROR(dist_wd_alloc(d, &d->a[i], cap * d->n[i], 1, err));
        EMBER_FORWARD_IF_ERROR(dist_wd_alloc(d, &d->g[i], cap * d->n[i], 0, err));
    }
    const ember_optimizer_kind opt = d->cfg.deep_opt;
    for (int i = 0; i < d->nl; i++) {
        const int64_t w = d->n[i] * d->n[i + 1], o = d->n[i + 1];
        ember_buffer **bufs[] = {&d->W[i],  &d->bias[i], &d->dW[i],  &d->db[i],
                                 &d->sW[i], &d->sb[i],   &d->sW2[i], &d->sb2[i]};
        const int64_t counts[] = {w, o, w, o, w, o, w, o};
        const int wanted = opt == EMBER_OPTIMIZER_ADAM ? 8 : opt == EMBER_OPTIMIZER_SGD ? 4 : 6;
        for (int k = 0; k < wanted; k++)
            EMBER_FORWARD_IF_ERROR(dist_wd_alloc(d, bufs[k], counts[k], k >= 4, err));
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status dist_wd_create(ember_dist_comm *comm, ember_context *ctx, const ember_wd_config *cfg,
                            int64_t cap, ember_wd_model *init, const ember_rare_ids *rare,
                            FILE *plan_out, dist_wd **out, ember_model_err *err) {
    *out = NULL;
    dist_wd *d = calloc(1, sizeof *d);
    ember_status st =
        d ? EMBER_STATUS_SUCCESS : ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    if (d != NULL) {
        d->comm = comm, d->ctx = ctx, d->cfg = *cfg, d->fx = cfg->fx, d->cap = cap;
        d->best_valid_auc = NAN;
        d->F = d->fx->n_deep, d->dim = cfg->emb_dim, d->nl = cfg->nhidden + 1;
        d->n[0] = (int64_t)d->F * d->dim + d->fx->n_num;
        for (int l = 0; l < cfg->nhidden; l++) d->n[l + 1] = cfg->hidden[l];
        d->n[d->nl] = 1;
        st = alloc_local(d, err);
    }
    st = dist_wd_agree(comm, st, err);
    if (st == EMBER_STATUS_SUCCESS) st = create_tables(d, rare, plan_out, err);
    if (st == EMBER_STATUS_SUCCESS) st = dist_wd_agree(comm, load_from(d, init, err), err);
    if (st != EMBER_STATUS_SUCCESS) {
        dist_wd_free(d);
        return st;
    }
    *out = d;
    return EMBER_STATUS_SUCCESS;
}
