/* wd_reader.c: schemas (presets, CSV specs, ARFF headers, a text form for checkpoints) and the
 * line-at-a-time reader that splits, unquotes and checks each line. */
#define _POSIX_C_SOURCE 200809L
#include "wd_reader.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ember_reader {
    FILE *f;
    char *path;
    ember_schema *s;
    char *line;
    size_t cap;
    int64_t lineno;
    long data_start;
    int64_t data_start_line;
    int64_t cur_line; /* the line number of the row being parsed */
    /* the shuffle buffer (off when shuf_cap <= 1) */
    int shuf_cap, shuf_n, src_eof;
    struct held_line {
        char *text;
        size_t len;
        int64_t line;
    } * held;
    ember_rng rng;
    int skip_bad;
    int label_optional;
    int64_t skipped;
    char first_skip[sizeof(ember_model_err)];
    const char **tok;
    int *len;
    unsigned char *missing;
    double *num;
};

/* ---------------------------------------------------------------------------------------
 * formats and schemas
 * --------------------------------------------------------------------------------------- */

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

static ember_schema *schema_new(ember_data_format fmt, int ncols) {
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

static void copy_name(char *dst, const char *src, size_t n) {
    if (n >= EMBER_NAME_MAX) n = EMBER_NAME_MAX - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static ember_status set_label_values(ember_schema *s, int n) {
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
    ember_schema *c = schema_new(s->format, s->ncols);
    if (c == NULL) return EMBER_STATUS_OUT_OF_MEMORY;
    memcpy(c->cols, s->cols, (size_t)s->ncols * sizeof *s->cols);
    c->label_col = s->label_col;
    c->delim = s->delim;
    c->header = s->header;
    memcpy(c->positive, s->positive, sizeof c->positive);
    c->positive_prefix = s->positive_prefix;
    if (set_label_values(c, s->n_label_values) != EMBER_STATUS_SUCCESS) {
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
        ember_schema *s = schema_new(fmt, 15);
        if (s == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
        for (int i = 0; i < 15; i++) {
            copy_name(s->cols[i].name, names[i], strlen(names[i]));
            s->cols[i].kind = kinds[i];
        }
        s->label_col = 14;
        s->header = 1;
        strcpy(s->positive, ">50K");
        s->positive_prefix = 1; /* the original UCI test file writes ">50K." */
        if (set_label_values(s, 2) != EMBER_STATUS_SUCCESS) {
            ember_schema_free(s);
            return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
        }
        strcpy(s->label_values[0], "<=50K");
        strcpy(s->label_values[1], ">50K");
        *out = s;
        return EMBER_STATUS_SUCCESS;
    }
    if (fmt == EMBER_FORMAT_CRITEO) {
        ember_schema *s = schema_new(fmt, 40);
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
    ember_schema *s = schema_new(EMBER_FORMAT_CSV, n);
    if (s == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    s->delim = delim;
    s->header = header;
    const char *p = spec;
    for (int i = 0; i < n; i++) {
        const char *end = strchr(p, ',');
        /* A multi separator may itself be ',' only when written as "multi:,": handle the
         * common separators and let ',' be spelled "comma". */
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char item[256];
        if (len >= sizeof item) {
            ember_schema_free(s);
            return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                              "schema: column %d: spec too long", i + 1);
        }
        memcpy(item, p, len);
        item[len] = '\0';
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
        copy_name(c->name, name[0] ? name : defname, strlen(name[0] ? name : defname));
        if (strcasecmp(kind, "label") == 0) {
            if (s->label_col >= 0) {
                ember_schema_free(s);
                return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                                  "schema: two label columns (%d and %d)", s->label_col + 1, i + 1);
            }
            c->kind = EMBER_COL_LABEL;
            s->label_col = i;
        } else if (strcasecmp(kind, "num") == 0 || strcasecmp(kind, "numeric") == 0) {
            c->kind = EMBER_COL_NUMERIC;
        } else if (strcasecmp(kind, "cat") == 0 || strcasecmp(kind, "categorical") == 0) {
            c->kind = EMBER_COL_CATEGORICAL;
        } else if (strcasecmp(kind, "multi") == 0) {
            c->kind = EMBER_COL_MULTI;
            if (sep == NULL || sep[0] == '\0') {
                c->sep = '|';
            } else if (strcmp(sep, "comma") == 0) {
                c->sep = ',';
            } else if (strcmp(sep, "space") == 0) {
                c->sep = ' ';
            } else if (strlen(sep) == 1) {
                c->sep = sep[0];
            } else {
                ember_schema_free(s);
                return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                                  "schema: column %d: multi separator '%s' is not one "
                                  "character",
                                  i + 1, sep);
            }
            if (c->sep == delim) {
                ember_schema_free(s);
                return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                                  "schema: column %d: multi separator equals the delimiter", i + 1);
            }
        } else if (strcasecmp(kind, "ignore") == 0 || strcasecmp(kind, "skip") == 0) {
            c->kind = EMBER_COL_IGNORE;
        } else {
            ember_schema_free(s);
            return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                              "schema: column %d: unknown kind '%s' (KIND or NAME:KIND, KIND "
                              "one of label, num, cat, multi[:SEP], ignore)",
                              i + 1, kind[0] ? kind : parts[0]);
        }
        p = end != NULL ? end + 1 : p + len;
    }
    if (s->label_col < 0) {
        ember_schema_free(s);
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "schema: no label column");
    }
    if (positive != NULL && positive[0] != '\0') copy_name(s->positive, positive, strlen(positive));
    *out = s;
    return EMBER_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------
 * ARFF header
 * --------------------------------------------------------------------------------------- */

