/* check_errors.c: the error-path cases: an invalid input must return its documented status,
 * the message must name the position and value, and every output, the table and the
 * optimizer state must hold exactly the bytes they held before; the context must stay
 * usable afterwards. A bad index or offset must also be caught again after the same buffer
 * was fixed, used and broken once more in place (a backend that caches which index buffers
 * it has validated must forget a buffer whose bytes changed). */
#include "check_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { E_ROWS = 13, E_DIM = 5, E_BATCH = 6, E_BAG = 2, E_NI = E_BATCH * E_BAG, E_KEPT = 8 };

/* One buffer whose bytes must survive the failing call. */
typedef struct kept {
    const char *name;
    ember_buffer *buf;
    unsigned char *before;
    size_t bytes;
} kept;

/* Everything one error case sets up, calls and checks. */
typedef struct err_case {
    const ember_check_case *c;
    ember_context *ctx;
    chk_dev d;
    ember_rng rng;
    int err;
    ember_check_op target;
    int64_t R, D, ni, B, S;
    int pooled, batched, weights;
    ember_index_type it;
    size_t isz;
    ember_lookup_desc desc;
    int64_t pos, val; /* what the message must name; pos -1: nothing */
    ember_optimizer opt;
    /* Host inputs: the bad ones, and the valid ones they were made from. */
    int64_t idx[E_NI], off[E_BATCH + 1], good_idx[E_NI], good_off[E_BATCH + 1];
    int64_t uids[E_ROWS], good_uids[E_ROWS]; /* sparse step: the bad index goes here */
    int64_t idx2[E_NI]; /* BATCHED_TWO_BAD: table 2's indices, bad at a lower position */
    float wts[E_NI];
    void *ib, *ob, *gib, *gob, *ib2; /* idx, off, good_idx, good_off, idx2 in the index type */
    unsigned char *scratch;          /* random bytes every kept buffer starts as */
    size_t scratch_bytes;
    kept k[E_KEPT];
    int nk;
    /* Device buffers: indices, offsets, weights, grad_out, and the target's own. */
    ember_buffer *bi, *bo, *bw, *bgo, *bgi, *bgoff, *bx, *bu, *bi2;
    ember_buffer *table[3], *state[3], *out, *ugrads;
    /* WRONG_CONTEXT: the table lives on a second (CPU) context. */
    ember_context *other;
    ember_buffer *foreign;
    const char *call;
    int64_t nu_host;
} err_case;

/* A buffer of exactly `bytes` (no guard: the too-small cases need exact sizes), filled from
 * data. */
static ember_buffer *up_exact(chk_dev *d, const void *data, size_t bytes) {
    if (d->st) return NULL;
    ember_buffer *b = NULL;
    if (chk_fail_st(d, ember_buffer_alloc(d->ctx, bytes, &b), "ember_buffer_alloc")) return NULL;
    if (chk_fail_st(d, ember_buffer_upload(d->ctx, b, 0, data, bytes), "ember_buffer_upload")) {
        ember_buffer_free(b);
        return NULL;
    }
    return b;
}

/* Uploads `size` bytes of scratch (at a different place for each kept buffer) and keeps
 * a copy to compare with after the failing call. */
static ember_buffer *keep(err_case *e, const char *name, size_t size) {
    if (e->d.st || e->nk == E_KEPT) return NULL;
    kept *k = &e->k[e->nk];
    k->name = name;
    k->bytes = size;
    k->before = malloc(size);
    if (!k->before) {
        chk_fail_st(&e->d, EMBER_STATUS_OUT_OF_MEMORY, "host malloc");
        return NULL;
    }
    memcpy(k->before, e->scratch + 64 * e->nk, size);
    k->buf = up_exact(&e->d, k->before, size);
    e->nk++;
    return k->buf;
}

