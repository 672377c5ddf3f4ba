/* wd_schema_legacy.c: reading the schema of checkpoints written before it was stored as
 * JSON: key=value items split by ';' (format, delim and header as numbers, prefix,
 * positive, labels split by '|', cols as NAME:KIND:SEP split by '|'), every name
 * percent-escaped. Only read: ember writes JSON now (wd_schema_json.c). */
#include "wd_schema.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The number in v[0..n): digits only, at most 9 of them (atoi would wrap a longer one into
 * any byte, a delimiter among them); -1 when it is not one. */
static int small_number(const char *v, size_t n) {
    if (n == 0 || n > 9) return -1;
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)v[i])) return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

ember_status ember_schema_from_legacy_text(const char *text, ember_schema **out,
                                           ember_model_err *err) {
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
            delim = small_number(v, vn);
        } else if (kn == 6 && !strncmp(p, "header", 6)) {
            header = small_number(v, vn);
        } else if (kn == 6 && !strncmp(p, "prefix", 6)) {
            prefix = small_number(v, vn);
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
    if (header < 0 || prefix < 0)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE,
                          "schema text: header or prefix is not "
                          "a number");
    memcpy(fname, fmt_s, fmt_n);
    if (ember_format_parse(fname, &fmt, NULL) != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "schema text: unknown format");
    int ncols = cols_n ? 1 : 0, nlab = labels_n ? 1 : 0;
    for (size_t i = 0; i < cols_n; i++) ncols += cols_s[i] == '|';
    for (size_t i = 0; i < labels_n; i++) nlab += labels_s[i] == '|';
    if (ncols < 1 || ncols > EMBER_MAX_COLUMNS || delim <= 0 || delim > 255)
        return ember_merr(err, EMBER_STATUS_CORRUPT_FILE, "schema text: bad column count");
    ember_schema *s = ember_schema_new(fmt, ncols);
    if (s == NULL || ember_schema_set_label_values(s, nlab) != EMBER_STATUS_SUCCESS) {
        ember_schema_free(s);
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    s->delim = (char)delim;
    s->header = header != 0; /* flags: any non-zero number was true */
    s->positive_prefix = prefix != 0;
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
        /* a multi column splits on one character other than the delimiter; no other
         * kind has a separator */
        if (kind == EMBER_COL_MULTI && (sep == 0 || sep == delim)) goto bad;
        s->cols[i].kind = (ember_col_kind)kind;
        s->cols[i].sep = kind == EMBER_COL_MULTI ? (char)sep : '\0';
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
