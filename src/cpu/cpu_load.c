/* cpu_load.c: how many cores are idle now, for the default team size.
 *
 * Why: an OpenMP team is only faster than one thread when each of its threads has a core.
 * Beside busy neighbours (data loaders, other MPI ranks, other users) a team member waits a
 * whole scheduler time slice for a core while the others spin at the barrier: measured on 2
 * cores beside two busy loops, lookup_sum took 16 ms at the default threads against 2.2 ms
 * on one. A passive wait policy does not help (the straggler still waits for its core), and
 * libgomp reads OMP_WAIT_POLICY / GOMP_SPINCOUNT once at load, before a library could set
 * them. So the default team is sized to the cores nobody else is using: the allowed cores
 * minus the other runnable tasks, from the "running" field of /proc/loadavg (an instant
 * count, not the averages) less this process's own running threads (its OpenMP workers
 * spin for a while after each region and must not count as neighbours), re-read at most
 * every LOAD_REFRESH_NS. */
#define _GNU_SOURCE
#include "cpu/cpu_internal.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* 250 ms: well below how fast a neighbour's load changes, and rare enough that the refresh
 * (about ten procfs system calls, each a chance to lose the core under load: at 20 ms it
 * cost lookup_sum 10-20% beside busy loops) is noise. */
#define LOAD_REFRESH_NS 250000000LL

static _Atomic long long next_read_ns;
static _Atomic int others_running = 0; /* runnable tasks that are not ours, at the last read */

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Runnable tasks system-wide now (the 4th field of /proc/loadavg, "running/total"), or -1. */
static int runnable_tasks(void) {
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return -1;
    double a1, a5, a15;
    int running = -1, total;
    if (fscanf(f, "%lf %lf %lf %d/%d", &a1, &a5, &a15, &running, &total) != 5) running = -1;
    fclose(f);
    return running;
}

/* Threads of this process that are running or runnable now (state R in
 * /proc/self/task/TID/stat), at least 1: the caller. */
static int own_running_threads(void) {
    DIR *dir = opendir("/proc/self/task");
    if (!dir) return 1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[64], line[512];
        snprintf(path, sizeof path, "/proc/self/task/%.20s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t len = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[len] = '\0';
        const char *paren = strrchr(line, ')'); /* the name may hold spaces and parentheses */
        if (paren && paren[1] == ' ' && paren[2] == 'R') n++;
    }
    closedir(dir);
    return n > 0 ? n : 1;
}

int cpu_idle_cores(int cores) {
    long long now = now_ns();
    if (now >= atomic_load_explicit(&next_read_ns, memory_order_relaxed)) {
        atomic_store_explicit(&next_read_ns, now + LOAD_REFRESH_NS, memory_order_relaxed);
        int running = runnable_tasks();
        int others = running < 0 ? 0 : running - own_running_threads();
        atomic_store_explicit(&others_running, others > 0 ? others : 0, memory_order_relaxed);
    }
    int idle = cores - atomic_load_explicit(&others_running, memory_order_relaxed);
    if (idle < 1) idle = 1;
    return idle;
}
