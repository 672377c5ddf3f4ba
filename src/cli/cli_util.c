/* cli_util.c: flag parsing shared by the `ember` subcommands (see cli_util.h). */
#include "cli_util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_is_help(const char *arg) {
    return arg != NULL && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0);
}

int cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) return 1;
    }
    return 0;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ember %s: %s (try 'ember %s --help')\n", cmd, msg, cmd);
    return 2;
}

int cli_api_error(const char *cmd, const ember_context *ctx, ember_status status,
                  const char *what) {
    const char *detail = ctx != NULL ? ember_context_last_error(ctx) : ember_last_error();
    if (detail == NULL || detail[0] == '\0') detail = ember_status_string(status);
    fprintf(stderr, "ember %s: %s failed: %s: %s\n", cmd, what, ember_status_name(status), detail);
    return 1;
}

int cli_flag(int argc, char **argv, int *i, const char *flag, const char **value) {
    const char *arg = argv[*i];
    size_t n = strlen(flag);
    if (strncmp(arg, flag, n) != 0) return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0') return 0; /* a longer flag that merely starts with this one */
    if (*i + 1 >= argc) {
        cli_usage_error(argv[0], "%s needs a value", flag);
        return -1;
    }
    *i += 1;
    *value = argv[*i];
    return 1;
}

int cli_parse_int(const char *cmd, const char *flag, const char *text, int64_t min, int64_t max,
                  int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (text[0] == '\0' || end == text || *end != '\0') {
        return cli_usage_error(cmd, "%s: '%s' is not a whole number", flag, text);
    }
    if (errno == ERANGE || v < min || v > max) {
        return cli_usage_error(cmd, "%s: %s is out of range [%lld, %lld]", flag, text,
                               (long long)min, (long long)max);
    }
    *out = (int64_t)v;
    return 0;
}

int cli_parse_float(const char *cmd, const char *flag, const char *text, double min, double max,
                    double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (text[0] == '\0' || end == text || *end != '\0') {
        return cli_usage_error(cmd, "%s: '%s' is not a number", flag, text);
    }
    if (errno == ERANGE || !isfinite(v) || v < min || v > max) {
        return cli_usage_error(cmd, "%s: %s is out of range [%g, %g]", flag, text, min, max);
    }
    *out = v;
    return 0;
}

int cli_parse_backend(const char *cmd, const char *flag, const char *text,
                      ember_backend_kind *out) {
    if (ember_backend_parse(text, out) != EMBER_STATUS_SUCCESS) {
        return cli_usage_error(
            cmd, "%s: unknown backend '%s' (expected cpu, cuda, opencl%s)", flag, text,
            ember_backend_compiled(EMBER_BACKEND_PERTURBED) ? " or perturbed" : "");
    }
    return 0;
}

int cli_parse_int_list(const char *cmd, const char *flag, const char *text, int64_t min,
                       int64_t max, int64_t *out, int64_t capacity, int64_t *count) {
    char item[64];
    const char *p = text;
    int64_t n = 0;
    if (text[0] == '\0') return cli_usage_error(cmd, "%s: empty list", flag);
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= sizeof item) {
            return cli_usage_error(cmd, "%s: bad list '%s' (expected numbers like 400,400)", flag,
                                   text);
        }
        if (n >= capacity) {
            return cli_usage_error(cmd, "%s: more than %lld entries", flag, (long long)capacity);
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (cli_parse_int(cmd, flag, item, min, max, &out[n]) != 0) return 2;
        n++;
        if (comma == NULL) break;
        p = comma + 1;
    }
    *count = n;
    return 0;
}
