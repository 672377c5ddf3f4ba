/* cmd_check.c: `ember check`: runs the shared conformance cases (src/check) on every usable
 * backend and device against the CPU reference and reports, per backend and op, what
 * passed, failed or was skipped and why; exits 0 only when nothing failed. */
#define _GNU_SOURCE /* strsignal, MAP_ANONYMOUS */
#include "cli_flags.h"
#include "cli_util.h"
#include "commands.h"

#include "ember.h"
#include "ember_check.h"
#include "util/clock.h"
#include "util/json_writer.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEVICES 16
#define MAX_FAILURES_SHOWN 10 /* per backend and op, in text output */

/* --- tallies ---------------------------------------------------------------------------- */

typedef struct op_tally {
    int passed, failed, skipped;
    double ratio; /* worst error / tolerance seen */
    double max_error, tolerance;
    const char *metric;
    const char *worst_case;
    uint64_t worst_seed;
    int shown;
} op_tally;

typedef struct run_opts {
    int json, full;
    const char *case_name;
    int have_seed;
    uint64_t seed;
} run_opts;

static int require_opencl(void) {
    const char *e = getenv("EMBER_REQUIRE_OPENCL");
    return e && strcmp(e, "1") == 0;
}

static double err_ratio(double err, double tol) {
    if (err == 0) return 0;
    if (isnan(err)) return INFINITY;
    return tol > 0 ? err / tol : INFINITY;
}

static int selected(const ember_check_case *c, const run_opts *o) {
    if (c->full_only && !o->full) return 0;
    if (!o->case_name) return 1;
    if (strcmp(c->name, o->case_name) == 0) return 1;
    /* A prefix ("lookup/", "errors/lookup") selects a group, unless a case has that exact name. */
    if (ember_check_case_find(o->case_name)) return 0;
    return strncmp(c->name, o->case_name, strlen(o->case_name)) == 0;
}

/* Counts of one whole run, for the exit status and the summary. */
typedef struct totals {
    int passed, failed, skipped;
    int json_first_backend;
} totals;

/* Each backend's object is written by that backend's child process (see
 * run_backend_isolated), so the comma between two of them is kept in the totals the
 * child hands back (json_first_backend), not in one writer's state. */
static void begin_backend_json(ember_json *j, totals *t) {
    if (!t->json_first_backend) putchar(',');
    t->json_first_backend = 0;
    ember_json_init(j, stdout);
    ember_json_begin_object(j);
}

/* What a backend's child process leaves for the parent (shared memory), so a backend that
 * crashes the process is reported with the case it died in. */
typedef struct child_state {
    char current_case[96];
    int done;
    totals t;
} child_state;
static child_state *g_child; /* NULL when running in-process */

static void print_failure(const ember_check_case *c, const ember_check_result *r, const char *op) {
    char shapes[256];
    ember_check_case_describe(c, shapes, sizeof shapes);
    printf("    FAILED %s\n      op %s; %s; seed %llu\n      %s\n", c->name, op, shapes,
           (unsigned long long)r->seed, r->reason);
    if (r->has_diff)
        printf("      first differing element: %s[%lld,%lld] (element %lld): got %.9g, want %.9g\n",
               r->diff_array, (long long)r->diff_row, (long long)r->diff_col,
               (long long)r->diff_index, r->diff_got, r->diff_want);
    printf("      reproduce: %s\n", r->reproduce);
}

static void json_failure(ember_json *j, const ember_check_case *c, const ember_check_result *r) {
    char shapes[256];
    ember_check_case_describe(c, shapes, sizeof shapes);
    ember_json_begin_object(j);
    ember_json_key_string(j, "case", c->name);
    ember_json_key_string(j, "op", ember_check_op_name(c->op));
    ember_json_key_string(j, "shapes", shapes);
    ember_json_key_uint(j, "seed", (unsigned long long)r->seed);
    ember_json_key_string(j, "reason", r->reason);
    if (r->has_diff) {
        ember_json_key_string(j, "array", r->diff_array);
        ember_json_key_int(j, "index", (long long)r->diff_index);
        ember_json_key_int(j, "row", (long long)r->diff_row);
        ember_json_key_int(j, "col", (long long)r->diff_col);
        ember_json_key_number(j, "got", r->diff_got);
        ember_json_key_number(j, "want", r->diff_want);
    }
    ember_json_key_string(j, "reproduce", r->reproduce);
    ember_json_end_object(j);
}

