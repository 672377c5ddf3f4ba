/* wd_reader.c: the line-at-a-time reader: opening (an ARFF file's header, or a CSV file's
 * header line, checked against the schema), the optional shuffle buffer, and splitting,
 * unquoting and checking each line. */
#define _POSIX_C_SOURCE 200809L
#include "wd_reader.h"

#include "wd_arff.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
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
    char *scratch; /* one token as a C string (token_string) */
    size_t scratch_cap;
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
    int (*keep)(void *user, int64_t line); /* ember_reader_set_filter */
    void *keep_user;
    int64_t skipped;
    char first_skip[sizeof(ember_model_err)];
    const char **tok;
    int *len;
    unsigned char *missing;
    double *num;
};

/* ---------------------------------------------------------------------------------------
 * the reader
 * --------------------------------------------------------------------------------------- */

/* The line's first field (after blanks) starts with a digit, or a sign and a digit. */
static int starts_with_number(const char *line) {
    while (*line == ' ' || *line == '\t') line++;
    if (*line == '-' || *line == '+') line++;
    return isdigit((unsigned char)*line) != 0;
}

static ember_status read_csv_header(ember_reader *r, ember_model_err *err);

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
    if ((st = ember_open_input(path, &r->f, err)) != EMBER_STATUS_SUCCESS) goto fail;
    if (schema->format == EMBER_FORMAT_ARFF) {
        ember_arff_attr *attrs = NULL;
        int n = 0;
        st = ember_arff_read_header(r->f, path, &attrs, &n, &r->lineno, err);
        if (st != EMBER_STATUS_SUCCESS) goto fail;
        int same = n == schema->ncols;
        for (int i = 0; same && i < n; i++) same = strcmp(attrs[i].name, schema->cols[i].name) == 0;
        ember_arff_attrs_free(attrs, n);
        if (!same) {
            st = ember_merr(err, EMBER_STATUS_BAD_DATA,
                            "%s: its ARFF attributes differ from the model's (%d columns "
                            "expected)",
                            path, schema->ncols);
            goto fail;
        }
    } else if (schema->header && schema->format == EMBER_FORMAT_CSV) {
        if ((st = read_csv_header(r, err)) != EMBER_STATUS_SUCCESS) goto fail;
    } else if (schema->header) {
        ssize_t got = getline(&r->line, &r->cap, r->f);
        if (got >= 0) r->lineno = 1;
        /* Adult's files may start with a line that is not data (the UCI test file's
         * "|1x3 Cross validator", a line of column names) or with data (the UCI training
         * file): a first line that starts with a number (the age) is data, and kept. */
        if (got >= 0 && schema->format == EMBER_FORMAT_ADULT && starts_with_number(r->line)) {
            rewind(r->f);
            r->lineno = 0;
        }
    }
    r->data_start = ftell(r->f);
    r->data_start_line = r->lineno;
    *out = r;
    return EMBER_STATUS_SUCCESS;
fail:
    ember_reader_close(r);
    return st;
}

void ember_reader_set_filter(ember_reader *r, int (*keep)(void *user, int64_t line), void *user) {
    r->keep = keep;
    r->keep_user = user;
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
    free(r->scratch);
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

/* Column c's token as a NUL-terminated string, whatever its length; NULL when out of memory. */
static const char *token_string(ember_reader *r, int c) {
    size_t n = (size_t)r->len[c];
    if (n + 1 > r->scratch_cap) {
        char *q = realloc(r->scratch, n + 1);
        if (q == NULL) return NULL;
        r->scratch = q;
        r->scratch_cap = n + 1;
    }
    memcpy(r->scratch, r->tok[c], n);
    r->scratch[n] = '\0';
    return r->scratch;
}

/* Splits the current line (NUL-terminated, no newline) into r->tok, r->len and r->missing:
 * exactly one token per column, unquoted. */
static ember_status split_line(ember_reader *r, char *line, ember_model_err *err) {
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
    return EMBER_STATUS_SUCCESS;
}

/* A CSV file's header: its first line that is not blank (as ember_schema_names_from_header
 * and pandas take it), split like the data lines, with the schema's columns in its order. */
static ember_status read_csv_header(ember_reader *r, ember_model_err *err) {
    char *line = NULL;
    do {
        if (getline(&r->line, &r->cap, r->f) < 0) return EMBER_STATUS_SUCCESS; /* empty */
        r->cur_line = ++r->lineno;
        ember_chomp(r->line);
        line = r->line;
        if (r->lineno == 1 && (unsigned char)line[0] == 0xef && (unsigned char)line[1] == 0xbb &&
            (unsigned char)line[2] == 0xbf)
            line += 3; /* a UTF-8 byte order mark */
    } while (line[strspn(line, " \t")] == '\0');
    /* as the data lines: a tab-separated line keeps its leading empty fields */
    EMBER_FORWARD_IF_ERROR(
        split_line(r, r->s->delim == '\t' ? line : line + strspn(line, " \t"), err));
    char *where = malloc(strlen(r->path) + 48);
    if (where == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    sprintf(where, "%s:%lld (the header line)", r->path, (long long)r->lineno);
    ember_status st = ember_schema_check_header_order(r->s, r->tok, r->len, where, err);
    free(where);
    return st;
}

/* Splits and checks the current line (NUL-terminated, no newline). */
static ember_status parse_line(ember_reader *r, char *line, ember_row *row, ember_model_err *err) {
    const ember_schema *s = r->s;
    EMBER_FORWARD_IF_ERROR(split_line(r, line, err));
    /* numbers and the label */
    for (int c = 0; c < s->ncols; c++) {
        const ember_column *cd = &s->cols[c];
        r->num[c] = 0.0;
        if (cd->kind == EMBER_COL_NUMERIC && !r->missing[c]) {
            const char *buf = token_string(r, c);
            if (buf == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
            char *e;
            double v = strtod(buf, &e);
            if (e == buf || *e != '\0')
                return col_err(r, err, c, "'%.60s%s' is not a number", buf,
                               strlen(buf) > 60 ? "..." : "");
            /* the model computes in float: a larger number would become infinity there */
            if (!(fabs(v) <= FLT_MAX))
                return col_err(r, err, c, "%.60s%s is beyond the float range (|x| <= %g)", buf,
                               strlen(buf) > 60 ? "..." : "", (double)FLT_MAX);
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
                const char *buf = token_string(r, c);
                if (buf == NULL)
                    return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
                char *e;
                double v = strtod(buf, &e);
                if (e == buf || *e != '\0' || !(v >= 0.0 && v <= 1.0))
                    return col_err(r, err, c, "label '%.60s' is not a number in [0, 1]", buf);
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
                          (long long)r->lineno + 1, errno ? strerror(errno) : "unknown error");
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
        ember_chomp(r->line);
        char *p = r->line;
        if (r->cur_line == 1 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
            (unsigned char)p[2] == 0xbf)
            memmove(p, p + 3, strlen(p + 3) + 1); /* a UTF-8 byte order mark */
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\0') continue;
        if (r->s->format == EMBER_FORMAT_ARFF && *p == '%') continue;
        if (r->keep != NULL && !r->keep(r->keep_user, r->cur_line)) continue; /* not parsed */
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