static ember_status expected_status(int err) {
    switch (err) {
    case EMBER_CHECK_ERR_INDEX_NEGATIVE:
    case EMBER_CHECK_ERR_INDEX_TOO_BIG:
    case EMBER_CHECK_ERR_BATCHED_TWO_BAD:
        return EMBER_STATUS_INDEX_OUT_OF_RANGE;
    case EMBER_CHECK_ERR_OFFSET_FIRST:
    case EMBER_CHECK_ERR_OFFSET_DECREASING:
    case EMBER_CHECK_ERR_OFFSET_LAST:
        return EMBER_STATUS_BAD_OFFSETS;
    case EMBER_CHECK_ERR_OUT_TOO_SMALL:
    case EMBER_CHECK_ERR_TABLE_TOO_SMALL:
    case EMBER_CHECK_ERR_DENSE_TOO_SMALL:
        return EMBER_STATUS_BUFFER_TOO_SMALL;
    case EMBER_CHECK_ERR_BATCH_MISMATCH:
    case EMBER_CHECK_ERR_SLICE_TOO_WIDE:
    case EMBER_CHECK_ERR_BATCHED_BATCH:
    case EMBER_CHECK_ERR_BATCHED_STRIDE:
        return EMBER_STATUS_SHAPE_MISMATCH;
    case EMBER_CHECK_ERR_ROWWISE_DENSE:
        return EMBER_STATUS_NOT_SUPPORTED;
    case EMBER_CHECK_ERR_WRONG_CONTEXT:
        return EMBER_STATUS_WRONG_CONTEXT;
    case EMBER_CHECK_ERR_WEIGHTS_WITH_MEAN:
    case EMBER_CHECK_ERR_PADDING_TOO_BIG:
    default:
        return EMBER_STATUS_INVALID_ARGUMENT;
    }
}

static void fill_bytes(ember_rng *rng, void *p, size_t bytes) {
    unsigned char *q = p;
    for (size_t i = 0; i < bytes; i++) q[i] = (unsigned char)(ember_rng_next(rng) >> 56);
}

/* The host inputs and the desc, with the case's one bad value or shape. */
static void err_inputs(err_case *e) {
    e->R = E_ROWS, e->D = E_DIM;
    e->pooled = e->c->pooling != EMBER_POOLING_NONE;
    e->ni = E_NI, e->B = e->pooled ? E_BATCH : E_NI;
    e->it = e->c->index_type;
    e->isz = e->it == EMBER_INDEX_INT32 ? 4 : 8;
    for (int64_t i = 0; i < e->ni; i++) e->idx[i] = chk_below(&e->rng, e->R);
    for (int64_t b = 0; b <= E_BATCH; b++) e->off[b] = b * E_BAG;
    for (int64_t i = 0; i < e->R; i++) e->uids[i] = i;
    /* Batched ops: the other tables get these valid indices, bad_table(e) the bad ones. */
    e->batched =
        e->target == EMBER_CHECK_LOOKUP_BATCHED || e->target == EMBER_CHECK_BACKWARD_UPDATE_BATCHED;
    memcpy(e->good_idx, e->idx, sizeof e->idx);
    memcpy(e->good_off, e->off, sizeof e->off);
    memcpy(e->good_uids, e->uids, sizeof e->uids);
    ember_lookup_desc_init(&e->desc, e->R, e->D, e->ni, e->B, e->c->pooling);
    e->desc.index_type = e->it;
    e->S = e->D;
    e->pos = -1, e->val = 0;
    switch (e->err) {
    case EMBER_CHECK_ERR_INDEX_NEGATIVE:
        e->pos = 7, e->val = -3, e->idx[e->pos] = e->val;
        break;
    case EMBER_CHECK_ERR_INDEX_TOO_BIG:
        e->pos = 9, e->val = e->R, e->idx[e->pos] = e->val;
        break;
    case EMBER_CHECK_ERR_OFFSET_FIRST:
        e->pos = 0, e->val = 1, e->off[0] = e->val;
        break;
    case EMBER_CHECK_ERR_OFFSET_DECREASING:
        e->pos = 4, e->val = 5, e->off[e->pos] = e->val; /* offsets[3] == 6 */
        break;
    case EMBER_CHECK_ERR_OFFSET_LAST:
        e->pos = E_BATCH, e->val = e->ni + 1, e->off[e->pos] = e->val;
        break;
    case EMBER_CHECK_ERR_BATCH_MISMATCH:
        e->desc.batch = e->B = e->ni - 1;
        break;
    case EMBER_CHECK_ERR_SLICE_TOO_WIDE:
        e->desc.out_row_stride = e->S = e->D + 1;
        e->desc.out_col_offset = 2;
        break;
    case EMBER_CHECK_ERR_PADDING_TOO_BIG:
        e->desc.padding_idx = e->R;
        break;
    case EMBER_CHECK_ERR_BATCHED_TWO_BAD:
        /* Table 1 bad at position 9; table 2 bad too, at a lower position, with another
         * value: a one-pass check must still name table 1 and its own position. */
        e->pos = 9, e->val = e->R + 4, e->idx[e->pos] = e->val;
        memcpy(e->idx2, e->good_idx, sizeof e->idx2);
        e->idx2[2] = -5;
        break;
    default:
        break;
    }
    /* The sparse step takes its bad index in the unique ids (distinct, ascending otherwise). */
    if (e->pos >= 0) e->uids[e->pos] = e->val;
    /* Batched: three tables side by side; the stride case gives table 2 one more column. */
    if (e->batched) e->S = 3 * e->D + (e->err == EMBER_CHECK_ERR_BATCHED_STRIDE);
    e->weights = e->err == EMBER_CHECK_ERR_WEIGHTS_WITH_MEAN;
    ember_optimizer_init(&e->opt,
                         e->target == EMBER_CHECK_DENSE_STEP ? EMBER_OPTIMIZER_ROWWISE_ADAGRAD
                                                             : EMBER_OPTIMIZER_ADAGRAD,
                         0.1f);
    chk_fill(&e->rng, e->wts, e->ni, -1.0f, 1.0f);
}

