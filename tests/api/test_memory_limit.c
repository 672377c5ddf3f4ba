/* test_memory_limit.c: a dense op under an address-space limit returns OUT_OF_MEMORY and
 * leaves its output untouched, and once the limit is lifted the next dense op works: before
 * the fix the first spun forever inside OpenBLAS's buffer allocation (issue 10, item 6).
 * Criterion runs each test in its own process, so the limit and OpenBLAS's state are this
 * test's alone. Skipped under AddressSanitizer, whose shadow memory needs terabytes of
 * address space. */
#include "api_test.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Address space in use now, from /proc/self/statm (pages). */
static size_t mapped_bytes(void) {
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1) pages = 0;
        fclose(f);
    }
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

Test(memory_limit, dense_op_returns_out_of_memory_then_recovers, .timeout = 60) {
#ifdef UNDER_ASAN
    cr_skip_test("address-space limits and AddressSanitizer do not mix");
#endif
    ember_context *ctx = api_context(EMBER_BACKEND_CPU);
    cr_assert_not_null(ctx);
    enum { B = 64, IN = 32, OUT = 16 };
    static float x[B * IN], w[OUT * IN], y[B * OUT], got[B * OUT];
    for (int i = 0; i < B * IN; i++) x[i] = (float)(i % 7) - 3.0f;
    for (int i = 0; i < OUT * IN; i++) w[i] = (float)(i % 5) * 0.25f;
    for (int i = 0; i < B * OUT; i++) y[i] = 42.0f;
    ember_buffer *bx = api_buffer(ctx, x, sizeof x), *bw = api_buffer(ctx, w, sizeof w),
                 *by = api_buffer(ctx, y, sizeof y);

    struct rlimit old;
    cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
    /* 32 MiB more than is mapped now: less than OpenBLAS's 128 MiB work buffer. */
    struct rlimit tight = {mapped_bytes() + ((size_t)32 << 20), old.rlim_max};
    cr_assert_eq(setrlimit(RLIMIT_AS, &tight), 0);
    ember_status st = ember_dense_forward(ctx, B, IN, OUT, bx, bw, NULL, EMBER_ACTIVATION_RELU, by);
    cr_assert_eq(setrlimit(RLIMIT_AS, &old), 0);
    cr_expect_eq(st, EMBER_STATUS_OUT_OF_MEMORY, "under the limit: %s (%s)", ember_status_name(st),
                 ember_context_last_error(ctx));
    ember_buffer_download(ctx, by, 0, got, sizeof got);
    cr_expect(memcmp(got, y, sizeof y) == 0, "the failed op wrote its output");

    st = ember_dense_forward(ctx, B, IN, OUT, bx, bw, NULL, EMBER_ACTIVATION_RELU, by);
    cr_expect_eq(st, EMBER_STATUS_SUCCESS, "after the limit: %s (%s)", ember_status_name(st),
                 ember_context_last_error(ctx));
    ember_buffer_download(ctx, by, 0, got, sizeof got);
    double want = 0; /* y[0][0] = relu(x[0] . w[0]) */
    for (int k = 0; k < IN; k++) want += (double)x[k] * (double)w[k];
    cr_expect_float_eq(got[0], want > 0 ? want : 0, 1e-4);
    ember_buffer_free(bx), ember_buffer_free(bw), ember_buffer_free(by);
    ember_context_destroy(ctx);
}

/* OpenCL on a CPU device (PoCL): a buffer the host cannot back is OUT_OF_MEMORY at
 * allocation; before the fix it was SUCCESS and its first use aborted inside PoCL. */
Test(memory_limit, opencl_buffer_is_backed_at_allocation, .timeout = 120) {
#ifdef UNDER_ASAN
    cr_skip_test("address-space limits and AddressSanitizer do not mix");
#endif
    ember_context *ctx = api_context(EMBER_BACKEND_OPENCL);
    if (!ctx) cr_skip_test("no OpenCL device");
    const size_t gib = (size_t)1 << 30;
    struct rlimit old;
    cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
    struct rlimit tight = {mapped_bytes() + gib / 2, old.rlim_max};
    cr_assert_eq(setrlimit(RLIMIT_AS, &tight), 0);
    ember_buffer *big = NULL;
    ember_status st = ember_buffer_alloc(ctx, gib, &big);
    if (st == EMBER_STATUS_SUCCESS) /* must then be usable: this aborted before the fix */
        st = ember_buffer_zero(ctx, big, 0, gib);
    ember_buffer_free(big);
    cr_assert_eq(setrlimit(RLIMIT_AS, &old), 0);
    cr_expect_eq(st, EMBER_STATUS_OUT_OF_MEMORY, "1 GiB under a 512 MiB margin: %s (%s)",
                 ember_status_name(st), ember_context_last_error(ctx));
    /* The context still works. */
    float v = 3.0f, back = 0.0f;
    ember_buffer *small = api_buffer(ctx, &v, sizeof v);
    cr_expect_eq(ember_buffer_download(ctx, small, 0, &back, sizeof back), EMBER_STATUS_SUCCESS);
    cr_expect_eq(back, 3.0f);
    ember_buffer_free(small);
    ember_context_destroy(ctx);
}
