/* bench_ops.c: runs the `ember bench` op suite on one context: builds the inputs of the
 * FBGEMM-convention shape, times each op (median per call after warm-up, synchronised) and
 * records bytes, rows and FLOPs per call as bench.h defines them. */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[BENCH_OP_COUNT_] = {"gather_copy",
                                                      "lookup_sum",
                                                      "lookup_none",
                                                      "backward_dense",
                                                      "backward_sparse",
                                                      "update_sgd",
                                                      "update_adagrad",
                                                      "update_rowwise_adagrad",
                                                      "step_sgd",
                                                      "dense_fwd",
                                                      "dense_bwd",
                                                      "sigmoid",
                                                      "bce"};

const char *bench_op_name(enum bench_op op) {
    return (unsigned)op < BENCH_OP_COUNT_ ? op_names[op] : "?";
}

int bench_op_parse(const char *name, enum bench_op *op) {
    for (int i = 0; i < BENCH_OP_COUNT_; i++) {
        if (strcmp(name, op_names[i]) == 0) {
            *op = (enum bench_op)i;
            return 0;
        }
    }
    return -1;
}

/* Everything one context's suite allocates; NULL buffers are ones no asked op needs. */
typedef struct suite {
    ember_context *ctx;
    const bench_config *cfg;
    int64_t T, E, D, B, L, N;
    ember_buffer **table, **idx;          /* T each */
    ember_buffer **state_of, **rstate_of; /* T each: the shared state buffers, for batched calls */
    ember_lookup_desc *descs;             /* T: the pooled descs, for batched calls */
    ember_buffer **offs_of;               /* T: the shared offsets, for batched calls */
    ember_buffer *offsets, *out, *grad_out;
    ember_buffer *perm, *gather_out, *none_out;
    ember_buffer *grad_table, *uids, *ugrads, *state, *rstate;
    ember_buffer *x, *w, *b, *y, *dy, *dx, *dw, *db;
    ember_buffer *logits, *labels, *probs, *lgrad;
    int64_t n_head;
    ember_optimizer sgd, adagrad, rowwise;
} suite;

static void pooled_desc(const suite *s, int64_t t, ember_lookup_desc *d) {
    ember_lookup_desc_init(d, s->E, s->D, s->N, s->B, EMBER_POOLING_SUM);
    d->out_row_stride = s->T * s->D;
    d->out_col_offset = t * s->D;
}

/* The pooled forward over all tables: one table-batched call, or one call per table. */
static ember_status lookup_all(suite *s) {
    if (s->cfg->batched) {
        const ember_buffer **offs = (const ember_buffer **)s->offs_of;
        return ember_embedding_lookup_batched(
            s->ctx, s->T, s->descs, (const ember_buffer *const *)s->table,
            (const ember_buffer *const *)s->idx, offs, NULL, s->out);
    }
    ember_status st = EMBER_STATUS_SUCCESS;
    for (int64_t t = 0; t < s->T && st == EMBER_STATUS_SUCCESS; t++)
        st = ember_embedding_lookup(s->ctx, &s->descs[t], s->table[t], s->idx[t], s->offsets, NULL,
                                    s->out);
    return st;
}

/* The fused backward + update over all tables (every table shares `state`: timing only). */
static ember_status update_all(suite *s, const ember_optimizer *opt, ember_buffer *state) {
    if (s->cfg->batched) {
        ember_buffer **states = state == s->state    ? s->state_of
                                : state == s->rstate ? s->rstate_of
                                                     : NULL;
        return ember_embedding_backward_update_batched(
            s->ctx, s->T, s->descs, (const ember_buffer *const *)s->idx,
            (const ember_buffer *const *)s->offs_of, NULL, s->grad_out, s->cfg->mode, opt, s->table,
            states);
    }
    ember_status st = EMBER_STATUS_SUCCESS;
    for (int64_t t = 0; t < s->T && st == EMBER_STATUS_SUCCESS; t++)
        st = ember_embedding_backward_update(s->ctx, &s->descs[t], s->idx[t], s->offsets, NULL,
                                             s->grad_out, s->cfg->mode, opt, s->table[t], state);
    return st;
}

