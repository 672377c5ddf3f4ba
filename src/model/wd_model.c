/* wd_model.c: the Wide&Deep forward, backward and update, one public-API call at a time. */
#include "wd_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS (EMBER_MAX_HIDDEN + 1)

typedef struct param {
    char name[EMBER_ST_NAME_MAX];
    char legacy_name[EMBER_ST_NAME_MAX]; /* state tensors: their name in older .optim files */
    int ndim;
    int64_t shape[2];
    int64_t count;
    ember_buffer *buf;
} param;

struct ember_wd_model {
    ember_context *ctx;
    ember_wd_config cfg;
    const ember_features *fx;
    int64_t cap;
    int n_deep; /* kept here so that freeing never reads fx */
    int nl;     /* dense layers including the output layer */
    int64_t n[MAX_LAYERS + 1];
    int64_t n0, dim;
    /* embeddings */
    ember_buffer **emb, **emb_state, **emb_idx, **emb_offs;
    size_t *emb_idx_bytes;
    /* wide */
    ember_buffer *wide, *wide_state, *wide_idx, *wide_offs;
    size_t wide_idx_bytes;
    /* dense: a[i] is layer i's input, a[nl] the logits; g[i] their gradients */
    ember_buffer *a[MAX_LAYERS + 1], *g[MAX_LAYERS + 1];
    ember_buffer *W[MAX_LAYERS], *b[MAX_LAYERS], *dW[MAX_LAYERS], *db[MAX_LAYERS];
    ember_buffer *sW[MAX_LAYERS], *sW2[MAX_LAYERS], *sb[MAX_LAYERS], *sb2[MAX_LAYERS];
    ember_buffer *labels, *probs;
    float *x0_host;
    int64_t step;
    int64_t epochs_done; /* full passes trained (orders the shuffle of the next one) */
    double best_valid_auc;
    char valid_on[EMBER_VALID_ON_MAX];
    int nparams;
    param *params;
    int nstates;
    param *states; /* optimizer state tensors, for resumable checkpoints */
};

void ember_wd_config_defaults(ember_wd_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->emb_dim = 8;
    cfg->nhidden = 2;
    cfg->hidden[0] = 64;
    cfg->hidden[1] = 32;
    cfg->wide_opt = EMBER_OPTIMIZER_ADAGRAD;
    cfg->deep_opt = EMBER_OPTIMIZER_ADAM;
    cfg->emb_opt = EMBER_OPTIMIZER_ADAGRAD;
    /* Tuned on Adult, MovieLens and a synthetic click log (docs/quality.md): a wide part
     * fast enough that declared crosses are learnt within the first epochs (before the deep
     * part overfits), with L2 so that Adult's crosses do not overfit; embeddings whose rare
     * rows start slow (emb_init_acc) and so do not memorise ids with a handful of rows; a
     * deep part with a little L2. Embeddings start at zero: an id that no training row
     * has (a user who appears only after the training period) then reaches the deep part
     * as a zero row, as it reaches the wide part (and a logistic regression) with a zero
     * weight, instead of as random values the training never corrected; the first layer's
     * random weights still give every trained row a gradient. */
    cfg->wide_lr = 0.05f;
    cfg->deep_lr = 0.002f;
    cfg->emb_lr = 0.05f;
    cfg->emb_init_acc = 0.04f;
    cfg->wide_l2 = 1e-3f;
    cfg->deep_l2 = 1e-4f;
    cfg->emb_l2 = 0.0f;
    cfg->reduction = EMBER_REDUCTION_DETERMINISTIC;
    cfg->emb_init = 0.0f;
    cfg->seed = 42;
}

const ember_wd_config *ember_wd_get_config(const ember_wd_model *m) {
    return &m->cfg;
}

#define API(expr, ...) EMBER_MODEL_CALL(m->ctx, expr, __VA_ARGS__)

static ember_status alloc(ember_wd_model *m, ember_buffer **out, size_t bytes, const char *what,
                          ember_model_err *err) {
    if (bytes == 0) bytes = 4;
    API(ember_buffer_alloc(m->ctx, bytes, out), "allocating %s (%zu bytes)", what, bytes);
    return EMBER_STATUS_SUCCESS;
}

