/* test_readers.c: every data format parses, malformed lines name file, line, column and
 * reason, --skip-bad skips and counts. */
#include "test_util.h"

#include "wd_features.h"

#include <criterion/criterion.h>
#include <math.h>

static ember_reader *open_with(const char *path, ember_schema *s) {
    ember_reader *r = NULL;
    ember_model_err err = {""};
    ember_status st = ember_reader_open(&r, path, s, &err);
    cr_assert_eq(st, EMBER_STATUS_SUCCESS, "open %s: %s", path, err.msg);
    return r;
}

Test(readers, adult_preset_reads_header_missing_and_labels) {
    const char *p =
        write_temp(0, ".data",
                   "age, workclass, fnlwgt, education, education-num, marital-status, "
                   "occupation, relationship, race, sex, capital-gain, capital-loss, "
                   "hours-per-week, native-country, classification\n"
                   "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, "
                   "Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K\n"
                   "\n"
                   "50, ?, 83311, Bachelors, 13, Married, Exec, Husband, White, Male, 0, "
                   "0, 13, ?, >50K.\n");
    ember_schema *s;
    ember_model_err err;
    cr_assert_eq(ember_schema_preset(EMBER_FORMAT_ADULT, &s, &err), EMBER_STATUS_SUCCESS);
    ember_reader *r = open_with(p, s);
    ember_row row;
    int eof;
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert(!eof);
    cr_assert_eq(row.line, 2);
    cr_assert_eq(row.label, 0.0f);
    cr_assert_eq(row.num[0], 39.0);
    cr_assert_eq(row.len[1], 9); /* "State-gov", spaces trimmed */
    cr_assert(strncmp(row.tok[1], "State-gov", 9) == 0);
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(row.line, 4); /* the blank line is skipped */
    cr_assert_eq(row.label, 1.0f, "'>50K.' is positive");
    cr_assert(row.missing[1] && row.missing[13]);
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS);
    cr_assert(eof);
    /* a second pass gives the same first row */
    cr_assert_eq(ember_reader_rewind(r, &err), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS);
    cr_assert_eq(row.line, 2);
    ember_reader_close(r);
    ember_schema_free(s);
    unlink(p);
}

Test(readers, malformed_lines_name_file_line_column_and_reason) {
    const char *p = write_temp(0, ".data",
                               "header\n"
                               "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, "
                               "Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K\n"
                               "39, State-gov, abc, Bachelors, 13, Never-married, Adm-clerical, "
                               "Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K\n"
                               "39, State-gov, 1, Bachelors, 13, Never-married\n"
                               "39, State-gov, 1, Bachelors, 13, Never-married, Adm-clerical, "
                               "Not-in-family, White, Male, 2174, 0, 40, United-States, maybe\n"
                               "40, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, "
                               "Not-in-family, White, Male, 2174, 0, 40, United-States, >50K\n");
    ember_schema *s;
    ember_model_err err = {""};
    cr_assert_eq(ember_schema_preset(EMBER_FORMAT_ADULT, &s, &err), EMBER_STATUS_SUCCESS);
    ember_reader *r = open_with(p, s);
    ember_row row;
    int eof;
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS);
    ember_status st = ember_reader_next(r, &row, &eof, &err);
    cr_assert_eq(st, EMBER_STATUS_BAD_DATA);
    char want[512];
    snprintf(want, sizeof want, "%s:3: column 3 (fnlwgt): 'abc' is not a number", p);
    cr_assert_str_eq(err.msg, want);
    st = ember_reader_next(r, &row, &eof, &err);
    cr_assert_eq(st, EMBER_STATUS_BAD_DATA);
    cr_assert(strstr(err.msg, ":4: column 7 (occupation): expected 15 columns, found 6") != NULL,
              "%s", err.msg);
    st = ember_reader_next(r, &row, &eof, &err);
    cr_assert_eq(st, EMBER_STATUS_BAD_DATA);
    cr_assert(strstr(err.msg, ":5: column 15 (classification): label 'maybe'") != NULL, "%s",
              err.msg);
    /* skip-bad: the same file gives two good rows and three skipped lines */
    cr_assert_eq(ember_reader_rewind(r, &err), EMBER_STATUS_SUCCESS);
    ember_reader_set_skip_bad(r, 1);
    int good = 0;
    for (;;) {
        cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
        if (eof) break;
        good++;
    }
    cr_assert_eq(good, 2);
    cr_assert_eq(ember_reader_skipped(r), 3);
    cr_assert(strstr(ember_reader_first_skip(r), ":3: column 3 (fnlwgt)") != NULL);
    ember_reader_close(r);
    ember_schema_free(s);
    unlink(p);
}