/* One call of `op` (over all tables). */
static ember_status run_once(suite *s, enum bench_op op) {
    ember_context *ctx = s->ctx;
    ember_reduction_mode mode = s->cfg->mode;
    ember_lookup_desc d;
    ember_status st = EMBER_STATUS_SUCCESS;
    switch (op) {
    case BENCH_OP_GATHER_COPY:
        ember_lookup_desc_init(&d, s->E, s->D, s->E, s->E, EMBER_POOLING_NONE);
        return ember_embedding_lookup(ctx, &d, s->table[0], s->perm, NULL, NULL, s->gather_out);
    case BENCH_OP_LOOKUP_SUM:
        return lookup_all(s);
    case BENCH_OP_LOOKUP_NONE:
        for (int64_t t = 0; t < s->T && st == EMBER_STATUS_SUCCESS; t++) {
            ember_lookup_desc_init(&d, s->E, s->D, s->N, s->N, EMBER_POOLING_NONE);
            st = ember_embedding_lookup(ctx, &d, s->table[t], s->idx[t], NULL, NULL, s->none_out);
        }
        return st;
    case BENCH_OP_BACKWARD_DENSE:
        for (int64_t t = 0; t < s->T && st == EMBER_STATUS_SUCCESS; t++) {
            pooled_desc(s, t, &d);
            st = ember_embedding_backward_dense(ctx, &d, s->idx[t], s->offsets, NULL, s->grad_out,
                                                mode, s->grad_table);
        }
        return st;
    case BENCH_OP_BACKWARD_SPARSE:
        for (int64_t t = 0; t < s->T && st == EMBER_STATUS_SUCCESS; t++) {
            int64_t nu = 0;
            pooled_desc(s, t, &d);
            st = ember_embedding_backward_sparse(ctx, &d, s->idx[t], s->offsets, NULL, s->grad_out,
                                                 mode, s->uids, s->ugrads, &nu);
        }
        return st;
    case BENCH_OP_UPDATE_SGD:
    case BENCH_OP_UPDATE_ADAGRAD:
    case BENCH_OP_UPDATE_ROWWISE: {
        const ember_optimizer *opt = op == BENCH_OP_UPDATE_SGD       ? &s->sgd
                                     : op == BENCH_OP_UPDATE_ADAGRAD ? &s->adagrad
                                                                     : &s->rowwise;
        ember_buffer *state = op == BENCH_OP_UPDATE_SGD       ? NULL
                              : op == BENCH_OP_UPDATE_ADAGRAD ? s->state
                                                              : s->rstate;
        return update_all(s, opt, state);
    }
    case BENCH_OP_STEP_SGD:
        /* A training step of the embedding part: forward, then the fused backward + SGD
         * (the gradient of the loss w.r.t. the output is given, as in the PyTorch side). */
        st = lookup_all(s);
        return st == EMBER_STATUS_SUCCESS ? update_all(s, &s->sgd, NULL) : st;
    case BENCH_OP_DENSE_FWD:
        return ember_dense_forward(ctx, s->B, s->cfg->shape.dense_in, s->cfg->shape.dense_out, s->x,
                                   s->w, s->b, EMBER_ACTIVATION_RELU, s->y);
    case BENCH_OP_DENSE_BWD:
        return ember_dense_backward(ctx, s->B, s->cfg->shape.dense_in, s->cfg->shape.dense_out,
                                    s->x, s->w, s->y, s->dy, EMBER_ACTIVATION_RELU, s->dx, s->dw,
                                    s->db);
    case BENCH_OP_SIGMOID:
        return ember_sigmoid(ctx, s->n_head, s->logits, s->probs);
    case BENCH_OP_BCE: {
        float loss = 0.0f;
        return ember_bce_with_logits(ctx, s->n_head, s->logits, s->labels, &loss, s->lgrad);
    }
    default:
        return EMBER_STATUS_INVALID_ARGUMENT;
    }
}

static ember_status run_sync(suite *s, enum bench_op op, int calls) {
    for (int i = 0; i < calls; i++) {
        ember_status st = run_once(s, op);
        if (st != EMBER_STATUS_SUCCESS) return st;
    }
    return ember_context_synchronize(s->ctx);
}

static void record_error(suite *s, bench_result *r, ember_status st, const char *what) {
    r->ran = -1;
    const char *detail = ember_context_last_error(s->ctx);
    snprintf(r->error, sizeof r->error, "%s: %s%s%s", what, ember_status_name(st),
             detail[0] ? ": " : "", detail);
}

