/* cmd_encode.c: `ember encode`: writes the encoded features of data files (the ids, numeric
 * values and labels the model trains on) as CSV plus a JSON description, so that other tools
 * (bench/reference_widedeep.py) train on exactly the same inputs. */
#define _POSIX_C_SOURCE 200809L
#include "cli_data_flags.h"
#include "cli_output.h"
#include "cli_util.h"
#include "commands.h"

#include "wd_trainer.h"
#include "util/json_writer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct encode_args {
    ember_train_opts o; /* data, test, and the data and feature flags train shares */
    cli_data_values dv;
    const char *prefix, *model;
} encode_args;

static const char encode_about[] =
    "Encodes data exactly as `ember train` does (feature statistics: numeric means,\n"
    "deviations and bucket bounds, bucket counts, from every row of --data as train takes\n"
    "them, its held-out validation rows included; or from the checkpoint's metadata with\n"
    "--model) and writes:\n"
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
    "The data and feature flags are those of `ember train`.\n";

/* Parses the flags into *a; CLI_CONTINUE or the exit code. */
static int parse_args(int argc, char **argv, encode_args *a) {
    memset(a, 0, sizeof *a);
    ember_train_opts_defaults(&a->o);
    cli_flag flags[4 + CLI_DATA_FLAG_COUNT] = {
        {"--data", CLI_STRING, &a->o.data, .meta = "FILE", .required = 1,
         .help = "the data to encode (and, without --model, to take statistics from)"},
        {"--test", CLI_STRING, &a->o.test, .meta = "FILE",
         .help = "test data, encoded with --data's statistics"},
        {"--out", CLI_STRING, &a->prefix, .meta = "PREFIX", .required = 1,
         .help = "writes PREFIX.data.csv, PREFIX.test.csv and PREFIX.json,\n"
                 "together or not at all"},
        {"--model", CLI_STRING, &a->model, .meta = "CHECKPOINT",
         .help = "encode as this checkpoint's model does (its features and\n"
                 "statistics; the data and feature flags are then not used)"},
    };
    cli_data_flags(&a->o, &a->dv, flags + 4);
    const cli_command spec = {argv[0], flags, CLI_COUNT(flags), .about = encode_about};
    int rc = cli_flags_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    if (a->o.data == NULL || a->prefix == NULL)
        return cli_usage_error(argv[0], "--data and --out are required");
    if (a->model == NULL && a->dv.format == NULL)
        return cli_usage_error(argv[0], "--format is required (or --model)");
    if (a->model == NULL && (rc = cli_data_resolve(argv[0], &a->o, &a->dv, 0, 1)) != 0) return rc;
    return CLI_CONTINUE;
}

static void write_csv_header(FILE *out, const ember_features *fx) {
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
}

/* One example (a batch of one) as a CSV row. */
static void write_csv_row(FILE *out, const ember_features *fx, const ember_batch *b) {
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
        if (wf < fx->n_deep && b->deep_multi[wf]) cnt = b->deep_offs[wf][1] - b->deep_offs[wf][0];
        fputc(',', out);
        for (int64_t k = 0; k < cnt; k++, w++)
            fprintf(out, "%s%lld", k ? " " : "", (long long)(b->wide_ids[w] - fx->wide_offset[wf]));
    }
    fputc('\n', out);
}

/* The encoded rows of the file `in` to out. Returns 0, or the exit code with err set. */
static int write_csv(const char *cmd, const ember_features *fx, const char *in, FILE *out,
                     int skip_bad, int64_t *rows, ember_model_err *err) {
    ember_reader *r = NULL;
    ember_batch *b = NULL;
    if (ember_reader_open(&r, in, fx->schema, err) != EMBER_STATUS_SUCCESS) return 2;
    ember_reader_set_skip_bad(r, skip_bad);
    int rc = 0;
    if (ember_batch_create(&b, fx, 1) != EMBER_STATUS_SUCCESS) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        rc = 1;
    }
    write_csv_header(out, fx);
    *rows = 0;
    for (int eof = 0; rc == 0;) {
        ember_row row;
        if (ember_reader_next(r, &row, &eof, err) != EMBER_STATUS_SUCCESS) rc = 2;
        if (rc != 0 || eof) break;
        ember_batch_clear(b);
        if (ember_features_encode(fx, &row, b, err) != EMBER_STATUS_SUCCESS) rc = 1;
        if (rc != 0) break;
        write_csv_row(out, fx, b);
        (*rows)++;
    }
    if (rc == 0 && ember_reader_skipped(r) > 0)
        fprintf(stderr, "ember %s: %s: skipped %lld malformed lines (first: %s)\n", cmd, in,
                (long long)ember_reader_skipped(r), ember_reader_first_skip(r));
    ember_batch_free(b);
    ember_reader_close(r);
    return rc;
}

/* The features of a->o's data and feature flags, with numeric statistics from a pass over
 * --data, as `ember train` computes them. Returns 0, or 2 with err set. */
static int features_from_data(const encode_args *a, ember_features **out, ember_model_err *err) {
    const ember_train_opts *o = &a->o;
    ember_schema *s = NULL;
    ember_features *fx = NULL;
    ember_reader *r = NULL;
    if (ember_schema_for(o, &s, err) || ember_train_features(o, s, &fx, err) ||
        ember_reader_open(&r, o->data, fx->schema, err))
        goto fail;
    ember_schema_free(s);
    s = NULL;
    ember_reader_set_skip_bad(r, o->skip_bad);
    for (;;) {
        ember_row row;
        int eof;
        if (ember_reader_next(r, &row, &eof, err) != EMBER_STATUS_SUCCESS) goto fail;
        if (eof) break;
        ember_features_stats_add(fx, &row);
    }
    ember_reader_close(r);
    r = NULL;
    if (ember_features_stats_finish(fx, err) != EMBER_STATUS_SUCCESS) goto fail;
    *out = fx;
    return 0;
fail:
    ember_reader_close(r);
    ember_features_free(fx);
    ember_schema_free(s);
    return 2;
}