static char *skip_ws(char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

static void chomp(char *line) {
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
}

/* Reads one ARFF word (quoted or not) at *pp into out; returns 0 at the end of the line. */
static int arff_word(char **pp, char *out, size_t cap, const char *stops) {
    char *p = skip_ws(*pp);
    size_t n = 0;
    if (*p == '\0') return 0;
    if (*p == '\'' || *p == '"') {
        char q = *p++;
        while (*p && *p != q) {
            if (*p == '\\' && p[1]) p++;
            if (n + 1 < cap) out[n++] = *p;
            p++;
        }
        if (*p == q) p++;
    } else {
        while (*p && *p != ' ' && *p != '\t' && strchr(stops, *p) == NULL) {
            if (n + 1 < cap) out[n++] = *p;
            p++;
        }
    }
    out[n] = '\0';
    *pp = p;
    return 1;
}

typedef struct arff_attr {
    char name[EMBER_NAME_MAX];
    ember_col_kind kind;
    int nominal;
    int nvalues;
    char (*values)[EMBER_NAME_MAX];
} arff_attr;

/* Parses the header up to @data. On success attrs_out/nattrs_out hold the attributes and the
 * file is positioned at the first data line; *lineno counts the lines read. */
static ember_status arff_read_header(FILE *f, const char *path, arff_attr **attrs_out,
                                     int *nattrs_out, int64_t *lineno, ember_model_err *err) {
    char *line = NULL;
    size_t cap = 0;
    arff_attr *attrs = NULL;
    int n = 0, capa = 0, found_data = 0;
    ember_status st = EMBER_STATUS_SUCCESS;
    *lineno = 0;
    while (getline(&line, &cap, f) >= 0) {
        (*lineno)++;
        chomp(line);
        char *p = skip_ws(line);
        if (*p == '\0' || *p == '%') continue;
        if (strncasecmp(p, "@relation", 9) == 0) continue;
        if (strncasecmp(p, "@data", 5) == 0) {
            found_data = 1;
            break;
        }
        if (strncasecmp(p, "@attribute", 10) != 0) {
            st = ember_merr(err, EMBER_STATUS_BAD_DATA,
                            "%s:%lld: ARFF header: expected @attribute, @relation or @data", path,
                            (long long)*lineno);
            goto fail;
        }
        p += 10;
        if (n == capa) {
            capa = capa ? 2 * capa : 32;
            if (capa > EMBER_MAX_COLUMNS) {
                st = ember_merr(err, EMBER_STATUS_BAD_DATA, "%s: more than %d attributes", path,
                                EMBER_MAX_COLUMNS);
                goto fail;
            }
            arff_attr *na = realloc(attrs, (size_t)capa * sizeof *na);
            if (na == NULL) {
                st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
                goto fail;
            }
            attrs = na;
        }
        arff_attr *a = &attrs[n];
        memset(a, 0, sizeof *a);
        if (!arff_word(&p, a->name, sizeof a->name, "{")) {
            st = ember_merr(err, EMBER_STATUS_BAD_DATA, "%s:%lld: @attribute without a name", path,
                            (long long)*lineno);
            goto fail;
        }
        n++;
        p = skip_ws(p);
        if (*p == '{') {
            a->kind = EMBER_COL_CATEGORICAL;
            a->nominal = 1;
            p++;
            char word[EMBER_NAME_MAX];
            for (;;) {
                p = skip_ws(p);
                if (*p == '}') break;
                if (*p == ',') {
                    p++;
                    continue;
                }
                if (!arff_word(&p, word, sizeof word, ",}")) {
                    st = ember_merr(err, EMBER_STATUS_BAD_DATA,
                                    "%s:%lld: attribute %s: unterminated nominal list", path,
                                    (long long)*lineno, a->name);
                    goto fail;
                }
                void *nv = realloc(a->values, (size_t)(a->nvalues + 1) * EMBER_NAME_MAX);
                if (nv == NULL) {
                    st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
                    goto fail;
                }
                a->values = nv;
                strcpy(a->values[a->nvalues++], word);
            }
        } else {
            char type[64];
            if (!arff_word(&p, type, sizeof type, "")) type[0] = '\0';
            if (strcasecmp(type, "numeric") == 0 || strcasecmp(type, "real") == 0 ||
                strcasecmp(type, "integer") == 0) {
                a->kind = EMBER_COL_NUMERIC;
            } else if (strcasecmp(type, "string") == 0 || strcasecmp(type, "date") == 0) {
                a->kind = EMBER_COL_CATEGORICAL;
            } else {
                st = ember_merr(err, EMBER_STATUS_BAD_DATA,
                                "%s:%lld: attribute %s: unsupported type '%s'", path,
                                (long long)*lineno, a->name, type);
                goto fail;
            }
        }
    }
    if (!found_data) {
        st = ember_merr(err, EMBER_STATUS_BAD_DATA, "%s: no @data section (not an ARFF file?)",
                        path);
        goto fail;
    }
    free(line);
    *attrs_out = attrs;
    *nattrs_out = n;
    return EMBER_STATUS_SUCCESS;
fail:
    for (int i = 0; i < n; i++) free(attrs[i].values);
    free(attrs);
    free(line);
    return st;
}

static void free_attrs(arff_attr *a, int n) {
    for (int i = 0; i < n; i++) free(a[i].values);
    free(a);
}

ember_status ember_schema_from_arff(const char *path, const char *positive, ember_schema **out,
                                    ember_model_err *err) {
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return ember_merr(err, EMBER_STATUS_IO_ERROR, "cannot open %s: %s", path, strerror(errno));
    arff_attr *attrs = NULL;
    int n = 0;
    int64_t lineno = 0;
    ember_status st = arff_read_header(f, path, &attrs, &n, &lineno, err);
    fclose(f);
    if (st != EMBER_STATUS_SUCCESS) return st;
    int label = -1;
    for (int i = 0; i < n; i++)
        if (attrs[i].nominal && strcasecmp(attrs[i].name, "class") == 0) label = i;
    if (label < 0)
        for (int i = 0; i < n; i++)
            if (attrs[i].nominal) label = i;
    if (label < 0 || attrs[label].nvalues < 1) {
        free_attrs(attrs, n);
        return ember_merr(err, EMBER_STATUS_BAD_DATA,
                          "%s: no nominal attribute to use as the label", path);
    }
    ember_schema *s = schema_new(EMBER_FORMAT_ARFF, n);
    if (s == NULL || set_label_values(s, attrs[label].nvalues) != EMBER_STATUS_SUCCESS) {
        ember_schema_free(s);
        free_attrs(attrs, n);
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        memcpy(s->cols[i].name, attrs[i].name, EMBER_NAME_MAX);
        s->cols[i].kind = i == label ? EMBER_COL_LABEL : attrs[i].kind;
    }
    s->label_col = label;
    memcpy(s->label_values, attrs[label].values, (size_t)attrs[label].nvalues * EMBER_NAME_MAX);
    if (positive != NULL && positive[0] != '\0') {
        int ok = 0;
        for (int v = 0; v < s->n_label_values; v++)
            if (strcmp(s->label_values[v], positive) == 0) ok = 1;
        if (!ok) {
            ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                       "%s: positive class '%s' is not a declared value of attribute %s", path,
                       positive, s->cols[label].name);
            ember_schema_free(s);
            free_attrs(attrs, n);
            return EMBER_STATUS_INVALID_ARGUMENT;
        }
        copy_name(s->positive, positive, strlen(positive));
    } else {
        /* The second declared value: for credit-g {good, bad} that is "bad", the class a
         * credit model is usually asked to find. */
        const char *p = s->label_values[s->n_label_values >= 2 ? 1 : 0];
        copy_name(s->positive, p, strlen(p));
    }
    free_attrs(attrs, n);
    *out = s;
    return EMBER_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------
 * text form: key=value pairs separated by ';', values percent-escaped
 * --------------------------------------------------------------------------------------- */

static int needs_escape(unsigned char c) {
    return c < 0x21 || c > 0x7e || strchr("%;=|:,", c) != NULL;
}

static size_t esc(char *dst, const char *src, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n && src[i]; i++) {
        unsigned char c = (unsigned char)src[i];
        if (needs_escape(c)) {
            if (dst) sprintf(dst + o, "%%%02X", c);
            o += 3;
        } else {
            if (dst) dst[o] = (char)c;
            o++;
        }
    }
    return o;
}

