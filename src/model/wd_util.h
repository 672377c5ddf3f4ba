/* wd_util.h: the model library's error detail and its string helper; the generator, the
 * clock and status forwarding it shares with the rest of the tree come from src/util. */
#ifndef EMBER_WD_UTIL_H
#define EMBER_WD_UTIL_H

#include "ember.h"
#include "util/clock.h"
#include "util/rng.h"
#include "util/status.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
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

/* Runs an ember call on ctx; when it fails, returns its status from the enclosing function
 * with err's message "WHAT: STATUS: the backend's last error", WHAT formatted from the
 * remaining arguments. */
#define EMBER_MODEL_CALL(ctx, expr, ...)                                                           \
    do {                                                                                           \
        ember_status st_ = (expr);                                                                 \
        if (st_ != EMBER_STATUS_SUCCESS) {                                                         \
            char what_[256];                                                                       \
            snprintf(what_, sizeof what_, __VA_ARGS__);                                            \
            return ember_merr(err, st_, "%s: %s: %s", what_, ember_status_name(st_),               \
                              ember_context_last_error(ctx));                                      \
        }                                                                                          \
    } while (0)

/* Opens a data file for reading: IO_ERROR naming it when it cannot be opened or is a
 * directory (which fopen accepts and whose first read fails). */
ember_status ember_open_input(const char *path, FILE **out, ember_model_err *err);

/* Duplicates a string (malloc); NULL when out of memory. */
char *ember_strdup(const char *s);
/* Cuts the line ending ("\n", "\r\n", any run of them) off a line in place. */
void ember_chomp(char *line);

#endif /* EMBER_WD_UTIL_H */
