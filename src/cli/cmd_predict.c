/* cmd_predict.c: `ember predict`: scores a data file with a trained model, one probability per
 * line, in the order of the file's data lines. */
#define _POSIX_C_SOURCE 200809L
#include "cli_util.h"
#include "commands.h"

#include "wd_trainer.h"
#include "util/atomic_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(
        f, "usage: ember predict --model FILE --data FILE [--format F] [--out FILE]\n"
           "                     [--backend K] [--threads N] [--batch N] [--skip-bad] [--metrics]\n"
           "\n"
           "Writes P(y = 1) for each data line of FILE, one per line, encoded exactly as the\n"
           "model's training data was (its schema, hashing and numeric statistics come from the\n"
           "checkpoint's metadata). Labels may be missing ('?' or empty).\n"
           "\n"
           "  --model FILE   a checkpoint written by `ember train --save`\n"
           "  --data FILE    the rows to score (same columns as the training data)\n"
           "  --format F     checked against the model's format when given\n"
           "  --out FILE     write there (atomically) instead of standard output\n"
           "  --metrics      print AUC, logloss and accuracy to stderr (labelled data)\n"
           "  --skip-bad     skip malformed lines (no output line for them) and count them\n"
           "  --backend K    cpu (default), cuda, opencl; --batch N (default 1024)\n"
           "  --threads N    CPU threads, 0 = all (default: 1 for small models, else all)\n");
}

