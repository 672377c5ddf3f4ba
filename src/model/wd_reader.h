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

#include "wd_util.h"

#include <stdint.h>
#include <stdio.h>

typedef enum ember_data_format {
    EMBER_FORMAT_CSV = 0,    /* delimited text; columns given by a schema string */
    EMBER_FORMAT_ADULT = 1,  /* UCI Adult: ", " separated, header line, '?' missing */
    EMBER_FORMAT_CRITEO = 2, /* label, 13 integers, 26 hex categoricals; tab separated */
    EMBER_FORMAT_ARFF = 3    /* Weka ARFF; the header gives the schema */
} ember_data_format;

/* "csv", "adult", "criteo", "arff" (tsv parses as csv with a tab delimiter). */
ember_status ember_format_parse(const char *name, ember_data_format *fmt, char *delim);
const char *ember_format_name(ember_data_format fmt);

typedef enum ember_col_kind {
    EMBER_COL_IGNORE = 0,
    EMBER_COL_LABEL = 1,
    EMBER_COL_NUMERIC = 2,
    EMBER_COL_CATEGORICAL = 3,
    EMBER_COL_MULTI = 4 /* several categorical values in one column, split by `sep` */
} ember_col_kind;

#define EMBER_NAME_MAX 64
#define EMBER_MAX_COLUMNS 4096

typedef struct ember_column {
    char name[EMBER_NAME_MAX];
    ember_col_kind kind;
    char sep; /* MULTI only */
} ember_column;

typedef struct ember_schema {
    ember_data_format format;
    int ncols;
    ember_column *cols;
    int label_col; /* index of the one LABEL column */
    char delim;    /* ',' or '\t' */
    int header;    /* the first line names the columns (skipped) */
    /* The label: when label_values is non-empty the label column must hold one of them
     * (with positive_prefix: start with one of them), and the example is positive when it
     * equals (starts with) `positive`. Otherwise the label is a number in [0, 1]. */
    char positive[EMBER_NAME_MAX];
    int positive_prefix;
    int n_label_values;
    char (*label_values)[EMBER_NAME_MAX];
} ember_schema;

/* The fixed schemas of ADULT and CRITEO; CSV and ARFF get theirs elsewhere. */
ember_status ember_schema_preset(ember_data_format fmt, ember_schema **out, ember_model_err *err);
/* A CSV schema from a spec: comma-separated columns, each KIND or NAME:KIND, KIND one of
 * label, num, cat, multi (multi takes its separator after another colon: tags:multi:|),
 * ignore. Example: "label,num,num,country:cat,tags:multi:|,ignore". `positive` (may be
 * NULL or "") makes the label positive when it equals that string. */
ember_status ember_schema_from_spec(const char *spec, char delim, int header, const char *positive,
                                    ember_schema **out, ember_model_err *err);
/* Reads the header of an ARFF file into a schema: nominal attributes become categorical,
 * numeric/real/integer numeric, string categorical; the label is the attribute named
 * "class", else the last nominal one. Positive class: `positive` when given, else the second
 * declared value of the label attribute. */
ember_status ember_schema_from_arff(const char *path, const char *positive, ember_schema **out,
                                    ember_model_err *err);
ember_status ember_schema_copy(const ember_schema *s, ember_schema **out);
void ember_schema_free(ember_schema *s);
/* Same columns (names, kinds), label rule and delimiter. */
int ember_schema_equal(const ember_schema *a, const ember_schema *b);
/* The index of the column named `name`, or -1. */
int ember_schema_find(const ember_schema *s, const char *name);

/* A one-line text form of a schema (for checkpoint metadata) and back. The string is
 * malloc'ed. */
char *ember_schema_serialize(const ember_schema *s);
ember_status ember_schema_deserialize(const char *text, ember_schema **out, ember_model_err *err);

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
const char *ember_reader_path(const ember_reader *r);
void ember_reader_close(ember_reader *r);

#endif /* EMBER_MODEL_READER_H */
