/* util/utf8.c: the UTF-8 well-formedness rules of RFC 3629 (its table of valid sequences). */
#include "util/utf8.h"

static int continuation(unsigned char c) {
    return (c & 0xc0) == 0x80;
}

size_t ember_utf8_char(const unsigned char *s, size_t n) {
    if (n == 0) return 0;
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0; /* not overlong */
        if (c == 0xed) hi = 0x9f; /* not a surrogate */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90; /* not overlong */
        if (c == 0xf4) hi = 0x8f; /* not above U+10FFFF */
    } else {
        return 0; /* a continuation byte, an overlong 0xc0/0xc1 lead, or 0xf5-0xff */
    }
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if (!continuation(s[k])) return 0;
    return len;
}

int ember_utf8_valid(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (p[n] != '\0') n++;
    while (n > 0) {
        size_t len = ember_utf8_char(p, n);
        if (len == 0) return 0;
        p += len;
        n -= len;
    }
    return 1;
}

size_t ember_utf8_cut(const char *s, size_t n, unsigned char next) {
    if (!continuation(next)) return n;
    while (n > 0 && continuation((unsigned char)s[n - 1])) n--;
    return n > 0 ? n - 1 : 0; /* the lead byte of the split character goes too */
}