/* Times one op: the first call alone (it may build kernels), then calls are grouped so one
 * timed rep lasts at least ~2 ms (timer and sync overhead stay small on a GPU), two reps of
 * warm-up, then up to cfg->reps reps, fewer for slow ops (about 3 s per op at most). */
static void time_op(suite *s, enum bench_op op, bench_result *r) {
    double t0 = ember_now();
    ember_status st = run_sync(s, op, 1);
    r->first_ms = (ember_now() - t0) * 1e3;
    if (st != EMBER_STATUS_SUCCESS) {
        record_error(s, r, st, "first call");
        return;
    }
    t0 = ember_now();
    st = run_sync(s, op, 1);
    double one = ember_now() - t0;
    if (st != EMBER_STATUS_SUCCESS) {
        record_error(s, r, st, "second call");
        return;
    }
    int inner = one >= 2e-3 ? 1 : (int)ceil(2e-3 / (one > 1e-7 ? one : 1e-7));
    if (inner > 256) inner = 256;
    int reps = s->cfg->reps;
    double capd = 3.0 / ((one > 1e-7 ? one : 1e-7) * inner);
    int cap = capd > 1e6 ? 1000000 : capd < 5.0 ? 5 : (int)capd;
    if (reps > cap) reps = cap;
    for (int w = 0; w < 2; w++) {
        if ((st = run_sync(s, op, inner)) != EMBER_STATUS_SUCCESS) {
            record_error(s, r, st, "warm-up");
            return;
        }
    }
    double *ms = malloc((size_t)reps * sizeof *ms);
    if (ms == NULL) {
        r->ran = -1;
        snprintf(r->error, sizeof r->error, "out of host memory");
        return;
    }
    for (int i = 0; i < reps; i++) {
        t0 = ember_now();
        if ((st = run_sync(s, op, inner)) != EMBER_STATUS_SUCCESS) {
            record_error(s, r, st, "timed call");
            free(ms);
            return;
        }
        ms[i] = (ember_now() - t0) * 1e3 / inner;
    }
    r->ran = 1;
    r->reps = reps;
    r->inner = inner;
    r->min_ms = bench_min(ms, reps);
    r->median_ms = bench_median(ms, reps);
    free(ms);
}

/* Allocates a buffer of `n` floats filled from the seed in [lo, hi) (or zeros when
 * lo == hi == 0). */
static ember_status alloc_floats(suite *s, ember_buffer **buf, int64_t n, float lo, float hi,
                                 uint64_t seed) {
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(float);
    ember_status st = ember_buffer_alloc(s->ctx, bytes, buf);
    if (st != EMBER_STATUS_SUCCESS) return st;
    if (lo == 0.0f && hi == 0.0f) return ember_buffer_zero(s->ctx, *buf, 0, bytes);
    /* Upload in chunks so a large table needs no table-sized host copy. */
    size_t chunk_n = 1u << 20;
    ember_rng rng = {seed};
    float *h = malloc(chunk_n * sizeof *h);
    if (h == NULL) return EMBER_STATUS_OUT_OF_MEMORY;
    for (size_t done = 0; done < (size_t)n && st == EMBER_STATUS_SUCCESS;) {
        size_t k = (size_t)n - done < chunk_n ? (size_t)n - done : chunk_n;
        for (size_t i = 0; i < k; i++) h[i] = bench_rng_float(&rng, lo, hi);
        st = ember_buffer_upload(s->ctx, *buf, done * sizeof(float), h, k * sizeof(float));
        done += k;
    }
    free(h);
    return st;
}

static ember_status alloc_i64(suite *s, ember_buffer **buf, const int64_t *h, int64_t n) {
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(int64_t);
    ember_status st = ember_buffer_alloc(s->ctx, bytes, buf);
    if (st == EMBER_STATUS_SUCCESS && n > 0)
        st = ember_buffer_upload(s->ctx, *buf, 0, h, (size_t)n * sizeof(int64_t));
    return st;
}

static void suite_free(suite *s) {
    if (s->table)
        for (int64_t t = 0; t < s->T; t++) ember_buffer_free(s->table[t]);
    if (s->idx)
        for (int64_t t = 0; t < s->T; t++) ember_buffer_free(s->idx[t]);
    free(s->table);
    free(s->idx);
    free(s->state_of);
    free(s->rstate_of);
    free(s->offs_of);
    free(s->descs);
    ember_buffer *all[] = {s->offsets,  s->out,        s->grad_out, s->perm,   s->gather_out,
                           s->none_out, s->grad_table, s->uids,     s->ugrads, s->state,
                           s->rstate,   s->x,          s->w,        s->b,      s->y,
                           s->dy,       s->dx,         s->dw,       s->db,     s->logits,
                           s->labels,   s->probs,      s->lgrad};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ember_buffer_free(all[i]);
    ember_context_destroy(s->ctx);
}

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        if ((st = (expr)) != EMBER_STATUS_SUCCESS) goto fail;                                      \
    } while (0)