/* The buffers every target shares: indices, offsets, weights, a finite grad_out, the valid
 * tables' indices of a batched call, and the foreign table of WRONG_CONTEXT. */
static int err_upload(err_case *e, ember_check_result *r) {
    if (e->err == EMBER_CHECK_ERR_WRONG_CONTEXT) {
        chk_dev od = {.ctx = NULL};
        if (chk_fail_st(&od, ember_context_create(&e->other, EMBER_BACKEND_CPU, 0),
                        "ember_context_create (a second CPU context)")) {
            chk_result_failf(r, "%s: %s", od.err, ember_last_error());
            return -1;
        }
        od.ctx = e->other;
        float zeros[E_ROWS * E_DIM] = {0};
        e->foreign = up_exact(&od, zeros, sizeof zeros);
        if (!e->foreign) {
            chk_result_failf(r, "%s", od.err);
            return -1;
        }
    }
    e->scratch_bytes = (size_t)(e->R * e->D + e->B * e->S + e->ni * e->D + 64) * 8;
    e->scratch = malloc(e->scratch_bytes);
    e->ib = chk_index_bytes(e->idx, e->ni, e->it);
    e->ob = chk_index_bytes(e->off, E_BATCH + 1, e->it);
    e->gib = chk_index_bytes(e->good_idx, e->ni, e->it);
    e->gob = chk_index_bytes(e->good_off, E_BATCH + 1, e->it);
    if (!e->scratch || !e->ib || !e->ob || !e->gib || !e->gob) {
        chk_result_failf(r, "out of host memory");
        return -1;
    }
    fill_bytes(&e->rng, e->scratch, e->scratch_bytes);
    chk_dev *d = &e->d;
    e->bi = up_exact(d, e->ib, (size_t)e->ni * e->isz);
    if (e->pooled) e->bo = up_exact(d, e->ob, (size_t)(E_BATCH + 1) * e->isz);
    if (e->weights) e->bw = up_exact(d, e->wts, (size_t)e->ni * 4);
    if (e->batched) {
        e->bgi = up_exact(d, e->gib, (size_t)e->ni * e->isz);
        if (e->pooled) e->bgoff = up_exact(d, e->gob, (size_t)(E_BATCH + 1) * e->isz);
    }
    if (e->err == EMBER_CHECK_ERR_BATCHED_TWO_BAD) {
        e->ib2 = chk_index_bytes(e->idx2, e->ni, e->it);
        if (!e->ib2) {
            chk_result_failf(r, "out of host memory");
            return -1;
        }
        e->bi2 = up_exact(d, e->ib2, (size_t)e->ni * e->isz);
    }
    /* grad_out: finite values, not random bytes. */
    float *gof = (float *)(e->scratch + (size_t)(e->R * e->D + e->ni * e->D) * 8);
    chk_fill(&e->rng, gof, e->B * e->S, -1.0f, 1.0f);
    e->bgo = up_exact(d, gof, (size_t)(e->B * e->S) * 4);
    return 0;
}

