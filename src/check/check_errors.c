/* check_errors.c: the error-path cases: an invalid input must return its documented status,
 * the message must name the position and value, and every output, the table and the
 * optimizer state must hold exactly the bytes they held before; the context must stay
 * usable afterwards. */
#include "check_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { E_ROWS = 13, E_DIM = 5, E_BATCH = 6, E_BAG = 2 };

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

/* One buffer whose bytes must survive the failing call. */
typedef struct kept {
    const char *name;
    ember_buffer *buf;
    unsigned char *before;
    size_t bytes;
} kept;

/* Uploads `size` bytes of scratch (at a different place for each kept buffer) and keeps
 * a copy to compare with after the failing call. */
static ember_buffer *keep(chk_dev *d, kept *k, int *nk, const char *name, size_t size,
                          const unsigned char *scratch) {
    kept *e = &k[*nk];
    e->name = name;
    e->bytes = size;
    e->before = malloc(size);
    if (!e->before) {
        chk_fail_st(d, EMBER_STATUS_OUT_OF_MEMORY, "host malloc");
        return NULL;
    }
    memcpy(e->before, scratch + 64 * *nk, size);
    e->buf = up_exact(d, e->before, size);
    (*nk)++;
    return e->buf;
}

static ember_status expected_status(int err) {
    switch (err) {
    case EMBER_CHECK_ERR_INDEX_NEGATIVE:
    case EMBER_CHECK_ERR_INDEX_TOO_BIG:
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

/* A tiny valid op after the error must still succeed: a CUDA device assert, for one, would
 * have poisoned the context. (Its values are the lookup cases' business.) */
static void still_usable(ember_context *ctx, ember_check_result *r) {
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
    if (d.st) chk_result_failf(r, "the context is unusable after the error: %s", d.err);
    ember_buffer_free(bt);
    ember_buffer_free(bi);
    ember_buffer_free(bo);
    free(got);
}

void chk_run_errors(const ember_check_case *c, ember_context *ctx, ember_context *ref,
                    uint64_t seed, ember_check_result *r) {
    (void)ref;
    ember_rng rng = {seed};
    chk_dev d = {.ctx = ctx};
    int err = c->error;
    ember_check_op target = c->target;
    int64_t R = E_ROWS, D = E_DIM;
    ember_pooling pool = c->pooling;
    int pooled = pool != EMBER_POOLING_NONE;
    int64_t ni = E_BATCH * E_BAG, B = pooled ? E_BATCH : ni;
    ember_index_type it = c->index_type;
    size_t isz = it == EMBER_INDEX_INT32 ? 4 : 8;
    int64_t idx[E_BATCH * E_BAG], off[E_BATCH + 1];
    for (int64_t i = 0; i < ni; i++) idx[i] = chk_below(&rng, R);
    for (int64_t b = 0; b <= E_BATCH; b++) off[b] = b * E_BAG;
    /* Batched ops: tables 0 and 1 get these valid indices, table 2 the bad ones. */
    int batched =
        target == EMBER_CHECK_LOOKUP_BATCHED || target == EMBER_CHECK_BACKWARD_UPDATE_BATCHED;
    int64_t good_idx[E_BATCH * E_BAG], good_off[E_BATCH + 1];
    memcpy(good_idx, idx, sizeof idx);
    memcpy(good_off, off, sizeof off);

    ember_lookup_desc desc;
    ember_lookup_desc_init(&desc, R, D, ni, B, pool);
    desc.index_type = it;
    int64_t S = D;
    int64_t pos = -1, val = 0; /* what the message must name */
    switch (err) {
    case EMBER_CHECK_ERR_INDEX_NEGATIVE:
        pos = 7, val = -3, idx[pos] = val;
        break;
    case EMBER_CHECK_ERR_INDEX_TOO_BIG:
        pos = 9, val = R, idx[pos] = val;
        break;
    case EMBER_CHECK_ERR_OFFSET_FIRST:
        pos = 0, val = 1, off[0] = val;
        break;
    case EMBER_CHECK_ERR_OFFSET_DECREASING:
        pos = 4, val = 5, off[pos] = val; /* offsets[3] == 6 */
        break;
    case EMBER_CHECK_ERR_OFFSET_LAST:
        pos = E_BATCH, val = ni + 1, off[pos] = val;
        break;
    case EMBER_CHECK_ERR_BATCH_MISMATCH:
        desc.batch = B = ni - 1;
        break;
    case EMBER_CHECK_ERR_SLICE_TOO_WIDE:
        desc.out_row_stride = S = D + 1;
        desc.out_col_offset = 2;
        break;
    case EMBER_CHECK_ERR_PADDING_TOO_BIG:
        desc.padding_idx = R;
        break;
    default:
        break;
    }
    /* Batched: three tables side by side; the stride case gives table 2 one more column. */
    if (batched) S = 3 * D + (err == EMBER_CHECK_ERR_BATCHED_STRIDE);
    int weights = err == EMBER_CHECK_ERR_WEIGHTS_WITH_MEAN;

    /* Everything the op may write starts as random bytes we keep a copy of. */
    ember_optimizer opt;
    ember_optimizer_init(&opt,
                         target == EMBER_CHECK_DENSE_STEP ? EMBER_OPTIMIZER_ROWWISE_ADAGRAD
                                                          : EMBER_OPTIMIZER_ADAGRAD,
                         0.1f);
    int short_out = err == EMBER_CHECK_ERR_OUT_TOO_SMALL,
        short_table = err == EMBER_CHECK_ERR_TABLE_TOO_SMALL;
    size_t table_bytes = (size_t)(R * D) * 4 - (short_table ? 4 : 0);
    size_t out_bytes = (size_t)(B * S) * 4 - (short_out && target == EMBER_CHECK_LOOKUP ? 4 : 0);
    size_t grad_bytes =
        (size_t)(R * D) * 4 - (short_out && target == EMBER_CHECK_BACKWARD_DENSE ? 4 : 0);
    size_t ug_bytes =
        (size_t)(ni * D) * 4 - (short_out && target == EMBER_CHECK_BACKWARD_SPARSE ? 4 : 0);
    size_t state_bytes =
        (size_t)(R * D) * 4 -
        (short_out && (target == EMBER_CHECK_BACKWARD_UPDATE || target == EMBER_CHECK_SPARSE_STEP)
             ? 4
             : 0);
    kept k[8] = {{0}};
    int nk = 0;
    unsigned char *scratch = malloc((size_t)(R * D + B * S + ni * D + 64) * 8);
    void *ib = chk_index_bytes(idx, ni, it), *ob = chk_index_bytes(off, E_BATCH + 1, it);
    float wts[E_BATCH * E_BAG];
    chk_fill(&rng, wts, ni, -1.0f, 1.0f);
    ember_buffer *bi = NULL, *bo = NULL, *bw = NULL, *bgo = NULL, *bx = NULL, *bu = NULL;
    ember_buffer *bgi = NULL, *bgoff = NULL; /* batched: the valid tables' indices */
    ember_status st = EMBER_STATUS_SUCCESS;
    int64_t nu_host = -7;
    /* WRONG_CONTEXT: the table lives on a second (CPU) context, a different one in any case. */
    ember_context *other = NULL;
    ember_buffer *foreign = NULL;
    if (err == EMBER_CHECK_ERR_WRONG_CONTEXT) {
        chk_dev od = {.ctx = NULL};
        if (chk_fail_st(&od, ember_context_create(&other, EMBER_BACKEND_CPU, 0),
                        "ember_context_create (a second CPU context)")) {
            chk_result_failf(r, "%s: %s", od.err, ember_last_error());
            goto done;
        }
        od.ctx = other;
        float zeros[E_ROWS * E_DIM] = {0};
        foreign = up_exact(&od, zeros, sizeof zeros);
        if (!foreign) {
            chk_result_failf(r, "%s", od.err);
            goto done;
        }
    }
    const char *call = "";
    if (!scratch || !ib || !ob) {
        chk_result_failf(r, "out of host memory");
        goto done;
    }
    fill_bytes(&rng, scratch, (size_t)(R * D + B * S + ni * D + 64) * 8);
    bi = up_exact(&d, ib, (size_t)ni * isz);
    if (pooled) bo = up_exact(&d, ob, (size_t)(E_BATCH + 1) * isz);
    if (weights) bw = up_exact(&d, wts, (size_t)ni * 4);
    if (batched) {
        void *gib = chk_index_bytes(good_idx, ni, it),
             *gob = chk_index_bytes(good_off, E_BATCH + 1, it);
        if (gib && gob) {
            bgi = up_exact(&d, gib, (size_t)ni * isz);
            if (pooled) bgoff = up_exact(&d, gob, (size_t)(E_BATCH + 1) * isz);
        } else {
            chk_fail_st(&d, EMBER_STATUS_OUT_OF_MEMORY, "host malloc");
        }
        free(gib);
        free(gob);
    }
    /* grad_out: finite values, not random bytes. */
    float *gof = (float *)(scratch + (size_t)(R * D + ni * D) * 8);
    chk_fill(&rng, gof, B * S, -1.0f, 1.0f);
    bgo = up_exact(&d, gof, (size_t)(B * S) * 4);

#define KEEP(nm, size) keep(&d, k, &nk, (nm), (size), scratch)

    switch (target) {
    case EMBER_CHECK_LOOKUP: {
        ember_buffer *t = KEEP("table", table_bytes), *o = KEEP("out", out_bytes);
        if (foreign) t = foreign;
        if (d.st) goto done;
        call = "ember_embedding_lookup";
        st = ember_embedding_lookup(ctx, &desc, t, bi, bo, bw, o);
        break;
    }
    case EMBER_CHECK_BACKWARD_DENSE: {
        ember_buffer *g = KEEP("grad_table", grad_bytes);
        if (d.st) goto done;
        call = "ember_embedding_backward_dense";
        st = ember_embedding_backward_dense(ctx, &desc, bi, bo, bw, bgo, EMBER_REDUCTION_ATOMIC, g);
        break;
    }
    case EMBER_CHECK_BACKWARD_SPARSE: {
        ember_buffer *ids = KEEP("unique_ids", (size_t)ni * 8),
                     *ug = KEEP("unique_grads", ug_bytes);
        if (d.st) goto done;
        call = "ember_embedding_backward_sparse";
        st = ember_embedding_backward_sparse(ctx, &desc, bi, bo, bw, bgo,
                                             EMBER_REDUCTION_DETERMINISTIC, ids, ug, &nu_host);
        break;
    }
    case EMBER_CHECK_BACKWARD_UPDATE: {
        ember_buffer *t = KEEP("table", table_bytes), *s = KEEP("state", state_bytes);
        if (foreign) t = foreign;
        if (d.st) goto done;
        call = "ember_embedding_backward_update";
        st = ember_embedding_backward_update(ctx, &desc, bi, bo, bw, bgo, EMBER_REDUCTION_ATOMIC,
                                             &opt, t, s);
        break;
    }
    case EMBER_CHECK_SPARSE_STEP: {
        /* The bad index goes into the unique ids (distinct, ascending otherwise). */
        int64_t uids[E_ROWS];
        for (int64_t i = 0; i < R; i++) uids[i] = i;
        if (pos >= 0) uids[pos] = val;
        ember_buffer *t = KEEP("table", table_bytes), *s = KEEP("state", state_bytes);
        bu = up_exact(&d, uids, (size_t)R * 8);
        bx = up_exact(&d, scratch + 1400, (size_t)(R * D) * 4);
        if (d.st) goto done;
        int64_t nu = R;
        call = "ember_sparse_optimizer_step";
        st = ember_sparse_optimizer_step(ctx, &opt, R, D, t, s, bu, bx, nu);
        break;
    }
    case EMBER_CHECK_DENSE_STEP: {
        int64_t n = R * D;
        ember_buffer *p = KEEP("param", (size_t)n * 4), *s = KEEP("state", (size_t)n * 4);
        bx = up_exact(&d, scratch + 512, (size_t)n * 4);
        if (d.st) goto done;
        call = "ember_dense_optimizer_step";
        st = ember_dense_optimizer_step(ctx, &opt, n, p, bx, s, NULL);
        break;
    }
    case EMBER_CHECK_DENSE_FORWARD: {
        int64_t Bd = 7, I = 5, O = 3;
        bx = up_exact(&d, scratch + 1400, (size_t)(Bd * I) * 4);
        bu = up_exact(&d, scratch + 1400, (size_t)(O * I) * 4);
        ember_buffer *y = KEEP("y", (size_t)(Bd * O) * 4 - 4);
        if (d.st) goto done;
        call = "ember_dense_forward";
        st = ember_dense_forward(ctx, Bd, I, O, bx, bu, NULL, EMBER_ACTIVATION_RELU, y);
        break;
    }
    case EMBER_CHECK_LOOKUP_BATCHED:
    case EMBER_CHECK_BACKWARD_UPDATE_BATCHED: {
        ember_lookup_desc descs[3];
        const ember_buffer *bis[3] = {bgi, bgi, bi}, *bos[3] = {bgoff, bgoff, bo},
                           *bws[3] = {NULL, NULL, bw};
        static const char *const tn[3] = {"table 0", "table 1", "table 2"}, *const sn[3] = {
                                                                                "state 0",
                                                                                "state 1",
                                                                                "state 2"};
        ember_buffer *ts[3], *ss[3];
        for (int t = 0; t < 3; t++) {
            descs[t] = desc;
            descs[t].out_row_stride = 3 * D;
            descs[t].out_col_offset = t * D;
            ts[t] = KEEP(tn[t], (size_t)(R * D) * 4);
        }
        if (err == EMBER_CHECK_ERR_BATCHED_BATCH) descs[2].batch = B - 1;
        if (err == EMBER_CHECK_ERR_BATCHED_STRIDE) descs[2].out_row_stride = S;
        if (target == EMBER_CHECK_LOOKUP_BATCHED) {
            ember_buffer *o = KEEP("out", (size_t)(B * S) * 4);
            if (d.st) goto done;
            call = "ember_embedding_lookup_batched";
            st = ember_embedding_lookup_batched(ctx, 3, descs, (const ember_buffer *const *)ts, bis,
                                                bos, bws, o);
        } else {
            for (int t = 0; t < 3; t++) ss[t] = KEEP(sn[t], (size_t)(R * D) * 4);
            if (d.st) goto done;
            call = "ember_embedding_backward_update_batched";
            st = ember_embedding_backward_update_batched(ctx, 3, descs, bis, bos, bws, bgo,
                                                         EMBER_REDUCTION_ATOMIC, &opt, ts, ss);
        }
        break;
    }
    default:
        chk_result_failf(r, "error case %s has an unknown target op", c->name);
        goto done;
    }
#undef KEEP

    ember_status want = expected_status(err);
    const char *msg = ember_context_last_error(ctx);
    if (st != want) {
        chk_result_failf(r, "%s returned %s, want %s (message: \"%s\")", call,
                         ember_status_name(st), ember_status_name(want), msg ? msg : "");
        goto done;
    }
    if (pos >= 0) {
        char p[32], v[32];
        snprintf(p, sizeof p, "[%" PRId64 "]", pos);
        snprintf(v, sizeof v, "%" PRId64, val);
        if (!msg || !strstr(msg, p) || !strstr(msg, v))
            chk_result_failf(r, "%s's message \"%s\" does not name position %s and value %s", call,
                             msg ? msg : "(null)", p, v);
    }
    if (batched && (!msg || !strstr(msg, "table 2: ")))
        chk_result_failf(r, "%s's message \"%s\" does not name the table (\"table 2: ...\")", call,
                         msg ? msg : "(null)");
    if (nu_host != -7)
        chk_result_failf(r, "%s wrote num_unique = %lld although it failed", call,
                         (long long)nu_host);
    for (int i = 0; i < nk; i++) {
        unsigned char *after = malloc(k[i].bytes);
        if (!after) break;
        ember_status ds = ember_buffer_download(ctx, k[i].buf, 0, after, k[i].bytes);
        if (ds != EMBER_STATUS_SUCCESS) {
            chk_result_failf(r, "downloading %s after the error returned %s", k[i].name,
                             ember_status_name(ds));
        } else {
            for (size_t b = 0; b < k[i].bytes; b++) {
                if (after[b] != k[i].before[b]) {
                    r->has_diff = 1;
                    snprintf(r->diff_array, sizeof r->diff_array, "%s", k[i].name);
                    r->diff_index = (int64_t)(b / 4);
                    r->diff_row = r->diff_index / D;
                    r->diff_col = r->diff_index % D;
                    r->diff_got = after[b];
                    r->diff_want = k[i].before[b];
                    chk_result_failf(r,
                                     "%s failed as it should but changed %s: byte %zu was 0x%02x, "
                                     "now 0x%02x",
                                     call, k[i].name, b, k[i].before[b], after[b]);
                    break;
                }
            }
        }
        free(after);
    }
    r->metric = "exact";
    still_usable(ctx, r);
done:
    if (d.st) chk_result_failf(r, "%s", d.err);
    for (int i = 0; i < nk; i++) {
        ember_buffer_free(k[i].buf);
        free(k[i].before);
    }
    ember_buffer_free(bi);
    ember_buffer_free(bo);
    ember_buffer_free(bw);
    ember_buffer_free(bgo);
    ember_buffer_free(bx);
    ember_buffer_free(bu);
    ember_buffer_free(bgi);
    ember_buffer_free(bgoff);
    ember_buffer_free(foreign);
    ember_context_destroy(other);
    free(scratch);
    free(ib);
    free(ob);
}
