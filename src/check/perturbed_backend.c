/* perturbed_backend.c: the test-only "perturbed" backend: the CPU backend with one op's
 * result deliberately wrong (1e-3 added to one element), to prove the conformance checks
 * can fail and name the element. Compiled into libember only with -DEMBER_TEST_BACKEND=ON,
 * and outside the public ember_backend_kind enum (core/backend.h's EMBER_BACKEND_PERTURBED):
 * only the registry of a test build knows it.
 *
 * EMBER_PERTURB_OP chooses the op (default lookup): lookup, backward_dense,
 * backward_sparse, sparse_step, backward_update, dense_step, dense_forward, dense_backward,
 * sigmoid, bce. The element changed is the first of the op's main output: lookup out[0,0]
 * of the slice, grad_table[0,0], unique_grads[0,0], the first updated row's [0] for the
 * optimizers, param[0], y[0,0], dw[0,0], sigmoid y[0], and the BCE loss. CPU buffers are
 * host memory, so the wrappers change the result in place.
 *
 * EMBER_PERTURB_MODE=error makes that op fail with DEVICE_ERROR instead (a driver error),
 * EMBER_PERTURB_MODE=crash makes it die of SIGSEGV (a crashing driver): `ember check` must
 * report both as failures and carry on. */
#include "core/backend.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CPU (&ember_cpu_backend_ops)
#define PERTURBATION 1e-3f

static int perturbs(const char *op) {
    const char *env = getenv("EMBER_PERTURB_OP");
    if (!env || !*env) env = "lookup";
    if (strcmp(env, op) != 0) return 0;
    const char *mode = getenv("EMBER_PERTURB_MODE");
    if (mode && strcmp(mode, "crash") == 0) raise(SIGSEGV);
    return 1;
}

/* EMBER_PERTURB_MODE=error: the op fails as a broken driver would. */
static int fails(ember_context *ctx, const char *op, ember_status *st) {
    const char *mode = getenv("EMBER_PERTURB_MODE");
    if (!mode || strcmp(mode, "error") != 0 || !perturbs(op)) return 0;
    *st = ember_error(ctx, EMBER_STATUS_DEVICE_ERROR, "perturbed: simulated device failure in %s",
                      op);
    return 1;
}

#define FAIL_IF_ASKED(op)                                                                          \
    do {                                                                                           \
        ember_status fst_;                                                                         \
        if (fails(ctx, (op), &fst_)) return fst_;                                                  \
    } while (0)

static float *fptr(const ember_buffer *b) {
    return (float *)b->handle;
}

static ember_status p_devices(ember_device_info *out, size_t capacity, size_t *count) {
    ember_status st = CPU->devices(out, capacity, count);
    for (size_t i = 0; out && i < capacity && i < *count; i++) {
        char name[sizeof out[i].name + 16];
        snprintf(name, sizeof name, "perturbed %s", out[i].name);
        snprintf(out[i].name, sizeof out[i].name, "%.255s", name);
        out[i].kind = EMBER_BACKEND_PERTURBED;
    }
    return st;
}

static ember_status p_init(ember_context *ctx, int device) {
    EMBER_FORWARD_IF_ERROR(CPU->init(ctx, device));
    const char *env = getenv("EMBER_PERTURB_OP");
    char name[sizeof ctx->device_name + 64];
    snprintf(name, sizeof name, "%s with %.24s perturbed (test only)", ctx->device_name,
             env && *env ? env : "lookup");
    snprintf(ctx->device_name, sizeof ctx->device_name, "%.255s", name);
    return EMBER_STATUS_SUCCESS;
}

static void p_destroy(ember_context *ctx) {
    CPU->destroy(ctx);
}
static ember_status p_synchronize(ember_context *ctx) {
    return CPU->synchronize(ctx);
}
static ember_status p_set_threads(ember_context *ctx, int threads) {
    return CPU->set_threads ? CPU->set_threads(ctx, threads) : EMBER_STATUS_SUCCESS;
}
static ember_status p_set_math_mode(ember_context *ctx, ember_math_mode mode) {
    return CPU->set_math_mode ? CPU->set_math_mode(ctx, mode) : EMBER_STATUS_SUCCESS;
}
static ember_status p_buffer_alloc(ember_context *ctx, size_t bytes, void **handle) {
    return CPU->buffer_alloc(ctx, bytes, handle);
}
static void p_buffer_free(ember_context *ctx, void *handle) {
    CPU->buffer_free(ctx, handle);
}
static ember_status p_buffer_upload(ember_context *ctx, void *handle, size_t offset,
                                    const void *src, size_t bytes) {
    return CPU->buffer_upload(ctx, handle, offset, src, bytes);
}
static ember_status p_buffer_download(ember_context *ctx, const void *handle, size_t offset,
                                      void *dst, size_t bytes) {
    return CPU->buffer_download(ctx, handle, offset, dst, bytes);
}
static ember_status p_buffer_zero(ember_context *ctx, void *handle, size_t offset, size_t bytes) {
    return CPU->buffer_zero(ctx, handle, offset, bytes);
}
static ember_status p_check_indices(ember_context *ctx, const ember_lookup_desc *desc,
                                    const ember_buffer *indices, const ember_buffer *offsets,
                                    ember_index_problem *problem) {
    return CPU->check_indices(ctx, desc, indices, offsets, problem);
}
static ember_status p_check_indices_batched(ember_context *ctx, int64_t num_tables,
                                            const ember_lookup_desc *descs,
                                            const ember_buffer *const *indices,
                                            const ember_buffer *const *offsets, int64_t *table,
                                            ember_index_problem *problem) {
    return CPU->check_indices_batched(ctx, num_tables, descs, indices, offsets, table, problem);
}