static int any_of(const bench_config *cfg, int first, int last) {
    for (int i = first; i <= last; i++)
        if (cfg->ops[i]) return 1;
    return 0;
}

/* Allocates and fills every input the asked ops need; counts N and U into run. */
static ember_status suite_setup(suite *s, bench_run *run) {
    const bench_config *cfg = s->cfg;
    const bench_shape *sh = &cfg->shape;
    ember_status st = EMBER_STATUS_SUCCESS;
    int64_t *h = NULL;
    int emb = any_of(cfg, BENCH_OP_LOOKUP_SUM, BENCH_OP_STEP_SGD);
    int pooled =
        cfg->ops[BENCH_OP_LOOKUP_SUM] || any_of(cfg, BENCH_OP_BACKWARD_DENSE, BENCH_OP_STEP_SGD);
    s->table = calloc((size_t)s->T, sizeof *s->table);
    s->idx = calloc((size_t)s->T, sizeof *s->idx);
    size_t hn = (size_t)(s->N > s->B + 1 ? s->N : s->B + 1);
    if (cfg->ops[BENCH_OP_GATHER_COPY] && (size_t)s->E > hn) hn = (size_t)s->E;
    h = malloc(hn * sizeof *h);
    if (s->table == NULL || s->idx == NULL || h == NULL) {
        st = EMBER_STATUS_OUT_OF_MEMORY;
        goto fail;
    }
    if (emb || cfg->ops[BENCH_OP_GATHER_COPY]) {
        int64_t ntab = emb ? s->T : 1;
        for (int64_t t = 0; t < ntab; t++)
            TRY(alloc_floats(s, &s->table[t], s->E * s->D, -0.1f, 0.1f,
                             sh->seed + 100 + (uint64_t)t));
    }
    if (emb) {
        for (int64_t t = 0; t < s->T; t++) {
            bench_make_indices(h, s->N, s->E, sh->dist, sh->alpha, sh->seed + 1000 + (uint64_t)t);
            int64_t u = bench_count_unique(h, s->N);
            if (u < 0) {
                st = EMBER_STATUS_OUT_OF_MEMORY;
                goto fail;
            }
            run->unique_rows += u;
            run->num_indices += s->N;
            TRY(alloc_i64(s, &s->idx[t], h, s->N));
        }
        for (int64_t b = 0; b <= s->B; b++) h[b] = b * s->L;
        TRY(alloc_i64(s, &s->offsets, h, s->B + 1));
    }
    if (pooled) {
        TRY(alloc_floats(s, &s->out, s->B * s->T * s->D, 0.0f, 0.0f, 0));
        TRY(alloc_floats(s, &s->grad_out, s->B * s->T * s->D, -0.01f, 0.01f, sh->seed + 2));
    }
    if (cfg->ops[BENCH_OP_GATHER_COPY]) {
        ember_rng rng = {sh->seed + 3};
        for (int64_t i = 0; i < s->E; i++) h[i] = i;
        for (int64_t i = s->E - 1; i > 0; i--) { /* Fisher-Yates */
            int64_t j = (int64_t)(ember_rng_next(&rng) % (uint64_t)(i + 1)), t = h[i];
            h[i] = h[j];
            h[j] = t;
        }
        TRY(alloc_i64(s, &s->perm, h, s->E));
        TRY(alloc_floats(s, &s->gather_out, s->E * s->D, 0.0f, 0.0f, 0));
    }
    if (cfg->ops[BENCH_OP_LOOKUP_NONE])
        TRY(alloc_floats(s, &s->none_out, s->N * s->D, 0.0f, 0.0f, 0));
    if (cfg->ops[BENCH_OP_BACKWARD_DENSE])
        TRY(alloc_floats(s, &s->grad_table, s->E * s->D, 0.0f, 0.0f, 0));
    if (cfg->ops[BENCH_OP_BACKWARD_SPARSE]) {
        TRY(ember_buffer_alloc(s->ctx, (size_t)(s->N > 0 ? s->N : 1) * sizeof(int64_t), &s->uids));
        TRY(alloc_floats(s, &s->ugrads, s->N * s->D, 0.0f, 0.0f, 0));
    }
    if (cfg->ops[BENCH_OP_UPDATE_ADAGRAD])
        TRY(alloc_floats(s, &s->state, s->E * s->D, 0.0f, 0.0f, 0));
    if (cfg->ops[BENCH_OP_UPDATE_ROWWISE]) TRY(alloc_floats(s, &s->rstate, s->E, 0.0f, 0.0f, 0));
    /* Per-table arrays for the table-batched calls (and the descs for both paths). */
    s->descs = calloc((size_t)s->T, sizeof *s->descs);
    s->offs_of = calloc((size_t)s->T, sizeof *s->offs_of);
    s->state_of = calloc((size_t)s->T, sizeof *s->state_of);
    s->rstate_of = calloc((size_t)s->T, sizeof *s->rstate_of);
    if (!s->descs || !s->offs_of || !s->state_of || !s->rstate_of) {
        st = EMBER_STATUS_OUT_OF_MEMORY;
        goto fail;
    }
    for (int64_t t = 0; t < s->T; t++) {
        pooled_desc(s, t, &s->descs[t]);
        s->offs_of[t] = s->offsets;
        s->state_of[t] = s->state;
        s->rstate_of[t] = s->rstate;
    }
    if (any_of(cfg, BENCH_OP_DENSE_FWD, BENCH_OP_DENSE_BWD)) {
        int64_t in = sh->dense_in, o = sh->dense_out;
        float scale = 1.0f / sqrtf((float)in);
        TRY(alloc_floats(s, &s->x, s->B * in, -1.0f, 1.0f, sh->seed + 4));
        TRY(alloc_floats(s, &s->w, o * in, -scale, scale, sh->seed + 5));
        TRY(alloc_floats(s, &s->b, o, -0.1f, 0.1f, sh->seed + 6));
        TRY(alloc_floats(s, &s->y, s->B * o, 0.0f, 0.0f, 0));
        TRY(alloc_floats(s, &s->dy, s->B * o, -0.01f, 0.01f, sh->seed + 7));
        TRY(alloc_floats(s, &s->dx, s->B * in, 0.0f, 0.0f, 0));
        TRY(alloc_floats(s, &s->dw, o * in, 0.0f, 0.0f, 0));
        TRY(alloc_floats(s, &s->db, o, 0.0f, 0.0f, 0));
        /* The backward needs the forward's output (ReLU mask). */
        TRY(ember_dense_forward(s->ctx, s->B, in, o, s->x, s->w, s->b, EMBER_ACTIVATION_RELU,
                                s->y));
    }
    if (any_of(cfg, BENCH_OP_SIGMOID, BENCH_OP_BCE)) {
        TRY(alloc_floats(s, &s->logits, s->n_head, -8.0f, 8.0f, sh->seed + 8));
        TRY(alloc_floats(s, &s->labels, s->n_head, 0.0f, 1.0f, sh->seed + 9));
        TRY(alloc_floats(s, &s->probs, s->n_head, 0.0f, 0.0f, 0));
        TRY(alloc_floats(s, &s->lgrad, s->n_head, 0.0f, 0.0f, 0));
    }
    TRY(ember_context_synchronize(s->ctx));
fail:
    free(h);
    return st;
}