static ember_status alloc_zero(ember_wd_model *m, ember_buffer **out, size_t bytes,
                               const char *what, ember_model_err *err) {
    if (bytes == 0) bytes = 4;
    EMBER_FORWARD_IF_ERROR(alloc(m, out, bytes, what, err));
    API(ember_buffer_zero(m->ctx, *out, 0, bytes), "zeroing %s", what);
    return EMBER_STATUS_SUCCESS;
}

void ember_wd_free(ember_wd_model *m) {
    if (m == NULL) return;
    int nd = m->n_deep;
    for (int f = 0; f < nd; f++) {
        if (m->emb) ember_buffer_free(m->emb[f]);
        if (m->emb_state) ember_buffer_free(m->emb_state[f]);
        if (m->emb_idx) ember_buffer_free(m->emb_idx[f]);
        if (m->emb_offs) ember_buffer_free(m->emb_offs[f]);
    }
    free(m->emb);
    free(m->emb_state);
    free(m->emb_idx);
    free(m->emb_offs);
    free(m->emb_idx_bytes);
    ember_buffer_free(m->wide);
    ember_buffer_free(m->wide_state);
    ember_buffer_free(m->wide_idx);
    ember_buffer_free(m->wide_offs);
    for (int i = 0; i <= MAX_LAYERS; i++) {
        ember_buffer_free(m->a[i]);
        ember_buffer_free(m->g[i]);
    }
    for (int i = 0; i < MAX_LAYERS; i++) {
        ember_buffer_free(m->W[i]);
        ember_buffer_free(m->b[i]);
        ember_buffer_free(m->dW[i]);
        ember_buffer_free(m->db[i]);
        ember_buffer_free(m->sW[i]);
        ember_buffer_free(m->sW2[i]);
        ember_buffer_free(m->sb[i]);
        ember_buffer_free(m->sb2[i]);
    }
    ember_buffer_free(m->labels);
    ember_buffer_free(m->probs);
    free(m->x0_host);
    free(m->params);
    free(m->states);
    free(m);
}

/* Names the model's buffers after the layout of its config: the parameters in checkpoint
 * order, then the optimizer state buffers that exist (in the layout's order). */
static void bind(param *p, const ember_st_tensor *t, const char *legacy, ember_buffer *buf) {
    snprintf(p->name, sizeof p->name, "%s", t->name);
    snprintf(p->legacy_name, sizeof p->legacy_name, "%s", legacy);
    p->ndim = t->ndim;
    p->shape[0] = t->shape[0];
    p->shape[1] = t->shape[1];
    p->count = t->count;
    p->buf = buf;
}

/* Binds the next parameter (states: the next state tensor, when buf exists) to buf. */
static void bind_next(param *list, int *n, int cap, const ember_wd_layout *l, int is_state,
                      ember_buffer *buf) {
    if (buf == NULL || *n >= cap) {
        if (buf != NULL) (*n)++; /* counted, so the caller sees the mismatch */
        return;
    }
    bind(&list[*n], is_state ? &l->states[*n] : &l->params[*n], is_state ? l->legacy[*n] : "", buf);
    (*n)++;
}