Test(readers, csv_schema_with_multi_valued_and_ignored_columns) {
    const char *p = write_temp(0, ".csv",
                               "y,price,city,tags,note\n"
                               "1,3.5,Paris,a|b|c,x\n"
                               "0,,\"New York, NY\",,y\n");
    ember_schema *s;
    ember_model_err err = {""};
    cr_assert_eq(ember_schema_from_spec("label,price:num,city:cat,tags:multi:|,ignore", ',', 1,
                                        NULL, &s, &err),
                 EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(s->cols[3].kind, EMBER_COL_MULTI);
    cr_assert_eq(s->cols[3].sep, '|');
    ember_features *fx;
    cr_assert_eq(ember_features_create(&fx, s, 100, 100, 0, EMBER_NUMERIC_RAW, NULL, &err),
                 EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(fx->n_deep, 2);
    cr_assert_eq(fx->n_num, 1);
    ember_batch *b;
    cr_assert_eq(ember_batch_create(&b, fx, 4), EMBER_STATUS_SUCCESS);
    ember_reader *r = open_with(p, s);
    ember_row row;
    int eof;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
        cr_assert_eq(ember_features_encode(fx, &row, b, &err), EMBER_STATUS_SUCCESS);
    }
    cr_assert_eq(b->label[0], 1.0f);
    cr_assert_eq(b->num[0], 3.5f);
    cr_assert_eq(b->num[1], 0.0f, "missing numeric -> 0");
    cr_assert_str_eq(s->cols[2].name, "city");
    /* the quoted value keeps its comma: one column, not two */
    cr_assert(b->deep_ids[0][1] != 0);
    /* tags: a bag of three ids, then the missing id alone */
    cr_assert_eq(b->deep_offs[1][1], 3);
    cr_assert_eq(b->deep_offs[1][2], 4);
    cr_assert_eq(b->deep_ids[1][3], 0);
    ember_batch_free(b);
    ember_features_free(fx);
    ember_reader_close(r);
    ember_schema_free(s);
    unlink(p);
}

/* A model reads its columns by position: a test or prediction file whose header names them
 * in another order is refused, a header with other names is read by position. */
Test(readers, csv_header_in_another_order_is_refused) {
    ember_schema *s;
    ember_model_err err = {""};
    cr_assert_eq(
        ember_schema_from_spec("y:label,user:cat,item:cat,age:num", ',', 1, NULL, &s, &err),
        EMBER_STATUS_SUCCESS, "%s", err.msg);
    const char *same = write_temp(0, ".csv", "\xef\xbb\xbfy,user,item,age\n1,u1,i1,30\n");
    const char *renamed = write_temp(1, ".csv", "click,u,\"it,em\",\n1,u1,i1,30\n");
    const char *swapped = write_temp(2, ".csv", "y,item,user,age\n1,i1,u1,30\n");
    const char *short_header = write_temp(3, ".csv", "y,user,item\n1,u1,i1,30\n");
    /* the header is the first line that is not blank, as pandas and the training file's
     * names (ember_schema_names_from_header) take it */
    const char *after_blank = write_temp(4, ".csv", "\n \t\ny,item,user,age\n1,i1,u1,30\n");
    ember_reader *r = open_with(same, s);
    ember_row row;
    int eof;
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert(!eof && row.line == 2 && strncmp(row.tok[1], "u1", 2) == 0);
    ember_reader_close(r);
    ember_reader_close(open_with(renamed, s));
    r = NULL;
    cr_assert_eq(ember_reader_open(&r, swapped, s, &err), EMBER_STATUS_BAD_DATA);
    cr_assert_null(r);
    char want[512];
    snprintf(want, sizeof want,
             "%s:1 (the header line): column 2 is 'item', which the model reads as column 3 "
             "(its column 2 is 'user'): the columns must come in the model's order",
             swapped);
    cr_assert_str_eq(err.msg, want);
    cr_assert_eq(ember_reader_open(&r, short_header, s, &err), EMBER_STATUS_BAD_DATA);
    cr_assert(strstr(err.msg, ":1: column 4 (age): expected 4 columns, found 3") != NULL, "%s",
              err.msg);
    cr_assert_eq(ember_reader_open(&r, after_blank, s, &err), EMBER_STATUS_BAD_DATA);
    cr_assert(strstr(err.msg, ":3 (the header line): column 2 is 'item'") != NULL, "%s", err.msg);
    ember_schema_free(s);
}

Test(readers, criteo_preset_tab_separated_with_empty_fields) {
    char line[1024] = "1\t5\t\t3";
    for (int i = 4; i <= 13; i++) strcat(line, "\t1");
    strcat(line, "\t68fd1e64");
    for (int i = 2; i <= 26; i++) strcat(line, i == 5 ? "\t" : "\t05db9164");
    strcat(line, "\n");
    const char *p = write_temp(0, ".tsv", line);
    ember_schema *s;
    ember_model_err err = {""};
    cr_assert_eq(ember_schema_preset(EMBER_FORMAT_CRITEO, &s, &err), EMBER_STATUS_SUCCESS);
    ember_reader *r = open_with(p, s);
    ember_row row;
    int eof;
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(row.label, 1.0f);
    cr_assert_eq(row.num[1], 5.0);
    cr_assert(row.missing[2], "empty I2 is missing");
    cr_assert(row.missing[14 + 4], "empty C5 is missing");
    cr_assert(!row.missing[14]);
    ember_reader_close(r);
    ember_schema_free(s);
    unlink(p);
}

Test(readers, arff_header_gives_schema_and_positive_class) {
    const char *p = write_temp(0, ".arff",
                               "% comment\n@relation t\n"
                               "@attribute 'checking status' { '<0', 'no checking'}\n"
                               "@attribute duration numeric\n"
                               "@attribute class { good, bad}\n"
                               "@data\n"
                               "'<0',6,good\n"
                               "'no checking',12,bad\n"
                               "'<0',x,bad\n");
    ember_schema *s;
    ember_model_err err = {""};
    cr_assert_eq(ember_schema_from_arff(p, NULL, NULL, &s, &err), EMBER_STATUS_SUCCESS, "%s",
                 err.msg);
    cr_assert_eq(s->ncols, 3);
    cr_assert_str_eq(s->cols[0].name, "checking status");
    cr_assert_eq(s->cols[0].kind, EMBER_COL_CATEGORICAL);
    cr_assert_eq(s->cols[1].kind, EMBER_COL_NUMERIC);
    cr_assert_eq(s->label_col, 2);
    cr_assert_str_eq(s->positive, "bad", "the second declared class");
    ember_reader *r = open_with(p, s);
    ember_row row;
    int eof;
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(row.line, 7);
    cr_assert_eq(row.label, 0.0f);
    cr_assert_eq(row.len[0], 2);
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS);
    cr_assert_eq(row.label, 1.0f);
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_BAD_DATA);
    cr_assert(strstr(err.msg, ":9: column 2 (duration): 'x' is not a number") != NULL, "%s",
              err.msg);
    ember_reader_close(r);
    /* an explicit positive class, and a wrong one */
    ember_schema_free(s);
    cr_assert_eq(ember_schema_from_arff(p, NULL, "good", &s, &err), EMBER_STATUS_SUCCESS);
    cr_assert_str_eq(s->positive, "good");
    ember_schema_free(s);
    cr_assert_eq(ember_schema_from_arff(p, NULL, "ugly", &s, &err), EMBER_STATUS_INVALID_ARGUMENT);
    unlink(p);
}

