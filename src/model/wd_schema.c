/* wd_schema.c: data formats and schemas: the Adult and Criteo presets, CSV specs, copies
 * and comparisons. (ARFF headers: wd_arff.c; the checkpoint form: wd_schema_json.c,
 * wd_schema_legacy.c.) The rule for their text (UTF-8, ASCII delimiters, unique names) is
 * ember_schema_check_text. */
#include "wd_schema.h"

#include "util/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

ember_status ember_format_parse(const char *name, ember_data_format *fmt, char *delim) {
    char d = ',';
    if (strcasecmp(name, "csv") == 0) {
        *fmt = EMBER_FORMAT_CSV;
    } else if (strcasecmp(name, "tsv") == 0) {
        *fmt = EMBER_FORMAT_CSV;
        d = '\t';
    } else if (strcasecmp(name, "adult") == 0) {
        *fmt = EMBER_FORMAT_ADULT;
    } else if (strcasecmp(name, "criteo") == 0) {
        *fmt = EMBER_FORMAT_CRITEO;
        d = '\t';
    } else if (strcasecmp(name, "arff") == 0) {
        *fmt = EMBER_FORMAT_ARFF;
    } else {
        return EMBER_STATUS_INVALID_ARGUMENT;
    }
    if (delim != NULL) *delim = d;
    return EMBER_STATUS_SUCCESS;
}

const char *ember_format_name(ember_data_format fmt) {
    switch (fmt) {
    case EMBER_FORMAT_CSV:
        return "csv";
    case EMBER_FORMAT_ADULT:
        return "adult";
    case EMBER_FORMAT_CRITEO:
        return "criteo";
    case EMBER_FORMAT_ARFF:
        return "arff";
    }
    return "?";
}