static ember_status p_lookup(ember_context *ctx, const ember_lookup_desc *desc,
                             const ember_buffer *table, const ember_buffer *indices,
                             const ember_buffer *offsets, const ember_buffer *weights,
                             ember_buffer *out) {
    FAIL_IF_ASKED("lookup");
    EMBER_FORWARD_IF_ERROR(CPU->lookup(ctx, desc, table, indices, offsets, weights, out));
    if (perturbs("lookup") && desc->batch > 0) fptr(out)[desc->out_col_offset] += PERTURBATION;
    return EMBER_STATUS_SUCCESS;
}

static ember_status p_backward_dense(ember_context *ctx, const ember_lookup_desc *desc,
                                     const ember_buffer *indices, const ember_buffer *offsets,
                                     const ember_buffer *weights, const ember_buffer *grad_out,
                                     ember_reduction_mode mode, ember_buffer *grad_table) {
    FAIL_IF_ASKED("backward_dense");
    EMBER_FORWARD_IF_ERROR(
        CPU->backward_dense(ctx, desc, indices, offsets, weights, grad_out, mode, grad_table));
    if (perturbs("backward_dense")) fptr(grad_table)[0] += PERTURBATION;
    return EMBER_STATUS_SUCCESS;
}

static ember_status p_backward_sparse(ember_context *ctx, const ember_lookup_desc *desc,
                                      const ember_buffer *indices, const ember_buffer *offsets,
                                      const ember_buffer *weights, const ember_buffer *grad_out,
                                      ember_reduction_mode mode, ember_buffer *unique_ids,
                                      ember_buffer *unique_grads, int64_t *num_unique) {
    FAIL_IF_ASKED("backward_sparse");
    EMBER_FORWARD_IF_ERROR(CPU->backward_sparse(ctx, desc, indices, offsets, weights, grad_out,
                                                mode, unique_ids, unique_grads, num_unique));
    if (perturbs("backward_sparse") && *num_unique > 0) fptr(unique_grads)[0] += PERTURBATION;
    return EMBER_STATUS_SUCCESS;
}

static ember_status p_sparse_step(ember_context *ctx, const ember_optimizer *opt, int64_t num_rows,
                                  int64_t dim, ember_buffer *table, ember_buffer *state,
                                  const ember_buffer *unique_ids, const ember_buffer *unique_grads,
                                  int64_t num_unique) {
    FAIL_IF_ASKED("sparse_step");
    EMBER_FORWARD_IF_ERROR(CPU->sparse_step(ctx, opt, num_rows, dim, table, state, unique_ids,
                                            unique_grads, num_unique));
    if (perturbs("sparse_step") && num_unique > 0)
        fptr(table)[((const int64_t *)unique_ids->handle)[0] * dim] += PERTURBATION;
    return EMBER_STATUS_SUCCESS;
}

static ember_status p_backward_update(ember_context *ctx, const ember_lookup_desc *desc,
                                      const ember_buffer *indices, const ember_buffer *offsets,
                                      const ember_buffer *weights, const ember_buffer *grad_out,
                                      ember_reduction_mode mode, const ember_optimizer *opt,
                                      ember_buffer *table, ember_buffer *state) {
    FAIL_IF_ASKED("backward_update");
    if (CPU->backward_update) {
        EMBER_FORWARD_IF_ERROR(CPU->backward_update(ctx, desc, indices, offsets, weights, grad_out,
                                                    mode, opt, table, state));
    } else {
        /* What the dispatch layer does for a backend without a fused path. */
        ember_buffer *ids = NULL, *grads = NULL;
        int64_t n = 0;
        ember_status st = ember_buffer_alloc(ctx, (size_t)desc->num_indices * 8, &ids);
        if (st == EMBER_STATUS_SUCCESS)
            st = ember_buffer_alloc(ctx, (size_t)desc->num_indices * (size_t)desc->dim * 4, &grads);
        if (st == EMBER_STATUS_SUCCESS)
            st = CPU->backward_sparse(ctx, desc, indices, offsets, weights, grad_out, mode, ids,
                                      grads, &n);
        if (st == EMBER_STATUS_SUCCESS && n > 0)
            st = CPU->sparse_step(ctx, opt, desc->num_rows, desc->dim, table, state, ids, grads, n);
        ember_buffer_free(grads);
        ember_buffer_free(ids);
        EMBER_FORWARD_IF_ERROR(st);
    }
    if (perturbs("backward_update") && desc->num_indices > 0) {
        int64_t row = ember_index_at(indices->handle, desc->index_type, 0);
        if (row == desc->padding_idx && desc->num_indices > 1)
            row = ember_index_at(indices->handle, desc->index_type, desc->num_indices - 1);
        fptr(table)[row * desc->dim] += PERTURBATION;
    }
    return EMBER_STATUS_SUCCESS;
}