Test(readers, schema_json_round_trip) {
    ember_schema *s, *t;
    ember_model_err err = {""};
    cr_assert_eq(ember_schema_from_spec("label,a b:num,c\"%d\\:cat,t:multi:;,ignore", '\t', 0,
                                        "yes", &s, &err),
                 EMBER_STATUS_SUCCESS, "%s", err.msg);
    char *text = ember_schema_to_json(s);
    cr_assert(text != NULL && text[0] == '{', "%s", text);
    cr_assert_eq(ember_schema_from_checkpoint(text, &t, &err), EMBER_STATUS_SUCCESS, "%s: %s", text,
                 err.msg);
    cr_assert(ember_schema_equal(s, t));
    cr_assert_eq(t->delim, '\t');
    cr_assert_eq(t->cols[3].sep, ';');
    cr_assert_str_eq(t->cols[1].name, "a b");
    cr_assert_str_eq(t->cols[2].name, "c\"%d\\");
    cr_assert_str_eq(t->positive, "yes");
    free(text);
    ember_schema_free(t);
    /* the Adult preset: label values and the prefix rule survive too */
    ember_schema_free(s);
    cr_assert_eq(ember_schema_preset(EMBER_FORMAT_ADULT, &s, &err), EMBER_STATUS_SUCCESS);
    text = ember_schema_to_json(s);
    cr_assert_eq(ember_schema_from_checkpoint(text, &t, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert(ember_schema_equal(s, t));
    cr_assert_eq(t->n_label_values, 2);
    cr_assert_str_eq(t->label_values[0], "<=50K");
    cr_assert_eq(t->positive_prefix, 1);
    cr_assert_eq(t->header, 1);
    free(text);
    ember_schema_free(s);
    ember_schema_free(t);
}

Test(readers, schema_json_rejects_malformed) {
    static const char *bad[] = {
        "{}",
        "{\"format\":\"csv\"}",
        /* two labels */
        "{\"format\":\"csv\",\"delimiter\":\",\",\"header\":false,\"positive\":\"\","
        "\"positive_prefix\":false,\"label_values\":[],\"columns\":[{\"name\":\"a\",\"kind\":"
        "\"label\"},{\"name\":\"b\",\"kind\":\"label\"}]}",
        /* unknown kind */
        "{\"format\":\"csv\",\"delimiter\":\",\",\"header\":false,\"positive\":\"\","
        "\"positive_prefix\":false,\"label_values\":[],\"columns\":[{\"name\":\"a\",\"kind\":"
        "\"label\"},{\"name\":\"b\",\"kind\":\"wat\"}]}",
        /* a name longer than EMBER_NAME_MAX */
        "{\"format\":\"csv\",\"delimiter\":\",\",\"header\":false,\"positive\":\"\","
        "\"positive_prefix\":false,\"label_values\":[],\"columns\":[{\"name\":\"aaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"kind\":\"label\"}]}",
        /* truncated */
        "{\"format\":\"csv\",\"delimiter\":\",\",\"header\":false,\"positive\":\"\","
        "\"positive_prefix\":false,\"label_values\":[],\"columns\":[{\"name\":\"a\",\"kind\":",
        /* a repeated key */
        "{\"format\":\"csv\",\"format\":\"csv\"}",
    };
    ember_model_err err = {""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ember_schema *t = NULL;
        cr_assert_eq(ember_schema_from_checkpoint(bad[i], &t, &err), EMBER_STATUS_CORRUPT_FILE,
                     "case %zu", i);
        cr_assert_null(t);
        cr_assert(strstr(err.msg, "schema JSON") != NULL, "%s", err.msg);
    }
}

/* Checkpoints written before the JSON form keep loading: the percent-escaped text. */
Test(readers, schema_legacy_text) {
    ember_schema *t;
    ember_model_err err = {""};
    cr_assert_eq(ember_schema_from_checkpoint(
                     "format=csv;delim=9;header=0;prefix=0;positive=yes;labels=;cols=c1:1:0|a%20b:"
                     "2:0|t:4:59|x:0:0",
                     &t, &err),
                 EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(t->ncols, 4);
    cr_assert_eq(t->label_col, 0);
    cr_assert_eq(t->delim, '\t');
    cr_assert_str_eq(t->cols[1].name, "a b");
    cr_assert_eq(t->cols[2].kind, EMBER_COL_MULTI);
    cr_assert_eq(t->cols[2].sep, ';');
    cr_assert_str_eq(t->positive, "yes");
    ember_schema_free(t);
    cr_assert_neq(ember_schema_from_checkpoint("format=csv;cols=x:9:0", &t, &err),
                  EMBER_STATUS_SUCCESS);
    /* a multi column without a separator, or splitting on the delimiter (fuzz) */
    cr_assert_eq(ember_schema_from_checkpoint("format=csv;cols=y:1:0|t:4:0", &t, &err),
                 EMBER_STATUS_CORRUPT_FILE);
    cr_assert_eq(ember_schema_from_checkpoint("format=csv;delim=44;cols=y:1:0|t:4:44", &t, &err),
                 EMBER_STATUS_CORRUPT_FILE);
    /* flags were atoi'ed: "prefix=08" is true, and survives the JSON form as true (fuzz) */
    cr_assert_eq(
        ember_schema_from_checkpoint("format=csv;delim=44;header=2;prefix=08;cols=y:1:0", &t, &err),
        EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert_eq(t->positive_prefix, 1);
    cr_assert_eq(t->header, 1);
    char *text = ember_schema_to_json(t);
    ember_schema *back;
    cr_assert_eq(ember_schema_from_checkpoint(text, &back, &err), EMBER_STATUS_SUCCESS);
    cr_assert(ember_schema_equal(t, back) && back->header == t->header);
    free(text);
    ember_schema_free(back);
    ember_schema_free(t);
    /* a number atoi would have wrapped into a byte (2^32 + 44 into ','; 2^32 into false) or
     * a flag that is no number is corrupt, not read as something else */
    static const char *wrapped[] = {"format=csv;delim=4294967340;cols=y:1:0|x:2:0",
                                    "format=csv;delim=44;header=4294967296;cols=y:1:0",
                                    "format=csv;delim=44;prefix=yes;cols=y:1:0"};
    for (int i = 0; i < 3; i++) {
        t = NULL;
        cr_assert_eq(ember_schema_from_checkpoint(wrapped[i], &t, &err), EMBER_STATUS_CORRUPT_FILE,
                     "%s", wrapped[i]);
        cr_assert_null(t);
    }
}

/* Random garbage (quotes, delimiters, NUL bytes, very long lines) never crashes a reader:
 * every line is a row or a BAD_DATA naming its line. */
Test(readers, garbage_never_crashes) {
    static const char alphabet[] = "ab,, '\"\\\t?{}%@0123456789.-e|";
    char path[256];
    snprintf(path, sizeof path, "/tmp/ember_garbage_%d.txt", (int)getpid());
    FILE *f = fopen(path, "wb");
    uint64_t x = 12345;
    for (int line = 0; line < 400; line++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int len = (int)((x >> 33) % (line % 50 == 0 ? 100000 : 60));
        for (int i = 0; i < len; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            int c = alphabet[(x >> 33) % (sizeof alphabet - 1)];
            if ((x >> 20) % 997 == 0) c = 0;
            fputc(c, f);
        }
        fputc('\n', f);
    }
    fclose(f);
    ember_model_err err;
    ember_schema *schemas[4] = {NULL, NULL, NULL, NULL};
    cr_assert_eq(ember_schema_preset(EMBER_FORMAT_ADULT, &schemas[0], &err), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_schema_preset(EMBER_FORMAT_CRITEO, &schemas[1], &err), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_schema_from_spec("label,num,cat,multi:|", ',', 0, NULL, &schemas[2], &err),
                 EMBER_STATUS_SUCCESS);
    for (int k = 0; k < 3; k++) {
        ember_features *fx;
        cr_assert_eq(
            ember_features_create(&fx, schemas[k], 97, 89, 3, EMBER_NUMERIC_LOG_STD, NULL, &err),
            EMBER_STATUS_SUCCESS);
        ember_features_stats_finish(fx, &err);
        ember_batch *b;
        cr_assert_eq(ember_batch_create(&b, fx, 4), EMBER_STATUS_SUCCESS);
        ember_reader *r = open_with(path, schemas[k]);
        for (int pass = 0; pass < 2; pass++) {
            ember_reader_set_skip_bad(r, pass);
            for (int guard = 0; guard < 1000; guard++) {
                ember_row row;
                int eof;
                ember_status st = ember_reader_next(r, &row, &eof, &err);
                if (st == EMBER_STATUS_SUCCESS && eof) break;
                if (st == EMBER_STATUS_SUCCESS) {
                    if (b->n == b->cap) ember_batch_clear(b);
                    cr_assert_eq(ember_features_encode(fx, &row, b, &err), EMBER_STATUS_SUCCESS);
                } else {
                    cr_assert_eq(st, EMBER_STATUS_BAD_DATA, "%s", err.msg);
                    cr_assert(strstr(err.msg, path) != NULL);
                }
            }
            cr_assert_eq(ember_reader_rewind(r, &err), EMBER_STATUS_SUCCESS);
        }
        ember_reader_close(r);
        ember_batch_free(b);
        ember_features_free(fx);
        ember_schema_free(schemas[k]);
    }
    unlink(path);
}

/* The line filter of `mpirun ember train`: refused lines are neither parsed (a malformed
 * one raises nothing) nor returned; blank lines never reach it; it sees line numbers. */
static int keep_even(void *user, int64_t line) {
    int64_t *seen = user;
    seen[line < 16 ? line : 0]++;
    return line % 2 == 0;
}

Test(readers, line_filter_skips_refused_lines_unparsed) {
    const char *p = write_temp(0, ".csv",
                               "1,1.5,a\n"   /* 1: refused */
                               "0,2.5,b\n"   /* 2: kept */
                               "1,oops,c\n"  /* 3: malformed, refused: no error */
                               "\n"          /* 4: blank, never offered */
                               "1,4.5,d\n"   /* 5: refused */
                               "0,nope,e\n"  /* 6: malformed, kept: an error */
                               "1,7.5,f\n"); /* 7: refused */
    ember_schema *s;
    ember_model_err err = {""};
    cr_assert_eq(ember_schema_from_spec("label,num,c:cat", ',', 0, NULL, &s, &err),
                 EMBER_STATUS_SUCCESS, "%s", err.msg);
    ember_reader *r = open_with(p, s);
    int64_t seen[16] = {0};
    ember_reader_set_filter(r, keep_even, seen);
    ember_row row;
    int eof;
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert(!eof);
    cr_assert_eq(row.line, 2);
    cr_assert_eq(row.num[1], 2.5);
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_BAD_DATA);
    cr_assert(strstr(err.msg, ":6:") != NULL, "%s", err.msg);
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS, "%s", err.msg);
    cr_assert(eof);
    for (int line = 1; line <= 7; line++)
        cr_assert_eq(seen[line], line == 4 ? 0 : 1, "line %d offered %lld times", line,
                     (long long)seen[line]);
    /* without the filter every line is parsed again */
    ember_reader_set_filter(r, NULL, NULL);
    cr_assert_eq(ember_reader_rewind(r, &err), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS);
    cr_assert_eq(row.line, 1);
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_SUCCESS);
    cr_assert_eq(ember_reader_next(r, &row, &eof, &err), EMBER_STATUS_BAD_DATA);
    cr_assert(strstr(err.msg, ":3:") != NULL, "%s", err.msg);
    ember_reader_close(r);
    ember_schema_free(s);
    unlink(p);
}
