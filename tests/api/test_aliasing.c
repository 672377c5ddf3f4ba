/* test_aliasing.c: an op whose output is one of its inputs (or another of its outputs)
 * returns INVALID_ARGUMENT naming both, on every op, and changes nothing; buffers an op
 * updates in place (table and state of an optimizer step, dy of the dense backward) and
 * state arguments an optimizer ignores are allowed. */
#include "api_test.h"

#include <string.h>

#define R 4 /* table rows */
#define D 4 /* dim */
#define B 4 /* batch = indices */

/* One buffer of every role, each big enough for any role (64 floats), filled with valid
 * indices (0..3 as int64) so that only the aliasing can be wrong. */
typedef struct bufs {
    ember_context *ctx;
    ember_buffer *b[8];
} bufs;

static int64_t fill[32] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3,
                           0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};

static bufs make(void) {
    bufs s;
    s.ctx = api_context(EMBER_BACKEND_CPU);
    cr_assert_not_null(s.ctx);
    for (int k = 0; k < 8; k++) s.b[k] = api_buffer(s.ctx, fill, sizeof fill);
    return s;
}

static void drop(bufs *s) {
    for (int k = 0; k < 8; k++) ember_buffer_free(s->b[k]);
    ember_context_destroy(s->ctx);
}

/* The call returned INVALID_ARGUMENT with an aliasing message and left `buf` untouched. */
static void expect_alias(bufs *s, ember_status st, const ember_buffer *buf) {
    cr_expect_eq(st, EMBER_STATUS_INVALID_ARGUMENT, "status %s: %s", ember_status_name(st),
                 ember_context_last_error(s->ctx));
    cr_expect(strstr(ember_context_last_error(s->ctx), "same buffer") != NULL, "message: %s",
              ember_context_last_error(s->ctx));
    int64_t now[32];
    cr_assert_eq(ember_buffer_download(s->ctx, buf, 0, now, sizeof now), EMBER_STATUS_SUCCESS);
    cr_expect(memcmp(now, fill, sizeof fill) == 0, "the aliased buffer was written");
}

static ember_lookup_desc desc(ember_pooling pooling) {
    ember_lookup_desc d;
    ember_lookup_desc_init(&d, R, D, B, pooling == EMBER_POOLING_NONE ? B : 2, pooling);
    return d;
}

Test(aliasing, lookup_output_is_its_indices) {
    bufs s = make();
    ember_buffer *table = s.b[0], *idx = s.b[1];
    ember_lookup_desc d = desc(EMBER_POOLING_NONE);
    expect_alias(&s, ember_embedding_lookup(s.ctx, &d, table, idx, NULL, NULL, idx), idx);
    drop(&s);
}

Test(aliasing, lookup_output_is_table_offsets_or_weights) {
    bufs s = make();
    ember_buffer *table = s.b[0], *idx = s.b[1], *off = s.b[2], *w = s.b[3];
    /* offsets {0, 1, 2}: batch 2 bags over 2 of the 4 indices would be BAD_OFFSETS, so the
     * alias must be found before the offsets are read. */
    ember_lookup_desc d = desc(EMBER_POOLING_SUM);
    expect_alias(&s, ember_embedding_lookup(s.ctx, &d, table, idx, off, w, table), table);
    expect_alias(&s, ember_embedding_lookup(s.ctx, &d, table, idx, off, w, off), off);
    expect_alias(&s, ember_embedding_lookup(s.ctx, &d, table, idx, off, w, w), w);
    drop(&s);
}

Test(aliasing, backwards) {
    bufs s = make();
    ember_buffer *idx = s.b[1], *g = s.b[2], *ids = s.b[4], *ug = s.b[5];
    ember_lookup_desc d = desc(EMBER_POOLING_NONE);
    int64_t n = 0;
    expect_alias(
        &s,
        ember_embedding_backward_dense(s.ctx, &d, idx, NULL, NULL, g, EMBER_REDUCTION_ATOMIC, idx),
        idx);
    expect_alias(
        &s,
        ember_embedding_backward_dense(s.ctx, &d, idx, NULL, NULL, g, EMBER_REDUCTION_ATOMIC, g),
        g);
    expect_alias(&s,
                 ember_embedding_backward_sparse(s.ctx, &d, idx, NULL, NULL, g,
                                                 EMBER_REDUCTION_ATOMIC, ids, ids, &n),
                 ids);
    expect_alias(&s,
                 ember_embedding_backward_sparse(s.ctx, &d, idx, NULL, NULL, g,
                                                 EMBER_REDUCTION_ATOMIC, idx, ug, &n),
                 idx);
    expect_alias(&s,
                 ember_embedding_backward_sparse(s.ctx, &d, idx, NULL, NULL, g,
                                                 EMBER_REDUCTION_ATOMIC, ids, g, &n),
                 g);
    drop(&s);
}