static int unesc(char *dst, size_t cap, const char *src, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= n) return -1;
            char hex[3] = {src[i + 1], src[i + 2], 0};
            char *e;
            long v = strtol(hex, &e, 16);
            if (*e != '\0' || !isxdigit((unsigned char)hex[0])) return -1;
            c = (char)v;
            i += 2;
        }
        if (o + 1 >= cap) return -1;
        dst[o++] = c;
    }
    dst[o] = '\0';
    return 0;
}

char *ember_schema_serialize(const ember_schema *s) {
    size_t need = 256 + esc(NULL, s->positive, EMBER_NAME_MAX);
    for (int i = 0; i < s->ncols; i++) need += esc(NULL, s->cols[i].name, EMBER_NAME_MAX) + 16;
    for (int i = 0; i < s->n_label_values; i++)
        need += esc(NULL, s->label_values[i], EMBER_NAME_MAX) + 2;
    char *out = malloc(need);
    if (out == NULL) return NULL;
    size_t o = (size_t)sprintf(
        out, "format=%s;delim=%d;header=%d;prefix=%d;positive=", ember_format_name(s->format),
        (int)(unsigned char)s->delim, s->header, s->positive_prefix);
    o += esc(out + o, s->positive, EMBER_NAME_MAX);
    o += (size_t)sprintf(out + o, ";labels=");
    for (int i = 0; i < s->n_label_values; i++) {
        if (i) out[o++] = '|';
        o += esc(out + o, s->label_values[i], EMBER_NAME_MAX);
    }
    o += (size_t)sprintf(out + o, ";cols=");
    for (int i = 0; i < s->ncols; i++) {
        if (i) out[o++] = '|';
        o += esc(out + o, s->cols[i].name, EMBER_NAME_MAX);
        o += (size_t)sprintf(out + o, ":%d:%d", (int)s->cols[i].kind,
                             (int)(unsigned char)s->cols[i].sep);
    }
    out[o] = '\0';
    return out;
}

