/* cmd_predict.c: `ember predict`: scores a data file with a trained model, one probability per
 * line, in the order of the file's data lines. */
#define _POSIX_C_SOURCE 200809L
#include "cli_flags.h"
#include "cli_output.h"
#include "cli_util.h"
#include "commands.h"

#include "wd_trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct predict_args {
    const char *model, *data, *format, *out;
    ember_backend_kind kind;
    int64_t threads, batch, device;
    int skip_bad, metrics;
} predict_args;

/* Parses the flags into *a; CLI_CONTINUE or the exit code. */
static int parse_args(int argc, char **argv, predict_args *a) {
    *a = (predict_args){.kind = EMBER_BACKEND_CPU, .threads = -1, .batch = 1024, .device = -1};
    const cli_flag flags[] = {
        {"--model", CLI_STRING, &a->model, .meta = "FILE", .required = 1,
         .help = "a checkpoint written by `ember train --save`"},
        {"--data", CLI_STRING, &a->data, .meta = "FILE", .required = 1,
         .help = "the rows to score (same columns as the training data)"},
        {"--format", CLI_STRING, &a->format, .meta = "F",
         .help = "checked against the model's format when given"},
        {"--out", CLI_STRING, &a->out, .meta = "FILE",
         .help = "write there instead of standard output: a file is replaced\n"
                 "atomically (a symbolic link: the file it names; the link\n"
                 "stays), a device or FIFO (/dev/stdout) written in place"},
        {"--metrics", CLI_SWITCH, &a->metrics,
         .help = "print AUC, logloss and accuracy to stderr (labelled data)"},
        {"--skip-bad", CLI_SWITCH, &a->skip_bad,
         .help = "skip malformed lines (no output line for them) and count them"},
        {"--backend", CLI_BACKEND, &a->kind, .meta = "K", .help = "cpu, cuda or opencl"},
        {"--device", CLI_INT, &a->device, .min = -1, .max = 1024, .meta = "N",
         .help = "device index", .def = "the backend's default"},
        {"--batch", CLI_INT, &a->batch, .min = 1, .max = 1 << 24, .meta = "N",
         .help = "rows scored per call"},
        {"--threads", CLI_INT, &a->threads, .min = 0, .max = 4096, .meta = "N",
         .help = "CPU threads, 0 = the idle cores (those no other process runs\n"
                 "on)",
         .def = "1 for small models, else the idle cores"},
    };
    const cli_command spec = {
        argv[0], flags, CLI_COUNT(flags),
        .about =
            "Writes P(y = 1) for each data line of FILE, one per line, encoded exactly as the\n"
            "model's training data was (its schema, hashing and numeric statistics come from the\n"
            "checkpoint's metadata). Labels may be missing ('?' or empty).\n"};
    int rc = cli_flags_parse(&spec, argc, argv);
    if (rc == CLI_CONTINUE && (a->model == NULL || a->data == NULL))
        return cli_usage_error(argv[0], "--model and --data are required");
    const char *inputs[] = {a->model, a->data};
    if (rc == CLI_CONTINUE && a->out != NULL &&
        cli_output_check(argv[0], "--out", a->out, inputs, 2, 0) != 0)
        return 2;
    return rc;
}

/* Scores every row of r, one probability per line to out; with metrics, adds the rows to ev
 * while every row so far is labelled (*labelled becomes 0 at the first that is not).
 * Returns 0, or the exit code with err set. */
static int score_rows(const ember_checkpoint *ck, ember_wd_model *m, ember_reader *r,
                      ember_batch *b, float *probs, FILE *out, int metrics, ember_eval *ev,
                      int *labelled, ember_model_err *err) {
    for (;;) {
        ember_row row;
        int eof = 0;
        if (ember_reader_next(r, &row, &eof, err) != EMBER_STATUS_SUCCESS) return 2;
        if (!eof && ember_features_encode(ck->fx, &row, b, err) != EMBER_STATUS_SUCCESS) return 1;
        if (b->n == b->cap || (eof && b->n > 0)) {
            if (ember_wd_predict(m, b, probs, err) != EMBER_STATUS_SUCCESS) return 1;
            for (int64_t i = 0; i < b->n; i++) {
                fprintf(out, "%.6f\n", (double)probs[i]);
                if (isnan(b->label[i])) *labelled = 0;
            }
            if (metrics && *labelled) ember_eval_add(ev, probs, b->label, b->n);
            ember_batch_clear(b);
        }
        if (eof) return 0;
    }
}