/* One backend (and device) whose cases all skip, with the reason. */
static void report_skipped(const run_opts *o, totals *t, ember_backend_kind kind, int device,
                           const char *reason, int as_failure) {
    int n = 0;
    for (size_t i = 0; i < ember_check_case_count(); i++) n += selected(ember_check_case_at(i), o);
    if (as_failure)
        t->failed += n;
    else
        t->skipped += n;
    const char *name = ember_backend_name(kind);
    if (o->json) {
        ember_json j;
        begin_backend_json(&j, t);
        ember_json_key_string(&j, "backend", name);
        ember_json_key_int(&j, "device", device);
        ember_json_key_string(&j, "status", as_failure ? "failed" : "skipped");
        ember_json_key_string(&j, "reason", reason);
        ember_json_key_int(&j, "cases", n);
        ember_json_key_int(&j, "passed", 0);
        ember_json_key_int(&j, "failed", as_failure ? n : 0);
        ember_json_key_int(&j, "skipped", as_failure ? 0 : n);
        ember_json_end_object(&j);
    } else {
        printf("%s: %s %d cases: %s\n", name, as_failure ? "FAILED" : "skipped", n, reason);
    }
}

/* Runs every selected case on one context. */
static void run_device(const run_opts *o, totals *t, ember_backend_kind kind, int device,
                       ember_context *ctx, ember_context *ref) {
    op_tally tally[EMBER_CHECK_OP_COUNT_];
    memset(tally, 0, sizeof tally);
    const char *name = ember_backend_name(kind);
    const double t0 = ember_now();
    ember_json j;
    if (o->json) {
        begin_backend_json(&j, t);
        ember_json_key_string(&j, "backend", name);
        ember_json_key_int(&j, "device", device);
        ember_json_key_string(&j, "device_name", ember_context_device_name(ctx));
        ember_json_key_string(&j, "status", "ran");
        ember_json_key(&j, "failures");
        ember_json_begin_array(&j);
    } else {
        printf("%s (device %d: %s)\n", name, device, ember_context_device_name(ctx));
    }
    fflush(stdout); /* a crash in the first case must not swallow the header */
    int n = 0, failed = 0;
    for (size_t i = 0; i < ember_check_case_count(); i++) {
        const ember_check_case *c = ember_check_case_at(i);
        if (!selected(c, o)) continue;
        if (g_child) snprintf(g_child->current_case, sizeof g_child->current_case, "%s", c->name);
        ember_check_result r;
        ember_check_run_on(c, ctx, device, ref, o->have_seed ? o->seed : c->seed, &r);
        op_tally *ot = &tally[c->op];
        n++;
        if (r.outcome == EMBER_CHECK_PASSED)
            ot->passed++;
        else if (r.outcome == EMBER_CHECK_SKIPPED)
            ot->skipped++;
        else
            ot->failed++, failed++;
        double q = err_ratio(r.max_error, r.tolerance);
        if (!ot->metric || q > ot->ratio ||
            (ot->ratio == 0 && isfinite(r.tolerance) && r.tolerance > ot->tolerance)) {
            ot->ratio = q;
            ot->max_error = r.max_error;
            ot->tolerance = r.tolerance;
            ot->metric = r.metric;
            ot->worst_case = c->name;
            ot->worst_seed = r.seed;
        }
        if (r.outcome == EMBER_CHECK_FAILED) {
            if (o->json)
                json_failure(&j, c, &r);
            else if (ot->shown++ < MAX_FAILURES_SHOWN)
                print_failure(c, &r, ember_check_op_name(c->op));
        }
        fflush(stdout);
    }
    const double secs = ember_now() - t0;
    if (o->json) {
        ember_json_end_array(&j);
        ember_json_key(&j, "ops");
        ember_json_begin_array(&j);
    }
    for (int op = 0; op < EMBER_CHECK_OP_COUNT_; op++) {
        op_tally *ot = &tally[op];
        int total = ot->passed + ot->failed + ot->skipped;
        if (total == 0) continue;
        t->passed += ot->passed;
        t->failed += ot->failed;
        t->skipped += ot->skipped;
        if (o->json) {
            ember_json_begin_object(&j);
            ember_json_key_string(&j, "op", ember_check_op_name((ember_check_op)op));
            ember_json_key_int(&j, "passed", ot->passed);
            ember_json_key_int(&j, "failed", ot->failed);
            ember_json_key_int(&j, "skipped", ot->skipped);
            ember_json_key_string(&j, "metric", ot->metric ? ot->metric : "exact");
            ember_json_key_number(&j, "max_error", ot->max_error);
            ember_json_key_number(&j, "tolerance", ot->tolerance);
            ember_json_key_string(&j, "worst_case", ot->worst_case);
            ember_json_key_uint(&j, "seed", (unsigned long long)ot->worst_seed);
            ember_json_end_object(&j);
        } else {
            if (ot->shown > MAX_FAILURES_SHOWN)
                printf("    ... and %d more failures of %s\n", ot->shown - MAX_FAILURES_SHOWN,
                       ember_check_op_name((ember_check_op)op));
            printf("  %-23s %s %3d/%-3d", ember_check_op_name((ember_check_op)op),
                   ot->failed ? "FAILED" : "passed", ot->passed, total);
            if (ot->failed) printf(" (%d failed)", ot->failed);
            const char *m = ot->metric ? ot->metric : "exact";
            if (strcmp(m, "exact") == 0 && ot->max_error == 0)
                printf("  bit-exact where required; largest error 0");
            else
                printf("  largest %s error %.3g vs tolerance %.3g", m, ot->max_error,
                       ot->tolerance);
            printf(" (%s, seed %llu)\n", ot->worst_case ? ot->worst_case : "-",
                   (unsigned long long)ot->worst_seed);
        }
    }
    if (o->json) {
        ember_json_end_array(&j);
        ember_json_key_int(&j, "cases", n);
        ember_json_key_int(&j, "failed", failed);
        ember_json_key_number(&j, "seconds", secs);
        ember_json_end_object(&j);
    } else
        printf("  %s: %d cases, %d failed, %.2f s\n", name, n, failed, secs);
}