static ember_status bind_tensors(ember_wd_model *m, ember_model_err *err) {
    ember_wd_layout l;
    if (ember_wd_layout_of(&m->cfg, &l) != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    int np = 0, ns = 0;
    bind_next(m->params, &np, l.nparams, &l, 0, m->wide);
    bind_next(m->states, &ns, l.nstates, &l, 1, m->wide_state);
    for (int f = 0; f < m->n_deep; f++) {
        bind_next(m->params, &np, l.nparams, &l, 0, m->emb[f]);
        bind_next(m->states, &ns, l.nstates, &l, 1, m->emb_state[f]);
    }
    for (int i = 0; i < m->nl; i++) {
        bind_next(m->params, &np, l.nparams, &l, 0, m->W[i]);
        bind_next(m->params, &np, l.nparams, &l, 0, m->b[i]);
        ember_buffer *s4[4] = {m->sW[i], m->sW2[i], m->sb[i], m->sb2[i]};
        for (int k = 0; k < 4; k++) bind_next(m->states, &ns, l.nstates, &l, 1, s4[k]);
    }
    ember_status st = EMBER_STATUS_SUCCESS;
    if (np != l.nparams || ns != l.nstates)
        st = ember_merr(err, EMBER_STATUS_INTERNAL,
                        "model: %d parameter and %d state buffers, its layout %d and %d", np, ns,
                        l.nparams, l.nstates);
    m->nparams = np < l.nparams ? np : l.nparams;
    m->nstates = ns < l.nstates ? ns : l.nstates;
    ember_wd_layout_free(&l);
    return st;
}

static ember_status upload_floats(ember_wd_model *m, ember_buffer *buf, const float *src, int64_t n,
                                  const char *what, ember_model_err *err) {
    if (n == 0) return EMBER_STATUS_SUCCESS;
    API(ember_buffer_upload(m->ctx, buf, 0, src, (size_t)n * sizeof(float)), "uploading %s", what);
    return EMBER_STATUS_SUCCESS;
}

/* Initial values: embeddings U(-s, s), zero by default (s = cfg.emb_init, see
 * ember_wd_config_defaults); ReLU layers He-normal; the output layer PyTorch's
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the wide weights and every bias zero. One generator
 * stream in a fixed order, so the same seed gives the same model; the embeddings draw from
 * it whatever s is, so the dense layers' values do not depend on s. */
static ember_status init_params(ember_wd_model *m, ember_model_err *err) {
    ember_rng rng;
    ember_rng_seed(&rng, m->cfg.seed);
    int64_t maxc = 1;
    for (int p = 0; p < m->nparams; p++)
        if (m->params[p].count > maxc) maxc = m->params[p].count;
    float *h = malloc((size_t)maxc * sizeof(float));
    if (h == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    ember_status st = EMBER_STATUS_SUCCESS;
    for (int p = 0; p < m->nparams && st == EMBER_STATUS_SUCCESS; p++) {
        param *pr = &m->params[p];
        const char *nm = pr->name;
        if (strncmp(nm, "deep.emb.", 9) == 0) {
            float s = m->cfg.emb_init;
            for (int64_t i = 0; i < pr->count; i++) {
                const double u = 2.0 * ember_rng_uniform(&rng) - 1.0;
                h[i] = s > 0.0f ? (float)(u * s) : 0.0f;
            }
        } else if (strncmp(nm, "deep.fc", 7) == 0 && strstr(nm, ".weight") != NULL) {
            double sd = sqrt(2.0 / (double)pr->shape[1]);
            for (int64_t i = 0; i < pr->count; i++) h[i] = (float)(ember_rng_normal(&rng) * sd);
        } else if (strcmp(nm, "out.weight") == 0) {
            double s = 1.0 / sqrt((double)pr->shape[1]);
            for (int64_t i = 0; i < pr->count; i++)
                h[i] = (float)((2.0 * ember_rng_uniform(&rng) - 1.0) * s);
        } else {
            memset(h, 0, (size_t)pr->count * sizeof(float));
        }
        st = upload_floats(m, pr->buf, h, pr->count, nm, err);
    }
    free(h);
    return st;
}

static ember_status check_config(const ember_wd_config *cfg, int64_t max_batch,
                                 ember_model_err *err) {
    if (cfg->fx == NULL || max_batch < 1 || cfg->emb_dim < 1 || cfg->nhidden < 0 ||
        cfg->nhidden > EMBER_MAX_HIDDEN)
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                          "model: bad configuration (batch %lld, embedding dim %lld, %d hidden "
                          "layers; at most %d)",
                          (long long)max_batch, (long long)cfg->emb_dim, cfg->nhidden,
                          EMBER_MAX_HIDDEN);
    for (int l = 0; l < cfg->nhidden; l++)
        if (cfg->hidden[l] < 1)
            return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                              "model: hidden layer %d has size %lld", l + 1,
                              (long long)cfg->hidden[l]);
    if (cfg->emb_opt == EMBER_OPTIMIZER_ADAM || cfg->wide_opt == EMBER_OPTIMIZER_ADAM ||
        cfg->wide_opt == EMBER_OPTIMIZER_ROWWISE_ADAGRAD ||
        cfg->deep_opt == EMBER_OPTIMIZER_ROWWISE_ADAGRAD)
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                          "model: Adam is for dense layers only, row-wise Adagrad for "
                          "embeddings only");
    return EMBER_STATUS_SUCCESS;
}

