/* wd_util.c: error formatting, opening data files and string helpers of src/model. */
#define _POSIX_C_SOURCE 200809L
#include "wd_util.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
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

ember_status ember_open_input(const char *path, FILE **out, ember_model_err *err) {
    *out = fopen(path, "r");
    if (*out == NULL)
        return ember_merr(err, EMBER_STATUS_IO_ERROR, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(*out), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(*out);
        *out = NULL;
        return ember_merr(err, EMBER_STATUS_IO_ERROR, "cannot read %s: it is a directory", path);
    }
    return EMBER_STATUS_SUCCESS;
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
