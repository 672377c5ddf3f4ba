/* wd_arff.h: reading the header of a Weka ARFF file (up to @data), shared by
 * ember_schema_from_arff and the reader, which checks a data file's header against its
 * schema. */
#ifndef EMBER_MODEL_ARFF_H
#define EMBER_MODEL_ARFF_H

#include "wd_schema.h"

#include <stdio.h>

typedef struct ember_arff_attr {
    char name[EMBER_NAME_MAX];
    ember_col_kind kind;
    int nominal;
    int nvalues;
    char (*values)[EMBER_NAME_MAX];
} ember_arff_attr;

/* Parses the header up to @data. On success *attrs_out (free with ember_arff_attrs_free)
 * and *nattrs_out hold the attributes and f is positioned at the first data line; *lineno
 * counts the lines read. */
ember_status ember_arff_read_header(FILE *f, const char *path, ember_arff_attr **attrs_out,
                                    int *nattrs_out, int64_t *lineno, ember_model_err *err);
void ember_arff_attrs_free(ember_arff_attr *a, int n);

#endif /* EMBER_MODEL_ARFF_H */