static void run_backend(const run_opts *o, totals *t, ember_backend_kind kind, int only_device,
                        ember_context **ref) {
    ember_device_info info[MAX_DEVICES];
    size_t count = 0;
    ember_status st = ember_backend_devices(kind, info, MAX_DEVICES, &count);
    int must = kind == EMBER_BACKEND_OPENCL && require_opencl();
    char reason[600];
    if (st != EMBER_STATUS_SUCCESS || count == 0) {
        snprintf(reason, sizeof reason, "%s%s", count > 0 ? info[0].reason : ember_last_error(),
                 must ? " (EMBER_REQUIRE_OPENCL=1 is set)" : "");
        report_skipped(o, t, kind, only_device < 0 ? 0 : only_device, reason, must);
        return;
    }
    if (only_device >= 0 && (size_t)only_device >= count) {
        snprintf(reason, sizeof reason, "no device %d (the backend has %zu)", only_device, count);
        report_skipped(o, t, kind, only_device, reason, must);
        return;
    }
    if (kind != EMBER_BACKEND_CPU && !*ref) {
        st = ember_context_create(ref, EMBER_BACKEND_CPU, 0);
        if (st != EMBER_STATUS_SUCCESS) {
            snprintf(reason, sizeof reason, "cannot create the CPU reference: %s",
                     ember_last_error());
            report_skipped(o, t, kind, 0, reason, 1);
            return;
        }
    }
    for (size_t d = 0; d < count && d < MAX_DEVICES; d++) {
        int dev = info[d].index;
        if (only_device >= 0 && (int)d != only_device) continue;
        if (!info[d].usable) {
            snprintf(reason, sizeof reason, "device %d (%s) unusable: %s", dev, info[d].name,
                     info[d].reason);
            report_skipped(o, t, kind, dev, reason, must);
            continue;
        }
        /* One context per device for the whole run (OpenCL/CLBlast compile once). */
        ember_context *ctx = NULL;
        st = ember_context_create(&ctx, kind, dev);
        if (st != EMBER_STATUS_SUCCESS) {
            /* Listed as usable but cannot be opened: a broken device or driver, a failure. */
            snprintf(reason, sizeof reason,
                     "device %d (%s) listed as usable, but creating a "
                     "context returned %s: %s",
                     dev, info[d].name, ember_status_name(st), ember_last_error());
            report_skipped(o, t, kind, dev, reason, 1);
            continue;
        }
        run_device(o, t, kind, dev, ctx, kind == EMBER_BACKEND_CPU ? NULL : *ref);
        ember_context_destroy(ctx);
    }
}

