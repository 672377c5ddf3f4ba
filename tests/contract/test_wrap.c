/* test_wrap.c: memory the caller owns, wrapped as buffers (ember_buffer_wrap). ember never
 * frees it: ember_buffer_free and ember_context_destroy release only the handle (an ASan
 * build reports the caller's free below as a double free if ember freed it too). Wrapped
 * buffers in the ops themselves are conformance cases (src/check, names ending /wrapped). */
#include "ember.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

Test(wrap, host_memory_is_used_in_place_and_outlives_free_and_destroy) {
    ember_context *ctx = NULL;
    cr_assert_eq(ember_context_create(&ctx, EMBER_BACKEND_CPU, 0), EMBER_STATUS_SUCCESS);
    const float x[4] = {1, 2, 3, 4};
    float *mem = malloc(sizeof x);
    cr_assert_not_null(mem);
    ember_buffer *a = NULL, *b = NULL;
    cr_assert_eq(ember_buffer_wrap(ctx, mem, sizeof x, &a), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_buffer_native(a), (void *)mem);
    cr_assert_eq(ember_buffer_size(a), sizeof x);
    cr_assert_eq(ember_buffer_upload(ctx, a, 0, x, sizeof x), EMBER_STATUS_SUCCESS);
    cr_assert(memcmp(mem, x, sizeof x) == 0, "the upload wrote the caller's memory");
    ember_buffer_free(a);
    mem[0] = 5.0f; /* still the caller's */
    cr_assert_eq(ember_buffer_wrap(ctx, mem, sizeof x, &b), EMBER_STATUS_SUCCESS);
    /* b still alive: destroy releases its handle's memory, which is the caller's: untouched */
    cr_assert_eq(ember_context_destroy(ctx), EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert_null(ember_buffer_native(b));
    ember_buffer_free(b);
    cr_assert(mem[0] == 5.0f && mem[3] == 4.0f);
    free(mem);
}

Test(wrap, refuses_nothing_to_wrap) {
    ember_context *ctx = NULL;
    cr_assert_eq(ember_context_create(&ctx, EMBER_BACKEND_CPU, 0), EMBER_STATUS_SUCCESS);
    float mem[4];
    ember_buffer *b = (ember_buffer *)&mem; /* must be set to NULL on failure */
    cr_assert_eq(ember_buffer_wrap(ctx, NULL, 16, &b), EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert_null(b);
    cr_assert(strstr(ember_context_last_error(ctx), "NULL"), "%s", ember_context_last_error(ctx));
    cr_assert_eq(ember_buffer_wrap(ctx, mem, 0, &b), EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert_eq(ember_buffer_wrap(NULL, mem, 16, &b), EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert_null(ember_buffer_native(NULL));
    cr_assert_eq(ember_context_destroy(ctx), EMBER_STATUS_SUCCESS);
}

Test(wrap, opencl_checks_context_and_size_of_the_cl_mem) {
    ember_context *ctx = NULL, *other = NULL;
    if (ember_context_create(&ctx, EMBER_BACKEND_OPENCL, -1) != EMBER_STATUS_SUCCESS)
        cr_skip_test("opencl: %s", ember_last_error());
    cr_assert_eq(ember_context_create(&other, EMBER_BACKEND_OPENCL, -1), EMBER_STATUS_SUCCESS);
    ember_buffer *a = NULL, *w = NULL;
    cr_assert_eq(ember_buffer_alloc(ctx, 64, &a), EMBER_STATUS_SUCCESS);
    void *mem = ember_buffer_native(a);
    cr_assert_eq(ember_buffer_wrap(ctx, mem, 65, &w), EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert(strstr(ember_context_last_error(ctx), "holds 64 bytes, 65 asked"), "%s",
              ember_context_last_error(ctx));
    cr_assert_eq(ember_buffer_wrap(other, mem, 64, &w), EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert(strstr(ember_context_last_error(other), "another cl_context"), "%s",
              ember_context_last_error(other));
    cr_assert_eq(ember_buffer_wrap(ctx, mem, 64, &w), EMBER_STATUS_SUCCESS);
    ember_buffer_free(w); /* the cl_mem stays a's */
    const float x[2] = {7, 8};
    float y[2] = {0, 0};
    cr_assert_eq(ember_buffer_upload(ctx, a, 0, x, sizeof x), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_buffer_download(ctx, a, 0, y, sizeof y), EMBER_STATUS_SUCCESS);
    cr_assert(y[0] == 7.0f && y[1] == 8.0f);
    ember_buffer_free(a);
    cr_assert_eq(ember_context_destroy(other), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_context_destroy(ctx), EMBER_STATUS_SUCCESS);
}

Test(stream, only_cuda_has_streams) {
    ember_context *ctx = NULL;
    cr_assert_eq(ember_context_create(&ctx, EMBER_BACKEND_CPU, 0), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_context_set_stream(ctx, (void *)1), EMBER_STATUS_NOT_SUPPORTED);
    cr_assert(strstr(ember_context_last_error(ctx), "cpu backend has no streams"), "%s",
              ember_context_last_error(ctx));
    cr_assert_eq(ember_context_set_stream(NULL, NULL), EMBER_STATUS_INVALID_ARGUMENT);
    cr_assert_eq(ember_context_destroy(ctx), EMBER_STATUS_SUCCESS);
}

Test(stream, cuda_returns_to_its_own_stream) {
    ember_context *ctx = NULL;
    if (ember_context_create(&ctx, EMBER_BACKEND_CUDA, 0) != EMBER_STATUS_SUCCESS)
        cr_skip_test("cuda: %s", ember_last_error());
    /* A caller's stream needs the CUDA runtime in the test: the Python suite gives PyTorch's
     * (tests/python, test_torch.py); here, the way back is always allowed. */
    cr_assert_eq(ember_context_set_stream(ctx, NULL), EMBER_STATUS_SUCCESS, "%s",
                 ember_context_last_error(ctx));
    cr_assert_eq(ember_context_destroy(ctx), EMBER_STATUS_SUCCESS);
}