ember_schema *ember_schema_new(ember_data_format fmt, int ncols) {
    ember_schema *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    s->format = fmt;
    s->ncols = ncols;
    s->cols = calloc((size_t)(ncols > 0 ? ncols : 1), sizeof *s->cols);
    s->label_col = -1;
    s->delim = ',';
    if (s->cols == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void ember_schema_free(ember_schema *s) {
    if (s == NULL) return;
    free(s->cols);
    free(s->label_values);
    free(s);
}

int ember_schema_copy_name(char *dst, const char *src, size_t n) {
    if (n >= EMBER_NAME_MAX) return -1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

/* Orders columns by name, then by position (the array's order), so that equal names lie
 * side by side with the first column first. */
static int by_name(const void *a, const void *b) {
    const ember_column *x = *(const ember_column *const *)a, *y = *(const ember_column *const *)b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (x > y) - (x < y);
}

const ember_column **ember_schema_by_name(const ember_schema *s) {
    const ember_column **order = malloc((size_t)(s->ncols > 0 ? s->ncols : 1) * sizeof *order);
    if (order == NULL) return NULL;
    for (int i = 0; i < s->ncols; i++) order[i] = &s->cols[i];
    qsort(order, (size_t)s->ncols, sizeof *order, by_name);
    return order;
}

ember_status ember_schema_check_text(const ember_schema *s, ember_status bad, const char *where,
                                     ember_model_err *err) {
    for (int i = 0; i < s->ncols; i++)
        if (!ember_utf8_valid(s->cols[i].name))
            return ember_merr(err, bad, "%s: the name of column %d is not UTF-8", where, i + 1);
    for (int i = 0; i < s->n_label_values; i++)
        if (!ember_utf8_valid(s->label_values[i]))
            return ember_merr(err, bad, "%s: label value %d is not UTF-8", where, i + 1);
    if (!ember_utf8_valid(s->positive))
        return ember_merr(err, bad, "%s: the positive class is not UTF-8", where);
    if ((unsigned char)s->delim >= 0x80)
        return ember_merr(err, bad, "%s: the delimiter (byte %d) is not an ASCII character", where,
                          (unsigned char)s->delim);
    for (int i = 0; i < s->ncols; i++)
        if (s->cols[i].kind == EMBER_COL_MULTI && (unsigned char)s->cols[i].sep >= 0x80)
            return ember_merr(err, bad,
                              "%s: the separator of column %d (byte %d) is not an ASCII character",
                              where, i + 1, (unsigned char)s->cols[i].sep);
    const ember_column **order = ember_schema_by_name(s);
    if (order == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    ember_status st = EMBER_STATUS_SUCCESS;
    for (int i = 1; i < s->ncols && st == EMBER_STATUS_SUCCESS; i++) {
        if (strcmp(order[i - 1]->name, order[i]->name) != 0) continue;
        st = ember_merr(err, bad, "%s: columns %d and %d are both named '%s' (names must differ)",
                        where, (int)(order[i - 1] - s->cols) + 1, (int)(order[i] - s->cols) + 1,
                        order[i]->name);
    }
    free(order);
    return st;
}

ember_status ember_schema_set_label_values(ember_schema *s, int n) {
    free(s->label_values);
    s->label_values = NULL;
    s->n_label_values = 0;
    if (n == 0) return EMBER_STATUS_SUCCESS;
    s->label_values = calloc((size_t)n, sizeof *s->label_values);
    if (s->label_values == NULL) return EMBER_STATUS_OUT_OF_MEMORY;
    s->n_label_values = n;
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_schema_copy(const ember_schema *s, ember_schema **out) {
    *out = NULL;
    ember_schema *c = ember_schema_new(s->format, s->ncols);
    if (c == NULL) return EMBER_STATUS_OUT_OF_MEMORY;
    memcpy(c->cols, s->cols, (size_t)s->ncols * sizeof *s->cols);
    c->label_col = s->label_col;
    c->delim = s->delim;
    c->header = s->header;
    memcpy(c->positive, s->positive, sizeof c->positive);
    c->positive_prefix = s->positive_prefix;
    if (ember_schema_set_label_values(c, s->n_label_values) != EMBER_STATUS_SUCCESS) {
        ember_schema_free(c);
        return EMBER_STATUS_OUT_OF_MEMORY;
    }
    if (s->n_label_values > 0)
        memcpy(c->label_values, s->label_values, (size_t)s->n_label_values * EMBER_NAME_MAX);
    *out = c;
    return EMBER_STATUS_SUCCESS;
}

int ember_schema_equal(const ember_schema *a, const ember_schema *b) {
    if (a->ncols != b->ncols || a->label_col != b->label_col || a->delim != b->delim) return 0;
    if (strcmp(a->positive, b->positive) != 0 || a->positive_prefix != b->positive_prefix) return 0;
    for (int i = 0; i < a->ncols; i++) {
        if (strcmp(a->cols[i].name, b->cols[i].name) != 0 || a->cols[i].kind != b->cols[i].kind)
            return 0;
    }
    return 1;
}

int ember_schema_find(const ember_schema *s, const char *name) {
    for (int i = 0; i < s->ncols; i++) {
        if (strcmp(s->cols[i].name, name) == 0) return i;
    }
    return -1;
}

ember_status ember_schema_preset(ember_data_format fmt, ember_schema **out, ember_model_err *err) {
    *out = NULL;
    if (fmt == EMBER_FORMAT_ADULT) {
        static const char *names[15] = {"age",
                                        "workclass",
                                        "fnlwgt",
                                        "education",
                                        "education-num",
                                        "marital-status",
                                        "occupation",
                                        "relationship",
                                        "race",
                                        "sex",
                                        "capital-gain",
                                        "capital-loss",
                                        "hours-per-week",
                                        "native-country",
                                        "classification"};
        static const ember_col_kind kinds[15] = {
            EMBER_COL_NUMERIC,     EMBER_COL_CATEGORICAL, EMBER_COL_NUMERIC,
            EMBER_COL_CATEGORICAL, EMBER_COL_NUMERIC,     EMBER_COL_CATEGORICAL,
            EMBER_COL_CATEGORICAL, EMBER_COL_CATEGORICAL, EMBER_COL_CATEGORICAL,
            EMBER_COL_CATEGORICAL, EMBER_COL_NUMERIC,     EMBER_COL_NUMERIC,
            EMBER_COL_NUMERIC,     EMBER_COL_CATEGORICAL, EMBER_COL_LABEL};
        ember_schema *s = ember_schema_new(fmt, 15);
        if (s == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
        for (int i = 0; i < 15; i++) {
            ember_schema_copy_name(s->cols[i].name, names[i], strlen(names[i]));
            s->cols[i].kind = kinds[i];
        }
        s->label_col = 14;
        s->header = 1;
        strcpy(s->positive, ">50K");
        s->positive_prefix = 1; /* the original UCI test file writes ">50K." */
        if (ember_schema_set_label_values(s, 2) != EMBER_STATUS_SUCCESS) {
            ember_schema_free(s);
            return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
        }
        strcpy(s->label_values[0], "<=50K");
        strcpy(s->label_values[1], ">50K");
        *out = s;
        return EMBER_STATUS_SUCCESS;
    }
    if (fmt == EMBER_FORMAT_CRITEO) {
        ember_schema *s = ember_schema_new(fmt, 40);
        if (s == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
        strcpy(s->cols[0].name, "label");
        s->cols[0].kind = EMBER_COL_LABEL;
        for (int i = 1; i <= 13; i++) {
            snprintf(s->cols[i].name, EMBER_NAME_MAX, "I%d", i);
            s->cols[i].kind = EMBER_COL_NUMERIC;
        }
        for (int i = 14; i < 40; i++) {
            snprintf(s->cols[i].name, EMBER_NAME_MAX, "C%d", i - 13);
            s->cols[i].kind = EMBER_COL_CATEGORICAL;
        }
        s->label_col = 0;
        s->delim = '\t';
        *out = s;
        return EMBER_STATUS_SUCCESS;
    }
    return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                      "format %s has no preset schema (csv needs --schema; arff reads its "
                      "header)",
                      ember_format_name(fmt));
}

/* A multi column's separator from its spec ("comma", "space" or one character; '|' when
 * absent): 0 and a message naming column i when it is none of those or is the delimiter. */
static char multi_separator(const char *sep, char delim, int i, ember_model_err *err) {
    char c;
    if (sep == NULL || sep[0] == '\0')
        c = '|';
    else if (strcmp(sep, "comma") == 0)
        c = ',';
    else if (strcmp(sep, "space") == 0)
        c = ' ';
    else if (strlen(sep) == 1)
        c = sep[0];
    else {
        ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                   "schema: column %d: multi separator '%s' is not one character", i + 1, sep);
        return 0;
    }
    if (c == delim) {
        ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                   "schema: column %d: multi separator equals the delimiter", i + 1);
        return 0;
    }
    return c;
}

/* Column i of s from its item of the spec (KIND, NAME:KIND or [NAME:]multi:SEP; item is
 * split in place). */
static ember_status parse_column(ember_schema *s, int i, char *item, ember_model_err *err) {
    char *parts[3] = {item, NULL, NULL};
    int np = 1;
    for (char *q = item; *q && np < 3; q++) {
        if (*q == ':') {
            *q = '\0';
            parts[np++] = q + 1;
        }
    }
    const char *name, *kind, *sep = NULL;
    char defname[32];
    snprintf(defname, sizeof defname, "c%d", i + 1);
    static const char *const kinds[] = {"label",       "num",   "numeric", "cat",
                                        "categorical", "multi", "ignore",  "skip"};
    int first_is_kind = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (strcasecmp(parts[0], kinds[k]) == 0) first_is_kind = 1;
    if (first_is_kind && !(np >= 2 && strcasecmp(parts[0], "multi") != 0)) {
        name = defname;
        kind = parts[0];
        sep = np >= 2 ? parts[1] : NULL;
    } else {
        name = parts[0];
        kind = np >= 2 ? parts[1] : "";
        sep = np >= 3 ? parts[2] : NULL;
    }
    ember_column *c = &s->cols[i];
    if (ember_schema_copy_name(c->name, name[0] ? name : defname,
                               strlen(name[0] ? name : defname)) != 0)
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                          "schema: column %d: name '%.20s...' is longer than %d bytes", i + 1, name,
                          EMBER_NAME_MAX - 1);
    c->unnamed = name[0] == '\0' || name == defname;
    if (strcasecmp(kind, "label") == 0) {
        if (s->label_col >= 0)
            return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                              "schema: two label columns (%d and %d)", s->label_col + 1, i + 1);
        c->kind = EMBER_COL_LABEL;
        s->label_col = i;
    } else if (strcasecmp(kind, "num") == 0 || strcasecmp(kind, "numeric") == 0) {
        c->kind = EMBER_COL_NUMERIC;
    } else if (strcasecmp(kind, "cat") == 0 || strcasecmp(kind, "categorical") == 0) {
        c->kind = EMBER_COL_CATEGORICAL;
    } else if (strcasecmp(kind, "multi") == 0) {
        c->kind = EMBER_COL_MULTI;
        c->sep = multi_separator(sep, s->delim, i, err);
        if (c->sep == 0) return EMBER_STATUS_INVALID_ARGUMENT;
    } else if (strcasecmp(kind, "ignore") == 0 || strcasecmp(kind, "skip") == 0) {
        c->kind = EMBER_COL_IGNORE;
    } else {
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                          "schema: column %d: unknown kind '%s' (KIND or NAME:KIND, KIND "
                          "one of label, num, cat, multi[:SEP], ignore)",
                          i + 1, kind[0] ? kind : parts[0]);
    }
    return EMBER_STATUS_SUCCESS;
}

/* The columns of s from the spec's comma-separated items. */
static ember_status parse_columns(ember_schema *s, const char *spec, ember_model_err *err) {
    const char *p = spec;
    for (int i = 0; i < s->ncols; i++) {
        const char *end = strchr(p, ',');
        /* A multi separator may itself be ',' only when written as "multi:,": handle the
         * common separators and let ',' be spelled "comma". */
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char item[256];
        if (len >= sizeof item)
            return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                              "schema: column %d: spec too long", i + 1);
        memcpy(item, p, len);
        item[len] = '\0';
        EMBER_FORWARD_IF_ERROR(parse_column(s, i, item, err));
        p = end != NULL ? end + 1 : p + len;
    }
    if (s->label_col < 0)
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "schema: no label column");
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_schema_from_spec(const char *spec, char delim, int header, const char *positive,
                                    ember_schema **out, ember_model_err *err) {
    *out = NULL;
    if (spec == NULL || spec[0] == '\0')
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                          "the csv format needs a schema (e.g. --schema label,num,cat)");
    int n = 1;
    for (const char *p = spec; *p; p++) n += (*p == ',');
    if (n > EMBER_MAX_COLUMNS)
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "schema: more than %d columns",
                          EMBER_MAX_COLUMNS);
    ember_schema *s = ember_schema_new(EMBER_FORMAT_CSV, n);
    if (s == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    s->delim = delim;
    s->header = header;
    ember_status st = parse_columns(s, spec, err);
    if (st == EMBER_STATUS_SUCCESS && positive != NULL &&
        ember_schema_copy_name(s->positive, positive, strlen(positive)) != 0)
        st = ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                        "--positive '%.20s...' is longer than %d bytes", positive,
                        EMBER_NAME_MAX - 1);
    if (st == EMBER_STATUS_SUCCESS)
        st = ember_schema_check_text(s, EMBER_STATUS_INVALID_ARGUMENT, "schema", err);
    if (st != EMBER_STATUS_SUCCESS) {
        ember_schema_free(s);
        return st;
    }
    *out = s;
    return EMBER_STATUS_SUCCESS;
}
