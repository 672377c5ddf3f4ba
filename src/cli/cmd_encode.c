/* cmd_encode.c: `ember encode`: writes the encoded features of data files (the ids, numeric
 * values and labels the model trains on) as CSV plus a JSON description, so that other tools
 * (bench/reference_widedeep.py) train on exactly the same inputs. */
#define _POSIX_C_SOURCE 200809L
#include "cli_util.h"
#include "commands.h"

#include "wd_trainer.h"
#include "util/atomic_file.h"
#include "util/json_writer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: ember encode --data FILE [--test FILE] --out PREFIX [--format F] [--schema SPEC]\n"
        "                    [--header] [--delim C] [--positive V] [--buckets N] [--field-buckets "
        "S]\n"
        "                    [--cross-buckets N] [--cross SPEC] [--num-buckets N] [--numeric M]\n"
        "                    [--skip-bad]\n"
        "       ember encode --model CHECKPOINT --data FILE [--test FILE] --out PREFIX\n"
        "\n"
        "Encodes data exactly as `ember train` does (numeric statistics from --data, or from\n"
        "the checkpoint's metadata with --model) and writes:\n"
        "  PREFIX.data.csv, PREFIX.test.csv  one row per example; columns:\n"
        "      label            0 or 1\n"
        "      d:NAME           deep field NAME: its embedding row id(s) in [0, buckets),\n"
        "                       0 = missing; several ids of a multi-valued field are\n"
        "                       separated by spaces (mean-pooled by the model)\n"
        "      n:NAME           numeric column NAME after its transform (float)\n"
        "      w:NAME           wide field NAME: its id(s) within the field; the global wide\n"
        "                       id is the field's offset (PREFIX.json) + id\n"
        "  PREFIX.json       the fields, bucket counts, wide offsets, d_wide, row counts\n"
        "Python reads them with the csv and json modules (see bench/reference_widedeep.py).\n"
        "Feature flags are those of `ember train` (see ember train --help).\n");
}

