/* wd_schema_header.c: a CSV file's header line names the columns its schema spec left
 * unnamed, as pandas.read_csv(header=0) takes them (the line is split by the reader itself,
 * so quoting and blanks follow the data lines' rules), and must not name them in another
 * order. */
#define _POSIX_C_SOURCE 200809L
#include "wd_reader.h"
#include "wd_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Whether some column still has the name a spec gives a column it does not name. */
static int any_unnamed(const ember_schema *s) {
    for (int i = 0; i < s->ncols; i++)
        if (s->cols[i].unnamed) return 1;
    return 0;
}

/* Reads line 1 of path as one row of s's columns, every one of them ignored (no number or
 * label check): its tokens are the header's names. */
static ember_status read_header_row(const ember_schema *s, const char *path, ember_reader **r,
                                    ember_row *row, int *eof, ember_model_err *err) {
    ember_schema *all = NULL;
    if (ember_schema_copy(s, &all) != EMBER_STATUS_SUCCESS)
        return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    all->header = 0;
    for (int i = 0; i < all->ncols; i++) all->cols[i].kind = EMBER_COL_IGNORE;
    ember_status st = ember_reader_open(r, path, all, err);
    ember_schema_free(all);
    if (st != EMBER_STATUS_SUCCESS) return st;
    st = ember_reader_next(*r, row, eof, err);
    if (st == EMBER_STATUS_BAD_DATA && err != NULL) {
        ember_model_err why = *err;
        ember_merr(err, st, "%s (--header: the first line must name the schema's %d columns)",
                   why.msg, s->ncols);
    }
    return st;
}

ember_status ember_schema_names_from_header(ember_schema *s, const char *path,
                                            ember_model_err *err) {
    if (s->format != EMBER_FORMAT_CSV || !s->header || path == NULL) return EMBER_STATUS_SUCCESS;
    struct stat sb;
    if (stat(path, &sb) == 0 && (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode))) {
        /* a pipe's first line, read here, would be gone for the reader (a directory is
         * refused by the reader, naming it) */
        if (!any_unnamed(s)) return EMBER_STATUS_SUCCESS;
        return ember_merr(err, EMBER_STATUS_INVALID_ARGUMENT,
                          "%s: --header: column names are read from a regular file only; "
                          "name every column in --schema (NAME:KIND)",
                          path);
    }
    ember_reader *r = NULL;
    ember_row row;
    int eof = 0;
    ember_status st = read_header_row(s, path, &r, &row, &eof, err);
    for (int i = 0; st == EMBER_STATUS_SUCCESS && !eof && i < s->ncols; i++) {
        if (!s->cols[i].unnamed || row.len[i] == 0) continue;
        if (ember_schema_copy_name(s->cols[i].name, row.tok[i], (size_t)row.len[i]) != 0)
            st = ember_merr(err, EMBER_STATUS_BAD_DATA,
                            "%s:1: column %d: the header's name '%.20s...' is longer than %d "
                            "bytes",
                            path, i + 1, row.tok[i], EMBER_NAME_MAX - 1);
        s->cols[i].unnamed = 0;
    }
    ember_reader_close(r);
    if (st != EMBER_STATUS_SUCCESS) return st;
    char *where = malloc(strlen(path) + 32);
    if (where == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    sprintf(where, "%s:1 (the header line)", path);
    st = ember_schema_check_text(s, EMBER_STATUS_BAD_DATA, where, err);
    free(where);
    return st;
}

static int name_vs_column(const void *key, const void *col) {
    return strcmp(key, (*(const ember_column *const *)col)->name);
}

ember_status ember_schema_check_header_order(const ember_schema *s, const char *const *tok,
                                             const int *len, const char *where,
                                             ember_model_err *err) {
    const ember_column **order = ember_schema_by_name(s);
    if (order == NULL) return ember_merr(err, EMBER_STATUS_OUT_OF_MEMORY, "out of memory");
    ember_status st = EMBER_STATUS_SUCCESS;
    for (int i = 0; i < s->ncols && st == EMBER_STATUS_SUCCESS; i++) {
        char name[EMBER_NAME_MAX];
        if (len[i] <= 0 || ember_schema_copy_name(name, tok[i], (size_t)len[i]) != 0)
            continue; /* no column has such a name */
        if (strcmp(name, s->cols[i].name) == 0) continue;
        const ember_column *const *hit =
            bsearch(name, order, (size_t)s->ncols, sizeof *order, name_vs_column);
        if (hit == NULL) continue;
        st = ember_merr(err, EMBER_STATUS_BAD_DATA,
                        "%s: column %d is '%s', which the model reads as column %d (its column "
                        "%d is '%s'): the columns must come in the model's order",
                        where, i + 1, name, (int)(*hit - s->cols) + 1, i + 1, s->cols[i].name);
    }
    free(order);
    return st;
}