/* The target's own buffers, everything the op may write starting as random bytes that are
 * kept to compare with afterwards. */
static void err_prepare(err_case *e) {
    static const char *const tn[3] = {"table 0", "table 1", "table 2"};
    static const char *const sn[3] = {"state 0", "state 1", "state 2"};
    int short_out = e->err == EMBER_CHECK_ERR_OUT_TOO_SMALL;
    size_t rd = (size_t)(e->R * e->D) * 4;
    size_t table_bytes = rd - (e->err == EMBER_CHECK_ERR_TABLE_TOO_SMALL ? 4 : 0);
    size_t out_bytes = (size_t)(e->B * e->S) * 4 - (short_out ? 4 : 0);
    size_t state_bytes = rd - (short_out ? 4 : 0);
    switch (e->target) {
    case EMBER_CHECK_LOOKUP:
        e->table[0] = keep(e, "table", table_bytes);
        e->out = keep(e, "out", out_bytes);
        break;
    case EMBER_CHECK_BACKWARD_DENSE:
        e->out = keep(e, "grad_table", rd - (short_out ? 4 : 0));
        break;
    case EMBER_CHECK_BACKWARD_SPARSE:
        e->out = keep(e, "unique_ids", (size_t)e->ni * 8);
        e->ugrads = keep(e, "unique_grads", (size_t)(e->ni * e->D) * 4 - (short_out ? 4 : 0));
        break;
    case EMBER_CHECK_BACKWARD_UPDATE:
    case EMBER_CHECK_SPARSE_STEP:
        e->table[0] = keep(e, "table", table_bytes);
        e->state[0] = keep(e, "state", state_bytes);
        if (e->target == EMBER_CHECK_SPARSE_STEP) {
            e->bu = up_exact(&e->d, e->uids, (size_t)e->R * 8);
            e->bx = up_exact(&e->d, e->scratch + 1400, rd);
        }
        break;
    case EMBER_CHECK_DENSE_STEP:
        e->table[0] = keep(e, "param", rd);
        e->state[0] = keep(e, "state", rd);
        e->bx = up_exact(&e->d, e->scratch + 512, rd);
        break;
    case EMBER_CHECK_DENSE_FORWARD: /* x [7 x 5], W [3 x 5], y one float short */
        e->bx = up_exact(&e->d, e->scratch + 1400, (size_t)(7 * 5) * 4);
        e->bu = up_exact(&e->d, e->scratch + 1400, (size_t)(3 * 5) * 4);
        e->out = keep(e, "y", (size_t)(7 * 3) * 4 - 4);
        break;
    case EMBER_CHECK_LOOKUP_BATCHED:
    case EMBER_CHECK_BACKWARD_UPDATE_BATCHED:
        for (int t = 0; t < 3; t++) e->table[t] = keep(e, tn[t], rd);
        if (e->target == EMBER_CHECK_LOOKUP_BATCHED)
            e->out = keep(e, "out", (size_t)(e->B * e->S) * 4);
        else
            for (int t = 0; t < 3; t++) e->state[t] = keep(e, sn[t], rd);
        break;
    default:
        break;
    }
    if (e->foreign) e->table[0] = e->foreign;
}

