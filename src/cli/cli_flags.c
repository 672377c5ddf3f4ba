/* cli_flags.c: the table-driven flag parser, usage line and --help (see cli_flags.h). */
#include "cli_flags.h"

#include "cli_util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- parsing one value ------------------------------------------------------------------- */

static int parse_int(const char *cmd, const char *label, const char *text, int64_t min, int64_t max,
                     int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (text[0] == '\0' || end == text || *end != '\0')
        return cli_usage_error(cmd, "%s: '%s' is not a whole number", label, text);
    if (errno == ERANGE || v < min || v > max)
        return cli_usage_error(cmd, "%s: %s is out of range [%lld, %lld]", label, text,
                               (long long)min, (long long)max);
    *out = (int64_t)v;
    return 0;
}

static int parse_float(const char *cmd, const char *label, const char *text, double min, double max,
                       double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (text[0] == '\0' || end == text || *end != '\0')
        return cli_usage_error(cmd, "%s: '%s' is not a number", label, text);
    if (errno == ERANGE || !isfinite(v) || v < min || v > max)
        return cli_usage_error(cmd, "%s: %s is out of range [%g, %g]", label, text, min, max);
    *out = v;
    return 0;
}

static int parse_int_list(const char *cmd, const char *label, const char *text, int64_t min,
                          int64_t max, int64_t *out, int64_t capacity, int64_t *count) {
    char item[64];
    const char *p = text;
    int64_t n = 0;
    if (text[0] == '\0') return cli_usage_error(cmd, "%s: empty list", label);
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= sizeof item)
            return cli_usage_error(cmd, "%s: bad list '%s' (expected numbers like 400,400)", label,
                                   text);
        if (n >= capacity)
            return cli_usage_error(cmd, "%s: more than %lld entries", label, (long long)capacity);
        memcpy(item, p, len);
        item[len] = '\0';
        if (parse_int(cmd, label, item, min, max, &out[n]) != 0) return 2;
        n++;
        if (comma == NULL) break;
        p = comma + 1;
    }
    *count = n;
    return 0;
}

/* The index of text among "a|b|c", or -1. */
static int choice_index(const char *choices, const char *text) {
    size_t n = strlen(text);
    int index = 0;
    for (const char *p = choices;; index++) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, text, n) == 0) return index;
        if (bar == NULL) return -1;
        p = bar + 1;
    }
}

static int takes_value(const cli_flag *f) {
    return f->type != CLI_SWITCH && f->type != CLI_UNSET && f->type != CLI_SECTION;
}

/* Stores text as f's value; label names the flag in errors. */
static int set_value(const char *cmd, const cli_flag *f, const char *label, const char *text) {
    int64_t i64;
    double d;
    int rc = 0;
    switch (f->type) {
    case CLI_SECTION:
        break;
    case CLI_SWITCH:
    case CLI_UNSET:
        *(int *)f->dst = f->type == CLI_SWITCH;
        break;
    case CLI_STRING:
        *(const char **)f->dst = text;
        break;
    case CLI_INT:
        rc = parse_int(cmd, label, text, f->min, f->max, (int64_t *)f->dst);
        break;
    case CLI_INT32:
        if ((rc = parse_int(cmd, label, text, f->min, f->max, &i64)) == 0)
            *(int *)f->dst = (int)i64;
        break;
    case CLI_FLOAT:
        rc = parse_float(cmd, label, text, f->fmin, f->fmax, (double *)f->dst);
        break;
    case CLI_FLOAT32:
        if ((rc = parse_float(cmd, label, text, f->fmin, f->fmax, &d)) == 0)
            *(float *)f->dst = (float)d;
        break;
    case CLI_INT_LIST:
        rc = parse_int_list(cmd, label, text, f->min, f->max, (int64_t *)f->dst, f->capacity,
                            f->count);
        break;
    case CLI_BACKEND:
        if (ember_backend_parse(text, (ember_backend_kind *)f->dst) != EMBER_STATUS_SUCCESS)
            rc = cli_usage_error(cmd, "%s: %s", label, ember_last_error()); /* names choices */
        break;
    case CLI_CHOICE: {
        int k = choice_index(f->choices, text);
        if (k < 0)
            rc = cli_usage_error(cmd, "%s: '%s' is not one of %s", label, text, f->choices);
        else
            *(int *)f->dst = k;
        break;
    }
    case CLI_CUSTOM:
        rc = f->parse(cmd, f, text);
        break;
    }
    if (rc == 0 && f->seen != NULL) *f->seen = 1;
    return rc;
}

/* --- matching argv ----------------------------------------------------------------------- */

static int is_help(const char *arg) {
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

/* The flag arg names ("--name" or "--name=value", *inline_value then set), or NULL. */
static const cli_flag *match(const cli_command *spec, const char *arg, const char **inline_value) {
    for (size_t k = 0; k < spec->nflags; k++) {
        const cli_flag *f = &spec->flags[k];
        if (f->type == CLI_SECTION) continue;
        size_t n = strlen(f->name);
        if (strncmp(arg, f->name, n) != 0) continue;
        if (arg[n] == '\0' || arg[n] == '=') {
            *inline_value = arg[n] == '=' ? arg + n + 1 : NULL;
            return f;
        }
    }
    return NULL;
}

int cli_flags_parse(const cli_command *spec, int argc, char **argv) {
    const char *v;
    /* Help first, wherever it is, so --help shows the defaults before any flag changed them;
     * the word after a flag that takes a value is that value, not a request for help. */
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            cli_flags_help(spec, stdout);
            return 0;
        }
        const cli_flag *f = match(spec, argv[i], &v);
        if (f != NULL && takes_value(f) && v == NULL) i++;
    }
    for (int i = 1; i < argc; i++) {
        const cli_flag *f = match(spec, argv[i], &v);
        if (f == NULL) return cli_usage_error(spec->name, "unknown argument '%s'", argv[i]);
        if (!takes_value(f)) {
            if (v != NULL) return cli_usage_error(spec->name, "%s takes no value", f->name);
        } else if (v == NULL) {
            if (i + 1 >= argc) return cli_usage_error(spec->name, "%s needs a value", f->name);
            v = argv[++i];
        }
        if (set_value(spec->name, f, f->name, v) != 0) return 2;
    }
    return CLI_CONTINUE;
}

