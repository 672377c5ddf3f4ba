/* check_runner.c: runs one case on one backend (against the CPU backend or the oracle) and
 * turns every outcome, a crash-free failure included, into an ember_check_result. */
#include "check_internal.h"
#include "util/clock.h"

#include <stdio.h>
#include <string.h>

void ember_check_reproduce(const ember_check_case *c, ember_backend_kind kind, int device,
                           uint64_t seed, char *buf, size_t size) {
    const char *name = ember_backend_name(kind);
    char dev[32] = "";
    if (device > 0) snprintf(dev, sizeof dev, " --device %d", device);
    snprintf(buf, size, "ember check --backend %s%s --case %s --seed %llu", name ? name : "?", dev,
             c ? c->name : "?", (unsigned long long)seed);
}

static void result_init(ember_check_result *r, const ember_check_case *c, ember_backend_kind kind,
                        int device, uint64_t seed) {
    memset(r, 0, sizeof *r);
    r->outcome = EMBER_CHECK_PASSED;
    r->seed = seed;
    const char *name = ember_backend_name(kind);
    snprintf(r->backend, sizeof r->backend, "%s", name ? name : "?");
    ember_check_reproduce(c, kind, device, seed, r->reproduce, sizeof r->reproduce);
}

void ember_check_run_on(const ember_check_case *c, ember_context *ctx, int device,
                        ember_context *ref, uint64_t seed, ember_check_result *r) {
    ember_backend_kind kind = ctx ? ember_context_kind(ctx) : EMBER_BACKEND_CPU;
    result_init(r, c, kind, device, seed);
    if (!c || !ctx) {
        chk_result_failf(r, "no case or no context given");
        return;
    }
    if (chk_case_list_incomplete()) {
        chk_result_failf(r, "the case list is incomplete: out of memory while building it");
        return;
    }
    double t0 = ember_now();
    switch (c->op) {
    case EMBER_CHECK_LOOKUP:
    case EMBER_CHECK_BACKWARD_DENSE:
    case EMBER_CHECK_BACKWARD_SPARSE:
    case EMBER_CHECK_SPARSE_STEP:
    case EMBER_CHECK_BACKWARD_UPDATE:
        chk_run_embedding(c, ctx, ref, seed, r);
        break;
    case EMBER_CHECK_DENSE_STEP:
        chk_run_optim_dense(c, ctx, ref, seed, r);
        break;
    case EMBER_CHECK_DENSE_FORWARD:
    case EMBER_CHECK_DENSE_BACKWARD:
        chk_run_dense(c, ctx, ref, seed, r);
        break;
    case EMBER_CHECK_SIGMOID:
    case EMBER_CHECK_BCE:
        chk_run_head(c, ctx, ref, seed, r);
        break;
    case EMBER_CHECK_SEED:
        chk_run_seed(c, ctx, ref, seed, r);
        break;
    case EMBER_CHECK_ERRORS:
        chk_run_errors(c, ctx, ref, seed, r);
        break;
    case EMBER_CHECK_LOOKUP_BATCHED:
    case EMBER_CHECK_BACKWARD_UPDATE_BATCHED:
        chk_run_batched(c, ctx, ref, seed, r);
        break;
    case EMBER_CHECK_OUT_OF_MEMORY:
        chk_run_out_of_memory(c, ctx, ref, seed, r);
        break;
    default:
        chk_result_failf(r, "unknown op %d", (int)c->op);
        break;
    }
    /* Anything still pending on the device failing shows here rather than in the next case. */
    ember_status st = ember_context_synchronize(ctx);
    if (st != EMBER_STATUS_SUCCESS)
        chk_result_failf(r, "ember_context_synchronize returned %s: %s", ember_status_name(st),
                         ember_context_last_error(ctx));
    if (!r->metric) r->metric = "exact";
    r->seconds = ember_now() - t0;
}

void ember_check_run(const ember_check_case *c, ember_backend_kind kind, int device, uint64_t seed,
                     int require, ember_check_result *r) {
    result_init(r, c, kind, device, seed);
    ember_context *ctx = NULL, *ref = NULL;
    ember_status st = ember_context_create(&ctx, kind, device);
    if (st != EMBER_STATUS_SUCCESS) {
        r->outcome = require ? EMBER_CHECK_FAILED : EMBER_CHECK_SKIPPED;
        const char *why = ember_last_error();
        if (require) {
            snprintf(r->reason, sizeof r->reason,
                     "the backend is required here (EMBER_REQUIRE_OPENCL=1) but cannot be "
                     "created: %s (%s)",
                     why, ember_status_name(st));
        } else if (kind == EMBER_BACKEND_CUDA && !strstr(why, "no CUDA device") &&
                   st != EMBER_STATUS_BACKEND_NOT_COMPILED)
            snprintf(r->reason, sizeof r->reason, "no CUDA device: %s (%s)", why,
                     ember_status_name(st));
        else
            snprintf(r->reason, sizeof r->reason, "%s (%s)", why && *why ? why : "cannot create",
                     ember_status_name(st));
        return;
    }
    if (kind != EMBER_BACKEND_CPU) {
        st = ember_context_create(&ref, EMBER_BACKEND_CPU, 0);
        if (st != EMBER_STATUS_SUCCESS) {
            chk_result_failf(r, "cannot create the CPU reference: %s (%s)", ember_last_error(),
                             ember_status_name(st));
            ember_context_destroy(ctx);
            return;
        }
    }
    ember_check_run_on(c, ctx, device, ref, seed, r);
    ember_context_destroy(ref);
    ember_context_destroy(ctx);
}
