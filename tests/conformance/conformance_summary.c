/* conformance_summary.c: the end of the conformance run: reads the result lines the test
 * processes appended (conformance.c) and lists per backend what ran, what failed and what
 * was skipped and why (Criterion itself does not print skip reasons). Exits 1 when a case
 * failed, or when EMBER_REQUIRE_OPENCL=1 and the OpenCL cases did not all run.
 *
 * Usage: conformance_summary [--out FILE] LOG...; with --out the same text also goes to
 * FILE, for `make test` to print after ctest (ctest hides a passing test's output). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *copy_to;

/* printf to stdout and to the --out file. */
static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (copy_to) {
        va_start(ap, fmt);
        vfprintf(copy_to, fmt, ap);
        va_end(ap);
    }
}

#define MAX_REASONS 8
#define MAX_GROUPS 32

typedef struct tally {
    char backend[32];
    int passed, failed, skipped;
    char reasons[MAX_REASONS][512];
    int reason_count[MAX_REASONS];
    int nreasons;
    /* Cases that ran, per op group (the case name up to its first '/'). */
    char groups[MAX_GROUPS][32];
    int group_ran[MAX_GROUPS];
    int ngroups;
} tally;

static void add_group(tally *t, const char *name) {
    char g[32];
    snprintf(g, sizeof g, "%.*s", (int)strcspn(name, "/"), name);
    for (int i = 0; i < t->ngroups; i++)
        if (strcmp(t->groups[i], g) == 0) {
            t->group_ran[i]++;
            return;
        }
    if (t->ngroups < MAX_GROUPS) {
        snprintf(t->groups[t->ngroups], sizeof t->groups[0], "%s", g);
        t->group_ran[t->ngroups++] = 1;
    }
}

static void add_reason(tally *t, const char *reason) {
    for (int i = 0; i < t->nreasons; i++)
        if (strcmp(t->reasons[i], reason) == 0) {
            t->reason_count[i]++;
            return;
        }
    if (t->nreasons < MAX_REASONS) {
        snprintf(t->reasons[t->nreasons], sizeof t->reasons[0], "%s", reason);
        t->reason_count[t->nreasons++] = 1;
    }
}

int main(int argc, char **argv) {
    const char *req = getenv("EMBER_REQUIRE_OPENCL");
    int require_opencl = req && strcmp(req, "1") == 0, bad = 0;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--out") == 0) {
        copy_to = fopen(argv[2], "w");
        first = 3;
    }
    say("conformance summary (per backend: cases run, failed, skipped and why)\n");
    for (int a = first; a < argc; a++) {
        FILE *f = fopen(argv[a], "r");
        if (!f) {
            /* Not run in this ctest invocation (ctest -R ...): fine, unless OpenCL must run. */
            int is_opencl = strstr(argv[a], "opencl") != NULL;
            say("  %s: not run (no log %s)%s\n", is_opencl ? "opencl" : argv[a], argv[a],
                is_opencl && require_opencl ? ": FAIL, EMBER_REQUIRE_OPENCL=1" : "");
            if (is_opencl && require_opencl) bad = 1;
            continue;
        }
        tally t;
        memset(&t, 0, sizeof t);
        char line[2048];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            char *backend = strtok(line, "\t"), *outcome = strtok(NULL, "\t");
            char *name = strtok(NULL, "\t"), *reason = strtok(NULL, "");
            if (!backend || !outcome || !name) continue;
            snprintf(t.backend, sizeof t.backend, "%s", backend);
            if (strcmp(outcome, "skipped") != 0) add_group(&t, name);
            if (strcmp(outcome, "passed") == 0)
                t.passed++;
            else if (strcmp(outcome, "failed") == 0)
                t.failed++;
            else
                t.skipped++, add_reason(&t, reason ? reason : "");
            if (strcmp(outcome, "failed") == 0)
                say("  %s FAILED %s: %s\n", backend, name, reason ? reason : "");
        }
        fclose(f);
        if (!t.backend[0]) {
            say("  %s: empty (no test recorded a result)\n", argv[a]);
            bad = 1;
            continue;
        }
        say("  %-10s ran %d (passed %d, failed %d), skipped %d\n", t.backend, t.passed + t.failed,
            t.passed, t.failed, t.skipped);
        for (int i = 0; i < t.ngroups; i++)
            say("%s%s %d%s", i == 0 ? "             ran: " : "", t.groups[i], t.group_ran[i],
                i + 1 == t.ngroups ? "\n" : ", ");
        for (int i = 0; i < t.nreasons; i++)
            say("             skipped %d: %s\n", t.reason_count[i], t.reasons[i]);
        if (require_opencl && strcmp(t.backend, "opencl") == 0 &&
            (t.skipped > 0 || t.passed + t.failed == 0)) {
            say("  FAIL: EMBER_REQUIRE_OPENCL=1 but OpenCL cases were skipped\n");
            bad = 1;
        }
        if (t.failed) bad = 1;
    }
    if (copy_to) fclose(copy_to);
    return bad;
}
