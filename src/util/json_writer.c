/* util/json_writer.c: commas, escapes and numbers for every JSON ember writes. */
#include "util/json_writer.h"

#include "util/utf8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ember_json_init(ember_json *j, FILE *f) {
    memset(j, 0, sizeof *j);
    j->f = f;
}

/* Before any value or key: the comma that separates it from the previous item. */
static void separate(ember_json *j) {
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth > 0 && j->depth <= EMBER_JSON_MAX_DEPTH) {
        if (j->has_items[j->depth - 1]) fputc(',', j->f);
        j->has_items[j->depth - 1] = 1;
    }
}

static void open_level(ember_json *j, char c) {
    separate(j);
    fputc(c, j->f);
    j->depth++;
    if (j->depth <= EMBER_JSON_MAX_DEPTH) j->has_items[j->depth - 1] = 0;
}

static void close_level(ember_json *j, char c) {
    if (j->depth > 0) j->depth--;
    j->after_key = 0;
    fputc(c, j->f);
}

void ember_json_begin_object(ember_json *j) {
    open_level(j, '{');
}
void ember_json_end_object(ember_json *j) {
    close_level(j, '}');
}
void ember_json_begin_array(ember_json *j) {
    open_level(j, '[');
}
void ember_json_end_array(ember_json *j) {
    close_level(j, ']');
}

void ember_json_write_string(FILE *f, const char *s) {
    const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
    size_t left = strlen((const char *)p);
    fputc('"', f);
    while (left > 0) {
        size_t len = ember_utf8_char(p, left);
        if (len == 0) {
            fputs("\\ufffd", f); /* not UTF-8: the replacement character */
            len = 1;
        } else if (*p == '"' || *p == '\\') {
            fprintf(f, "\\%c", *p);
        } else if (*p < 0x20) {
            fprintf(f, "\\u%04x", *p);
        } else {
            fwrite(p, 1, len, f);
        }
        p += len;
        left -= len;
    }
    fputc('"', f);
}

void ember_json_key(ember_json *j, const char *key) {
    separate(j);
    ember_json_write_string(j->f, key);
    fputc(':', j->f);
    j->after_key = 1;
}

void ember_json_string(ember_json *j, const char *s) {
    separate(j);
    ember_json_write_string(j->f, s);
}

void ember_json_number(ember_json *j, double v) {
    separate(j);
    if (!isfinite(v)) {
        fputs("null", j->f);
        return;
    }
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, j->f);
}

void ember_json_int(ember_json *j, long long v) {
    separate(j);
    fprintf(j->f, "%lld", v);
}

void ember_json_uint(ember_json *j, unsigned long long v) {
    separate(j);
    fprintf(j->f, "%llu", v);
}

void ember_json_bool(ember_json *j, int v) {
    separate(j);
    fputs(v ? "true" : "false", j->f);
}

void ember_json_null(ember_json *j) {
    separate(j);
    fputs("null", j->f);
}

void ember_json_key_string(ember_json *j, const char *key, const char *s) {
    ember_json_key(j, key);
    ember_json_string(j, s);
}
void ember_json_key_number(ember_json *j, const char *key, double v) {
    ember_json_key(j, key);
    ember_json_number(j, v);
}
void ember_json_key_int(ember_json *j, const char *key, long long v) {
    ember_json_key(j, key);
    ember_json_int(j, v);
}
void ember_json_key_uint(ember_json *j, const char *key, unsigned long long v) {
    ember_json_key(j, key);
    ember_json_uint(j, v);
}
void ember_json_key_bool(ember_json *j, const char *key, int v) {
    ember_json_key(j, key);
    ember_json_bool(j, v);
}
