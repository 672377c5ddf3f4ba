/* util/clock.h: the tree's one clock for timings (CLOCK_MONOTONIC: never jumps with the
 * wall clock, so a measured interval is never negative). */
#ifndef EMBER_UTIL_CLOCK_H
#define EMBER_UTIL_CLOCK_H

/* Seconds since an arbitrary fixed point. */
double ember_now(void);

#endif /* EMBER_UTIL_CLOCK_H */