static int write_csv(const char *cmd, const ember_features *fx, const char *in, const char *outp,
                     int skip_bad, int64_t *rows, ember_model_err *err) {
    ember_reader *r = NULL;
    ember_batch *b = NULL;
    ember_status st = ember_reader_open(&r, in, fx->schema, err);
    if (st != EMBER_STATUS_SUCCESS) return 2;
    ember_reader_set_skip_bad(r, skip_bad);
    if (ember_batch_create(&b, fx, 1) != EMBER_STATUS_SUCCESS) {
        ember_reader_close(r);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return 1;
    }
    ember_atomic_file af;
    int rc = 0, e = ember_atomic_open(&af, outp);
    FILE *out = af.f;
    if (e != 0) {
        snprintf(err->msg, sizeof err->msg, "cannot create a file beside %s: %s", outp,
                 strerror(e));
        rc = 1;
        goto done;
    }
    fprintf(out, "label");
    for (int f = 0; f < fx->n_deep; f++)
        fprintf(out, ",d:%s", fx->schema->cols[fx->deep_col[f]].name);
    for (int f = 0; f < fx->n_num; f++)
        fprintf(out, ",n:%s", fx->schema->cols[fx->num_col[f]].name);
    for (int f = 0; f < fx->n_deep; f++)
        fprintf(out, ",w:%s", fx->schema->cols[fx->deep_col[f]].name);
    if (fx->num_bins > 0)
        for (int f = 0; f < fx->n_num; f++)
            fprintf(out, ",w:%s_bucket", fx->schema->cols[fx->num_col[f]].name);
    for (int k = 0; k < fx->ncross; k++) {
        fprintf(out, ",w:");
        for (int j = 0; j < fx->cross_len[k]; j++)
            fprintf(out, "%s%s", j ? "*" : "", fx->schema->cols[fx->cross_cols[k][j]].name);
    }
    fprintf(out, "\n");
    *rows = 0;
    for (;;) {
        ember_row row;
        int eof;
        st = ember_reader_next(r, &row, &eof, err);
        if (st != EMBER_STATUS_SUCCESS) {
            rc = 2;
            goto done;
        }
        if (eof) break;
        ember_batch_clear(b);
        st = ember_features_encode(fx, &row, b, err);
        if (st != EMBER_STATUS_SUCCESS) {
            rc = 1;
            goto done;
        }
        fprintf(out, "%.9g", (double)b->label[0]);
        for (int f = 0; f < fx->n_deep; f++) {
            if (!b->deep_multi[f]) {
                fprintf(out, ",%lld", (long long)b->deep_ids[f][0]);
            } else {
                fputc(',', out);
                for (int64_t k = b->deep_offs[f][0]; k < b->deep_offs[f][1]; k++)
                    fprintf(out, "%s%lld", k > b->deep_offs[f][0] ? " " : "",
                            (long long)b->deep_ids[f][k]);
            }
        }
        for (int f = 0; f < fx->n_num; f++) fprintf(out, ",%.9g", (double)b->num[f]);
        /* the example's wide ids come in field order; a multi field has several */
        int64_t w = 0;
        for (int wf = 0; wf < fx->n_wide; wf++) {
            int64_t cnt = 1;
            if (wf < fx->n_deep && b->deep_multi[wf])
                cnt = b->deep_offs[wf][1] - b->deep_offs[wf][0];
            fputc(',', out);
            for (int64_t k = 0; k < cnt; k++, w++)
                fprintf(out, "%s%lld", k ? " " : "",
                        (long long)(b->wide_ids[w] - fx->wide_offset[wf]));
        }
        fputc('\n', out);
        (*rows)++;
    }
    if (ember_reader_skipped(r) > 0)
        fprintf(stderr, "ember %s: %s: skipped %lld malformed lines (first: %s)\n", cmd, in,
                (long long)ember_reader_skipped(r), ember_reader_first_skip(r));
    if ((e = ember_atomic_commit(&af)) != 0) {
        snprintf(err->msg, sizeof err->msg, "cannot write %s: %s", outp, strerror(e));
        rc = 1;
    }
done:
    ember_atomic_discard(&af); /* after a failure; nothing left to do after a commit */
    ember_batch_free(b);
    ember_reader_close(r);
    return rc;
}

