/* wd_schema_json.c: the schema as checkpoints store it, a JSON object (docs/formats.md):
 *
 *   {"format":"csv","delimiter":",","header":false,"positive":"1","positive_prefix":false,
 *    "label_values":[],"columns":[{"name":"y","kind":"label"},{"name":"tags","kind":"multi",
 *    "separator":"|"},...]}
 *
 * Reading is strict: every key above must appear once, no other key may, and a column's
 * name must fit EMBER_NAME_MAX (an empty one is allowed: an ARFF file can declare it), and
 * the text follows ember_schema_check_text (UTF-8, no two columns alike); whatever is
 * wrong is named in the CORRUPT_FILE message. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "wd_schema.h"

#include "util/json_reader.h"
#include "util/json_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"ignore", "label", "num", "cat", "multi"};
#define NKINDS ((int)(sizeof kind_names / sizeof kind_names[0]))

char *ember_schema_to_json(const ember_schema *s) {
    char *buf = NULL;
    size_t n = 0;
    FILE *mf = open_memstream(&buf, &n);
    if (mf == NULL) return NULL;
    char one[2] = {s->delim, '\0'};
    ember_json j;
    ember_json_init(&j, mf);
    ember_json_begin_object(&j);
    ember_json_key_string(&j, "format", ember_format_name(s->format));
    ember_json_key_string(&j, "delimiter", one);
    ember_json_key_bool(&j, "header", s->header);
    ember_json_key_string(&j, "positive", s->positive);
    ember_json_key_bool(&j, "positive_prefix", s->positive_prefix);
    ember_json_key(&j, "label_values");
    ember_json_begin_array(&j);
    for (int i = 0; i < s->n_label_values; i++) ember_json_string(&j, s->label_values[i]);
    ember_json_end_array(&j);
    ember_json_key(&j, "columns");
    ember_json_begin_array(&j);
    for (int i = 0; i < s->ncols; i++) {
        const ember_column *c = &s->cols[i];
        ember_json_begin_object(&j);
        ember_json_key_string(&j, "name", c->name);
        ember_json_key_string(&j, "kind", kind_names[c->kind]);
        if (c->kind == EMBER_COL_MULTI) {
            one[0] = c->sep;
            ember_json_key_string(&j, "separator", one);
        }
        ember_json_end_object(&j);
    }
    ember_json_end_array(&j);
    ember_json_end_object(&j);
    int bad = ferror(mf);
    if (fclose(mf) != 0 || bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* What the parse has gathered before the schema is built. */
typedef struct schema_parts {
    ember_schema head; /* format, delim, header, positive, positive_prefix */
    int seen;          /* bit per top-level key */
    int ncols, capcols;
    ember_column *cols;
    int nlabels, caplabels;
    char (*labels)[EMBER_NAME_MAX];
} schema_parts;

typedef struct parser {
    ember_json_reader r;
    ember_model_err *err;
} parser;

static ember_status bad(parser *p, const char *what) {
    return ember_merr(p->err, EMBER_STATUS_CORRUPT_FILE, "schema JSON: %s at byte %lld", what,
                      ember_json_reader_offset(&p->r));
}

/* A string that fits a name field (1 <= length < cap unless empty_ok). */
static ember_status read_name(parser *p, char *dst, size_t cap, int empty_ok, const char *what) {
    char *v = ember_json_read_string(&p->r);
    if (v == NULL) return bad(p, what);
    size_t n = strlen(v);
    int ok = n < cap && (empty_ok || n > 0);
    if (ok) memcpy(dst, v, n + 1);
    free(v);
    return ok ? EMBER_STATUS_SUCCESS : bad(p, what);
}

static ember_status read_char(parser *p, char *dst, const char *what) {
    char one[2];
    EMBER_FORWARD_IF_ERROR(read_name(p, one, sizeof one, 0, what));
    *dst = one[0];
    return EMBER_STATUS_SUCCESS;
}

static ember_status read_bool(parser *p, int *dst, const char *what) {
    return ember_json_read_bool(&p->r, dst) ? EMBER_STATUS_SUCCESS : bad(p, what);
}

