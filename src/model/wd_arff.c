/* wd_arff.c: Weka ARFF headers: the attributes up to @data, and the schema they give. */
#define _POSIX_C_SOURCE 200809L /* getline */
#include "wd_arff.h"

#include "util/utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *skip_ws(char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

/* Appends c to the word out[0..*n) unless it is full (*full): the caller refuses a word too
 * long for its field (two long values cut to one prefix would become one value). */
static void word_add(char *out, size_t cap, size_t *n, int *full, char c) {
    if (*full) return;
    if (*n + 1 < cap) {
        out[(*n)++] = c;
        return;
    }
    *full = 1;
    *n = ember_utf8_cut(out, *n, (unsigned char)c);
}

/* Reads one ARFF word (quoted or not) at *pp into out; returns 0 at the end of the line, -1
 * when the word does not fit (out then holds its start, for the message), else 1. */
static int arff_word(char **pp, char *out, size_t cap, const char *stops) {
    char *p = skip_ws(*pp);
    size_t n = 0;
    int full = 0;
    if (*p == '\0') return 0;
    if (*p == '\'' || *p == '"') {
        char q = *p++;
        while (*p && *p != q) {
            if (*p == '\\' && p[1]) p++;
            word_add(out, cap, &n, &full, *p);
            p++;
        }
        if (*p == q) p++;
    } else {
        while (*p && *p != ' ' && *p != '\t' && strchr(stops, *p) == NULL) {
            word_add(out, cap, &n, &full, *p);
            p++;
        }
    }
    out[n] = '\0';
    *pp = p;
    return full ? -1 : 1;
}

/* The message for a name or nominal value longer than a schema field holds. */
static ember_status too_long(const char *path, int64_t lineno, const char *what, const char *start,
                             ember_model_err *err) {
    return ember_merr(err, EMBER_STATUS_BAD_DATA,
                      "%s:%lld: %s '%s...' is longer than %d bytes (ember's limit for column "
                      "names and label values)",
                      path, (long long)lineno, what, start, EMBER_NAME_MAX - 1);
}

/* Parses the header up to @data. On success attrs_out/nattrs_out hold the attributes and the
 * file is positioned at the first data line; *lineno counts the lines read. */
