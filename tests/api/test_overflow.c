/* test_overflow.c: hostile sizes give INVALID_ARGUMENT (or a defined result), never signed
 * overflow; CI runs this under UBSan, which turns any overflow into a failure. */
#include "api_test.h"

#include <stdint.h>

Test(overflow, optimizer_state_size_is_minus_one_when_it_cannot_be_represented) {
    cr_expect_eq(ember_optimizer_state_size(EMBER_OPTIMIZER_ADAGRAD, INT64_MAX, 4), -1);
    cr_expect_eq(ember_optimizer_state_size(EMBER_OPTIMIZER_ADAM, INT64_MAX / 2 + 1, 2), -1);
    cr_expect_eq(ember_optimizer_state_size(EMBER_OPTIMIZER_ROWWISE_ADAGRAD, -1, 4), -1);
    cr_expect_eq(ember_optimizer_state_size(EMBER_OPTIMIZER_SGD, 5, -1), -1);
    cr_expect_eq(ember_optimizer_state_size(EMBER_OPTIMIZER_ADAGRAD, INT64_MAX, 1), INT64_MAX);
    cr_expect_eq(ember_optimizer_state_size(EMBER_OPTIMIZER_ROWWISE_ADAGRAD, INT64_MAX, 4),
                 INT64_MAX);
}

Test(overflow, batch_int64_max_with_offsets) {
    ember_context *ctx = api_context(EMBER_BACKEND_CPU);
    cr_assert_not_null(ctx);
    int64_t idx[2] = {0, 0}, off[2] = {0, 2};
    float table[4] = {0}, out[4] = {0};
    ember_buffer *t = api_buffer(ctx, table, sizeof table), *i = api_buffer(ctx, idx, sizeof idx),
                 *o = api_buffer(ctx, off, sizeof off), *y = api_buffer(ctx, out, sizeof out);
    ember_lookup_desc d;
    ember_lookup_desc_init(&d, 1, 4, 2, INT64_MAX, EMBER_POOLING_SUM);
    cr_expect_eq(ember_embedding_lookup(ctx, &d, t, i, o, NULL, y), EMBER_STATUS_INVALID_ARGUMENT);
    cr_expect_eq(ember_embedding_backward_dense(ctx, &d, i, o, NULL, y, EMBER_REDUCTION_ATOMIC, t),
                 EMBER_STATUS_INVALID_ARGUMENT);
    ember_buffer *ts[1] = {t}, *is[1] = {i}, *os[1] = {o};
    cr_expect_eq(ember_embedding_lookup_batched(ctx, 1, &d, (const ember_buffer *const *)ts,
                                                (const ember_buffer *const *)is,
                                                (const ember_buffer *const *)os, NULL, y),
                 EMBER_STATUS_INVALID_ARGUMENT);
    ember_buffer_free(t), ember_buffer_free(i), ember_buffer_free(o), ember_buffer_free(y);
    ember_context_destroy(ctx);
}

Test(overflow, column_offset_int64_max) {
    ember_context *ctx = api_context(EMBER_BACKEND_CPU);
    cr_assert_not_null(ctx);
    int64_t idx[1] = {0};
    float table[4] = {0}, out[4] = {0};
    ember_buffer *t = api_buffer(ctx, table, sizeof table), *i = api_buffer(ctx, idx, sizeof idx),
                 *y = api_buffer(ctx, out, sizeof out);
    ember_lookup_desc d;
    ember_lookup_desc_init(&d, 1, 4, 1, 1, EMBER_POOLING_NONE);
    d.out_row_stride = 4;
    d.out_col_offset = INT64_MAX;
    cr_expect_eq(ember_embedding_lookup(ctx, &d, t, i, NULL, NULL, y), EMBER_STATUS_SHAPE_MISMATCH);
    ember_buffer_free(t), ember_buffer_free(i), ember_buffer_free(y);
    ember_context_destroy(ctx);
}

Test(overflow, table_count_whose_desc_array_size_wraps) {
    ember_context *ctx = api_context(EMBER_BACKEND_CPU);
    cr_assert_not_null(ctx);
    float out[4] = {0};
    ember_buffer *y = api_buffer(ctx, out, sizeof out);
    ember_lookup_desc d[1];
    ember_lookup_desc_init(&d[0], 1, 4, 0, 1, EMBER_POOLING_NONE);
    const ember_buffer *none[1] = {NULL};
    /* 2^61 descs of a multiple of 8 bytes: the byte count wraps to a multiple of 2^64. */
    int64_t huge = (int64_t)1 << 61;
    cr_expect_eq(ember_embedding_lookup_batched(ctx, huge, d, none, none, NULL, NULL, y),
                 EMBER_STATUS_INVALID_ARGUMENT);
    ember_buffer_free(y);
    ember_context_destroy(ctx);
}

Test(overflow, widedeep_counts_near_int64_max) {
    int64_t buckets[1] = {INT64_MAX}, vocab[1] = {1}, dim[1] = {INT64_MAX}, hidden[1] = {1};
    ember_widedeep_spec s = {.num_wide_fields = 1, .wide_buckets = buckets};
    ember_param_count c;
    cr_expect_eq(ember_widedeep_count_params(&s, &c), EMBER_STATUS_INVALID_ARGUMENT);
    ember_widedeep_spec deep = {
        .num_deep_fields = 1, .vocab = vocab, .emb_dim = dim, .num_hidden = 0, .hidden = hidden};
    /* d_deep = INT64_MAX: the output term d_wide + d_deep + 1 overflows. */
    cr_expect_eq(ember_widedeep_count_params(&deep, &c), EMBER_STATUS_INVALID_ARGUMENT);
}