Test(aliasing, updates) {
    bufs s = make();
    ember_buffer *table = s.b[0], *idx = s.b[1], *g = s.b[2], *state = s.b[3];
    ember_lookup_desc d = desc(EMBER_POOLING_NONE);
    ember_optimizer ada;
    ember_optimizer_init(&ada, EMBER_OPTIMIZER_ADAGRAD, 0.1f);
    expect_alias(&s,
                 ember_embedding_backward_update(s.ctx, &d, idx, NULL, NULL, g,
                                                 EMBER_REDUCTION_ATOMIC, &ada, idx, state),
                 idx);
    expect_alias(&s,
                 ember_embedding_backward_update(s.ctx, &d, idx, NULL, NULL, g,
                                                 EMBER_REDUCTION_ATOMIC, &ada, table, g),
                 g);
    expect_alias(&s,
                 ember_embedding_backward_update(s.ctx, &d, idx, NULL, NULL, g,
                                                 EMBER_REDUCTION_ATOMIC, &ada, table, table),
                 table);
    expect_alias(&s, ember_sparse_optimizer_step(s.ctx, &ada, R, D, idx, state, idx, g, B), idx);
    expect_alias(&s, ember_sparse_optimizer_step(s.ctx, &ada, R, D, table, g, idx, g, B), g);
    const ember_buffer *is[1] = {idx};
    ember_buffer *ts[1] = {table}, *ss[1] = {idx};
    expect_alias(&s,
                 ember_embedding_backward_update_batched(s.ctx, 1, &d, is, NULL, NULL, g,
                                                         EMBER_REDUCTION_ATOMIC, &ada, ts, ss),
                 idx);
    drop(&s);
}

Test(aliasing, batched_lookup_output_is_one_tables_indices) {
    bufs s = make();
    ember_buffer *table = s.b[0], *idx0 = s.b[1], *idx1 = s.b[2], *out = s.b[3];
    ember_lookup_desc d[2] = {desc(EMBER_POOLING_NONE), desc(EMBER_POOLING_NONE)};
    d[0].out_row_stride = d[1].out_row_stride = 2 * D;
    d[1].out_col_offset = D;
    const ember_buffer *tabs[2] = {table, table}, *ok[2] = {idx0, idx1}, *bad[2] = {idx0, out};
    /* The same table twice is fine (a shared vocabulary). */
    cr_expect_eq(ember_embedding_lookup_batched(s.ctx, 2, d, tabs, ok, NULL, NULL, out),
                 EMBER_STATUS_SUCCESS, "%s", ember_context_last_error(s.ctx));
    ember_buffer_upload(s.ctx, out, 0, fill, sizeof fill);
    expect_alias(&s, ember_embedding_lookup_batched(s.ctx, 2, d, tabs, bad, NULL, NULL, out), out);
    drop(&s);
}

Test(aliasing, dense_and_head) {
    bufs s = make();
    ember_buffer *x = s.b[0], *w = s.b[1], *y = s.b[2], *dy = s.b[3], *dx = s.b[4], *dw = s.b[5],
                 *st = s.b[6];
    expect_alias(&s, ember_dense_forward(s.ctx, 2, 2, 2, x, w, NULL, EMBER_ACTIVATION_NONE, x), x);
    expect_alias(&s, ember_dense_forward(s.ctx, 2, 2, 2, x, w, y, EMBER_ACTIVATION_NONE, y), y);
    expect_alias(
        &s, ember_dense_backward(s.ctx, 2, 2, 2, x, w, y, dy, EMBER_ACTIVATION_RELU, dx, dx, NULL),
        dx);
    expect_alias(
        &s, ember_dense_backward(s.ctx, 2, 2, 2, x, w, y, y, EMBER_ACTIVATION_RELU, dx, dw, NULL),
        y);
    expect_alias(
        &s, ember_dense_backward(s.ctx, 2, 2, 2, x, w, y, dy, EMBER_ACTIVATION_RELU, x, dw, NULL),
        x);
    ember_optimizer adam;
    ember_optimizer_init(&adam, EMBER_OPTIMIZER_ADAM, 0.1f);
    expect_alias(&s, ember_dense_optimizer_step(s.ctx, &adam, 4, w, dw, st, st), st);
    expect_alias(&s, ember_dense_optimizer_step(s.ctx, &adam, 4, w, w, st, dx), w);
    expect_alias(&s, ember_sigmoid(s.ctx, 4, x, x), x);
    float loss;
    expect_alias(&s, ember_bce_with_logits(s.ctx, 4, x, y, &loss, y), y);
    drop(&s);
}

Test(aliasing, in_place_updates_and_ignored_state_are_allowed) {
    bufs s = make();
    ember_buffer *p = s.b[0], *g = s.b[1];
    ember_optimizer sgd;
    ember_optimizer_init(&sgd, EMBER_OPTIMIZER_SGD, 0.5f);
    /* SGD ignores state and state2: the same buffer there is no output. */
    cr_expect_eq(ember_dense_optimizer_step(s.ctx, &sgd, 4, p, g, p, p), EMBER_STATUS_SUCCESS, "%s",
                 ember_context_last_error(s.ctx));
    ember_buffer *table = s.b[2], *idx = s.b[3], *go = s.b[4];
    float zeros[R * D] = {0};
    ember_buffer_upload(s.ctx, table, 0, zeros, sizeof zeros);
    ember_lookup_desc d = desc(EMBER_POOLING_NONE);
    cr_expect_eq(ember_embedding_backward_update(s.ctx, &d, idx, NULL, NULL, go,
                                                 EMBER_REDUCTION_ATOMIC, &sgd, table, table),
                 EMBER_STATUS_SUCCESS, "%s", ember_context_last_error(s.ctx));
    drop(&s);
}
