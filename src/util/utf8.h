/* util/utf8.h: whether text is UTF-8. JSON text is UTF-8 (RFC 8259), so every string ember
 * writes into JSON (a checkpoint's header, `--json` output) is checked with these: the
 * schema refuses names that are not UTF-8 (wd_schema.c), the JSON reader refuses strings
 * that are not, and the JSON writer never emits a byte sequence that is not. */
#ifndef EMBER_UTIL_UTF8_H
#define EMBER_UTIL_UTF8_H

#include <stddef.h>

/* The length of the UTF-8 character s starts with (1 to 4 bytes, of the n there are), or 0
 * when s does not start one (RFC 3629: a stray continuation byte, a truncated sequence, an
 * overlong form, a surrogate U+D800-DFFF, a value above U+10FFFF). */
size_t ember_utf8_char(const unsigned char *s, size_t n);

/* 1 when the C string s is UTF-8 throughout, else 0. */
int ember_utf8_valid(const char *s);

/* Where to cut text that is too long for its field: n, moved back to the start of the
 * character it would split when the byte after the cut (`next`) continues a character.
 * s[0..n) are the bytes kept so far. */
size_t ember_utf8_cut(const char *s, size_t n, unsigned char next);

#endif /* EMBER_UTIL_UTF8_H */