/* Runs one backend in a child process: a driver that crashes (SIGSEGV in an OpenCL
 * compiler, say) or hangs (10 minutes, an hour with --full) then fails that backend instead
 * of killing or blocking `ember check`, and the other backends are still checked. Each
 * child creates its own contexts (CUDA does not survive a fork). In JSON mode the child's
 * output is held back until it finished, so a crash never leaves half an object. */
static void run_backend_isolated(const run_opts *o, totals *t, ember_backend_kind kind,
                                 int device) {
    fflush(stdout);
    child_state *cs =
        mmap(NULL, sizeof *cs, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int fds[2] = {-1, -1};
    if (cs == MAP_FAILED || (o->json && pipe(fds) != 0)) goto in_process;
    memset(cs, 0, sizeof *cs);
    cs->t = *t;
    pid_t pid = fork();
    if (pid < 0) goto in_process;
    if (pid == 0) {
        g_child = cs;
        /* A hung driver becomes a reported failure too (SIGALRM, named with its case). */
        alarm(o->full ? 3600 : 600);
        if (o->json) {
            close(fds[0]);
            dup2(fds[1], STDOUT_FILENO);
            close(fds[1]);
        }
        ember_context *ref = NULL;
        run_backend(o, &cs->t, kind, device, &ref);
        ember_context_destroy(ref);
        fflush(stdout);
        cs->done = 1;
        _exit(0);
    }
    char *held = NULL;
    size_t len = 0;
    if (o->json) {
        close(fds[1]);
        size_t cap = 0;
        char chunk[4096];
        ssize_t k;
        while ((k = read(fds[0], chunk, sizeof chunk)) > 0) {
            if (len + (size_t)k + 1 > cap) {
                cap = 2 * (len + (size_t)k + 1);
                char *grown = realloc(held, cap);
                if (!grown) break;
                held = grown;
            }
            memcpy(held + len, chunk, (size_t)k);
            len += (size_t)k;
        }
        close(fds[0]);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
    }
    if (cs->done && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        *t = cs->t;
        if (held) fwrite(held, 1, len, stdout);
    } else {
        char why[512];
        if (WIFSIGNALED(status))
            snprintf(why, sizeof why,
                     "the %s backend crashed the process (signal %d, %s) during "
                     "case %s",
                     ember_backend_name(kind), WTERMSIG(status), strsignal(WTERMSIG(status)),
                     cs->current_case[0] ? cs->current_case : "(none yet)");
        else
            snprintf(why, sizeof why,
                     "the %s backend's process exited with status %d during "
                     "case %s",
                     ember_backend_name(kind), WEXITSTATUS(status), cs->current_case);
        totals before = cs->t;
        t->passed = before.passed;
        t->skipped = before.skipped;
        t->failed = before.failed + 1;
        if (o->json) {
            ember_json j;
            begin_backend_json(&j, t);
            ember_json_key_string(&j, "backend", ember_backend_name(kind));
            ember_json_key_int(&j, "device", device < 0 ? 0 : device);
            ember_json_key_string(&j, "status", "crashed");
            ember_json_key_string(&j, "case", cs->current_case);
            ember_json_key_string(&j, "reason", why);
            ember_json_end_object(&j);
        } else {
            printf("\n%s: FAILED: %s\n  reproduce: ember check --backend %s --case %s\n",
                   ember_backend_name(kind), why, ember_backend_name(kind), cs->current_case);
        }
    }
    free(held);
    munmap(cs, sizeof *cs);
    return;
in_process:
    if (cs != MAP_FAILED) munmap(cs, sizeof *cs);
    if (fds[0] >= 0) close(fds[0]);
    if (fds[1] >= 0) close(fds[1]);
    ember_context *ref = NULL;
    run_backend(o, t, kind, device, &ref);
    ember_context_destroy(ref);
}

int ember_cmd_check(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--dist") == 0) return ember_cmd_check_dist(argc, argv);
    run_opts o = {0};
    int have_backend = 0, list = 0, dist = 0;
    ember_backend_kind kind = EMBER_BACKEND_CPU;
    int64_t device = -1, seed = 0;
    const cli_flag flags[] = {
        {"--dist", CLI_SWITCH, &dist,
         .help = "under mpirun -np N: the distributed cases instead (see\n"
                 "'ember check --dist --help')"},
        {"--backend", CLI_BACKEND, &kind, .seen = &have_backend, .meta = "K",
         .help = "cpu, opencl, cuda or perturbed (test builds)", .def = "all but perturbed"},
        {"--device", CLI_INT, &device, .min = 0, .max = 1 << 20, .meta = "N",
         .help = "only device N of the backend", .def = "every usable device"},
        {"--quick", CLI_UNSET, &o.full, .help = "the small shapes (the default)"},
        {"--full", CLI_SWITCH, &o.full, .help = "also the large shapes"},
        {"--json", CLI_SWITCH, &o.json, .help = "one JSON object instead of text"},
        {"--case", CLI_STRING, &o.case_name, .meta = "NAME",
         .help = "only the case NAME, or the cases whose names start with NAME"},
        {"--seed", CLI_INT, &seed, .min = 0, .max = INT64_MAX, .seen = &o.have_seed, .meta = "S",
         .help = "use seed S instead of each case's own", .def = ""},
        {"--list", CLI_SWITCH, &list, .help = "list the cases and exit"},
    };
    const cli_command spec = {
        argv[0], flags, CLI_COUNT(flags),
        .about =
            "Runs the conformance cases on every usable backend and device (or the one named)\n"
            "against the CPU backend (the CPU itself against a double-precision oracle) and\n"
            "prints per backend and op: passed / failed / skipped with the reason, the largest\n"
            "error against its tolerance, and for each failure the op, shapes, seed, first\n"
            "differing element and the command that reproduces it. Exit status 0 only when\n"
            "nothing failed, 1 when something failed, 2 on bad usage.\n",
        .epilog =
            "Environment: EMBER_REQUIRE_OPENCL=1 turns a skipped OpenCL backend into a failure;\n"
            "EMBER_CHECK_IN_PROCESS=1 runs every backend in this process (for debuggers and\n"
            "tools that do not follow child processes; a crashing backend then ends the run).\n"};
    int rc = cli_flags_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    o.seed = (uint64_t)seed;
    if (o.case_name) {
        /* --case names a case: run it whatever its size. */
        const ember_check_case *c = ember_check_case_find(o.case_name);
        if (c && c->full_only) o.full = 1;
        int any = 0;
        for (size_t i = 0; i < ember_check_case_count() && !any; i++)
            any = strncmp(ember_check_case_at(i)->name, o.case_name, strlen(o.case_name)) == 0;
        if (!any)
            return cli_usage_error(argv[0], "no case named '%s' (--list shows them)", o.case_name);
    }
    if (list) {
        for (size_t i = 0; i < ember_check_case_count(); i++) {
            const ember_check_case *c = ember_check_case_at(i);
            if (!selected(c, &o)) continue;
            char shapes[256];
            ember_check_case_describe(c, shapes, sizeof shapes);
            printf("%-72s seed %-10llu %s\n", c->name, (unsigned long long)c->seed, shapes);
        }
        return 0;
    }

    totals t = {0, 0, 0, 1};
    ember_json top;
    ember_json_init(&top, stdout);
    if (o.json) {
        ember_json_begin_object(&top);
        ember_json_key_string(&top, "mode", o.full ? "full" : "quick");
        ember_json_key(&top, "backends");
        ember_json_begin_array(&top); /* its items: begin_backend_json */
    } else
        printf("ember check (%s): %zu cases in the list; the CPU against a double-precision "
               "oracle, other backends against the CPU\n",
               o.full ? "full" : "quick", ember_check_case_count());
    fflush(stdout);
    if (have_backend) {
        run_backend_isolated(&o, &t, kind, (int)device);
    } else {
        static const ember_backend_kind order[] = {EMBER_BACKEND_CPU, EMBER_BACKEND_OPENCL,
                                                   EMBER_BACKEND_CUDA};
        for (int k = 0; k < 3; k++) run_backend_isolated(&o, &t, order[k], (int)device);
    }
    if (o.json) {
        ember_json_end_array(&top);
        ember_json_key_int(&top, "passed", t.passed);
        ember_json_key_int(&top, "failed", t.failed);
        ember_json_key_int(&top, "skipped", t.skipped);
        ember_json_key_bool(&top, "ok", !t.failed);
        ember_json_end_object(&top);
        putchar('\n');
    } else {
        printf("summary: %d passed, %d failed, %d skipped -> %s\n", t.passed, t.failed, t.skipped,
               t.failed ? "FAILED" : "OK");
    }
    return t.failed ? 1 : 0;
}
