/* bench_time.c: the clock, medians, and the STREAM-style host copy that every figure of
 * `ember bench` is divided by. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

double bench_median(double *v, int n) {
    if (n <= 0) return 0.0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double bench_min(const double *v, int n) {
    double m = n > 0 ? v[0] : 0.0;
    for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
    return m;
}

/* One thread's share of the copy. Plain pthreads (not OpenMP) so the program needs no
 * OpenMP flags; each thread first-touches its own half, as STREAM's OpenMP loops do. */
typedef struct copy_part {
    char *dst;
    const char *src;
    size_t bytes;
    int reps;
    pthread_barrier_t *barrier;
    double *times; /* thread 0 records each rep's wall time */
    int first;
} copy_part;

static void *copy_thread(void *arg) {
    copy_part *p = arg;
    memset(p->dst, 1, p->bytes);
    memset((char *)p->src, 2, p->bytes);
    for (int r = 0; r < p->reps; r++) {
        pthread_barrier_wait(p->barrier);
        double t0 = ember_now();
        memcpy(p->dst, p->src, p->bytes);
        pthread_barrier_wait(p->barrier);
        if (p->first) p->times[r] = ember_now() - t0;
    }
    return NULL;
}

int bench_host_copy(size_t bytes, int threads, int reps, double *gbps, int *threads_used) {
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    if (threads > 64) threads = 64;
    bytes -= bytes % ((size_t)threads * 64);
    char *a = NULL, *b = NULL;
    if (posix_memalign((void **)&a, 4096, bytes) != 0) return -1;
    if (posix_memalign((void **)&b, 4096, bytes) != 0) {
        free(a);
        return -1;
    }
    double *times = calloc((size_t)reps, sizeof *times);
    copy_part parts[64];
    pthread_t tids[64];
    pthread_barrier_t barrier;
    int ok = times != NULL && pthread_barrier_init(&barrier, NULL, (unsigned)threads) == 0;
    int started = 0;
    if (ok) {
        size_t chunk = bytes / (size_t)threads;
        for (int t = 0; t < threads; t++) {
            parts[t] =
                (copy_part){b + t * chunk, a + t * chunk, chunk, reps, &barrier, times, t == 0};
        }
        for (int t = 1; t < threads; t++) {
            if (pthread_create(&tids[t], NULL, copy_thread, &parts[t]) != 0) break;
            started++;
        }
        if (started == threads - 1) {
            copy_thread(&parts[0]);
        } else {
            ok = 0; /* cannot happen in practice; the started threads would wait forever */
        }
        for (int t = 1; t <= started; t++) pthread_join(tids[t], NULL);
        pthread_barrier_destroy(&barrier);
    }
    if (ok) {
        /* The first rep pays for page mapping in some kernels: drop it when there are more. */
        int skip = reps > 2 ? 1 : 0;
        *gbps = 2.0 * (double)bytes / bench_median(times + skip, reps - skip) / 1e9;
        *threads_used = threads;
    }
    free(times);
    free(a);
    free(b);
    return ok ? 0 : -1;
}