/* The table of a batched call whose bad input the message must name: table 2 (the last),
 * or table 1 when table 2 is bad too (BATCHED_TWO_BAD: the lowest bad table is reported). */
static int bad_table(const err_case *e) {
    return e->err == EMBER_CHECK_ERR_BATCHED_TWO_BAD ? 1 : 2;
}

/* bad_table(e) of a batched call carries the bad input (or shape). */
static ember_status err_invoke_batched(err_case *e) {
    ember_lookup_desc descs[3];
    const ember_buffer *bis[3] = {e->bgi, e->bgi, e->bgi}, *bos[3] = {e->bgoff, e->bgoff, e->bgoff},
                       *bws[3] = {NULL, NULL, NULL};
    int bad = bad_table(e);
    bis[bad] = e->bi, bos[bad] = e->bo, bws[bad] = e->bw;
    if (e->bi2) bis[2] = e->bi2;
    for (int t = 0; t < 3; t++) {
        descs[t] = e->desc;
        descs[t].out_row_stride = 3 * e->D;
        descs[t].out_col_offset = t * e->D;
    }
    if (e->err == EMBER_CHECK_ERR_BATCHED_BATCH) descs[2].batch = e->B - 1;
    if (e->err == EMBER_CHECK_ERR_BATCHED_STRIDE) descs[2].out_row_stride = e->S;
    if (e->target == EMBER_CHECK_LOOKUP_BATCHED) {
        e->call = "ember_embedding_lookup_batched";
        return ember_embedding_lookup_batched(
            e->ctx, 3, descs, (const ember_buffer *const *)e->table, bis, bos, bws, e->out);
    }
    e->call = "ember_embedding_backward_update_batched";
    return ember_embedding_backward_update_batched(e->ctx, 3, descs, bis, bos, bws, e->bgo,
                                                   EMBER_REDUCTION_ATOMIC, &e->opt, e->table,
                                                   e->state);
}

/* Calls the target op on the prepared buffers. */
static ember_status err_invoke(err_case *e) {
    ember_context *ctx = e->ctx;
    const ember_lookup_desc *desc = &e->desc;
    switch (e->target) {
    case EMBER_CHECK_LOOKUP:
        e->call = "ember_embedding_lookup";
        return ember_embedding_lookup(ctx, desc, e->table[0], e->bi, e->bo, e->bw, e->out);
    case EMBER_CHECK_BACKWARD_DENSE:
        e->call = "ember_embedding_backward_dense";
        return ember_embedding_backward_dense(ctx, desc, e->bi, e->bo, e->bw, e->bgo,
                                              EMBER_REDUCTION_ATOMIC, e->out);
    case EMBER_CHECK_BACKWARD_SPARSE:
        e->call = "ember_embedding_backward_sparse";
        return ember_embedding_backward_sparse(ctx, desc, e->bi, e->bo, e->bw, e->bgo,
                                               EMBER_REDUCTION_DETERMINISTIC, e->out, e->ugrads,
                                               &e->nu_host);
    case EMBER_CHECK_BACKWARD_UPDATE:
        e->call = "ember_embedding_backward_update";
        return ember_embedding_backward_update(ctx, desc, e->bi, e->bo, e->bw, e->bgo,
                                               EMBER_REDUCTION_ATOMIC, &e->opt, e->table[0],
                                               e->state[0]);
    case EMBER_CHECK_SPARSE_STEP:
        e->call = "ember_sparse_optimizer_step";
        return ember_sparse_optimizer_step(ctx, &e->opt, e->R, e->D, e->table[0], e->state[0],
                                           e->bu, e->bx, e->R);
    case EMBER_CHECK_DENSE_STEP:
        e->call = "ember_dense_optimizer_step";
        return ember_dense_optimizer_step(ctx, &e->opt, e->R * e->D, e->table[0], e->bx,
                                          e->state[0], NULL);
    case EMBER_CHECK_DENSE_FORWARD:
        e->call = "ember_dense_forward";
        return ember_dense_forward(ctx, 7, 5, 3, e->bx, e->bu, NULL, EMBER_ACTIVATION_RELU, e->out);
    case EMBER_CHECK_LOOKUP_BATCHED:
    case EMBER_CHECK_BACKWARD_UPDATE_BATCHED:
        return err_invoke_batched(e);
    default:
        e->call = "?";
        return EMBER_STATUS_INTERNAL;
    }
}

