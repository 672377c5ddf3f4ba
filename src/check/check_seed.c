/* check_seed.c: the seed's walkthrough (5x3 table, index [2], loss = sum of the output, SGD
 * lr 0.1: gradient exactly ones in row 2, row 2 == old - 0.1f, every other row bit-for-bit
 * unchanged) and lookup(i) == one-hot(i) x table through the dense layer. All bit-exact. */
#include "check_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void walkthrough(const ember_check_case *c, ember_context *ctx, uint64_t seed,
                        ember_check_result *r) {
    enum { ROWS = 5, DIM = 3 };
    ember_rng rng = {seed};
    chk_dev d = {.ctx = ctx};
    float table0[ROWS * DIM], zeros[ROWS * DIM] = {0}, ones[DIM] = {1, 1, 1};
    float want_grad[ROWS * DIM] = {0}, want_table[ROWS * DIM];
    double wv[ROWS * DIM];
    int64_t index[1] = {2};
    chk_fill(&rng, table0, ROWS * DIM, -1.0f, 1.0f);
    for (int j = 0; j < DIM; j++) want_grad[2 * DIM + j] = 1.0f;
    memcpy(want_table, table0, sizeof table0);
    for (int j = 0; j < DIM; j++) {
        volatile float old = table0[2 * DIM + j];
        want_table[2 * DIM + j] = old - 0.1f; /* float32 arithmetic, as the seed says */
    }
    ember_lookup_desc desc;
    ember_lookup_desc_init(&desc, ROWS, DIM, 1, 1, EMBER_POOLING_NONE);
    ember_optimizer sgd;
    ember_optimizer_init(&sgd, EMBER_OPTIMIZER_SGD, 0.1f);

    ember_buffer *table = chk_up(&d, table0, ROWS * DIM, 4), *idx = chk_up(&d, index, 1, 8);
    ember_buffer *out = chk_up(&d, NULL, DIM, 4), *go = chk_up(&d, ones, DIM, 4);
    ember_buffer *grad = chk_up(&d, zeros, ROWS * DIM, 4);
    ember_buffer *uid = chk_up(&d, NULL, 1, 8), *ug = chk_up(&d, NULL, DIM, 4);
    float *got = NULL, *got_grad = NULL, *got_table = NULL, *got_ug = NULL;
    int64_t *got_ids = NULL, nu = -1;
    if (d.st) goto done;

    /* Forward: the output is row 2; loss = its sum, so d loss / d out = ones. */
    if (chk_fail_st(&d, ember_embedding_lookup(ctx, &desc, table, idx, NULL, NULL, out),
                    "ember_embedding_lookup"))
        goto done;
    got = chk_down(&d, out, DIM, 4);
    if (!got) goto done;
    for (int j = 0; j < DIM; j++) wv[j] = table0[2 * DIM + j];
    if (chk_compare(r, "out", got, wv, NULL, 1, DIM, DIM)) goto done;

    /* Dense gradient: ones in row 2, zeros elsewhere, exactly. */
    if (chk_fail_st(&d,
                    ember_embedding_backward_dense(ctx, &desc, idx, NULL, NULL, go,
                                                   EMBER_REDUCTION_ATOMIC, grad),
                    "ember_embedding_backward_dense"))
        goto done;
    got_grad = chk_down(&d, grad, ROWS * DIM, 4);
    if (!got_grad || !chk_guard_ok(r, "grad_table", got_grad, ROWS * DIM, 4)) goto done;
    for (int i = 0; i < ROWS * DIM; i++) wv[i] = want_grad[i];
    if (chk_compare(r, "grad_table", got_grad, wv, NULL, 1, ROWS * DIM, DIM)) goto done;

    if (c->seed_kind == EMBER_CHECK_SEED_WALKTHROUGH_SPARSE) {
        if (chk_fail_st(&d,
                        ember_embedding_backward_sparse(ctx, &desc, idx, NULL, NULL, go,
                                                        EMBER_REDUCTION_ATOMIC, uid, ug, &nu),
                        "ember_embedding_backward_sparse"))
            goto done;
        got_ids = chk_down(&d, uid, 1, 8);
        got_ug = chk_down(&d, ug, DIM, 4);
        if (!got_ids || !got_ug) goto done;
        if (nu != 1 || got_ids[0] != 2) {
            chk_result_failf(r, "sparse gradient: num_unique %lld, first id %lld; want 1 and 2",
                             (long long)nu, (long long)got_ids[0]);
            goto done;
        }
        for (int j = 0; j < DIM; j++) wv[j] = 1.0;
        if (chk_compare(r, "unique_grads", got_ug, wv, NULL, 1, DIM, DIM)) goto done;
        if (chk_fail_st(&d,
                        ember_sparse_optimizer_step(ctx, &sgd, ROWS, DIM, table, NULL, uid, ug, 1),
                        "ember_sparse_optimizer_step"))
            goto done;
    } else {
        if (chk_fail_st(&d,
                        ember_embedding_backward_update(ctx, &desc, idx, NULL, NULL, go,
                                                        EMBER_REDUCTION_ATOMIC, &sgd, table, NULL),
                        "ember_embedding_backward_update"))
            goto done;
    }
    /* After the step: row 2 == old - 0.1f exactly, every other row bit-for-bit unchanged. */
    got_table = chk_down(&d, table, ROWS * DIM, 4);
    if (!got_table || !chk_guard_ok(r, "table", got_table, ROWS * DIM, 4)) goto done;
    chk_compare_bits(r, "table", got_table, want_table, ROWS * DIM, DIM,
                     "after one SGD step (row 2 == old - 0.1f, other rows unchanged)");
done:
    if (d.st) chk_result_failf(r, "%s", d.err);
    ember_buffer_free(table);
    ember_buffer_free(idx);
    ember_buffer_free(out);
    ember_buffer_free(go);
    ember_buffer_free(grad);
    ember_buffer_free(uid);
    ember_buffer_free(ug);
    free(got);
    free(got_grad);
    free(got_table);
    free(got_ug);
    free(got_ids);
}