#define F_ sizeof(float)
#define I_ sizeof(int64_t)

/* The embeddings' Adagrad accumulators start at emb_init_acc / batch^2 instead of 0: the
 * gradients are batch means, so that is emb_init_acc in units of one example's squared
 * gradient, whatever the batch. A row seen a few times then moves by about
 * lr * g / sqrt(emb_init_acc) per step rather than Adagrad's full lr: ids with a handful of
 * rows (a noise field of 20,000 values) are not memorised by the second epoch, while
 * frequent rows, whose accumulators soon dwarf the start, train as before
 * (docs/quality.md). */
static ember_status init_emb_state(ember_wd_model *m, ember_buffer *state, int64_t n,
                                   ember_model_err *err) {
    if (m->cfg.emb_init_acc <= 0.0f || m->cfg.emb_opt == EMBER_OPTIMIZER_SGD)
        return EMBER_STATUS_SUCCESS;
    const float start = (float)((double)m->cfg.emb_init_acc / ((double)m->cap * (double)m->cap));
    float *h = malloc((size_t)n * sizeof(float));
    if (h == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    for (int64_t i = 0; i < n; i++) h[i] = start;
    ember_status st = upload_floats(m, state, h, n, "embedding state", err);
    free(h);
    return st;
}

static ember_status alloc_wide(ember_wd_model *m, ember_model_err *err) {
    const ember_features *fx = m->fx;
    EMBER_FORWARD_IF_ERROR(alloc(m, &m->wide, (size_t)fx->d_wide * F_, "wide weights", err));
    int64_t ws = ember_optimizer_state_size(m->cfg.wide_opt, fx->d_wide, 1);
    if (ws > 0)
        EMBER_FORWARD_IF_ERROR(alloc_zero(m, &m->wide_state, (size_t)ws * F_, "wide state", err));
    m->wide_idx_bytes = (size_t)(m->cap * (fx->n_wide > 0 ? fx->n_wide : 1)) * I_;
    EMBER_FORWARD_IF_ERROR(alloc(m, &m->wide_idx, m->wide_idx_bytes, "wide ids", err));
    return alloc(m, &m->wide_offs, (size_t)(m->cap + 1) * I_, "wide offsets", err);
}

static ember_status alloc_embeddings(ember_wd_model *m, ember_model_err *err) {
    const ember_features *fx = m->fx;
    for (int f = 0; f < fx->n_deep; f++) {
        const char *cname = fx->schema->cols[fx->deep_col[f]].name;
        char name[EMBER_ST_NAME_MAX];
        snprintf(name, sizeof name, "deep.emb.%.100s", cname);
        const int64_t rows = fx->field_buckets[f];
        EMBER_FORWARD_IF_ERROR(alloc(m, &m->emb[f], (size_t)(rows * m->dim) * F_, name, err));
        int64_t es = ember_optimizer_state_size(m->cfg.emb_opt, rows, m->dim);
        if (es > 0)
            EMBER_FORWARD_IF_ERROR(
                alloc_zero(m, &m->emb_state[f], (size_t)es * F_, "embedding state", err));
        if (es > 0) EMBER_FORWARD_IF_ERROR(init_emb_state(m, m->emb_state[f], es, err));
        m->emb_idx_bytes[f] = (size_t)m->cap * I_;
        EMBER_FORWARD_IF_ERROR(alloc(m, &m->emb_idx[f], m->emb_idx_bytes[f], "embedding ids", err));
        if (fx->schema->cols[fx->deep_col[f]].kind == EMBER_COL_MULTI)
            EMBER_FORWARD_IF_ERROR(
                alloc(m, &m->emb_offs[f], (size_t)(m->cap + 1) * I_, "offsets", err));
    }
    return EMBER_STATUS_SUCCESS;
}

static ember_status alloc_dense(ember_wd_model *m, ember_model_err *err) {
    for (int i = 0; i <= m->nl; i++) {
        size_t bytes = (size_t)(m->cap * m->n[i]) * F_;
        EMBER_FORWARD_IF_ERROR(alloc_zero(m, &m->a[i], bytes, "activations", err));
        EMBER_FORWARD_IF_ERROR(alloc(m, &m->g[i], bytes, "gradients", err));
    }
    const ember_optimizer_kind opt = m->cfg.deep_opt;
    for (int i = 0; i < m->nl; i++) {
        int64_t in = m->n[i], o = m->n[i + 1];
        char wn[64], bn[64];
        if (i < m->nl - 1) {
            snprintf(wn, sizeof wn, "deep.fc%d.weight", i);
            snprintf(bn, sizeof bn, "deep.fc%d.bias", i);
        } else {
            strcpy(wn, "out.weight");
            strcpy(bn, "out.bias");
        }
        const size_t wbytes = (size_t)(in * o) * F_, bbytes = (size_t)o * F_;
        EMBER_FORWARD_IF_ERROR(alloc(m, &m->W[i], wbytes, wn, err));
        EMBER_FORWARD_IF_ERROR(alloc(m, &m->b[i], bbytes, bn, err));
        EMBER_FORWARD_IF_ERROR(alloc(m, &m->dW[i], wbytes, "weight gradient", err));
        EMBER_FORWARD_IF_ERROR(alloc(m, &m->db[i], bbytes, "bias gradient", err));
        if (opt != EMBER_OPTIMIZER_SGD) {
            EMBER_FORWARD_IF_ERROR(alloc_zero(m, &m->sW[i], wbytes, "state", err));
            EMBER_FORWARD_IF_ERROR(alloc_zero(m, &m->sb[i], bbytes, "state", err));
        }
        if (opt == EMBER_OPTIMIZER_ADAM) {
            EMBER_FORWARD_IF_ERROR(alloc_zero(m, &m->sW2[i], wbytes, "state", err));
            EMBER_FORWARD_IF_ERROR(alloc_zero(m, &m->sb2[i], bbytes, "state", err));
        }
    }
    return EMBER_STATUS_SUCCESS;
}

/* The model's host-side arrays (buffers come after). */
static ember_status alloc_host(ember_wd_model *m, ember_model_err *err) {
    size_t nd = (size_t)(m->n_deep > 0 ? m->n_deep : 1);
    m->emb = calloc(nd, sizeof(ember_buffer *));
    m->emb_state = calloc(nd, sizeof(ember_buffer *));
    m->emb_idx = calloc(nd, sizeof(ember_buffer *));
    m->emb_offs = calloc(nd, sizeof(ember_buffer *));
    m->emb_idx_bytes = calloc(nd, sizeof(size_t));
    m->params = calloc((size_t)(m->n_deep + 2 * m->nl + 1), sizeof(param));
    m->states = calloc((size_t)(m->n_deep + 4 * m->nl + 1), sizeof(param));
    m->x0_host = calloc((size_t)(m->cap * m->n0), sizeof(float));
    if (!m->emb || !m->emb_state || !m->emb_idx || !m->emb_offs || !m->emb_idx_bytes ||
        !m->params || !m->states || !m->x0_host)
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_wd_create(ember_context *ctx, const ember_wd_config *cfg, int64_t max_batch,
                             ember_wd_model **out, ember_model_err *err) {
    *out = NULL;
    EMBER_FORWARD_IF_ERROR(check_config(cfg, max_batch, err));
    const ember_features *fx = cfg->fx;
    ember_wd_model *m = calloc(1, sizeof *m);
    if (m == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    m->ctx = ctx;
    m->cfg = *cfg;
    m->fx = fx;
    m->n_deep = fx->n_deep;
    m->cap = max_batch;
    m->best_valid_auc = NAN;
    m->dim = cfg->emb_dim;
    m->n0 = (int64_t)fx->n_deep * cfg->emb_dim + fx->n_num;
    ember_status st;
    if (m->n0 < 1) {
        st = ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                        "model: the data has no categorical or numeric column for the deep part");
        goto fail;
    }
    m->nl = cfg->nhidden + 1;
    m->n[0] = m->n0;
    for (int l = 0; l < cfg->nhidden; l++) m->n[l + 1] = cfg->hidden[l];
    m->n[m->nl] = 1;
    if ((st = alloc_host(m, err)) || (st = alloc_wide(m, err)) || (st = alloc_embeddings(m, err)) ||
        (st = alloc_dense(m, err)))
        goto fail;
    if ((st = alloc(m, &m->labels, (size_t)max_batch * F_, "labels", err)) ||
        (st = alloc(m, &m->probs, (size_t)max_batch * F_, "probabilities", err)))
        goto fail;
    if ((st = bind_tensors(m, err)) || (st = init_params(m, err))) goto fail;
    *out = m;
    return EMBER_STATUS_SUCCESS;
fail:
    ember_wd_free(m);
    return st;
}

static ember_status ensure_idx(ember_wd_model *m, ember_buffer **buf, size_t *have, size_t need,
                               ember_model_err *err) {
    if (need <= *have) return EMBER_STATUS_SUCCESS;
    ember_buffer_free(*buf);
    *buf = NULL;
    size_t nb = need * 2;
    API(ember_buffer_alloc(m->ctx, nb, buf), "allocating %zu bytes of ids", nb);
    *have = nb;
    return EMBER_STATUS_SUCCESS;
}

static void field_desc(const ember_wd_model *m, const ember_batch *b, int f, ember_lookup_desc *d) {
    int multi = b->deep_multi[f];
    int64_t nidx = multi ? b->deep_offs[f][b->n] : b->n;
    ember_lookup_desc_init(d, m->fx->field_buckets[f], m->dim, nidx, b->n,
                           multi ? EMBER_POOLING_MEAN : EMBER_POOLING_NONE);
    d->out_row_stride = m->n0;
    d->out_col_offset = (int64_t)f * m->dim;
    d->padding_idx = b->deep_pad[f];
}

static void wide_desc(const ember_wd_model *m, const ember_batch *b, ember_lookup_desc *d) {
    ember_lookup_desc_init(d, m->fx->d_wide, 1, b->wide_offs[b->n], b->n, EMBER_POOLING_SUM);
    d->out_row_stride = 1;
    d->accumulate = 1;
}

/* Uploads a batch and runs the forward pass up to the logits (in a[nl]). */
static ember_status forward(ember_wd_model *m, const ember_batch *b, ember_model_err *err) {
    const ember_features *fx = m->fx;
    const int64_t n = b->n;
    const size_t I = sizeof(int64_t);
    if (n > m->cap)
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "batch of %lld > capacity %lld",
                          (long long)n, (long long)m->cap);
    /* x0: numeric columns from the host; the embedding columns are written by the lookups. */
    if (fx->n_num > 0) {
        const int64_t off = (int64_t)fx->n_deep * m->dim;
        for (int64_t i = 0; i < n; i++)
            memcpy(m->x0_host + i * m->n0 + off, b->num + i * fx->n_num,
                   (size_t)fx->n_num * sizeof(float));
        API(ember_buffer_upload(m->ctx, m->a[0], 0, m->x0_host,
                                (size_t)(n * m->n0) * sizeof(float)),
            "uploading numeric features");
    }
    for (int f = 0; f < fx->n_deep; f++) {
        ember_lookup_desc d;
        field_desc(m, b, f, &d);
        EMBER_FORWARD_IF_ERROR(
            ensure_idx(m, &m->emb_idx[f], &m->emb_idx_bytes[f], (size_t)d.num_indices * I, err));
        API(ember_buffer_upload(m->ctx, m->emb_idx[f], 0, b->deep_ids[f],
                                (size_t)d.num_indices * I),
            "uploading ids of field %d", f);
        if (b->deep_multi[f])
            API(ember_buffer_upload(m->ctx, m->emb_offs[f], 0, b->deep_offs[f],
                                    (size_t)(n + 1) * I),
                "uploading offsets of field %d", f);
        API(ember_embedding_lookup(m->ctx, &d, m->emb[f], m->emb_idx[f],
                                   b->deep_multi[f] ? m->emb_offs[f] : NULL, NULL, m->a[0]),
            "embedding lookup of field '%s'", fx->schema->cols[fx->deep_col[f]].name);
    }
    for (int i = 0; i < m->nl; i++) {
        API(ember_dense_forward(m->ctx, n, m->n[i], m->n[i + 1], m->a[i], m->W[i], m->b[i],
                                i < m->nl - 1 ? EMBER_ACTIVATION_RELU : EMBER_ACTIVATION_NONE,
                                m->a[i + 1]),
            "dense forward of layer %d", i);
    }
    ember_lookup_desc wd;
    wide_desc(m, b, &wd);
    EMBER_FORWARD_IF_ERROR(
        ensure_idx(m, &m->wide_idx, &m->wide_idx_bytes, (size_t)wd.num_indices * I, err));
    API(ember_buffer_upload(m->ctx, m->wide_idx, 0, b->wide_ids, (size_t)wd.num_indices * I),
        "uploading wide ids");
    API(ember_buffer_upload(m->ctx, m->wide_offs, 0, b->wide_offs, (size_t)(n + 1) * I),
        "uploading wide offsets");
    API(ember_embedding_lookup(m->ctx, &wd, m->wide, m->wide_idx, m->wide_offs, NULL, m->a[m->nl]),
        "wide lookup");
    return EMBER_STATUS_SUCCESS;
}

static void make_opt(ember_optimizer *o, ember_optimizer_kind k, float lr, float l2, int64_t step) {
    ember_optimizer_init(o, k, lr);
    o->weight_decay = l2;
    o->step = step;
}

ember_status ember_wd_train_step(ember_wd_model *m, const ember_batch *b, float *loss,
                                 ember_model_err *err) {
    const ember_features *fx = m->fx;
    const int64_t n = b->n;
    *loss = 0.0f;
    if (n == 0) return EMBER_STATUS_SUCCESS;
    EMBER_FORWARD_IF_ERROR(forward(m, b, err));
    API(ember_buffer_upload(m->ctx, m->labels, 0, b->label, (size_t)n * sizeof(float)),
        "uploading labels");
    const int L = m->nl;
    API(ember_bce_with_logits(m->ctx, n, m->a[L], m->labels, loss, m->g[L]), "BCE loss");
    m->step++;
    ember_optimizer ow, od, oe;
    make_opt(&ow, m->cfg.wide_opt, m->cfg.wide_lr, m->cfg.wide_l2, m->step);
    make_opt(&od, m->cfg.deep_opt, m->cfg.deep_lr, m->cfg.deep_l2, m->step);
    make_opt(&oe, m->cfg.emb_opt, m->cfg.emb_lr, m->cfg.emb_l2, m->step);
    /* wide: the logit gradient is the wide lookup's output gradient */
    ember_lookup_desc wd;
    wide_desc(m, b, &wd);
    wd.accumulate = 0;
    API(ember_embedding_backward_update(m->ctx, &wd, m->wide_idx, m->wide_offs, NULL, m->g[L],
                                        m->cfg.reduction, &ow, m->wide, m->wide_state),
        "wide backward/update");
    /* dense layers, top down; every dX is computed before its W changes */
    for (int i = L - 1; i >= 0; i--) {
        ember_buffer *dx = (i > 0 || fx->n_deep > 0) ? m->g[i] : NULL;
        API(ember_dense_backward(
                m->ctx, n, m->n[i], m->n[i + 1], m->a[i], m->W[i], m->a[i + 1], m->g[i + 1],
                i < L - 1 ? EMBER_ACTIVATION_RELU : EMBER_ACTIVATION_NONE, dx, m->dW[i], m->db[i]),
            "dense backward of layer %d", i);
        API(ember_dense_optimizer_step(m->ctx, &od, m->n[i] * m->n[i + 1], m->W[i], m->dW[i],
                                       m->sW[i], m->sW2[i]),
            "optimizer step of layer %d weights", i);
        API(ember_dense_optimizer_step(m->ctx, &od, m->n[i + 1], m->b[i], m->db[i], m->sb[i],
                                       m->sb2[i]),
            "optimizer step of layer %d bias", i);
    }
    /* embeddings: grad_out is each field's column slice of dX0 */
    for (int f = 0; f < fx->n_deep; f++) {
        ember_lookup_desc d;
        field_desc(m, b, f, &d);
        API(ember_embedding_backward_update(m->ctx, &d, m->emb_idx[f],
                                            b->deep_multi[f] ? m->emb_offs[f] : NULL, NULL, m->g[0],
                                            m->cfg.reduction, &oe, m->emb[f], m->emb_state[f]),
            "embedding backward/update of field '%s'", fx->schema->cols[fx->deep_col[f]].name);
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_wd_predict(ember_wd_model *m, const ember_batch *b, float *probs,
                              ember_model_err *err) {
    if (b->n == 0) return EMBER_STATUS_SUCCESS;
    EMBER_FORWARD_IF_ERROR(forward(m, b, err));
    API(ember_sigmoid(m->ctx, b->n, m->a[m->nl], m->probs), "sigmoid");
    API(ember_buffer_download(m->ctx, m->probs, 0, probs, (size_t)b->n * sizeof(float)),
        "downloading probabilities");
    for (int64_t i = 0; i < b->n; i++)
        if (isnan(probs[i]))
            return ember_merr(err, EMBER_STATUS_NUMERIC_ERROR,
                              "the model scores line %lld NaN (are its weights finite?)",
                              (long long)b->line[i]);
    return EMBER_STATUS_SUCCESS;
}

int ember_wd_num_tensors(const ember_wd_model *m) {
    return m->nparams;
}

static void describe(const param *p, ember_st_tensor *info) {
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", p->name);
    info->ndim = p->ndim;
    info->shape[0] = p->shape[0];
    info->shape[1] = p->shape[1];
    info->count = p->count;
}

void ember_wd_tensor_info(const ember_wd_model *m, int i, ember_st_tensor *info) {
    describe(&m->params[i], info);
}

int64_t ember_wd_num_params(const ember_wd_model *m) {
    int64_t t = 0;
    for (int i = 0; i < m->nparams; i++) t += m->params[i].count;
    return t;
}

ember_status ember_wd_get_params(ember_wd_model *m, float *host, ember_model_err *err) {
    for (int i = 0; i < m->nparams; i++) {
        param *p = &m->params[i];
        API(ember_buffer_download(m->ctx, p->buf, 0, host, (size_t)p->count * sizeof(float)),
            "downloading %s", p->name);
        host += p->count;
    }
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_wd_set_params(ember_wd_model *m, const float *host, ember_model_err *err) {
    for (int i = 0; i < m->nparams; i++) {
        param *p = &m->params[i];
        EMBER_FORWARD_IF_ERROR(upload_floats(m, p->buf, host, p->count, p->name, err));
        host += p->count;
    }
    return EMBER_STATUS_SUCCESS;
}

int ember_wd_num_state_tensors(const ember_wd_model *m) {
    return m->nstates;
}

void ember_wd_state_info(const ember_wd_model *m, int i, ember_st_tensor *info) {
    describe(&m->states[i], info);
}

const char *ember_wd_state_legacy_name(const ember_wd_model *m, int i) {
    return m->states[i].legacy_name;
}

ember_status ember_wd_get_state(ember_wd_model *m, int i, float *host, ember_model_err *err) {
    param *p = &m->states[i];
    API(ember_buffer_download(m->ctx, p->buf, 0, host, (size_t)p->count * sizeof(float)),
        "downloading %s", p->name);
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_wd_set_state(ember_wd_model *m, int i, const float *host, ember_model_err *err) {
    param *p = &m->states[i];
    return upload_floats(m, p->buf, host, p->count, p->name, err);
}

int64_t ember_wd_step(const ember_wd_model *m) {
    return m->step;
}

void ember_wd_set_step(ember_wd_model *m, int64_t step) {
    m->step = step;
}

int64_t ember_wd_epochs_done(const ember_wd_model *m) {
    return m->epochs_done;
}

void ember_wd_set_epochs_done(ember_wd_model *m, int64_t epochs) {
    m->epochs_done = epochs;
}

double ember_wd_best_valid_auc(const ember_wd_model *m) {
    return m->best_valid_auc;
}

const char *ember_wd_valid_on(const ember_wd_model *m) {
    return m->valid_on;
}

void ember_wd_set_best_valid(ember_wd_model *m, double auc, const char *valid_on) {
    m->best_valid_auc = auc;
    snprintf(m->valid_on, sizeof m->valid_on, "%s", valid_on ? valid_on : "");
}