static ember_status p_dense_step(ember_context *ctx, const ember_optimizer *opt, int64_t n,
                                 ember_buffer *param, const ember_buffer *grad, ember_buffer *state,
                                 ember_buffer *state2) {
    FAIL_IF_ASKED("dense_step");
    EMBER_FORWARD_IF_ERROR(CPU->dense_step(ctx, opt, n, param, grad, state, state2));
    if (perturbs("dense_step") && n > 0) fptr(param)[0] += PERTURBATION;
    return EMBER_STATUS_SUCCESS;
}

static ember_status p_dense_forward(ember_context *ctx, int64_t batch, int64_t in, int64_t out,
                                    const ember_buffer *x, const ember_buffer *w,
                                    const ember_buffer *b, ember_activation act, ember_buffer *y) {
    FAIL_IF_ASKED("dense_forward");
    EMBER_FORWARD_IF_ERROR(CPU->dense_forward(ctx, batch, in, out, x, w, b, act, y));
    if (perturbs("dense_forward") && batch > 0 && out > 0) fptr(y)[0] += PERTURBATION;
    return EMBER_STATUS_SUCCESS;
}

static ember_status p_dense_backward(ember_context *ctx, int64_t batch, int64_t in, int64_t out,
                                     const ember_buffer *x, const ember_buffer *w,
                                     const ember_buffer *y, ember_buffer *dy, ember_activation act,
                                     ember_buffer *dx, ember_buffer *dw, ember_buffer *db) {
    FAIL_IF_ASKED("dense_backward");
    EMBER_FORWARD_IF_ERROR(CPU->dense_backward(ctx, batch, in, out, x, w, y, dy, act, dx, dw, db));
    if (perturbs("dense_backward") && in > 0 && out > 0) fptr(dw)[0] += PERTURBATION;
    return EMBER_STATUS_SUCCESS;
}

static ember_status p_sigmoid(ember_context *ctx, int64_t n, const ember_buffer *x,
                              ember_buffer *y) {
    FAIL_IF_ASKED("sigmoid");
    EMBER_FORWARD_IF_ERROR(CPU->sigmoid(ctx, n, x, y));
    if (perturbs("sigmoid") && n > 0) fptr(y)[0] += PERTURBATION;
    return EMBER_STATUS_SUCCESS;
}

static ember_status p_bce(ember_context *ctx, int64_t n, const ember_buffer *logits,
                          const ember_buffer *labels, float *loss, ember_buffer *grad) {
    FAIL_IF_ASKED("bce");
    EMBER_FORWARD_IF_ERROR(CPU->bce_with_logits(ctx, n, logits, labels, loss, grad));
    if (perturbs("bce") && n > 0) {
        if (loss)
            *loss += PERTURBATION;
        else if (grad)
            fptr(grad)[0] += PERTURBATION;
    }
    return EMBER_STATUS_SUCCESS;
}

const struct ember_backend_ops ember_perturbed_backend_ops = {
    EMBER_BACKEND_OPS_HEADER(EMBER_BACKEND_PERTURBED, "perturbed"),
    .devices = p_devices,
    .init = p_init,
    .destroy = p_destroy,
    .synchronize = p_synchronize,
    .set_threads = p_set_threads,
    .set_math_mode = p_set_math_mode,
    .set_stream = NULL, /* the CPU's: none */
    .buffer_alloc = p_buffer_alloc,
    .buffer_free = p_buffer_free,
    .buffer_upload = p_buffer_upload,
    .buffer_download = p_buffer_download,
    .buffer_zero = p_buffer_zero,
    .buffer_wrap_check = NULL, /* the CPU's: host memory is not checked */
    .check_indices = p_check_indices,
    .check_indices_batched = p_check_indices_batched,
    .lookup = p_lookup,
    .backward_dense = p_backward_dense,
    .backward_sparse = p_backward_sparse,
    .sparse_step = p_sparse_step,
    .backward_update = p_backward_update,
    .lookup_batched = NULL,          /* per-table calls reach p_lookup */
    .backward_update_batched = NULL, /* per-table calls reach p_backward_update */
    .dense_step = p_dense_step,
    .dense_forward = p_dense_forward,
    .dense_backward = p_dense_backward,
    .sigmoid = p_sigmoid,
    .bce_with_logits = p_bce,
};