static ember_status read_column(parser *p, ember_column *c) {
    char kind[16] = "";
    int have_name = 0, have_sep = 0;
    if (!ember_json_eat(&p->r, '{')) return bad(p, "a column is not an object");
    do {
        char key[16];
        EMBER_FORWARD_IF_ERROR(read_name(p, key, sizeof key, 0, "bad key in a column"));
        if (!ember_json_eat(&p->r, ':')) return bad(p, "expected ':' in a column");
        if (strcmp(key, "name") == 0 && !have_name) {
            EMBER_FORWARD_IF_ERROR(read_name(p, c->name, sizeof c->name, 1, "bad column name"));
            have_name = 1;
        } else if (strcmp(key, "kind") == 0 && !kind[0]) {
            EMBER_FORWARD_IF_ERROR(read_name(p, kind, sizeof kind, 0, "bad column kind"));
        } else if (strcmp(key, "separator") == 0 && !have_sep) {
            EMBER_FORWARD_IF_ERROR(read_char(p, &c->sep, "separator is not one character"));
            have_sep = 1;
        } else {
            return bad(p, "unknown or repeated key in a column");
        }
    } while (ember_json_eat(&p->r, ','));
    if (!ember_json_eat(&p->r, '}')) return bad(p, "expected ',' or '}' in a column");
    int k = 0;
    while (k < NKINDS && strcmp(kind, kind_names[k]) != 0) k++;
    if (!have_name || k == NKINDS) return bad(p, "a column lacks its name or a known kind");
    if ((k == EMBER_COL_MULTI) != have_sep) return bad(p, "separator given without multi");
    c->kind = (ember_col_kind)k;
    return EMBER_STATUS_SUCCESS;
}

