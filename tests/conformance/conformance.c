/* conformance.c: parameter generation and the one test body of the conformance suite. */
#define _POSIX_C_SOURCE 200809L /* fileno, strtok_r */
#include "conformance.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void free_params(struct criterion_test_params *crp) {
    cr_free(crp->params);
}

/* Backend kinds named in EMBER_CONFORMANCE_BACKENDS, in order. */
static int wanted_kinds(int *kinds, int cap) {
    const char *env = getenv("EMBER_CONFORMANCE_BACKENDS");
    char buf[256];
    snprintf(buf, sizeof buf, "%s", env && *env ? env : "cpu,opencl,cuda");
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok && n < cap; tok = strtok_r(NULL, ",", &save)) {
        ember_backend_kind k;
        if (ember_backend_parse(tok, &k) == EMBER_STATUS_SUCCESS)
            kinds[n++] = (int)k;
        else
            fprintf(stderr, "conformance: ignoring unknown backend '%s'\n", tok);
    }
    return n;
}

/* 1 when this backend certainly cannot run here: not compiled in, or CUDA without the
 * NVIDIA driver library. Nothing here creates a context or initialises CUDA (a CUDA
 * context made in this parent would not survive the fork into the test processes);
 * loading libcuda.so.1 without calling into it is harmless. */
static int certainly_unavailable(ember_backend_kind kind) {
    if (!ember_backend_compiled(kind)) return 1;
    if (kind == EMBER_BACKEND_CUDA) {
        void *driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
        if (!driver) return 1;
        dlclose(driver);
    }
    return 0;
}

/* A backend that certainly cannot run gets one test per file (case_index -1) that skips
 * every case of the file at once, with the reason the test process itself gets from
 * ember_context_create: 280 processes that each only skip cost 10-20 s. */
struct criterion_test_params conf_params(const ember_check_op *ops, int nops) {
    int kinds[8];
    int nk = wanted_kinds(kinds, 8);
    size_t count = 0;
    for (size_t i = 0; i < ember_check_case_count(); i++) {
        const ember_check_case *c = ember_check_case_at(i);
        for (int o = 0; o < nops; o++) count += !c->full_only && c->op == ops[o];
    }
    size_t total = count * (size_t)nk;
    struct conf_param *p = cr_malloc((total > 0 ? total : 1) * sizeof *p);
    size_t n = 0;
    for (int k = 0; k < nk; k++) {
        if (certainly_unavailable((ember_backend_kind)kinds[k])) {
            p[n].kind = kinds[k];
            p[n].case_index = -1;
            p[n].ops_mask = 0;
            for (int o = 0; o < nops; o++) p[n].ops_mask |= 1u << ops[o];
            n++;
            continue;
        }
        for (size_t i = 0; i < ember_check_case_count(); i++) {
            const ember_check_case *c = ember_check_case_at(i);
            for (int o = 0; o < nops; o++)
                if (!c->full_only && c->op == ops[o]) {
                    p[n].kind = kinds[k];
                    p[n].case_index = (int)i;
                    p[n].ops_mask = 0;
                    n++;
                }
        }
    }
    return cr_make_param_array(struct conf_param, p, n, free_params);
}

/* One line per result: "backend<TAB>outcome<TAB>case<TAB>reason". O_APPEND keeps the lines
 * of parallel test processes whole. */
static void log_result(const ember_check_case *c, const ember_check_result *r) {
    const char *path = getenv("EMBER_CONFORMANCE_LOG");
    if (!path || !*path) return;
    static const char *const outcome[] = {"passed", "failed", "skipped"};
    char line[1400];
    int len = snprintf(line, sizeof line, "%s\t%s\t%s\t%s\n", r->backend, outcome[r->outcome],
                       c->name, r->outcome == EMBER_CHECK_PASSED ? "" : r->reason);
    if (len <= 0) return;
    if ((size_t)len >= sizeof line) len = (int)sizeof line - 1, line[len - 1] = '\n';
    for (char *q = line; q < line + len - 1; q++)
        if (*q == '\n') *q = ' ';
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return;
    if (write(fd, line, (size_t)len) < 0) { /* a lost summary line is not a test failure */
    }
    close(fd);
}

/* Every case of the file skipped at once, each logged, for a backend that cannot run. */
static void skip_all(const struct conf_param *p, const char *bname, int require) {
    ember_context *ctx = NULL;
    ember_status st = ember_context_create(&ctx, (ember_backend_kind)p->kind, -1);
    ember_context_destroy(ctx);
    cr_assert(st != EMBER_STATUS_SUCCESS,
              "[%s] looked unavailable (no driver) but a context was created: run its cases "
              "one by one",
              bname);
    char why[600];
    snprintf(why, sizeof why, "%s (%s)", ember_last_error(), ember_status_name(st));
    int n = 0;
    for (size_t i = 0; i < ember_check_case_count(); i++) {
        const ember_check_case *c = ember_check_case_at(i);
        if (c->full_only || !(p->ops_mask & (1u << c->op))) continue;
        ember_check_result r;
        memset(&r, 0, sizeof r);
        snprintf(r.backend, sizeof r.backend, "%s", bname);
        r.outcome = require ? EMBER_CHECK_FAILED : EMBER_CHECK_SKIPPED;
        snprintf(r.reason, sizeof r.reason, "%s%s",
                 require ? "required (EMBER_REQUIRE_OPENCL=1) but " : "", why);
        log_result(c, &r);
        n++;
    }
    cr_assert(!require, "[%s] EMBER_REQUIRE_OPENCL=1 but the backend is unavailable: %s", bname,
              why);
    cr_skip_test("[%s] all %d cases skipped: %s", bname, n, why);
}

void conf_run(const struct conf_param *p) {
    const char *bname = ember_backend_name((ember_backend_kind)p->kind);
    const char *req = getenv("EMBER_REQUIRE_OPENCL");
    int require = p->kind == EMBER_BACKEND_OPENCL && req && strcmp(req, "1") == 0;
    if (p->case_index < 0) skip_all(p, bname, require);
    const ember_check_case *c = ember_check_case_at((size_t)p->case_index);
    cr_assert(c != NULL, "[%s] no case %d", bname, p->case_index);
    ember_check_result r;
    /* Device -1: the backend's default (EMBER_OPENCL_DEVICE picks an OpenCL device). */
    ember_check_run(c, (ember_backend_kind)p->kind, -1, c->seed, require, &r);
    log_result(c, &r);
    if (r.outcome == EMBER_CHECK_SKIPPED)
        cr_skip_test("[%s] %s: skipped: %s", bname, c->name, r.reason);
    char shapes[256];
    ember_check_case_describe(c, shapes, sizeof shapes);
    cr_assert(r.outcome == EMBER_CHECK_PASSED,
              "[%s] %s FAILED (%s; seed %llu): %s\n  reproduce: %s", bname, c->name, shapes,
              (unsigned long long)r.seed, r.reason, r.reproduce);
}