ember_status ember_schema_deserialize(const char *text, ember_schema **out, ember_model_err *err) {
    *out = NULL;
    const char *fmt_s = NULL, *cols_s = NULL, *labels_s = NULL, *pos_s = NULL;
    size_t fmt_n = 0, cols_n = 0, labels_n = 0, pos_n = 0;
    int delim = ',', header = 0, prefix = 0;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (eq == NULL) return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "schema text: bad item");
        size_t kn = (size_t)(eq - p), vn = n - kn - 1;
        const char *v = eq + 1;
        if (kn == 6 && !strncmp(p, "format", 6)) {
            fmt_s = v;
            fmt_n = vn;
        } else if (kn == 5 && !strncmp(p, "delim", 5)) {
            delim = atoi(v);
        } else if (kn == 6 && !strncmp(p, "header", 6)) {
            header = atoi(v);
        } else if (kn == 6 && !strncmp(p, "prefix", 6)) {
            prefix = atoi(v);
        } else if (kn == 8 && !strncmp(p, "positive", 8)) {
            pos_s = v;
            pos_n = vn;
        } else if (kn == 6 && !strncmp(p, "labels", 6)) {
            labels_s = v;
            labels_n = vn;
        } else if (kn == 4 && !strncmp(p, "cols", 4)) {
            cols_s = v;
            cols_n = vn;
        }
        p = end ? end + 1 : p + n;
    }
    char fname[16] = {0};
    ember_data_format fmt;
    if (fmt_s == NULL || fmt_n >= sizeof fname || cols_s == NULL)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "schema text: format or cols missing");
    memcpy(fname, fmt_s, fmt_n);
    if (ember_format_parse(fname, &fmt, NULL) != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "schema text: unknown format");
    int ncols = cols_n ? 1 : 0, nlab = labels_n ? 1 : 0;
    for (size_t i = 0; i < cols_n; i++) ncols += cols_s[i] == '|';
    for (size_t i = 0; i < labels_n; i++) nlab += labels_s[i] == '|';
    if (ncols < 1 || ncols > EMBER_MAX_COLUMNS || delim <= 0 || delim > 255)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "schema text: bad column count");
    ember_schema *s = schema_new(fmt, ncols);
    if (s == NULL || set_label_values(s, nlab) != EMBER_STATUS_SUCCESS) {
        ember_schema_free(s);
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    s->delim = (char)delim;
    s->header = header;
    s->positive_prefix = prefix;
    if (pos_s && unesc(s->positive, EMBER_NAME_MAX, pos_s, pos_n) != 0) goto bad;
    const char *q = labels_s;
    for (int i = 0; i < nlab; i++) {
        const char *e = memchr(q, '|', (size_t)(labels_s + labels_n - q));
        size_t n = e ? (size_t)(e - q) : (size_t)(labels_s + labels_n - q);
        if (unesc(s->label_values[i], EMBER_NAME_MAX, q, n) != 0) goto bad;
        q += n + 1;
    }
    q = cols_s;
    for (int i = 0; i < ncols; i++) {
        const char *e = memchr(q, '|', (size_t)(cols_s + cols_n - q));
        size_t n = e ? (size_t)(e - q) : (size_t)(cols_s + cols_n - q);
        const char *c1 = memchr(q, ':', n);
        if (c1 == NULL) goto bad;
        if (unesc(s->cols[i].name, EMBER_NAME_MAX, q, (size_t)(c1 - q)) != 0) goto bad;
        int kind = -1, sep = 0;
        if (sscanf(c1, ":%d:%d", &kind, &sep) != 2 || kind < 0 || kind > EMBER_COL_MULTI ||
            sep < 0 || sep > 255)
            goto bad;
        s->cols[i].kind = (ember_col_kind)kind;
        s->cols[i].sep = (char)sep;
        if (kind == EMBER_COL_LABEL) {
            if (s->label_col >= 0) goto bad;
            s->label_col = i;
        }
        q += n + 1;
    }
    if (s->label_col < 0) goto bad;
    *out = s;
    return EMBER_STATUS_SUCCESS;
bad:
    ember_schema_free(s);
    return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "schema text is malformed");
}