/* The status, the message (position, value, table) and num_unique left alone. */
static int err_check_status(err_case *e, ember_status st, ember_check_result *r) {
    ember_status want = expected_status(e->err);
    const char *msg = ember_context_last_error(e->ctx);
    if (st != want) {
        chk_result_failf(r, "%s returned %s, want %s (message: \"%s\")", e->call,
                         ember_status_name(st), ember_status_name(want), msg ? msg : "");
        return -1;
    }
    if (e->pos >= 0) {
        char p[32], v[32];
        snprintf(p, sizeof p, "[%" PRId64 "]", e->pos);
        snprintf(v, sizeof v, "%" PRId64, e->val);
        if (!msg || !strstr(msg, p) || !strstr(msg, v))
            chk_result_failf(r, "%s's message \"%s\" does not name position %s and value %s",
                             e->call, msg ? msg : "(null)", p, v);
    }
    char table[16];
    snprintf(table, sizeof table, "table %d: ", bad_table(e));
    if (e->batched && (!msg || !strstr(msg, table)))
        chk_result_failf(r, "%s's message \"%s\" does not name the table (\"%s...\")", e->call,
                         msg ? msg : "(null)", table);
    if (e->nu_host != -7)
        chk_result_failf(r, "%s wrote num_unique = %lld although it failed", e->call,
                         (long long)e->nu_host);
    return 0;
}

/* Every kept buffer holds exactly the bytes it held before the failing call. */
static void err_check_kept(err_case *e, ember_check_result *r) {
    for (int i = 0; i < e->nk; i++) {
        const kept *k = &e->k[i];
        unsigned char *after = malloc(k->bytes);
        if (!after) break;
        ember_status ds = ember_buffer_download(e->ctx, k->buf, 0, after, k->bytes);
        if (ds != EMBER_STATUS_SUCCESS) {
            chk_result_failf(r, "downloading %s after the error returned %s", k->name,
                             ember_status_name(ds));
            free(after);
            continue;
        }
        for (size_t b = 0; b < k->bytes; b++) {
            if (after[b] == k->before[b]) continue;
            r->has_diff = 1;
            snprintf(r->diff_array, sizeof r->diff_array, "%s", k->name);
            r->diff_index = (int64_t)(b / 4);
            r->diff_row = r->diff_index / e->D;
            r->diff_col = r->diff_index % e->D;
            r->diff_got = after[b];
            r->diff_want = k->before[b];
            chk_result_failf(r,
                             "%s failed as it should but changed %s: byte %zu was 0x%02x, now "
                             "0x%02x",
                             e->call, k->name, b, k->before[b], after[b]);
            break;
        }
        free(after);
    }
}

/* Writes the good (fix = 1) or the bad index / offset bytes into the buffer that carries
 * the bad value, in place. */
static void err_rewrite(err_case *e, int fix) {
    chk_dev *d = &e->d;
    if (e->target == EMBER_CHECK_SPARSE_STEP) {
        chk_fail_st(
            d, ember_buffer_upload(e->ctx, e->bu, 0, fix ? e->good_uids : e->uids, sizeof e->uids),
            "ember_buffer_upload (unique ids)");
        return;
    }
    chk_fail_st(d,
                ember_buffer_upload(e->ctx, e->bi, 0, fix ? e->gib : e->ib, (size_t)e->ni * e->isz),
                "ember_buffer_upload (indices)");
    if (e->bo)
        chk_fail_st(d,
                    ember_buffer_upload(e->ctx, e->bo, 0, fix ? e->gob : e->ob,
                                        (size_t)(E_BATCH + 1) * e->isz),
                    "ember_buffer_upload (offsets)");
    if (e->bi2)
        chk_fail_st(
            d,
            ember_buffer_upload(e->ctx, e->bi2, 0, fix ? e->gib : e->ib2, (size_t)e->ni * e->isz),
            "ember_buffer_upload (table 2's indices)");
}