int ember_cmd_predict(int argc, char **argv) {
    const char *cmd = argv[0];
    const char *model = NULL, *data = NULL, *format = NULL, *outp = NULL, *v;
    ember_backend_kind kind = EMBER_BACKEND_CPU;
    int64_t threads = -1, batch = 1024, device = -1;
    int skip_bad = 0, metrics = 0, rc;
    for (int i = 1; i < argc; i++) {
        int m;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if ((m = cli_flag(argc, argv, &i, "--model", &v)) != 0) {
            if (m < 0) return 2;
            model = v;
        } else if ((m = cli_flag(argc, argv, &i, "--data", &v)) != 0) {
            if (m < 0) return 2;
            data = v;
        } else if ((m = cli_flag(argc, argv, &i, "--format", &v)) != 0) {
            if (m < 0) return 2;
            format = v;
        } else if ((m = cli_flag(argc, argv, &i, "--out", &v)) != 0) {
            if (m < 0) return 2;
            outp = v;
        } else if ((m = cli_flag(argc, argv, &i, "--backend", &v)) != 0) {
            if (m < 0 || (rc = cli_parse_backend(cmd, "--backend", v, &kind))) return 2;
        } else if ((m = cli_flag(argc, argv, &i, "--device", &v)) != 0) {
            if (m < 0 || (rc = cli_parse_int(cmd, "--device", v, -1, 1024, &device))) return 2;
        } else if ((m = cli_flag(argc, argv, &i, "--threads", &v)) != 0) {
            if (m < 0 || (rc = cli_parse_int(cmd, "--threads", v, 0, 4096, &threads))) return 2;
        } else if ((m = cli_flag(argc, argv, &i, "--batch", &v)) != 0) {
            if (m < 0 || (rc = cli_parse_int(cmd, "--batch", v, 1, 1 << 24, &batch))) return 2;
        } else if (strcmp(argv[i], "--skip-bad") == 0) {
            skip_bad = 1;
        } else if (strcmp(argv[i], "--metrics") == 0) {
            metrics = 1;
        } else {
            return cli_usage_error(cmd, "unknown argument '%s'", argv[i]);
        }
    }
    if (model == NULL || data == NULL)
        return cli_usage_error(cmd, "--model and --data are required");

    ember_model_err err = {""};
    ember_checkpoint ck;
    ember_status st = ember_checkpoint_read(model, &ck, &err);
    if (st != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
        return 2;
    }
    if (format != NULL) {
        ember_data_format f;
        if (ember_format_parse(format, &f, NULL) != EMBER_STATUS_SUCCESS ||
            f != ck.fx->schema->format) {
            fprintf(stderr, "ember %s: --format %s: the model was trained on %s data\n", cmd,
                    format, ember_format_name(ck.fx->schema->format));
            ember_checkpoint_free(&ck);
            return 2;
        }
    }
    ember_context *ctx = NULL;
    ember_wd_model *m = NULL;
    ember_reader *r = NULL;
    ember_batch *b = NULL;
    float *probs = NULL;
    FILE *out = stdout;
    ember_atomic_file af = {0};
    ember_eval ev = {0};
    rc = 0;
    if ((st = ember_reader_open(&r, data, ck.fx->schema, &err)) != EMBER_STATUS_SUCCESS) {
        rc = 2;
        goto fail;
    }
    ember_reader_set_skip_bad(r, skip_bad);
    ember_reader_set_label_optional(r, 1);
    if (threads < 0) threads = ember_auto_threads(&ck.cfg, batch);
    if ((st = ember_open_context(kind, (int)device, (int)threads, &ctx, &err)) ||
        (st = ember_wd_create(ctx, &ck.cfg, batch, &m, &err)) ||
        (st = ember_checkpoint_apply(&ck, m, &err))) {
        rc = st == EMBER_STATUS_CORRUPT_FILE ? 2 : 1;
        goto fail;
    }
    if (ember_batch_create(&b, ck.fx, batch) != EMBER_STATUS_SUCCESS ||
        (probs = malloc((size_t)batch * sizeof(float))) == NULL) {
        snprintf(err.msg, sizeof err.msg, "out of memory");
        rc = 1;
        goto fail;
    }
    if (outp != NULL) {
        int e = ember_atomic_open(&af, outp);
        if (e != 0) {
            snprintf(err.msg, sizeof err.msg, "cannot create a file beside %s: %s", outp,
                     strerror(e));
            rc = 1;
            goto fail;
        }
        out = af.f;
    }
    int labelled = 1;
    for (;;) {
        ember_row row;
        int eof = 0;
        if ((st = ember_reader_next(r, &row, &eof, &err)) != EMBER_STATUS_SUCCESS) {
            rc = 2;
            goto fail;
        }
        if (!eof && (st = ember_features_encode(ck.fx, &row, b, &err)) != EMBER_STATUS_SUCCESS) {
            rc = 1;
            goto fail;
        }
        if (b->n == b->cap || (eof && b->n > 0)) {
            if ((st = ember_wd_predict(m, b, probs, &err)) != EMBER_STATUS_SUCCESS) {
                rc = 1;
                goto fail;
            }
            for (int64_t i = 0; i < b->n; i++) {
                fprintf(out, "%.6f\n", (double)probs[i]);
                if (isnan(b->label[i])) labelled = 0;
            }
            if (metrics && labelled) ember_eval_add(&ev, probs, b->label, b->n);
            ember_batch_clear(b);
        }
        if (eof) break;
    }
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err.msg, sizeof err.msg, "write error");
        rc = 1;
        goto fail;
    }
    if (af.f != NULL) {
        out = stdout;
        int e = ember_atomic_commit(&af);
        if (e != 0) {
            snprintf(err.msg, sizeof err.msg, "cannot write %s: %s", outp, strerror(e));
            rc = 1;
            goto fail;
        }
    }
    if (ember_reader_skipped(r) > 0)
        fprintf(stderr, "ember %s: skipped %lld malformed lines (first: %s)\n", cmd,
                (long long)ember_reader_skipped(r), ember_reader_first_skip(r));
    if (metrics) {
        if (labelled && ev.n > 0) {
            ember_metrics mt = ember_eval_metrics(&ev);
            fprintf(stderr, "ember %s: %lld rows: auc %.4f logloss %.4f accuracy %.4f\n", cmd,
                    (long long)mt.n, mt.auc, mt.logloss, mt.accuracy);
        } else {
            fprintf(stderr, "ember %s: --metrics: the data is not fully labelled\n", cmd);
        }
    }
fail:
    if (rc != 0) fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
    ember_atomic_discard(&af); /* an unfinished --out */
    ember_eval_free(&ev);
    free(probs);
    ember_batch_free(b);
    ember_reader_close(r);
    ember_wd_free(m);
    ember_context_destroy(ctx);
    ember_checkpoint_free(&ck);
    return rc;
}
