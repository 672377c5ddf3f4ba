/* util/json_reader.c: strict, bounds-checked JSON tokens. */
#include "util/json_reader.h"

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

char *ember_json_read_string(ember_json_reader *j) {
    ember_json_skip_space(j);
    if (j->p >= j->end || *j->p != '"') return NULL;
    j->p++;
    size_t cap = 32, n = 0;
    char *out = malloc(cap);
    if (out == NULL) return NULL;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        char enc[4];
        size_t en = 1;
        if (c == '\\') {
            if (j->p >= j->end) goto bad;
            char e = *j->p++;
            switch (e) {
            case '"':
                enc[0] = '"';
                break;
            case '\\':
                enc[0] = '\\';
                break;
            case '/':
                enc[0] = '/';
                break;
            case 'b':
                enc[0] = '\b';
                break;
            case 'f':
                enc[0] = '\f';
                break;
            case 'n':
                enc[0] = '\n';
                break;
            case 'r':
                enc[0] = '\r';
                break;
            case 't':
                enc[0] = '\t';
                break;
            case 'u': {
                if (j->end - j->p < 4) goto bad;
                unsigned v = 0;
                for (int k = 0; k < 4; k++) {
                    char h = j->p[k];
                    v <<= 4;
                    if (h >= '0' && h <= '9')
                        v |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f')
                        v |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F')
                        v |= (unsigned)(h - 'A' + 10);
                    else
                        goto bad;
                }
                j->p += 4;
                if (v == 0) goto bad; /* no NUL inside C strings */
                if (v < 0x80) {
                    enc[0] = (char)v;
                } else if (v < 0x800) {
                    enc[0] = (char)(0xc0 | (v >> 6));
                    enc[1] = (char)(0x80 | (v & 0x3f));
                    en = 2;
                } else {
                    enc[0] = (char)(0xe0 | (v >> 12));
                    enc[1] = (char)(0x80 | ((v >> 6) & 0x3f));
                    enc[2] = (char)(0x80 | (v & 0x3f));
                    en = 3;
                }
                break;
            }
            default:
                goto bad;
            }
        } else if (c < 0x20) {
            goto bad;
        } else {
            enc[0] = (char)c;
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
