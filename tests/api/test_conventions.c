/* test_conventions.c: PyTorch's conventions where ember follows them, on every backend
 * with a device here. Expected values are torch 1.13's:
 *   F.embedding(tensor([1, 2, 1]), arange(12.).reshape(4, 3), padding_idx=1) gives rows
 *   1, 2, 1 of the table, and the backward leaves row 1's gradient zero;
 *   F.binary_cross_entropy_with_logits(x, t, reduction='none') for
 *   x = [-inf, inf, -inf, inf, inf], t = [0, 0, 1, 1, 0.5] gives [nan, inf, nan, nan, inf]. */
#include "api_test.h"

#include <math.h>

static const ember_backend_kind kinds[] = {EMBER_BACKEND_CPU, EMBER_BACKEND_OPENCL};

Test(conventions, unpooled_padding_returns_the_row_and_blocks_its_gradient) {
    float table[12], ones[9];
    for (int i = 0; i < 12; i++) table[i] = (float)i;
    for (int i = 0; i < 9; i++) ones[i] = 1.0f;
    int64_t idx[3] = {1, 2, 1};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        ember_context *ctx = api_context(kinds[k]);
        if (!ctx) continue; /* no device for this backend here */
        ember_buffer *t = api_buffer(ctx, table, sizeof table),
                     *i = api_buffer(ctx, idx, sizeof idx),
                     *out = api_buffer(ctx, NULL, 9 * sizeof(float)),
                     *g = api_buffer(ctx, ones, sizeof ones),
                     *gt = api_buffer(ctx, NULL, sizeof table);
        ember_lookup_desc d;
        ember_lookup_desc_init(&d, 4, 3, 3, 3, EMBER_POOLING_NONE);
        d.padding_idx = 1;
        cr_assert_eq(ember_embedding_lookup(ctx, &d, t, i, NULL, NULL, out), EMBER_STATUS_SUCCESS,
                     "%s", ember_context_last_error(ctx));
        float got[9];
        ember_buffer_download(ctx, out, 0, got, sizeof got);
        const float want[9] = {3, 4, 5, 6, 7, 8, 3, 4, 5};
        for (int e = 0; e < 9; e++)
            cr_expect_eq(got[e], want[e], "%s: out[%d] = %g, want %g", ember_backend_name(kinds[k]),
                         e, (double)got[e], (double)want[e]);
        /* accumulate adds the padding row too */
        d.accumulate = 1;
        cr_assert_eq(ember_embedding_lookup(ctx, &d, t, i, NULL, NULL, out), EMBER_STATUS_SUCCESS);
        ember_buffer_download(ctx, out, 0, got, sizeof got);
        for (int e = 0; e < 9; e++) cr_expect_eq(got[e], 2 * want[e]);
        d.accumulate = 0;
        cr_assert_eq(ember_embedding_backward_dense(ctx, &d, i, NULL, NULL, g,
                                                    EMBER_REDUCTION_DETERMINISTIC, gt),
                     EMBER_STATUS_SUCCESS);
        float grad[12];
        ember_buffer_download(ctx, gt, 0, grad, sizeof grad);
        for (int e = 0; e < 12; e++)
            cr_expect_eq(grad[e], e / 3 == 2 ? 1.0f : 0.0f, "%s: grad_table[%d] = %g",
                         ember_backend_name(kinds[k]), e, (double)grad[e]);
        ember_buffer_free(t), ember_buffer_free(i), ember_buffer_free(out);
        ember_buffer_free(g), ember_buffer_free(gt);
        ember_context_destroy(ctx);
    }
}

Test(conventions, bce_of_infinite_logits_is_pytorchs) {
    const float x[5] = {-INFINITY, INFINITY, -INFINITY, INFINITY, INFINITY};
    const float t[5] = {0.0f, 0.0f, 1.0f, 1.0f, 0.5f};
    const int want_inf[5] = {0, 1, 0, 0, 1};                    /* else NaN */
    const float want_grad[5] = {0.0f, 1.0f, -1.0f, 0.0f, 0.5f}; /* sigmoid(x) - t, n = 1 */
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        ember_context *ctx = api_context(kinds[k]);
        if (!ctx) continue;
        for (int e = 0; e < 5; e++) {
            ember_buffer *bx = api_buffer(ctx, &x[e], 4), *bt = api_buffer(ctx, &t[e], 4),
                         *bg = api_buffer(ctx, NULL, 4);
            float loss = 0.0f, grad = 0.0f;
            cr_assert_eq(ember_bce_with_logits(ctx, 1, bx, bt, &loss, bg), EMBER_STATUS_SUCCESS);
            ember_buffer_download(ctx, bg, 0, &grad, 4);
            if (want_inf[e])
                cr_expect(isinf(loss) && loss > 0, "%s: bce(%g, %g) = %g, want inf",
                          ember_backend_name(kinds[k]), (double)x[e], (double)t[e], (double)loss);
            else
                cr_expect(isnan(loss), "%s: bce(%g, %g) = %g, want nan",
                          ember_backend_name(kinds[k]), (double)x[e], (double)t[e], (double)loss);
            cr_expect_eq(grad, want_grad[e], "%s: grad of bce(%g, %g) = %g",
                         ember_backend_name(kinds[k]), (double)x[e], (double)t[e], (double)grad);
            ember_buffer_free(bx), ember_buffer_free(bt), ember_buffer_free(bg);
        }
        ember_context_destroy(ctx);
    }
}
