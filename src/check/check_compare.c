/* check_compare.c: element comparisons that fill an ember_check_result: the worst error
 * against its tolerance, the first element out of tolerance with both values. */
#include "check_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void chk_result_failf(ember_check_result *r, const char *fmt, ...) {
    if (r->outcome == EMBER_CHECK_FAILED) return; /* the first failure is the one reported */
    r->outcome = EMBER_CHECK_FAILED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
}

static double ratio(double err, double tol) {
    if (err == 0) return 0;
    return tol > 0 ? err / tol : INFINITY;
}

/* Keeps the element whose error is largest relative to its tolerance. */
static void note(ember_check_result *r, const char *metric, double err, double tol) {
    if (!r->metric || ratio(err, tol) > ratio(r->max_error, r->tolerance) ||
        (r->max_error == 0 && err == 0 && isfinite(tol) && tol > r->tolerance)) {
        r->metric = metric;
        r->max_error = err;
        r->tolerance = tol;
    }
}

static void record_diff(ember_check_result *r, const char *name, int64_t i, int64_t cols,
                        double got, double want) {
    if (r->has_diff) return;
    r->has_diff = 1;
    snprintf(r->diff_array, sizeof r->diff_array, "%s", name);
    r->diff_index = i;
    r->diff_row = cols > 0 ? i / cols : i;
    r->diff_col = cols > 0 ? i % cols : 0;
    r->diff_got = got;
    r->diff_want = want;
}

int chk_guard_ok(ember_check_result *r, const char *name, const void *host, int64_t elems,
                 size_t esize) {
    const unsigned char *tail = (const unsigned char *)host + (size_t)elems * esize;
    uint32_t s = CHK_SENTINEL;
    for (size_t k = 0; k < CHK_GUARD * esize; k += 4) {
        if (memcmp(tail + k, &s, 4) != 0) {
            uint32_t v;
            memcpy(&v, tail + k, 4);
            chk_result_failf(r,
                             "wrote past the end of %s: the guard band %zu bytes after its last "
                             "element holds 0x%08x instead of the sentinel 0x%08x",
                             name, k, (unsigned)v, (unsigned)CHK_SENTINEL);
            return 0;
        }
    }
    return 1;
}

int64_t chk_compare(ember_check_result *r, const char *name, const float *got, const double *want,
                    const double *tol, double factor, int64_t n, int64_t cols) {
    int64_t bad = 0, first = -1;
    double first_err = 0, first_tol = 0;
    const char *metric = tol ? "abs" : "exact";
    for (int64_t i = 0; i < n; i++) {
        double g = got[i], w = want[i], t = tol ? tol[i] * factor : 0.0, err;
        int ok;
        if (isnan(w)) {
            ok = isnan(g);
            err = ok ? 0 : INFINITY;
        } else if (isinf(w)) {
            ok = g == w;
            err = ok ? 0 : INFINITY;
        } else if (!isfinite(g)) {
            ok = 0;
            err = INFINITY;
        } else {
            err = fabs(g - w);
            ok = err <= t;
        }
        note(r, metric, err, t);
        if (!ok) {
            if (bad++ == 0) {
                first = i;
                first_err = err;
                first_tol = t;
            }
        }
    }
    if (bad > 0) {
        record_diff(r, name, first, cols, got[first], want[first]);
        chk_result_failf(r,
                         "%s[%lld,%lld] (element %lld): got %.9g, want %.9g; error %.3g > "
                         "tolerance %.3g; %lld of %lld elements out of tolerance",
                         name, (long long)(cols > 0 ? first / cols : first),
                         (long long)(cols > 0 ? first % cols : 0), (long long)first,
                         (double)got[first], want[first], first_err, first_tol, (long long)bad,
                         (long long)n);
    }
    return bad;
}

int chk_compare_nmse(ember_check_result *r, const char *name, const float *got, const double *want,
                     double bound, int64_t n, int64_t cols) {
    double num = 0, den = 0, worst = -1;
    int64_t wi = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)got[i] - want[i];
        num += d * d;
        den += want[i] * want[i];
        double a = isnan(d) ? INFINITY : fabs(d);
        if (a > worst) worst = a, wi = i;
    }
    double nmse = num == 0 ? 0 : (den > 0 ? num / den : INFINITY);
    if (isnan(nmse)) nmse = INFINITY;
    note(r, "nmse", nmse, bound);
    if (!(nmse <= bound)) {
        record_diff(r, name, wi, cols, got[wi], want[wi]);
        chk_result_failf(r,
                         "%s: normalised squared error %.3g > %.3g; largest difference at "
                         "%s[%lld,%lld] (element %lld): got %.9g, want %.9g",
                         name, nmse, bound, name, (long long)(cols > 0 ? wi / cols : wi),
                         (long long)(cols > 0 ? wi % cols : 0), (long long)wi, (double)got[wi],
                         want[wi]);
        return 0;
    }
    return 1;
}

int64_t chk_compare_bits(ember_check_result *r, const char *name, const float *got,
                         const float *want, int64_t n, int64_t cols, const char *what) {
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++) {
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0 && !(isnan(got[i]) && isnan(want[i]))) {
            if (bad++ == 0) first = i;
        }
    }
    note(r, "exact", (double)bad, 0);
    if (bad > 0) {
        record_diff(r, name, first, cols, got[first], want[first]);
        chk_result_failf(r,
                         "%s: %s[%lld,%lld] (element %lld): %.9g vs %.9g; %lld of %lld elements "
                         "differ (must be bit-identical)",
                         what, name, (long long)(cols > 0 ? first / cols : first),
                         (long long)(cols > 0 ? first % cols : 0), (long long)first,
                         (double)got[first], (double)want[first], (long long)bad, (long long)n);
    }
    return bad;
}

double *chk_to_double(const float *p, int64_t n) {
    double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
    if (!d) return NULL;
    for (int64_t i = 0; i < n; i++) d[i] = p[i];
    return d;
}
