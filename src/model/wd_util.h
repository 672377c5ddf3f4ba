/* wd_util.h: small shared pieces of the Wide&Deep model library: error messages, a seeded
 * random number generator and a clock. */
#ifndef EMBER_WD_UTIL_H
#define EMBER_WD_UTIL_H

#include "ember.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* The model library's error detail. Every fallible function of src/model takes one and, when
 * it returns a status other than SUCCESS, leaves in msg one line naming what went wrong and
 * where (file, line, column; tensor name; op and backend message). */
typedef struct ember_model_err {
    char msg[1536];
} ember_model_err;

/* Formats msg into err (which may be NULL) and returns status. */
ember_status ember_merr(ember_model_err *err, ember_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A small, fast, seedable generator (splitmix64): the same seed gives the same stream on
 * every machine, which the deterministic training mode relies on. */
typedef struct ember_rng {
    uint64_t s;
} ember_rng;

void ember_rng_seed(ember_rng *r, uint64_t seed);
uint64_t ember_rng_next(ember_rng *r);
/* Uniform in [0, 1). */
double ember_rng_uniform(ember_rng *r);
/* Standard normal (Box-Muller). */
double ember_rng_normal(ember_rng *r);

/* Returns from the calling function when expr fails. */
#define EMBER_MODEL_TRY(expr)                                                                      \
    do {                                                                                           \
        ember_status ember_try_st_ = (expr);                                                       \
        if (ember_try_st_ != EMBER_STATUS_SUCCESS) return ember_try_st_;                           \
    } while (0)

/* Monotonic seconds. */
double ember_now(void);

/* Duplicates a string (malloc); NULL when out of memory. */
char *ember_strdup(const char *s);

#endif /* EMBER_WD_UTIL_H */
