/* wd_reader.h: streaming readers of labelled tabular data (CSV/TSV with a schema, the UCI Adult
 * and Criteo presets, Weka ARFF). A file is read one line at a time, never loaded whole.
 *
 *   ember_schema *s; ember_reader *r; ember_row row; int eof;
 *   ember_schema_preset(EMBER_FORMAT_ADULT, &s, &err);
 *   ember_reader_open(&r, "adult.data", s, &err);      // ARFF: schema from the file header
 *   while (ember_reader_next(r, &row, &eof, &err) == EMBER_STATUS_SUCCESS && !eof) ...
 *   ember_reader_close(r); ember_schema_free(s);
 *
 * A malformed line gives EMBER_STATUS_BAD_DATA and a message "FILE:LINE: column C (NAME):
 * reason". With skip_bad set, ember_reader_next skips such lines and counts them instead. */
#ifndef EMBER_MODEL_READER_H
#define EMBER_MODEL_READER_H

#include "wd_schema.h"

#include <stdint.h>
#include <stdio.h>

/* One parsed line: per column a token (not NUL-terminated; valid until the next call),
 * whether it is missing, its number when the column is numeric, and the label. */
typedef struct ember_row {
    int64_t line; /* 1-based line number in the file */
    int ncols;
    const char **tok;
    int *len;
    unsigned char *missing;
    double *num;
    float label;
} ember_row;

typedef struct ember_reader ember_reader;

/* Opens `path` for reading with `schema` (copied). For ARFF files the header is read and
 * checked against the schema. */
ember_status ember_reader_open(ember_reader **out, const char *path, const ember_schema *schema,
                               ember_model_err *err);
/* skip_bad: malformed lines are skipped and counted instead of failing. */
void ember_reader_set_skip_bad(ember_reader *r, int skip_bad);
/* label_optional: a missing label ('?' or empty) is no error; the row's label is NaN (for
 * scoring unlabelled data). */
void ember_reader_set_label_optional(ember_reader *r, int optional);
/* A filter on the data lines (not blank, not ARFF comments), called with each one's line
 * number in the order they are returned (after the shuffle buffer) before it is parsed:
 * lines it refuses are skipped unparsed (neither returned nor counted as bad). The ranks of
 * `mpirun ember train` each parse only their share so. NULL removes it. */
void ember_reader_set_filter(ember_reader *r, int (*keep)(void *user, int64_t line), void *user);
/* Shuffle buffer: with buffer_lines > 1 the reader keeps that many lines in memory and
 * returns a random one of them (the generator seeded with `seed`), refilling from the file:
 * files sorted by label or time train much better so. 0 or 1 turns it off. Rows keep their
 * own line numbers for messages. Takes effect from the current position (rewind first). */
ember_status ember_reader_set_shuffle(ember_reader *r, int buffer_lines, uint64_t seed);
/* Reads the next data line into *row (*eof = 1 at the end of the file). */
ember_status ember_reader_next(ember_reader *r, ember_row *row, int *eof, ember_model_err *err);
/* Back to the first data line (a new pass). */
ember_status ember_reader_rewind(ember_reader *r, ember_model_err *err);
/* Lines skipped as malformed in this pass (since open or the last rewind), and the message
 * of the first one ever skipped. */
int64_t ember_reader_skipped(const ember_reader *r);
const char *ember_reader_first_skip(const ember_reader *r);
void ember_reader_close(ember_reader *r);

#endif /* EMBER_MODEL_READER_H */