/* ---------------------------------------------------------------------------------------
 * the reader
 * --------------------------------------------------------------------------------------- */

ember_status ember_reader_open(ember_reader **out, const char *path, const ember_schema *schema,
                               ember_model_err *err) {
    *out = NULL;
    ember_reader *r = calloc(1, sizeof *r);
    if (r == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    ember_status st;
    if (ember_schema_copy(schema, &r->s) != EMBER_STATUS_SUCCESS ||
        (r->path = ember_strdup(path)) == NULL) {
        st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
        goto fail;
    }
    size_t nc = (size_t)schema->ncols;
    r->tok = calloc(nc, sizeof *r->tok);
    r->len = calloc(nc, sizeof *r->len);
    r->missing = calloc(nc, 1);
    r->num = calloc(nc, sizeof *r->num);
    if (!r->tok || !r->len || !r->missing || !r->num) {
        st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
        goto fail;
    }
    r->f = fopen(path, "r");
    if (r->f == NULL) {
        st = ember_merr(err, EMBER_STATUS_IO_ERROR, "cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    if (schema->format == EMBER_FORMAT_ARFF) {
        arff_attr *attrs = NULL;
        int n = 0;
        st = arff_read_header(r->f, path, &attrs, &n, &r->lineno, err);
        if (st != EMBER_STATUS_SUCCESS) goto fail;
        int same = n == schema->ncols;
        for (int i = 0; same && i < n; i++) same = strcmp(attrs[i].name, schema->cols[i].name) == 0;
        free_attrs(attrs, n);
        if (!same) {
            st = ember_merr(err, EMBER_STATUS_BAD_DATA,
                            "%s: its ARFF attributes differ from the model's (%d columns "
                            "expected)",
                            path, schema->ncols);
            goto fail;
        }
    } else if (schema->header) {
        ssize_t got = getline(&r->line, &r->cap, r->f);
        if (got >= 0) r->lineno = 1;
    }
    r->data_start = ftell(r->f);
    r->data_start_line = r->lineno;
    *out = r;
    return EMBER_STATUS_SUCCESS;
fail:
    ember_reader_close(r);
    return st;
}

void ember_reader_set_label_optional(ember_reader *r, int optional) {
    r->label_optional = optional;
}

void ember_reader_set_skip_bad(ember_reader *r, int skip_bad) {
    r->skip_bad = skip_bad;
}

int64_t ember_reader_skipped(const ember_reader *r) {
    return r->skipped;
}

const char *ember_reader_first_skip(const ember_reader *r) {
    return r->first_skip;
}

const char *ember_reader_path(const ember_reader *r) {
    return r->path;
}

static void drop_held(ember_reader *r) {
    for (int i = 0; i < r->shuf_n; i++) free(r->held[i].text);
    r->shuf_n = 0;
    r->src_eof = 0;
}

ember_status ember_reader_set_shuffle(ember_reader *r, int buffer_lines, uint64_t seed) {
    drop_held(r);
    free(r->held);
    r->held = NULL;
    r->shuf_cap = 0;
    if (buffer_lines > 1) {
        r->held = calloc((size_t)buffer_lines, sizeof *r->held);
        if (r->held == NULL) return EMBER_STATUS_OUT_OF_MEMORY;
        r->shuf_cap = buffer_lines;
    }
    ember_rng_seed(&r->rng, seed);
    return EMBER_STATUS_SUCCESS;
}

void ember_reader_close(ember_reader *r) {
    if (r == NULL) return;
    drop_held(r);
    free(r->held);
    if (r->f) fclose(r->f);
    free(r->path);
    ember_schema_free(r->s);
    free(r->line);
    free(r->tok);
    free(r->len);
    free(r->missing);
    free(r->num);
    free(r);
}

ember_status ember_reader_rewind(ember_reader *r, ember_model_err *err) {
    if (fseek(r->f, r->data_start, SEEK_SET) != 0)
        return ember_merr(err, EMBER_STATUS_IO_ERROR, "%s: cannot seek: %s", r->path,
                          strerror(errno));
    r->lineno = r->data_start_line;
    drop_held(r);
    r->skipped = 0; /* counts are per pass */
    return EMBER_STATUS_SUCCESS;
}

static ember_status col_err(ember_reader *r, ember_model_err *err, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static ember_status col_err(ember_reader *r, ember_model_err *err, int col, const char *fmt, ...) {
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    const char *name = col < r->s->ncols ? r->s->cols[col].name : "beyond the last column";
    return ember_merr(err, EMBER_STATUS_BAD_DATA, "%s:%lld: column %d (%s): %s", r->path,
                      (long long)r->cur_line, col + 1, name, reason);
}

static int is_space(char c, char delim) {
    return (c == ' ' || c == '\t') && c != delim;
}

/* Splits and checks the current line (NUL-terminated, no newline). */
static ember_status parse_line(ember_reader *r, char *line, ember_row *row, ember_model_err *err) {
    const ember_schema *s = r->s;
    const char delim = s->delim;
    const int quotes = s->format == EMBER_FORMAT_CSV || s->format == EMBER_FORMAT_ARFF;
    char *p = line;
    int col = 0;
    if (s->format == EMBER_FORMAT_ARFF && *p == '{')
        return col_err(r, err, 0, "sparse ARFF rows ({index value, ...}) are not supported");
    for (;;) {
        if (col >= s->ncols)
            return col_err(r, err, col, "expected %d columns, found more", s->ncols);
        while (is_space(*p, delim)) p++;
        char *start = p, *end;
        int quoted = 0;
        if (quotes && (*p == '\'' || *p == '"')) {
            char q = *p++;
            char *dst = p;
            start = p;
            quoted = 1;
            for (;;) {
                if (*p == '\0') return col_err(r, err, col, "unterminated quoted value");
                if (*p == q) {
                    if (q == '"' && p[1] == '"') { /* CSV's doubled quote */
                        *dst++ = '"';
                        p += 2;
                        continue;
                    }
                    break;
                }
                if (*p == '\\' && p[1] != '\0' && s->format == EMBER_FORMAT_ARFF) p++;
                *dst++ = *p++;
            }
            end = dst;
            p++;
            while (is_space(*p, delim)) p++;
            if (*p != delim && *p != '\0')
                return col_err(r, err, col, "text after a closing quote");
        } else {
            while (*p != delim && *p != '\0') p++;
            end = p;
            while (end > start && is_space(end[-1], delim)) end--;
        }
        int len = (int)(end - start);
        r->tok[col] = start;
        r->len[col] = len;
        r->missing[col] = !quoted && (len == 0 || (len == 1 && start[0] == '?'));
        col++;
        if (*p == delim) {
            p++;
            continue;
        }
        break;
    }
    if (col != s->ncols)
        return col_err(r, err, col, "expected %d columns, found %d", s->ncols, col);
    /* numbers and the label */
    for (int c = 0; c < s->ncols; c++) {
        const ember_column *cd = &s->cols[c];
        r->num[c] = 0.0;
        if (cd->kind == EMBER_COL_NUMERIC && !r->missing[c]) {
            char buf[80];
            if (r->len[c] >= (int)sizeof buf)
                return col_err(r, err, c, "'%.40s...' is not a number", r->tok[c]);
            memcpy(buf, r->tok[c], (size_t)r->len[c]);
            buf[r->len[c]] = '\0';
            char *e;
            errno = 0;
            double v = strtod(buf, &e);
            if (e == buf || *e != '\0') return col_err(r, err, c, "'%s' is not a number", buf);
            if (!isfinite(v)) return col_err(r, err, c, "'%s' is not a finite number", buf);
            r->num[c] = v;
        } else if (cd->kind == EMBER_COL_LABEL) {
            if (r->missing[c]) {
                if (!r->label_optional) return col_err(r, err, c, "the label is missing");
                row->label = NAN;
                continue;
            }
            const char *t = r->tok[c];
            int n = r->len[c];
            if (s->n_label_values > 0) {
                int ok = 0;
                for (int v = 0; v < s->n_label_values && !ok; v++) {
                    size_t vl = strlen(s->label_values[v]);
                    ok = s->positive_prefix
                             ? (size_t)n >= vl && memcmp(t, s->label_values[v], vl) == 0
                             : (size_t)n == vl && memcmp(t, s->label_values[v], vl) == 0;
                }
                if (!ok)
                    return col_err(r, err, c, "label '%.*s' is not one of the declared classes",
                                   n > 60 ? 60 : n, t);
            }
            if (s->positive[0] != '\0') {
                size_t pl = strlen(s->positive);
                row->label = s->positive_prefix
                                 ? (float)((size_t)n >= pl && memcmp(t, s->positive, pl) == 0)
                                 : (float)((size_t)n == pl && memcmp(t, s->positive, pl) == 0);
            } else {
                char buf[64];
                if (n >= (int)sizeof buf)
                    return col_err(r, err, c, "label is not a number in [0, 1]");
                memcpy(buf, t, (size_t)n);
                buf[n] = '\0';
                char *e;
                double v = strtod(buf, &e);
                if (e == buf || *e != '\0' || !(v >= 0.0 && v <= 1.0))
                    return col_err(r, err, c, "label '%s' is not a number in [0, 1]", buf);
                row->label = (float)v;
            }
        }
    }
    return EMBER_STATUS_SUCCESS;
}

/* One line of the file into r->line: *got is its length, or -1 at the end of the file; a
 * read error is IO_ERROR naming the file and the line. */
static ember_status file_getline(ember_reader *r, ssize_t *got, ember_model_err *err) {
    errno = 0;
    *got = getline(&r->line, &r->cap, r->f);
    if (*got < 0 && ferror(r->f))
        return ember_merr(err, EMBER_STATUS_IO_ERROR, "%s:%lld: read error: %s", r->path,
                          (long long)r->lineno + 1, strerror(errno));
    return EMBER_STATUS_SUCCESS;
}

/* The next raw line into r->line (its length in *len, its number in r->cur_line): straight
 * from the file, or a random one of the shuffle buffer, refilled from the file. */
static ember_status raw_next(ember_reader *r, ssize_t *len, int *eof, ember_model_err *err) {
    *eof = 0;
    if (r->shuf_cap <= 1) {
        ssize_t got;
        ember_status st = file_getline(r, &got, err);
        if (st != EMBER_STATUS_SUCCESS) return st;
        if (got < 0) {
            *eof = 1;
            return EMBER_STATUS_SUCCESS;
        }
        r->lineno++;
        r->cur_line = r->lineno;
        *len = got;
        return EMBER_STATUS_SUCCESS;
    }
    while (!r->src_eof && r->shuf_n < r->shuf_cap) {
        ssize_t got;
        ember_status st = file_getline(r, &got, err);
        if (st != EMBER_STATUS_SUCCESS) return st;
        if (got < 0) {
            r->src_eof = 1;
            break;
        }
        r->lineno++;
        char *t = malloc((size_t)got + 1);
        if (t == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
        memcpy(t, r->line, (size_t)got + 1);
        r->held[r->shuf_n].text = t;
        r->held[r->shuf_n].len = (size_t)got;
        r->held[r->shuf_n].line = r->lineno;
        r->shuf_n++;
    }
    if (r->shuf_n == 0) {
        *eof = 1;
        return EMBER_STATUS_SUCCESS;
    }
    int j = (int)(ember_rng_next(&r->rng) % (uint64_t)r->shuf_n);
    struct held_line h = r->held[j];
    r->held[j] = r->held[--r->shuf_n];
    if (h.len + 1 > r->cap) {
        char *nl = realloc(r->line, h.len + 1);
        if (nl == NULL) {
            free(h.text);
            return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
        }
        r->line = nl;
        r->cap = h.len + 1;
    }
    memcpy(r->line, h.text, h.len + 1);
    free(h.text);
    r->cur_line = h.line;
    *len = (ssize_t)h.len;
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_reader_next(ember_reader *r, ember_row *row, int *eof, ember_model_err *err) {
    ember_model_err local;
    if (err == NULL) err = &local;
    *eof = 0;
    for (;;) {
        ssize_t got = 0;
        ember_status rs = raw_next(r, &got, eof, err);
        if (rs != EMBER_STATUS_SUCCESS || *eof) return rs;
        if ((size_t)got != strlen(r->line)) {
            ember_status st = ember_merr(err, EMBER_STATUS_BAD_DATA,
                                         "%s:%lld: column 1 (%s): the line holds a NUL byte",
                                         r->path, (long long)r->cur_line, r->s->cols[0].name);
            if (!r->skip_bad) return st;
            if (r->skipped++ == 0) memcpy(r->first_skip, err->msg, sizeof err->msg);
            continue;
        }
        chomp(r->line);
        char *p = r->line;
        if (r->cur_line == 1 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
            (unsigned char)p[2] == 0xbf)
            memmove(p, p + 3, strlen(p + 3) + 1); /* a UTF-8 byte order mark */
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\0') continue;
        if (r->s->format == EMBER_FORMAT_ARFF && *p == '%') continue;
        row->line = r->cur_line;
        row->ncols = r->s->ncols;
        row->tok = r->tok;
        row->len = r->len;
        row->missing = r->missing;
        row->num = r->num;
        /* Criteo keeps leading tabs meaningful (an empty first field); others trim. */
        ember_status st = parse_line(r, r->s->delim == '\t' ? r->line : p, row, err);
        if (st == EMBER_STATUS_SUCCESS) return st;
        if (!r->skip_bad) return st;
        if (r->skipped++ == 0) memcpy(r->first_skip, err->msg, sizeof err->msg);
    }
}
