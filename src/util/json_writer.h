/* util/json_writer.h: the tree's one JSON writer: `--json` output of every subcommand, the
 * `encode` description, the safetensors header and the schema in checkpoint metadata. It
 * places the commas, escapes strings (quote, backslash, control characters as \u00XX; UTF-8
 * passes through, and each byte that is not part of a UTF-8 character becomes \ufffd, the
 * replacement character, as Python's errors="replace" does, so the output is valid JSON
 * whatever a string holds; names that are not UTF-8 are refused before they get here, see
 * util/utf8.h) and prints every number the same way: integers exactly, other numbers with
 * the fewest of 15, 16 or 17 significant digits that read back to the same double, and NaN
 * or infinity as null (JSON has neither).
 *
 *   ember_json j;
 *   ember_json_init(&j, stdout);
 *   ember_json_begin_object(&j);
 *   ember_json_key_number(&j, "auc", 0.91);
 *   ember_json_key(&j, "tables");
 *   ember_json_begin_array(&j);  ...  ember_json_end_array(&j);
 *   ember_json_end_object(&j);   // {"auc":0.91,"tables":[...]}
 *
 * Output is compact (no spaces); nesting deeper than EMBER_JSON_MAX_DEPTH is a bug in the
 * caller and is not checked beyond not writing out of bounds. */
#ifndef EMBER_UTIL_JSON_WRITER_H
#define EMBER_UTIL_JSON_WRITER_H

#include <stdio.h>

#define EMBER_JSON_MAX_DEPTH 32

typedef struct ember_json {
    FILE *f;
    int depth;
    int after_key; /* a key was written; its value comes next, without a comma */
    unsigned char has_items[EMBER_JSON_MAX_DEPTH];
} ember_json;

void ember_json_init(ember_json *j, FILE *f);

void ember_json_begin_object(ember_json *j);
void ember_json_end_object(ember_json *j);
void ember_json_begin_array(ember_json *j);
void ember_json_end_array(ember_json *j);
/* An object member's key; the next value written is its value. */
void ember_json_key(ember_json *j, const char *key);

/* Values (array items, or the value after a key). */
void ember_json_string(ember_json *j, const char *s); /* NULL writes "" */
void ember_json_number(ember_json *j, double v);
void ember_json_int(ember_json *j, long long v);
void ember_json_uint(ember_json *j, unsigned long long v); /* seeds: all 64 bits */
void ember_json_bool(ember_json *j, int v);
void ember_json_null(ember_json *j);

/* Key and value in one call. */
void ember_json_key_string(ember_json *j, const char *key, const char *s);
void ember_json_key_number(ember_json *j, const char *key, double v);
void ember_json_key_int(ember_json *j, const char *key, long long v);
void ember_json_key_uint(ember_json *j, const char *key, unsigned long long v);
void ember_json_key_bool(ember_json *j, const char *key, int v);

/* Writes s as a quoted JSON string straight to f (for callers that build no document). */
void ember_json_write_string(FILE *f, const char *s);

#endif /* EMBER_UTIL_JSON_WRITER_H */