int ember_cmd_encode(int argc, char **argv) {
    const char *cmd = argv[0];
    const char *data = NULL, *test = NULL, *prefix = NULL, *model = NULL, *format = NULL;
    const char *schema = NULL, *positive = NULL, *crosses = NULL, *delim_s = NULL, *v;
    const char *field_buckets = NULL;
    int64_t buckets = 1000, cross_buckets = 10000, num_bins = 10;
    int header = 0, skip_bad = 0, numeric_set = 0, rc;
    ember_numeric_mode mode = EMBER_NUMERIC_STD;
    for (int i = 1; i < argc; i++) {
        int m;
#define FLAG(name) ((m = cli_flag(argc, argv, &i, name, &v)) != 0)
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (FLAG("--data")) {
            if (m < 0) return 2;
            data = v;
        } else if (FLAG("--test")) {
            if (m < 0) return 2;
            test = v;
        } else if (FLAG("--out")) {
            if (m < 0) return 2;
            prefix = v;
        } else if (FLAG("--model")) {
            if (m < 0) return 2;
            model = v;
        } else if (FLAG("--format")) {
            if (m < 0) return 2;
            format = v;
        } else if (FLAG("--schema")) {
            if (m < 0) return 2;
            schema = v;
        } else if (FLAG("--positive")) {
            if (m < 0) return 2;
            positive = v;
        } else if (FLAG("--cross")) {
            if (m < 0) return 2;
            crosses = v;
        } else if (FLAG("--delim")) {
            if (m < 0) return 2;
            delim_s = v;
        } else if (FLAG("--field-buckets")) {
            if (m < 0) return 2;
            field_buckets = v;
        } else if (FLAG("--buckets")) {
            if (m < 0 || (rc = cli_parse_int(cmd, "--buckets", v, 2, (int64_t)1 << 32, &buckets)))
                return 2;
        } else if (FLAG("--cross-buckets")) {
            if (m < 0 || (rc = cli_parse_int(cmd, "--cross-buckets", v, 2, (int64_t)1 << 32,
                                             &cross_buckets)))
                return 2;
        } else if (FLAG("--num-buckets")) {
            if (m < 0 || (rc = cli_parse_int(cmd, "--num-buckets", v, 0, 10000, &num_bins)))
                return 2;
        } else if (FLAG("--numeric")) {
            if (m < 0) return 2;
            numeric_set = 1;
            if (ember_numeric_mode_parse(v, &mode) != EMBER_STATUS_SUCCESS)
                return cli_usage_error(cmd, "--numeric: '%s' is not logstd, log, std or raw", v);
        } else if (strcmp(argv[i], "--header") == 0) {
            header = 1;
        } else if (strcmp(argv[i], "--skip-bad") == 0) {
            skip_bad = 1;
        } else {
            return cli_usage_error(cmd, "unknown argument '%s'", argv[i]);
        }
#undef FLAG
    }
    if (data == NULL || prefix == NULL)
        return cli_usage_error(cmd, "--data and --out are required");
    ember_model_err err = {""};
    ember_features *fx = NULL;
    ember_checkpoint ck;
    int have_ck = 0;
    ember_status st;
    if (model != NULL) {
        if ((st = ember_checkpoint_read(model, &ck, &err)) != EMBER_STATUS_SUCCESS) {
            fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
            return 2;
        }
        have_ck = 1;
        fx = ck.fx;
    } else {
        ember_data_format fmt = EMBER_FORMAT_ADULT;
        char delim = ',';
        if (format == NULL) return cli_usage_error(cmd, "--format is required (or --model)");
        if (ember_format_parse(format, &fmt, &delim) != EMBER_STATUS_SUCCESS)
            return cli_usage_error(cmd, "--format: '%s' is not adult, criteo, arff, csv or tsv",
                                   format);
        if (delim_s != NULL) delim = strcmp(delim_s, "tab") == 0 ? '\t' : delim_s[0];
        if (!numeric_set && fmt == EMBER_FORMAT_CRITEO) mode = EMBER_NUMERIC_LOG_STD;
        ember_schema *s = NULL;
        if ((st = ember_schema_for(fmt, data, schema, delim, header, positive, &s, &err)) ||
            (st = ember_features_create(&fx, s, buckets, cross_buckets, (int)num_bins, mode,
                                        crosses ? crosses : ember_default_crosses(fmt), &err)) ||
            (st = ember_features_set_field_buckets(fx, field_buckets, &err))) {
            ember_schema_free(s);
            fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
            return 2;
        }
        ember_schema_free(s);
        /* statistics from the training data, as ember train computes them */
        ember_reader *r = NULL;
        if ((st = ember_reader_open(&r, data, fx->schema, &err)) != EMBER_STATUS_SUCCESS) {
            fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
            ember_features_free(fx);
            return 2;
        }
        ember_reader_set_skip_bad(r, skip_bad);
        for (;;) {
            ember_row row;
            int eof;
            if ((st = ember_reader_next(r, &row, &eof, &err)) != EMBER_STATUS_SUCCESS) {
                fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
                ember_reader_close(r);
                ember_features_free(fx);
                return 2;
            }
            if (eof) break;
            ember_features_stats_add(fx, &row);
        }
        ember_reader_close(r);
        ember_features_stats_finish(fx, &err);
    }
    size_t pl = strlen(prefix) + 16;
    char *p_data = malloc(pl), *p_test = malloc(pl), *p_json = malloc(pl);
    snprintf(p_data, pl, "%s.data.csv", prefix);
    snprintf(p_test, pl, "%s.test.csv", prefix);
    snprintf(p_json, pl, "%s.json", prefix);
    int64_t n_data = 0, n_test = 0;
    rc = write_csv(cmd, fx, data, p_data, skip_bad, &n_data, &err);
    if (rc == 0 && test != NULL) rc = write_csv(cmd, fx, test, p_test, skip_bad, &n_test, &err);
    if (rc == 0) {
        ember_atomic_file af;
        int e = ember_atomic_open(&af, p_json);
        if (e != 0) {
            snprintf(err.msg, sizeof err.msg, "cannot write %s: %s", p_json, strerror(e));
            rc = 1;
        } else {
            ember_json j;
            ember_json_init(&j, af.f);
            ember_json_begin_object(&j);
            ember_json_key_string(&j, "format", ember_format_name(fx->schema->format));
            ember_json_key_int(&j, "cat_buckets", (long long)fx->cat_buckets);
            ember_json_key_int(&j, "cross_buckets", (long long)fx->cross_buckets);
            ember_json_key_int(&j, "num_bins", fx->num_bins);
            ember_json_key_string(&j, "numeric_mode", ember_numeric_mode_name(fx->numeric_mode));
            ember_json_key(&j, "deep_fields");
            ember_json_begin_array(&j);
            for (int f = 0; f < fx->n_deep; f++) {
                const ember_column *c = &fx->schema->cols[fx->deep_col[f]];
                ember_json_begin_object(&j);
                ember_json_key_string(&j, "name", c->name);
                ember_json_key_int(&j, "buckets", (long long)fx->field_buckets[f]);
                ember_json_key_bool(&j, "multi", c->kind == EMBER_COL_MULTI);
                ember_json_end_object(&j);
            }
            ember_json_end_array(&j);
            ember_json_key(&j, "numeric");
            ember_json_begin_array(&j);
            for (int f = 0; f < fx->n_num; f++)
                ember_json_string(&j, fx->schema->cols[fx->num_col[f]].name);
            ember_json_end_array(&j);
            ember_json_key(&j, "wide_fields");
            ember_json_begin_array(&j);
            for (int w = 0; w < fx->n_wide; w++) {
                ember_json_begin_object(&j);
                ember_json_key_int(&j, "buckets", (long long)fx->wide_buckets[w]);
                ember_json_key_int(&j, "offset", (long long)fx->wide_offset[w]);
                ember_json_end_object(&j);
            }
            ember_json_end_array(&j);
            ember_json_key_int(&j, "d_wide", (long long)fx->d_wide);
            ember_json_key(&j, "rows");
            ember_json_begin_object(&j);
            ember_json_key_int(&j, "data", (long long)n_data);
            ember_json_key_int(&j, "test", (long long)n_test);
            ember_json_end_object(&j);
            ember_json_key(&j, "files");
            ember_json_begin_object(&j);
            ember_json_key_string(&j, "data", p_data);
            ember_json_key(&j, "test");
            if (test)
                ember_json_string(&j, p_test);
            else
                ember_json_null(&j);
            ember_json_end_object(&j);
            ember_json_end_object(&j);
            fputc('\n', af.f);
            if ((e = ember_atomic_commit(&af)) != 0) {
                snprintf(err.msg, sizeof err.msg, "cannot write %s: %s", p_json, strerror(e));
                rc = 1;
            }
        }
    }
    if (rc != 0) {
        fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
    } else {
        printf("wrote %s (%lld rows)", p_data, (long long)n_data);
        if (test) printf(", %s (%lld rows)", p_test, (long long)n_test);
        printf(", %s\n", p_json);
    }
    free(p_data);
    free(p_test);
    free(p_json);
    if (have_ck)
        ember_checkpoint_free(&ck);
    else
        ember_features_free(fx);
    return rc;
}