/* A bad index or offset fixed in place must be checked again and accepted; broken again
 * after that successful call, it must be caught again. */
static void err_recheck(err_case *e, ember_check_result *r) {
    if (e->pos < 0 || r->outcome == EMBER_CHECK_FAILED) return;
    err_rewrite(e, 1);
    if (e->d.st) return;
    ember_status st = err_invoke(e);
    if (st != EMBER_STATUS_SUCCESS) {
        chk_result_failf(r, "%s with the bad value fixed in place returned %s, want SUCCESS: %s",
                         e->call, ember_status_name(st), ember_context_last_error(e->ctx));
        return;
    }
    err_rewrite(e, 0);
    if (e->d.st) return;
    e->nu_host = -7;
    st = err_invoke(e);
    ember_status want = expected_status(e->err);
    if (st != want)
        chk_result_failf(r,
                         "%s after a successful call and the bad value written back in place "
                         "returned %s, want %s (a stale validation?)",
                         e->call, ember_status_name(st), ember_status_name(want));
}

/* A tiny valid op after the error must still succeed: a CUDA device assert, for one, would
 * have poisoned the context. (Its values are the lookup cases' business.) */
void chk_still_usable(ember_context *ctx, ember_check_result *r, const char *after) {
    chk_dev d = {.ctx = ctx};
    float table[6] = {1, 2, 3, 4, 5, 6}, *got = NULL;
    int64_t idx[1] = {1};
    ember_lookup_desc desc;
    ember_lookup_desc_init(&desc, 2, 3, 1, 1, EMBER_POOLING_NONE);
    ember_buffer *bt = chk_up(&d, table, 6, 4), *bi = chk_up(&d, idx, 1, 8),
                 *bo = chk_up(&d, NULL, 3, 4);
    if (!d.st)
        chk_fail_st(&d, ember_embedding_lookup(ctx, &desc, bt, bi, NULL, NULL, bo),
                    "ember_embedding_lookup");
    if (!d.st) got = chk_down(&d, bo, 3, 4);
    if (d.st) chk_result_failf(r, "the context is unusable after %s: %s", after, d.err);
    ember_buffer_free(bt);
    ember_buffer_free(bi);
    ember_buffer_free(bo);
    free(got);
}

static void err_free(err_case *e) {
    for (int i = 0; i < e->nk; i++) {
        ember_buffer_free(e->k[i].buf);
        free(e->k[i].before);
    }
    ember_buffer *own[] = {e->bi,    e->bo, e->bw, e->bgo,     e->bgi,
                           e->bgoff, e->bx, e->bu, e->foreign, e->bi2};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) ember_buffer_free(own[i]);
    ember_context_destroy(e->other);
    free(e->scratch);
    free(e->ib);
    free(e->ob);
    free(e->gib);
    free(e->gob);
    free(e->ib2);
}

void chk_run_errors(const ember_check_case *c, ember_context *ctx, ember_context *ref,
                    uint64_t seed, ember_check_result *r) {
    (void)ref;
    err_case *e = calloc(1, sizeof *e);
    if (!e) {
        chk_result_failf(r, "out of host memory");
        return;
    }
    e->c = c, e->ctx = ctx, e->d.ctx = ctx, e->rng.s = seed;
    e->err = c->error, e->target = c->target, e->nu_host = -7;
    err_inputs(e);
    if (err_upload(e, r) == 0) {
        err_prepare(e);
        if (!e->d.st) {
            ember_status st = err_invoke(e);
            if (err_check_status(e, st, r) == 0) {
                err_check_kept(e, r);
                r->metric = "exact";
                chk_still_usable(ctx, r, "the error");
                err_recheck(e, r);
            }
        }
    }
    if (e->d.st) chk_result_failf(r, "%s", e->d.err);
    err_free(e);
    free(e);
}
