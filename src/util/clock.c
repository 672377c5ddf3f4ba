/* util/clock.c: monotonic seconds. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "util/clock.h"

#include <time.h>

double ember_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