/* lookup(i) for every row i == one-hot(i) x table via ember_dense_forward (W = table^T in
 * PyTorch's [out x in] layout), bit for bit. */
static void onehot(const ember_check_case *c, ember_context *ctx, uint64_t seed,
                   ember_check_result *r) {
    int64_t R = c->rows, D = c->dim, B = c->batch;
    ember_rng rng = {seed};
    chk_dev d = {.ctx = ctx};
    float *table = malloc((size_t)(R * D) * 4), *wt = malloc((size_t)(R * D) * 4);
    float *x = calloc((size_t)(B * R), 4), *got_l = NULL, *got_y = NULL;
    int64_t *idx = malloc((size_t)B * 8);
    double *want = malloc((size_t)(B * D) * sizeof(double));
    ember_buffer *bt = NULL, *bi = NULL, *bo = NULL, *bx = NULL, *bw = NULL, *by = NULL;
    if (!table || !wt || !x || !idx || !want) {
        chk_result_failf(r, "out of host memory");
        goto done;
    }
    chk_fill(&rng, table, R * D, -1.0f, 1.0f);
    for (int64_t b = 0; b < B; b++) idx[b] = b < R ? b : chk_below(&rng, R);
    idx[B - 1] = R - 1;
    for (int64_t i = 0; i < R; i++)
        for (int64_t j = 0; j < D; j++) wt[j * R + i] = table[i * D + j];
    for (int64_t b = 0; b < B; b++) x[b * R + idx[b]] = 1.0f;
    ember_lookup_desc desc;
    ember_lookup_desc_init(&desc, R, D, B, B, EMBER_POOLING_NONE);
    bt = chk_up(&d, table, R * D, 4);
    bi = chk_up(&d, idx, B, 8);
    bo = chk_up(&d, NULL, B * D, 4);
    bx = chk_up(&d, x, B * R, 4);
    bw = chk_up(&d, wt, D * R, 4);
    by = chk_up(&d, NULL, B * D, 4);
    if (d.st) goto done;
    if (chk_fail_st(&d, ember_embedding_lookup(ctx, &desc, bt, bi, NULL, NULL, bo),
                    "ember_embedding_lookup"))
        goto done;
    if (chk_fail_st(&d, ember_dense_forward(ctx, B, R, D, bx, bw, NULL, EMBER_ACTIVATION_NONE, by),
                    "ember_dense_forward"))
        goto done;
    got_l = chk_down(&d, bo, B * D, 4);
    got_y = chk_down(&d, by, B * D, 4);
    if (!got_l || !got_y) goto done;
    if (!chk_guard_ok(r, "out", got_l, B * D, 4) || !chk_guard_ok(r, "y", got_y, B * D, 4))
        goto done;
    for (int64_t i = 0; i < B * D; i++) want[i] = table[idx[i / D] * D + i % D];
    if (chk_compare(r, "lookup out", got_l, want, NULL, 1, B * D, D)) goto done;
    chk_compare(r, "one-hot x table", got_y, want, NULL, 1, B * D, D);
done:
    if (d.st) chk_result_failf(r, "%s", d.err);
    ember_buffer_free(bt);
    ember_buffer_free(bi);
    ember_buffer_free(bo);
    ember_buffer_free(bx);
    ember_buffer_free(bw);
    ember_buffer_free(by);
    free(table);
    free(wt);
    free(x);
    free(idx);
    free(want);
    free(got_l);
    free(got_y);
}

void chk_run_seed(const ember_check_case *c, ember_context *ctx, ember_context *ref, uint64_t seed,
                  ember_check_result *r) {
    (void)ref; /* exact expectations: no reference needed */
    if (c->seed_kind == EMBER_CHECK_SEED_ONEHOT)
        onehot(c, ctx, seed, r);
    else
        walkthrough(c, ctx, seed, r);
}