int bench_run_suite(const char *cmd, ember_backend_kind kind, int device, const bench_config *cfg,
                    int verbose, bench_run *run) {
    const bench_shape *sh = &cfg->shape;
    suite s;
    memset(&s, 0, sizeof s);
    memset(run, 0, sizeof *run);
    s.cfg = cfg;
    s.T = sh->tables;
    s.E = sh->rows;
    s.D = sh->dim;
    s.B = sh->batch;
    s.L = sh->pooling;
    s.N = sh->batch * sh->pooling;
    s.n_head = s.B * s.T * s.D;
    ember_optimizer_init(&s.sgd, EMBER_OPTIMIZER_SGD, 0.01f);
    ember_optimizer_init(&s.adagrad, EMBER_OPTIMIZER_ADAGRAD, 0.01f);
    ember_optimizer_init(&s.rowwise, EMBER_OPTIMIZER_ROWWISE_ADAGRAD, 0.01f);
    run->kind = kind;

    double t0 = ember_now();
    ember_status st = ember_context_create(&s.ctx, kind, device);
    run->create_ms = (ember_now() - t0) * 1e3;
    if (st != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "ember %s: creating the %s context failed: %s: %s\n", cmd,
                ember_backend_name(kind), ember_status_name(st), ember_last_error());
        return 1;
    }
    snprintf(run->device, sizeof run->device, "%s", ember_context_device_name(s.ctx));
    /* A GPU's copy basis measured without ember, before the inputs take device memory. */
    if (kind == EMBER_BACKEND_CUDA) {
        double g = bench_cuda_direct_copy_gbps((size_t)1 << 30, 10);
        run->device_copy_gbps = g > 0 ? g : 0.0;
    }
    if (cfg->threads > 0) ember_context_set_threads(s.ctx, cfg->threads);

    t0 = ember_now();
    st = suite_setup(&s, run);
    run->setup_ms = (ember_now() - t0) * 1e3;
    if (st != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "ember %s: preparing the %s inputs failed: %s: %s\n", cmd,
                ember_backend_name(kind), ember_status_name(st), ember_context_last_error(s.ctx));
        suite_free(&s);
        return 1;
    }

    const double f = (double)sizeof(float);
    const double D = (double)s.D, B = (double)s.B, T = (double)s.T, U = (double)run->unique_rows;
    const double N = (double)run->num_indices; /* over all tables */
    for (int i = 0; i < BENCH_OP_COUNT_; i++) {
        if (!cfg->ops[i]) continue;
        bench_result *r = &run->op[i];
        if (verbose) {
            fprintf(stderr, "ember %s: %s %s...\n", cmd, ember_backend_name(kind),
                    bench_op_name((enum bench_op)i));
        }
        time_op(&s, (enum bench_op)i, r);
        double grad_in = B * T * D * f; /* the output gradient, read by every backward */
        switch ((enum bench_op)i) {
        case BENCH_OP_GATHER_COPY:
            r->bytes = 2.0 * (double)s.E * D * f;
            r->rows = (double)s.E;
            break;
        case BENCH_OP_LOOKUP_SUM:
            r->bytes = (N + B * T) * D * f;
            r->rows = N;
            break;
        case BENCH_OP_LOOKUP_NONE:
            r->bytes = 2.0 * N * D * f;
            r->rows = N;
            break;
        case BENCH_OP_BACKWARD_DENSE:
        case BENCH_OP_UPDATE_SGD:
            r->bytes = grad_in + 2.0 * U * D * f;
            r->rows = N;
            break;
        case BENCH_OP_BACKWARD_SPARSE:
            r->bytes = grad_in + U * D * f;
            r->rows = N;
            break;
        case BENCH_OP_UPDATE_ADAGRAD:
            r->bytes = grad_in + 4.0 * U * D * f;
            r->rows = N;
            break;
        case BENCH_OP_UPDATE_ROWWISE:
            r->bytes = grad_in + 2.0 * U * D * f + 2.0 * U * f;
            r->rows = N;
            break;
        case BENCH_OP_STEP_SGD:
            r->bytes = (N + B * T) * D * f + grad_in + 2.0 * U * D * f;
            r->rows = N;
            break;
        case BENCH_OP_DENSE_FWD:
        case BENCH_OP_DENSE_BWD: {
            int fwd = i == BENCH_OP_DENSE_FWD;
            r->flops = (fwd ? 2.0 : 4.0) * B * (double)sh->dense_in * (double)sh->dense_out;
            r->gemm_ms = -1.0;
            if (kind == EMBER_BACKEND_CPU && r->ran == 1) {
                r->gemm_ms = bench_direct_gemm_ms(fwd, s.B, sh->dense_in, sh->dense_out,
                                                  cfg->threads, cfg->reps);
            } else if (kind == EMBER_BACKEND_CUDA && r->ran == 1) {
                r->gemm_ms =
                    bench_cuda_direct_gemm_ms(fwd, s.B, sh->dense_in, sh->dense_out, cfg->reps);
            }
            break;
        }
        case BENCH_OP_SIGMOID:
            r->bytes = 2.0 * (double)s.n_head * f;
            break;
        case BENCH_OP_BCE:
            r->bytes = 3.0 * (double)s.n_head * f;
            break;
        default:
            break;
        }
    }
    suite_free(&s);
    return 0;
}