ember_status ember_arff_read_header(FILE *f, const char *path, ember_arff_attr **attrs_out,
                                    int *nattrs_out, int64_t *lineno, ember_model_err *err) {
    char *line = NULL;
    size_t cap = 0;
    ember_arff_attr *attrs = NULL;
    int n = 0, capa = 0, found_data = 0;
    ember_status st = EMBER_STATUS_SUCCESS;
    *lineno = 0;
    while (getline(&line, &cap, f) >= 0) {
        (*lineno)++;
        ember_chomp(line);
        if (*lineno == 1 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
            memmove(line, line + 3, strlen(line + 3) + 1); /* a UTF-8 byte order mark */
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
            ember_arff_attr *na = realloc(attrs, (size_t)capa * sizeof *na);
            if (na == NULL) {
                st = ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
                goto fail;
            }
            attrs = na;
        }
        ember_arff_attr *a = &attrs[n];
        memset(a, 0, sizeof *a);
        int got = arff_word(&p, a->name, sizeof a->name, "{");
        if (got == 0) {
            st = ember_merr(err, EMBER_STATUS_BAD_DATA, "%s:%lld: @attribute without a name", path,
                            (long long)*lineno);
            goto fail;
        }
        if (got < 0) {
            st = too_long(path, *lineno, "attribute name", a->name, err);
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
                got = arff_word(&p, word, sizeof word, ",}");
                if (got == 0) {
                    st = ember_merr(err, EMBER_STATUS_BAD_DATA,
                                    "%s:%lld: attribute %s: unterminated nominal list", path,
                                    (long long)*lineno, a->name);
                    goto fail;
                }
                if (got < 0) {
                    char what[EMBER_NAME_MAX + 32];
                    snprintf(what, sizeof what, "attribute %s: nominal value", a->name);
                    st = too_long(path, *lineno, what, word, err);
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
            if (arff_word(&p, type, sizeof type, "") == 0) type[0] = '\0'; /* long: unknown */
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

void ember_arff_attrs_free(ember_arff_attr *a, int n) {
    for (int i = 0; i < n; i++) free(a[i].values);
    free(a);
}

/* Which attribute is the label: the one named `label` when given, else the one named "class",
 * else the last one (Weka's convention). It must be nominal with two classes, or more when
 * the positive one is named (that class against the rest); anything else is BAD_DATA
 * saying how to choose. */
static ember_status choose_label(const char *path, const ember_arff_attr *attrs, int n,
                                 const char *label, const char *positive, int *out,
                                 ember_model_err *err) {
    int k = -1;
    for (int i = 0; i < n; i++)
        if (label != NULL && label[0] != '\0' ? strcmp(attrs[i].name, label) == 0
                                              : strcasecmp(attrs[i].name, "class") == 0)
            k = i;
    if (k < 0 && label != NULL && label[0] != '\0')
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT, "%s: no attribute named '%s'", path,
                          label);
    if (k < 0) k = n - 1;
    if (k < 0) return ember_merr(err, EMBER_STATUS_BAD_DATA, "%s: no attributes", path);
    const ember_arff_attr *a = &attrs[k];
    if (!a->nominal)
        return ember_merr(err, EMBER_STATUS_BAD_DATA,
                          "%s: the label attribute '%s' is not nominal; ember trains binary "
                          "classifiers: name a nominal attribute with --label NAME",
                          path, a->name);
    int named = positive != NULL && positive[0] != '\0';
    if (a->nvalues < 2 || (a->nvalues > 2 && !named))
        return ember_merr(err, EMBER_STATUS_BAD_DATA,
                          "%s: the label attribute '%s' declares %d classes; ember trains binary "
                          "classifiers: %s",
                          path, a->name, a->nvalues,
                          a->nvalues < 2 ? "it needs two"
                                         : "choose the positive class with --positive VALUE "
                                           "(it is then trained against the rest)");
    *out = k;
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_schema_from_arff(const char *path, const char *label, const char *positive,
                                    ember_schema **out, ember_model_err *err) {
    *out = NULL;
    FILE *f;
    EMBER_FORWARD_IF_ERROR(ember_open_input(path, &f, err));
    ember_arff_attr *attrs = NULL;
    int n = 0, k = -1;
    int64_t lineno = 0;
    ember_status st = ember_arff_read_header(f, path, &attrs, &n, &lineno, err);
    fclose(f);
    if (st != EMBER_STATUS_SUCCESS) return st;
    if ((st = choose_label(path, attrs, n, label, positive, &k, err)) != EMBER_STATUS_SUCCESS) {
        ember_arff_attrs_free(attrs, n);
        return st;
    }
    ember_schema *s = ember_schema_new(EMBER_FORMAT_ARFF, n);
    if (s == NULL || ember_schema_set_label_values(s, attrs[k].nvalues) != EMBER_STATUS_SUCCESS) {
        ember_schema_free(s);
        ember_arff_attrs_free(attrs, n);
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        memcpy(s->cols[i].name, attrs[i].name, EMBER_NAME_MAX);
        s->cols[i].kind = i == k ? EMBER_COL_LABEL : attrs[i].kind;
    }
    s->label_col = k;
    memcpy(s->label_values, attrs[k].values, (size_t)attrs[k].nvalues * EMBER_NAME_MAX);
    ember_arff_attrs_free(attrs, n);
    if (positive != NULL && positive[0] != '\0') {
        int ok = 0;
        for (int v = 0; v < s->n_label_values; v++)
            if (strcmp(s->label_values[v], positive) == 0) ok = 1;
        if (!ok) {
            ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                       "%s: positive class '%s' is not a declared value of attribute %s", path,
                       positive, s->cols[k].name);
            ember_schema_free(s);
            return EMBER_STATUS_INVALID_ARGUMENT;
        }
        ember_schema_copy_name(s->positive, positive, strlen(positive));
    } else {
        /* The second declared value: for credit-g {good, bad} that is "bad", the class a
         * credit model is usually asked to find. */
        ember_schema_copy_name(s->positive, s->label_values[1], strlen(s->label_values[1]));
    }
    if ((st = ember_schema_check_text(s, EMBER_STATUS_BAD_DATA, path, err)) !=
        EMBER_STATUS_SUCCESS) {
        ember_schema_free(s);
        return st;
    }
    *out = s;
    return EMBER_STATUS_SUCCESS;
}
