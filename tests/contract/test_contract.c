/* test_contract.c: the backend contract as the registry enforces it (a plugin's ops table is
 * checked before use), and the public calls around it: ember_version, the optimizer and
 * pooling names, and ember_context_destroy with buffers still alive. */
#include "core/backend.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static const struct ember_backend_ops *load(const char *path, ember_status *st, char *why,
                                            size_t size) {
    why[0] = '\0';
    return ember_backend_plugin_load(path, EMBER_CUDA_PLUGIN_SYMBOL, st, why, size);
}

Test(plugin, other_abi_version_is_refused_with_both_versions_named) {
    char why[1024], want[128];
    ember_status st = EMBER_STATUS_SUCCESS;
    cr_assert_null(load(PLUGIN_OTHER_ABI, &st, why, sizeof why));
    cr_assert_eq(st, EMBER_STATUS_BACKEND_NOT_COMPILED, "status %s", ember_status_name(st));
    snprintf(want, sizeof want, "built for backend ABI %u, this libember (%s) expects ABI %u",
             EMBER_BACKEND_ABI_VERSION - 1, EMBER_VERSION_STRING, EMBER_BACKEND_ABI_VERSION);
    cr_assert(strstr(why, want), "message: %s", why);
    cr_assert(strstr(why, PLUGIN_OTHER_ABI), "the message names the file: %s", why);
}

Test(plugin, missing_required_op_is_refused_by_name) {
    char why[1024];
    ember_status st = EMBER_STATUS_SUCCESS;
    cr_assert_null(load(PLUGIN_MISSING_OP, &st, why, sizeof why));
    cr_assert_eq(st, EMBER_STATUS_BACKEND_NOT_COMPILED, "status %s", ember_status_name(st));
    cr_assert(strstr(why, "lacks the required op init"), "message: %s", why);
}

Test(plugin, absent_file_is_not_compiled) {
    char why[1024];
    ember_status st = EMBER_STATUS_SUCCESS;
    cr_assert_null(load("/nonexistent/libember_cuda.so", &st, why, sizeof why));
    cr_assert_eq(st, EMBER_STATUS_BACKEND_NOT_COMPILED, "status %s", ember_status_name(st));
    cr_assert(strstr(why, "no plugin at /nonexistent/libember_cuda.so"), "message: %s", why);
}

#ifdef PLUGIN_CUDA
Test(plugin, this_builds_cuda_plugin_passes) {
    char why[1024];
    ember_status st = EMBER_STATUS_INTERNAL;
    const struct ember_backend_ops *ops = load(PLUGIN_CUDA, &st, why, sizeof why);
    cr_assert_not_null(ops, "%s: %s", ember_status_name(st), why);
    cr_assert_eq(st, EMBER_STATUS_SUCCESS);
    cr_assert_eq(ops->kind, EMBER_BACKEND_CUDA);
    cr_assert_str_eq(ops->name, "cuda");
}
#endif

/* --- ember_context_destroy with buffers still alive ------------------------------------ */

static void destroy_with_live_buffers(ember_backend_kind kind, int device) {
    ember_context *ctx = NULL, *other = NULL;
    ember_status st = ember_context_create(&ctx, kind, device);
    if (st != EMBER_STATUS_SUCCESS) {
        cr_assert(kind != EMBER_BACKEND_CPU, "cpu context: %s", ember_last_error());
        cr_skip_test("%s: %s", ember_backend_name(kind), ember_last_error());
    }
    cr_assert_eq(ember_context_create(&other, EMBER_BACKEND_CPU, 0), EMBER_STATUS_SUCCESS);
    ember_buffer *a = NULL, *b = NULL, *freed_first = NULL;
    const float x[4] = {1, 2, 3, 4};
    cr_assert_eq(ember_buffer_alloc(ctx, sizeof x, &a), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_buffer_alloc(ctx, 64, &freed_first), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_buffer_alloc(ctx, 128, &b), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_buffer_upload(ctx, a, 0, x, sizeof x), EMBER_STATUS_SUCCESS);
    ember_buffer_free(freed_first); /* unlinked from the middle of the context's list */

    st = ember_context_destroy(ctx);
    cr_assert_eq(st, EMBER_STATUS_INVALID_ARGUMENT, "status %s", ember_status_name(st));
    cr_assert(strstr(ember_last_error(), "context destroyed with 2 buffers still allocated"),
              "message: %s", ember_last_error());
    /* The handles outlive their context: size still answers, other uses are refused, free
     * is safe (ASan builds check that nothing is touched twice). */
    cr_assert_eq(ember_buffer_size(a), sizeof x);
    cr_assert_eq(ember_buffer_upload(other, a, 0, x, sizeof x), EMBER_STATUS_WRONG_CONTEXT);
    ember_buffer_free(a);
    ember_buffer_free(b);
    cr_assert_eq(ember_context_destroy(other), EMBER_STATUS_SUCCESS);
}