static void report(const char *cmd, ember_reader *r, int metrics, const ember_eval *ev,
                   int labelled) {
    if (ember_reader_skipped(r) > 0)
        fprintf(stderr, "ember %s: skipped %lld malformed lines (first: %s)\n", cmd,
                (long long)ember_reader_skipped(r), ember_reader_first_skip(r));
    if (!metrics) return;
    if (labelled && ev->n > 0) {
        ember_metrics mt = ember_eval_metrics(ev);
        fprintf(stderr, "ember %s: %lld rows: auc %.4f logloss %.4f accuracy %.4f\n", cmd,
                (long long)mt.n, mt.auc, mt.logloss, mt.accuracy);
    } else {
        fprintf(stderr, "ember %s: --metrics: the data is not fully labelled\n", cmd);
    }
}

/* The checkpoint of --model, checked against --format. Returns 0, or 2 after a message. */
static int read_model(const char *cmd, const predict_args *a, ember_checkpoint *ck) {
    ember_model_err err = {""};
    if (ember_checkpoint_read(a->model, ck, &err) != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
        return 2;
    }
    ember_data_format f;
    if (a->format != NULL && (ember_format_parse(a->format, &f, NULL) != EMBER_STATUS_SUCCESS ||
                              f != ck->fx->schema->format)) {
        fprintf(stderr, "ember %s: --format %s: the model was trained on %s data\n", cmd, a->format,
                ember_format_name(ck->fx->schema->format));
        ember_checkpoint_free(ck);
        return 2;
    }
    return 0;
}

int ember_cmd_predict(int argc, char **argv) {
    const char *cmd = argv[0];
    predict_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_CONTINUE) return rc;
    ember_checkpoint ck;
    if ((rc = read_model(cmd, &a, &ck)) != 0) return rc;
    ember_model_err err = {""};
    ember_context *ctx = NULL;
    ember_wd_model *m = NULL;
    ember_reader *r = NULL;
    ember_batch *b = NULL;
    float *probs = NULL;
    FILE *out = stdout;
    cli_output file = {0}; /* --out FILE */
    ember_eval ev = {0};
    ember_status st;
    int labelled = 1;
    if (ember_reader_open(&r, a.data, ck.fx->schema, &err) != EMBER_STATUS_SUCCESS) {
        rc = 2;
        goto done;
    }
    ember_reader_set_skip_bad(r, a.skip_bad);
    ember_reader_set_label_optional(r, 1);
    if (a.threads < 0) a.threads = ember_auto_threads(&ck.cfg, a.batch);
    if ((st = ember_open_context(a.kind, (int)a.device, (int)a.threads, &ctx, &err)) ||
        (st = ember_wd_create(ctx, &ck.cfg, a.batch, &m, &err)) ||
        (st = ember_checkpoint_apply(&ck, m, &err))) {
        rc = st == EMBER_STATUS_CORRUPT_FILE ? 2 : 1;
        goto done;
    }
    if (ember_batch_create(&b, ck.fx, a.batch) != EMBER_STATUS_SUCCESS ||
        (probs = malloc((size_t)a.batch * sizeof(float))) == NULL) {
        snprintf(err.msg, sizeof err.msg, "out of memory");
        rc = 1;
        goto done;
    }
    if (a.out != NULL) {
        int e = cli_output_open(&file, a.out);
        if (e != 0) {
            snprintf(err.msg, sizeof err.msg, "cannot write %s: %s", a.out, strerror(e));
            rc = 1;
            goto done;
        }
        out = file.f;
    }
    rc = score_rows(&ck, m, r, b, probs, out, a.metrics, &ev, &labelled, &err);
    if (rc == 0 && (fflush(out) != 0 || ferror(out))) {
        snprintf(err.msg, sizeof err.msg, "write error");
        rc = 1;
    }
    const char *failed = NULL;
    int e = rc == 0 && file.f != NULL ? cli_outputs_commit(&file, 1, &failed) : 0;
    if (e != 0) {
        snprintf(err.msg, sizeof err.msg, "cannot write %s: %s", failed, strerror(e));
        rc = 1;
    }
    if (rc == 0) report(cmd, r, a.metrics, &ev, labelled);
done:
    if (rc != 0) fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
    cli_output_discard(&file); /* an unfinished --out */
    ember_eval_free(&ev);
    free(probs);
    ember_batch_free(b);
    ember_reader_close(r);
    ember_wd_free(m);
    ember_context_destroy(ctx);
    ember_checkpoint_free(&ck);
    return rc;
}