/* PREFIX.json: the fields, bucket counts, wide offsets, d_wide, row counts and file names. */
static void write_json(const ember_features *fx, FILE *out, const char *p_data, const char *p_test,
                       int64_t n_data, int64_t n_test) {
    ember_json j;
    ember_json_init(&j, out);
    ember_json_begin_object(&j);
    ember_json_key_string(&j, "format", ember_format_name(fx->schema->format));
    ember_json_key_int(&j, "cat_buckets", (long long)ember_features_common_buckets(fx));
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
    if (p_test != NULL)
        ember_json_string(&j, p_test);
    else
        ember_json_null(&j);
    ember_json_end_object(&j);
    ember_json_end_object(&j);
    fputc('\n', out);
}

/* PREFIX.data.csv, PREFIX.json and, with --test, PREFIX.test.csv: in that order, so the
 * outputs of a run without --test are the first two. */
typedef struct encode_outputs {
    char *path[3];
    cli_output file[3];
} encode_outputs;

enum { OUT_DATA, OUT_JSON, OUT_TEST };

/* The output names, each checked against the inputs. Returns 0, or the exit code. */
static int output_paths(const char *cmd, const encode_args *a, encode_outputs *o) {
    static const char *const suffix[3] = {".data.csv", ".json", ".test.csv"};
    const char *inputs[] = {a->o.data, a->o.test, a->model};
    memset(o, 0, sizeof *o);
    for (int k = 0; k < 3; k++) {
        size_t n = strlen(a->prefix) + 16;
        if ((o->path[k] = malloc(n)) == NULL) {
            fprintf(stderr, "ember %s: out of memory\n", cmd);
            return 1;
        }
        snprintf(o->path[k], n, "%s%s", a->prefix, suffix[k]);
        if ((k != OUT_TEST || a->o.test != NULL) &&
            cli_output_check(cmd, "--out", o->path[k], inputs, 3, 0) != 0)
            return 2;
    }
    return 0;
}

static void free_outputs(encode_outputs *o) {
    for (int k = 0; k < 3; k++) {
        cli_output_discard(&o->file[k]);
        free(o->path[k]);
    }
}

/* Writes every output to its temporary, then makes them all appear together. Returns 0, or
 * the exit code with err set (no output changed then). */
static int write_outputs(const char *cmd, const encode_args *a, const ember_features *fx,
                         encode_outputs *o, int64_t *n_data, int64_t *n_test,
                         ember_model_err *err) {
    const char *test = a->o.test;
    cli_output *files = o->file;
    for (int k = 0; k < 3; k++) {
        if (k == OUT_TEST && test == NULL) continue;
        int e = cli_output_open(&files[k], o->path[k]);
        if (e != 0) {
            snprintf(err->msg, sizeof err->msg, "cannot write %s: %s", o->path[k], strerror(e));
            return 1;
        }
    }
    int rc = write_csv(cmd, fx, a->o.data, files[OUT_DATA].f, a->o.skip_bad, n_data, err);
    if (rc == 0 && test != NULL)
        rc = write_csv(cmd, fx, test, files[OUT_TEST].f, a->o.skip_bad, n_test, err);
    if (rc != 0) return rc;
    write_json(fx, files[OUT_JSON].f, o->path[OUT_DATA], test ? o->path[OUT_TEST] : NULL, *n_data,
               *n_test);
    const char *failed = NULL;
    int e = cli_outputs_commit(files, test != NULL ? 3 : 2, &failed);
    if (e != 0) {
        snprintf(err->msg, sizeof err->msg, "cannot write %s: %s", failed, strerror(e));
        return 1;
    }
    return 0;
}

int ember_cmd_encode(int argc, char **argv) {
    const char *cmd = argv[0];
    encode_args a;
    encode_outputs outs;
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_CONTINUE) return rc;
    if ((rc = output_paths(cmd, &a, &outs)) != 0) {
        free_outputs(&outs);
        return rc;
    }
    ember_model_err err = {""};
    ember_features *fx = NULL;
    ember_checkpoint ck;
    int have_ck = a.model != NULL;
    if (have_ck ? ember_checkpoint_read(a.model, &ck, &err) != EMBER_STATUS_SUCCESS
                : features_from_data(&a, &fx, &err) != 0) {
        fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
        free_outputs(&outs);
        return 2;
    }
    if (have_ck) fx = ck.fx;
    int64_t n_data = 0, n_test = 0;
    rc = write_outputs(cmd, &a, fx, &outs, &n_data, &n_test, &err);
    if (rc != 0) {
        fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
    } else {
        printf("wrote %s (%lld rows)", outs.path[OUT_DATA], (long long)n_data);
        if (a.o.test) printf(", %s (%lld rows)", outs.path[OUT_TEST], (long long)n_test);
        printf(", %s\n", outs.path[OUT_JSON]);
    }
    free_outputs(&outs);
    if (have_ck)
        ember_checkpoint_free(&ck);
    else
        ember_features_free(fx);
    return rc;
}
