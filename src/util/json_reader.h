/* util/json_reader.h: the pieces of a strict JSON reader that the safetensors header and the
 * checkpoint's schema are read with. Every call checks the end of the text, so a truncated
 * or hostile input fails cleanly; numbers are whole and at most 2^53 (sizes and offsets);
 * strings may not hold NUL (they become C strings) and must be UTF-8 (RFC 8259: raw bytes
 * that are not, and a \u surrogate without its pair, are malformed), so a string read here
 * is UTF-8 and writes back as the same JSON. The caller builds the grammar from
 * these and reports its own errors, using ember_json_reader_offset for the position. */
#ifndef EMBER_UTIL_JSON_READER_H
#define EMBER_UTIL_JSON_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct ember_json_reader {
    const char *p, *end, *start;
} ember_json_reader;

void ember_json_reader_init(ember_json_reader *j, const char *text, size_t len);
void ember_json_skip_space(ember_json_reader *j);
/* Skips white space, then consumes c when it comes next: 1 when it did, else 0. */
int ember_json_eat(ember_json_reader *j, char c);
/* A string value (escapes decoded; \u escapes, surrogate pairs included, as UTF-8),
 * malloc'ed; NULL when it is malformed or memory runs out. */
char *ember_json_read_string(ember_json_reader *j);
/* A whole number in [0, 2^53]: 1 when read, else 0. */
int ember_json_read_uint(ember_json_reader *j, uint64_t *v);
/* true or false: 1 when read (into *v), else 0. */
int ember_json_read_bool(ember_json_reader *j, int *v);
/* 1 when only white space is left. */
int ember_json_reader_at_end(ember_json_reader *j);
/* Bytes consumed so far (for messages). */
long long ember_json_reader_offset(const ember_json_reader *j);

#endif /* EMBER_UTIL_JSON_READER_H */