int cli_flag_value(const char *cmd, const cli_flag *f, const char *text) {
    return set_value(cmd, f, f->name, text);
}

int cli_flags_set(const cli_command *spec, const char *name, const char *value, const char *label) {
    for (size_t k = 0; k < spec->nflags; k++) {
        const cli_flag *f = &spec->flags[k];
        if (f->type != CLI_SECTION && takes_value(f) && strncmp(f->name, "--", 2) == 0 &&
            strcmp(f->name + 2, name) == 0)
            return set_value(spec->name, f, label, value);
    }
    return cli_usage_error(spec->name, "%s: unknown setting", label);
}

/* --- help -------------------------------------------------------------------------------- */

/* The default --help shows for f into buf ("" for none). */
static void default_text(const cli_flag *f, char *buf, size_t cap) {
    buf[0] = '\0';
    if (f->def != NULL) {
        snprintf(buf, cap, "%s", f->def);
        return;
    }
    switch (f->type) {
    case CLI_STRING:
        if (*(const char *const *)f->dst != NULL)
            snprintf(buf, cap, "%s", *(const char *const *)f->dst);
        break;
    case CLI_INT:
        snprintf(buf, cap, "%lld", (long long)*(const int64_t *)f->dst);
        break;
    case CLI_INT32:
        snprintf(buf, cap, "%d", *(const int *)f->dst);
        break;
    case CLI_FLOAT:
        snprintf(buf, cap, "%g", *(const double *)f->dst);
        break;
    case CLI_FLOAT32:
        snprintf(buf, cap, "%g", (double)*(const float *)f->dst);
        break;
    case CLI_INT_LIST: {
        size_t used = 0;
        for (int64_t k = 0; k < *f->count && used < cap; k++)
            used += (size_t)snprintf(buf + used, cap - used, "%s%lld", k ? "," : "",
                                     (long long)((const int64_t *)f->dst)[k]);
        break;
    }
    case CLI_BACKEND:
        snprintf(buf, cap, "%s", ember_backend_name(*(const ember_backend_kind *)f->dst));
        break;
    case CLI_CHOICE: {
        const char *p = f->choices;
        for (int k = *(const int *)f->dst; k > 0 && p != NULL; k--) {
            p = strchr(p, '|');
            if (p != NULL) p++;
        }
        if (p != NULL) snprintf(buf, cap, "%.*s", (int)strcspn(p, "|"), p);
        break;
    }
    case CLI_SECTION:
    case CLI_SWITCH:
    case CLI_UNSET:
    case CLI_CUSTOM:
        break;
    }
}

static void print_usage(const cli_command *spec, FILE *f) {
    fprintf(f, "usage: ember %s", spec->name);
    int optional = 0;
    for (size_t k = 0; k < spec->nflags; k++) {
        const cli_flag *fl = &spec->flags[k];
        if (fl->type == CLI_SECTION) continue;
        if (!fl->required) {
            optional = 1;
            continue;
        }
        fprintf(f, " %s", fl->name);
        if (takes_value(fl)) fprintf(f, " %s", fl->meta != NULL ? fl->meta : "VALUE");
    }
    fprintf(f, "%s\n", optional ? " [options]" : "");
    if (spec->more_usage != NULL) fprintf(f, "%s", spec->more_usage);
}

void cli_flags_help(const cli_command *spec, FILE *f) {
    enum { HELP_COLUMN = 22, HELP_WIDTH = 96 };
    print_usage(spec, f);
    if (spec->about != NULL) fprintf(f, "\n%s", spec->about);
    fprintf(f, "\n");
    for (size_t k = 0; k < spec->nflags; k++) {
        const cli_flag *fl = &spec->flags[k];
        if (fl->type == CLI_SECTION) {
            fprintf(f, "%s\n", fl->help);
            continue;
        }
        char left[96], def[256];
        snprintf(left, sizeof left, "  %s%s%s", fl->name, takes_value(fl) ? " " : "",
                 takes_value(fl) ? (fl->meta != NULL ? fl->meta : "VALUE") : "");
        default_text(fl, def, sizeof def);
        fprintf(f, "%-*s", HELP_COLUMN, left);
        if ((int)strlen(left) >= HELP_COLUMN) fprintf(f, "\n%-*s", HELP_COLUMN, "");
        /* the help's lines, the later ones indented to the help column; the default after
         * the last, or on a line of its own when it would make that line too long */
        size_t col = HELP_COLUMN;
        for (const char *p = fl->help != NULL ? fl->help : "";;) {
            size_t len = strcspn(p, "\n");
            fprintf(f, " %.*s", (int)len, p);
            col = HELP_COLUMN + 1 + len;
            if (p[len] == '\0') break;
            fprintf(f, "\n%-*s", HELP_COLUMN, "");
            p += len + 1;
        }
        if (def[0] != '\0') {
            if (col + strlen(def) + 11 > HELP_WIDTH) fprintf(f, "\n%-*s", HELP_COLUMN, "");
            fprintf(f, " (default %s)", def);
        }
        fprintf(f, "\n");
    }
    if (spec->epilog != NULL) fprintf(f, "%s", spec->epilog);
}
