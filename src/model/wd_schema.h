/* wd_schema.h: what the columns of a data file are: the formats ember reads, the schema
 * (each column's name and kind, the label rule, the delimiter) and where it comes from (a
 * preset, a CSV spec, an ARFF header, a checkpoint). */
#ifndef EMBER_MODEL_SCHEMA_H
#define EMBER_MODEL_SCHEMA_H

#include "wd_util.h"

#include <stddef.h>

typedef enum ember_data_format {
    EMBER_FORMAT_CSV = 0,    /* delimited text; columns given by a schema string */
    EMBER_FORMAT_ADULT = 1,  /* UCI Adult: ", " separated, '?' missing; a first line that
                                is not data (a header) is skipped */
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
    char sep;     /* MULTI only */
    char unnamed; /* a spec gave no name (it is cN): a CSV header line may name it */
} ember_column;

typedef struct ember_schema {
    ember_data_format format;
    int ncols;
    ember_column *cols;
    int label_col; /* index of the one LABEL column */
    char delim;    /* ',' or '\t' */
    int header;    /* the first line names the columns (skipped; ADULT: unless it is data) */
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
/* With a header line (CSV, s->header), the file's first line names the columns the spec left
 * unnamed, as pandas.read_csv takes names from a header: split like the data lines, it must
 * have the schema's number of columns (BAD_DATA "path:1: ..." otherwise); an empty name
 * keeps cN; the names must then be UTF-8, unique and at most 63 bytes. A pipe or device is
 * not read (its first line would be lost to the reader): with unnamed columns it is
 * INVALID_ARGUMENT. Otherwise (all named, not CSV, no header) nothing changes. */
ember_status ember_schema_names_from_header(ember_schema *s, const char *path,
                                            ember_model_err *err);
/* Checks a CSV header line, split into s->ncols tokens (tok[i], len[i] bytes), against the
 * columns s reads by position: a token that is another column's name (the same columns in
 * another order, say two swapped) is BAD_DATA naming `where`, both positions and the order
 * expected, rather than one column's values silently reaching another's features. Tokens
 * that name no column of s pass: a spec may rename the columns of a file's header, as
 * pandas.read_csv(names=..., header=0) does, and those are read by position. */
ember_status ember_schema_check_header_order(const ember_schema *s, const char *const *tok,
                                             const int *len, const char *where,
                                             ember_model_err *err);
/* Reads the header of an ARFF file into a schema: nominal attributes become categorical,
 * numeric/real/integer numeric, string categorical. The label is the attribute named
 * `label` (NULL or "": the one named "class", else the last one, Weka's convention); it
 * must be nominal, with two declared classes or, when `positive` names one, more (that
 * class against the rest); otherwise BAD_DATA says how to choose. Positive class:
 * `positive` when given, else the second declared value. */
ember_status ember_schema_from_arff(const char *path, const char *label, const char *positive,
                                    ember_schema **out, ember_model_err *err);
ember_status ember_schema_copy(const ember_schema *s, ember_schema **out);
void ember_schema_free(ember_schema *s);
/* Same columns (names, kinds), label rule and delimiter. */
int ember_schema_equal(const ember_schema *a, const ember_schema *b);
/* The columns of s sorted by name (equal names by position), malloc'ed; NULL when out of
 * memory. Sorted, not compared pairwise: a checkpoint may hold thousands of columns. */
const ember_column **ember_schema_by_name(const ember_schema *s);
/* The index of the column named `name`, or -1. */
int ember_schema_find(const ember_schema *s, const char *name);

/* The schema as checkpoint metadata holds it (docs/formats.md): a JSON object, malloc'ed;
 * NULL when out of memory. */
char *ember_schema_to_json(const ember_schema *s);
/* Reads the checkpoint form back: the JSON object, or the percent-escaped text form of
 * checkpoints written before the JSON one ("format=...;delim=...;cols=..."). A malformed
 * text gives CORRUPT_FILE naming what is wrong. */
ember_status ember_schema_from_checkpoint(const char *text, ember_schema **out,
                                          ember_model_err *err);

/* The percent-escaped text form of older checkpoints (wd_schema_legacy.c). */
ember_status ember_schema_from_legacy_text(const char *text, ember_schema **out,
                                           ember_model_err *err);

/* For the schema's producers (presets, specs, ARFF headers, the checkpoint form): a
 * schema of ncols zeroed columns (no label yet, ',' delimiter); NULL when out of memory. */
ember_schema *ember_schema_new(ember_data_format fmt, int ncols);
/* Room for n label values (the old ones dropped). */
ember_status ember_schema_set_label_values(ember_schema *s, int n);
/* Copies the n bytes of src into a name field; -1 (dst untouched) when they do not fit
 * (n >= EMBER_NAME_MAX). Never cut: two long values sharing a prefix would become one, so the
 * caller refuses the name with an error that says where it came from. */
int ember_schema_copy_name(char *dst, const char *src, size_t n);
/* The rule for a schema's text, checked by every producer above. Each column name, label
 * value and the positive class is UTF-8, and the delimiter and multi separators (single
 * bytes) are ASCII: they all go into the checkpoint's JSON header, and JSON text is UTF-8.
 * No two columns share a name (a name keys its column's tensors in the checkpoint,
 * `--cross` and `--field-buckets`). Otherwise `bad`, with a message that starts with
 * `where` and gives the column numbers (from 1). */
ember_status ember_schema_check_text(const ember_schema *s, ember_status bad, const char *where,
                                     ember_model_err *err);

#endif /* EMBER_MODEL_SCHEMA_H */