Test(destroy, cpu_with_live_buffers_releases_them_and_says_so) {
    destroy_with_live_buffers(EMBER_BACKEND_CPU, 0);
}

Test(destroy, opencl_with_live_buffers_releases_them_and_says_so) {
    destroy_with_live_buffers(EMBER_BACKEND_OPENCL, -1);
}

Test(destroy, without_buffers_succeeds_and_null_is_accepted) {
    ember_context *ctx = NULL;
    ember_buffer *a = NULL;
    cr_assert_eq(ember_context_create(&ctx, EMBER_BACKEND_CPU, 0), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_buffer_alloc(ctx, 16, &a), EMBER_STATUS_SUCCESS);
    ember_buffer_free(a);
    cr_assert_eq(ember_context_destroy(ctx), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_context_destroy(NULL), EMBER_STATUS_SUCCESS);
}

/* --- versions and names ---------------------------------------------------------------- */

Test(names, version_is_the_project_version) {
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", EMBER_VERSION_MAJOR, EMBER_VERSION_MINOR,
             EMBER_VERSION_PATCH);
    cr_assert_str_eq(EMBER_VERSION_STRING, want);
    cr_assert_str_eq(ember_version(), want);
}

Test(names, optimizers_as_checkpoints_store_them) {
    cr_assert_str_eq(ember_optimizer_name(EMBER_OPTIMIZER_SGD), "sgd");
    cr_assert_str_eq(ember_optimizer_name(EMBER_OPTIMIZER_ADAGRAD), "adagrad");
    cr_assert_str_eq(ember_optimizer_name(EMBER_OPTIMIZER_ROWWISE_ADAGRAD), "rowwise_adagrad");
    cr_assert_str_eq(ember_optimizer_name(EMBER_OPTIMIZER_ADAM), "adam");
    cr_assert_null(ember_optimizer_name((ember_optimizer_kind)4));
    cr_assert_null(ember_optimizer_name((ember_optimizer_kind)-1));
}

Test(names, poolings) {
    cr_assert_str_eq(ember_pooling_name(EMBER_POOLING_NONE), "none");
    cr_assert_str_eq(ember_pooling_name(EMBER_POOLING_SUM), "sum");
    cr_assert_str_eq(ember_pooling_name(EMBER_POOLING_MEAN), "mean");
    cr_assert_null(ember_pooling_name((ember_pooling)3));
}

Test(names, backends_public_and_test_only) {
    ember_backend_kind k;
    cr_assert_str_eq(ember_backend_name(EMBER_BACKEND_OPENCL), "opencl");
    cr_assert_null(ember_backend_name(EMBER_BACKEND_KIND_COUNT_));
    cr_assert_eq(ember_backend_parse("CUDA", &k), EMBER_STATUS_SUCCESS);
    cr_assert_eq(k, EMBER_BACKEND_CUDA);
    cr_assert_eq(ember_backend_parse("gpu", &k), EMBER_STATUS_INVALID_ARGUMENT);
#ifdef EMBER_WITH_TEST_BACKEND
    cr_assert_eq(ember_backend_parse("perturbed", &k), EMBER_STATUS_SUCCESS);
    cr_assert_eq(k, EMBER_BACKEND_PERTURBED);
    cr_assert_geq((int)k, (int)EMBER_BACKEND_KIND_COUNT_, "outside the public enum");
    cr_assert_str_eq(ember_backend_name(k), "perturbed");
#else
    cr_assert_eq(ember_backend_parse("perturbed", &k), EMBER_STATUS_INVALID_ARGUMENT);
#endif
}
