/* wd_util.c: error formatting and string duplication of src/model. */
#define _POSIX_C_SOURCE 200809L
#include "wd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ember_status ember_merr(ember_model_err *err, ember_status status, const char *fmt, ...) {
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

char *ember_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL) memcpy(p, s, n);
    return p;
}

void ember_chomp(char *line) {
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
}
