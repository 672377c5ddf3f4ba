/* util/json_reader.c: strict, bounds-checked JSON tokens. */
#include "util/json_reader.h"

#include "util/utf8.h"

#include <stdlib.h>
#include <string.h>

void ember_json_reader_init(ember_json_reader *j, const char *text, size_t len) {
    j->p = j->start = text;
    j->end = text + len;
}

void ember_json_skip_space(ember_json_reader *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

int ember_json_eat(ember_json_reader *j, char c) {
    ember_json_skip_space(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return 1;
    }
    return 0;
}

int ember_json_read_bool(ember_json_reader *j, int *v) {
    ember_json_skip_space(j);
    size_t left = (size_t)(j->end - j->p);
    if (left >= 4 && memcmp(j->p, "true", 4) == 0) {
        j->p += 4;
        *v = 1;
        return 1;
    }
    if (left >= 5 && memcmp(j->p, "false", 5) == 0) {
        j->p += 5;
        *v = 0;
        return 1;
    }
    return 0;
}

int ember_json_reader_at_end(ember_json_reader *j) {
    ember_json_skip_space(j);
    return j->p == j->end;
}

long long ember_json_reader_offset(const ember_json_reader *j) {
    return (long long)(j->p - j->start);
}

/* Four hex digits of a \u escape: 1 when read (into *v), else 0. */
static int read_hex4(ember_json_reader *j, unsigned *v) {
    if (j->end - j->p < 4) return 0;
    *v = 0;
    for (int k = 0; k < 4; k++) {
        char h = j->p[k];
        *v <<= 4;
        if (h >= '0' && h <= '9')
            *v |= (unsigned)(h - '0');
        else if (h >= 'a' && h <= 'f')
            *v |= (unsigned)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F')
            *v |= (unsigned)(h - 'A' + 10);
        else
            return 0;
    }
    j->p += 4;
    return 1;
}

/* The escape after a backslash, as UTF-8 into enc: its length, or 0 when it is malformed (a
 * surrogate must come in a pair, high then low, as JSON writes a character above U+FFFF; a
 * NUL cannot be in a C string). */
static size_t read_escape(ember_json_reader *j, char enc[4]) {
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (j->p >= j->end) return 0;
    char e = *j->p++;
    const char *hit = e != '\0' ? strchr(from, e) : NULL;
    if (hit != NULL) {
        enc[0] = to[hit - from];
        return 1;
    }
    unsigned v, low;
    if (e != 'u' || !read_hex4(j, &v) || v == 0 || (v >= 0xdc00 && v <= 0xdfff)) return 0;
    if (v >= 0xd800 && v <= 0xdbff) {
        if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u') return 0;
        j->p += 2;
        if (!read_hex4(j, &low) || low < 0xdc00 || low > 0xdfff) return 0;
        v = 0x10000 + ((v - 0xd800) << 10) + (low - 0xdc00);
    }
    if (v < 0x80) {
        enc[0] = (char)v;
        return 1;
    }
    if (v < 0x800) {
        enc[0] = (char)(0xc0 | (v >> 6));
        enc[1] = (char)(0x80 | (v & 0x3f));
        return 2;
    }
    if (v < 0x10000) {
        enc[0] = (char)(0xe0 | (v >> 12));
        enc[1] = (char)(0x80 | ((v >> 6) & 0x3f));
        enc[2] = (char)(0x80 | (v & 0x3f));
        return 3;
    }
    enc[0] = (char)(0xf0 | (v >> 18));
    enc[1] = (char)(0x80 | ((v >> 12) & 0x3f));
    enc[2] = (char)(0x80 | ((v >> 6) & 0x3f));
    enc[3] = (char)(0x80 | (v & 0x3f));
    return 4;
}

char *ember_json_read_string(ember_json_reader *j) {
    ember_json_skip_space(j);
    if (j->p >= j->end || *j->p != '"') return NULL;
    j->p++;
    size_t cap = 32, n = 0;
    char *out = malloc(cap);
    if (out == NULL) return NULL;
    while (j->p < j->end && *j->p != '"') {
        const unsigned char *at = (const unsigned char *)j->p;
        char enc[4];
        size_t en;
        if (*at == '\\') {
            j->p++;
            if ((en = read_escape(j, enc)) == 0) goto bad;
        } else {
            /* a control character must be escaped; other bytes must be UTF-8 */
            en = *at < 0x20 ? 0 : ember_utf8_char(at, (size_t)(j->end - j->p));
            if (en == 0) goto bad;
            memcpy(enc, at, en);
            j->p += en;
        }
        if (n + en + 1 > cap) {
            cap *= 2;
            char *q = realloc(out, cap);
            if (q == NULL) goto bad;
            out = q;
        }
        memcpy(out + n, enc, en);
        n += en;
    }
    if (j->p >= j->end) goto bad;
    j->p++;
    out[n] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

int ember_json_read_uint(ember_json_reader *j, uint64_t *v) {
    ember_json_skip_space(j);
    uint64_t x = 0;
    int digits = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        if (x > (1ull << 53)) return 0;
        x = x * 10 + (uint64_t)(*j->p - '0');
        j->p++;
        digits++;
    }
    *v = x;
    return digits > 0 && x <= (1ull << 53);
}