/* Grows a parts array (cols or labels) by one element of `size` bytes. */
static ember_status grow(parser *p, void **arr, int *cap, int n, size_t size) {
    if (n < *cap) return EMBER_STATUS_SUCCESS;
    if (n >= EMBER_MAX_COLUMNS) return bad(p, "more than EMBER_MAX_COLUMNS entries");
    int nc = *cap ? 2 * *cap : 16;
    void *q = realloc(*arr, (size_t)nc * size);
    if (q == NULL) return ember_merr(p->err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    *arr = q;
    *cap = nc;
    return EMBER_STATUS_SUCCESS;
}

static ember_status read_array(parser *p, schema_parts *sp, int columns) {
    if (!ember_json_eat(&p->r, '[')) return bad(p, "expected an array");
    if (ember_json_eat(&p->r, ']')) return EMBER_STATUS_SUCCESS;
    do {
        if (columns) {
            void *a = sp->cols;
            EMBER_FORWARD_IF_ERROR(grow(p, &a, &sp->capcols, sp->ncols, sizeof *sp->cols));
            sp->cols = a;
            memset(&sp->cols[sp->ncols], 0, sizeof *sp->cols);
            EMBER_FORWARD_IF_ERROR(read_column(p, &sp->cols[sp->ncols]));
            sp->ncols++;
        } else {
            void *a = sp->labels;
            EMBER_FORWARD_IF_ERROR(grow(p, &a, &sp->caplabels, sp->nlabels, EMBER_NAME_MAX));
            sp->labels = a;
            EMBER_FORWARD_IF_ERROR(
                read_name(p, sp->labels[sp->nlabels], EMBER_NAME_MAX, 1, "bad label value"));
            sp->nlabels++;
        }
    } while (ember_json_eat(&p->r, ','));
    return ember_json_eat(&p->r, ']') ? EMBER_STATUS_SUCCESS : bad(p, "expected ',' or ']'");
}

static const char *const top_keys[] = {"format",          "delimiter",    "header", "positive",
                                       "positive_prefix", "label_values", "columns"};
#define NTOP ((int)(sizeof top_keys / sizeof top_keys[0]))

static ember_status read_member(parser *p, schema_parts *sp, int key) {
    ember_schema *h = &sp->head;
    char fmt[16];
    switch (key) {
    case 0:
        EMBER_FORWARD_IF_ERROR(read_name(p, fmt, sizeof fmt, 0, "bad format"));
        if (ember_format_parse(fmt, &h->format, NULL) != EMBER_STATUS_SUCCESS)
            return bad(p, "unknown format");
        return EMBER_STATUS_SUCCESS;
    case 1:
        return read_char(p, &h->delim, "delimiter is not one character");
    case 2:
        return read_bool(p, &h->header, "header is not true or false");
    case 3:
        return read_name(p, h->positive, sizeof h->positive, 1, "bad positive value");
    case 4:
        return read_bool(p, &h->positive_prefix, "positive_prefix is not true or false");
    case 5:
        return read_array(p, sp, 0);
    default:
        return read_array(p, sp, 1);
    }
}

/* Builds the schema from its parts: one label column, at least one column. */
static ember_status build(parser *p, const schema_parts *sp, ember_schema **out) {
    if (sp->seen != (1 << NTOP) - 1) return bad(p, "a key is missing");
    int label = -1;
    for (int i = 0; i < sp->ncols; i++) {
        if (sp->cols[i].kind != EMBER_COL_LABEL) continue;
        if (label >= 0) return bad(p, "two label columns");
        label = i;
    }
    if (label < 0) return bad(p, "no label column");
    ember_schema *s = ember_schema_new(sp->head.format, sp->ncols);
    if (s == NULL || ember_schema_set_label_values(s, sp->nlabels) != EMBER_STATUS_SUCCESS) {
        ember_schema_free(s);
        return ember_merr(p->err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    memcpy(s->cols, sp->cols, (size_t)sp->ncols * sizeof *s->cols);
    if (sp->nlabels > 0) memcpy(s->label_values, sp->labels, (size_t)sp->nlabels * EMBER_NAME_MAX);
    s->label_col = label;
    s->delim = sp->head.delim;
    s->header = sp->head.header;
    memcpy(s->positive, sp->head.positive, sizeof s->positive);
    s->positive_prefix = sp->head.positive_prefix;
    *out = s;
    return EMBER_STATUS_SUCCESS;
}

static ember_status parse(parser *p, schema_parts *sp, ember_schema **out) {
    if (!ember_json_eat(&p->r, '{')) return bad(p, "expected '{'");
    do {
        char key[24];
        EMBER_FORWARD_IF_ERROR(read_name(p, key, sizeof key, 0, "bad key"));
        if (!ember_json_eat(&p->r, ':')) return bad(p, "expected ':'");
        int k = 0;
        while (k < NTOP && strcmp(key, top_keys[k]) != 0) k++;
        if (k == NTOP || (sp->seen & (1 << k))) return bad(p, "unknown or repeated key");
        sp->seen |= 1 << k;
        EMBER_FORWARD_IF_ERROR(read_member(p, sp, k));
    } while (ember_json_eat(&p->r, ','));
    if (!ember_json_eat(&p->r, '}')) return bad(p, "expected ',' or '}'");
    if (!ember_json_reader_at_end(&p->r)) return bad(p, "text after the object");
    return build(p, sp, out);
}

ember_status ember_schema_from_checkpoint(const char *text, ember_schema **out,
                                          ember_model_err *err) {
    *out = NULL;
    const char *t = text;
    while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r') t++;
    ember_status st;
    if (*t != '{') {
        st = ember_schema_from_legacy_text(text, out, err);
    } else {
        parser p = {{0}, err};
        ember_json_reader_init(&p.r, text, strlen(text));
        schema_parts sp;
        memset(&sp, 0, sizeof sp);
        st = parse(&p, &sp, out);
        free(sp.cols);
        free(sp.labels);
    }
    if (st == EMBER_STATUS_SUCCESS &&
        (st = ember_schema_check_text(*out, EMBER_STATUS_CORRUPT_FILE, "checkpoint schema", err)) !=
            EMBER_STATUS_SUCCESS) {
        ember_schema_free(*out);
        *out = NULL;
    }
    return st;
}
