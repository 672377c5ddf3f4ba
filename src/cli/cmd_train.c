/* cmd_train.c: `ember train`: trains a Wide&Deep model on a data file, reporting each epoch,
 * with a progress bar on a terminal and a JSON summary with --json. */
#define _POSIX_C_SOURCE 200809L
#include "cli_util.h"
#include "commands.h"

#include "wd_trainer.h"
#include "util/json_writer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(
        f, "usage: ember train --data FILE [--test FILE] [--format adult|criteo|arff|csv|tsv]\n"
           "                   [--schema SPEC] [--backend K] [--epochs N] [--batch N] [--seed S]\n"
           "                   [--threads N] [--save FILE] [--resume FILE] [--json] [--skip-bad]\n"
           "\n"
           "Trains a Wide&Deep model (wide: one-hot + hashed crosses; deep: embeddings + numeric\n"
           "features -> ReLU MLP; one sigmoid output) and reports, each epoch, the training loss\n"
           "and AUC, logloss and accuracy on the test (and validation) data.\n"
           "\n"
           "data:\n"
           "  --data FILE        training data (read as a stream, once per epoch)\n"
           "  --test FILE        test data, evaluated after each epoch\n"
           "  --valid FILE       validation data for early stopping (default: --holdout rows)\n"
           "  --holdout F        fraction of --data held out for validation (default 0.2 when\n"
           "                     there is no --test or --valid, else 0)\n"
           "  --format F         adult (UCI Adult), criteo, arff (Weka; schema from the header),\n"
           "                     csv or tsv (needs --schema). Default: from the file name.\n"
           "  --schema SPEC      csv columns: KIND or NAME:KIND, comma-separated; KIND is label,\n"
           "                     num, cat, multi[:SEP] or ignore. e.g. "
           "label,num,city:cat,tags:multi:|\n"
           "  --header           csv: the first line is a header\n"
           "  --delim C          csv delimiter (',' default; 'tab')\n"
           "  --positive V       the label value meaning positive (arff default: the second\n"
           "                     declared class, e.g. 'bad' for credit-g)\n"
           "  --skip-bad         skip malformed lines (and report how many) instead of failing\n"
           "features:\n"
           "  --buckets N        hash buckets per categorical field (default 1000)\n"
           "  --field-buckets S  per-field overrides, e.g. 'native-country=100,C3=1000000'\n"
           "  --cross-buckets N  hash buckets per crossed feature (default 10000)\n"
           "  --cross SPEC       crossed columns, e.g. 'education*occupation,a*b*c', or none\n"
           "                     (default: adult's census crosses; none for other formats)\n"
           "  --num-buckets N    quantile buckets of each numeric column in the wide part (10)\n"
           "  --numeric M        numeric transform: std (standardise; default), logstd (log1p,\n"
           "                     negatives clamped to 0, then standardise; criteo's default),\n"
           "                     log or raw\n"
           "model:\n"
           "  --emb-dim N        embedding dimension (default 8)\n"
           "  --hidden N,N,..    hidden layer sizes (default 64,32; 'none' for no hidden layer)\n"
           "  --wide-opt O       adagrad (default) or sgd (FTRL is not in ember's API)\n"
           "  --deep-opt O       adam (default), adagrad or sgd\n"
           "  --emb-opt O        adagrad (default), rowwise (row-wise Adagrad) or sgd\n"
           "  --lr X             sets all three learning rates\n"
           "  --wide-lr X        (default 0.01)  --deep-lr X (0.002)  --emb-lr X (0.02)\n"
           "  --l2 X             L2 (weight decay) on all parts; --wide-l2 X (default 0),\n"
           "                     --deep-l2 X (default 1e-4), --emb-l2 X (default 0)\n"
           "training:\n"
           "  --epochs N         (default 8)       --batch N (default 64)\n"
           "  --shuffle N        read training rows through a shuffle buffer of N lines, a\n"
           "                     new seeded order each epoch (default 0: the file's order; use\n"
           "                     it for files sorted by label or time)\n"
           "  --patience N       early stopping: epochs without validation AUC gain (default 3;\n"
           "                     0 = never); the best epoch's model is kept\n"
           "  --seed S           initialisation and holdout split (default 42)\n"
           "  --atomic           ATOMIC gradient reduction (default DETERMINISTIC: same seed,\n"
           "                     same backend -> the same model bit for bit)\n"
           "  --backend K        cpu (default), cuda or opencl; --device N\n"
           "  --threads N        CPU threads; 0 = all cores (default: one thread for small\n"
           "                     models such as Adult's, where threads cost more than they gain;\n"
           "                     all cores for large ones)\n"
           "  --save FILE        safetensors checkpoint, written atomically after each epoch that\n"
           "                     improves validation AUC (every epoch without validation data)\n"
           "  --resume FILE      continue from a checkpoint (its features and sizes, and the\n"
           "                     optimizer state in FILE.optim when present: 1 epoch + a\n"
           "                     resumed epoch = 2 epochs, bit for bit)\n"
           "  --json             last line of stdout: one JSON object (auc, logloss, accuracy,\n"
           "                     samples_per_s, params, ...)\n"
           "  --quiet            no progress bar and no per-epoch lines\n");
}

typedef struct ui {
    int tty, quiet, json;
    FILE *out;
    int bar_shown;
} ui;

static void fmt_count(char *buf, size_t cap, double v) {
    if (v >= 1e6)
        snprintf(buf, cap, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, cap, "%.1fk", v / 1e3);
    else
        snprintf(buf, cap, "%.0f", v);
}

static void on_progress(void *user, const ember_train_progress *p) {
    ui *u = user;
    if (!u->tty || u->quiet) return;
    char rate[32];
    fmt_count(rate, sizeof rate, p->rows_per_s);
    if (p->rows_expected > 0) {
        double frac = (double)p->rows / (double)p->rows_expected;
        if (frac > 1) frac = 1;
        int w = 24, filled = (int)(frac * w);
        char bar[32];
        for (int i = 0; i < w; i++) bar[i] = i < filled ? '#' : '.';
        bar[w] = '\0';
        double eta = p->rows_per_s > 0 ? (double)(p->rows_expected - p->rows) / p->rows_per_s : 0;
        fprintf(stderr, "\r  epoch %d/%d [%s] %3.0f%%  %s rows/s  ETA %.0fs  loss %.4f   ",
                p->epoch, p->epochs, bar, 100 * frac, rate, eta > 0 ? eta : 0, p->running_loss);
    } else {
        fprintf(stderr, "\r  epoch %d/%d  %lld rows  %s rows/s  loss %.4f   ", p->epoch, p->epochs,
                (long long)p->rows, rate, p->running_loss);
    }
    fflush(stderr);
    u->bar_shown = 1;
}

static void clear_bar(ui *u) {
    if (u->bar_shown) {
        fprintf(stderr, "\r%80s\r", "");
        u->bar_shown = 0;
    }
}

static void on_epoch(void *user, const ember_epoch_report *r) {
    ui *u = user;
    clear_bar(u);
    if (u->quiet) return;
    char rate[32];
    fmt_count(rate, sizeof rate, r->samples_per_s);
    fprintf(u->out, "epoch %2d/%d  train loss %.4f", r->epoch, r->epochs, r->train_loss);
    if (r->has_valid)
        fprintf(u->out, " | valid auc %.4f logloss %.4f acc %.4f", r->valid.auc, r->valid.logloss,
                r->valid.accuracy);
    if (r->has_test)
        fprintf(u->out, " | test auc %.4f logloss %.4f acc %.4f", r->test.auc, r->test.logloss,
                r->test.accuracy);
    fprintf(u->out, " | %s rows/s %.1fs%s%s\n", rate, r->train_seconds,
            r->has_valid && r->improved ? " *" : "", r->saved ? " saved" : "");
    fflush(u->out);
}

static void on_start(void *user, const ember_wd_config *cfg, const ember_param_count *pc,
                     const char *device) {
    ui *u = user;
    if (u->quiet) return;
    const ember_features *fx = cfg->fx;
    FILE *o = u->out;
    fprintf(o,
            "model: Wide&Deep on %s: %d wide fields (d_wide %lld), %d embedded fields x %lld, "
            "%d numeric, MLP %lld",
            device, fx->n_wide, (long long)fx->d_wide, fx->n_deep, (long long)cfg->emb_dim,
            fx->n_num, (long long)((int64_t)fx->n_deep * cfg->emb_dim + fx->n_num));
    for (int l = 0; l < cfg->nhidden; l++) fprintf(o, "-%lld", (long long)cfg->hidden[l]);
    fprintf(o, "-1\n");
    fprintf(o, "parameters (the seed's formulas, term by term):\n");
    fprintf(o, "  wide        d_wide + 1                     = %lld\n", (long long)pc->wide);
    fprintf(o, "  embeddings  sum(vocab_i * dim_i)           = %lld\n", (long long)pc->embeddings);
    fprintf(o, "  dnn         sum(n_{l-1} * n_l + n_l)       = %lld\n", (long long)pc->dnn);
    fprintf(o, "  output      (d_wide + d_deep) + 1          = %lld   (d_deep = %lld)\n",
            (long long)pc->output, (long long)pc->d_deep);
    fprintf(o, "  formula total                              = %lld\n",
            (long long)pc->formula_total);
    fprintf(o,
            "  allocated   d_wide + emb + dnn + d_deep + 1 = %lld = formula total - %lld: the "
            "wide weights and the bias appear in both the wide and the output term but are "
            "held once\n",
            (long long)pc->allocated, (long long)pc->shared);
    fflush(o);
}

static int parse_opt(const char *cmd, const char *flag, const char *v, ember_optimizer_kind *k,
                     int part) {
    /* part: 0 wide, 1 deep, 2 embeddings */
    if (strcasecmp(v, "ftrl") == 0)
        return cli_usage_error(cmd, "%s ftrl: FTRL is not in ember's API; use adagrad", flag);
    if (strcasecmp(v, "sgd") == 0)
        *k = EMBER_OPTIMIZER_SGD;
    else if (strcasecmp(v, "adagrad") == 0)
        *k = EMBER_OPTIMIZER_ADAGRAD;
    else if (part == 1 && strcasecmp(v, "adam") == 0)
        *k = EMBER_OPTIMIZER_ADAM;
    else if (part == 2 && (strcasecmp(v, "rowwise") == 0 || strcasecmp(v, "rowwise_adagrad") == 0))
        *k = EMBER_OPTIMIZER_ROWWISE_ADAGRAD;
    else
        return cli_usage_error(cmd, "%s: unknown optimizer '%s' (%s)", flag, v,
                               part == 0   ? "adagrad, sgd"
                               : part == 1 ? "adam, adagrad, sgd"
                                           : "adagrad, rowwise, sgd");
    return 0;
}

/* The format a file name suggests, or -1. */
static int guess_format(const char *path, ember_data_format *fmt, char *delim) {
    size_t n = strlen(path);
    if (n >= 5 && strcasecmp(path + n - 5, ".arff") == 0) {
        *fmt = EMBER_FORMAT_ARFF;
        return 0;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strncasecmp(base, "adult", 5) == 0) {
        *fmt = EMBER_FORMAT_ADULT;
        return 0;
    }
    if (n >= 4 && strcasecmp(path + n - 4, ".tsv") == 0) {
        *fmt = EMBER_FORMAT_CSV;
        *delim = '\t';
        return 0;
    }
    return -1;
}

int ember_cmd_train(int argc, char **argv) {
    const char *cmd = argv[0];
    ember_train_opts o;
    ember_train_opts_defaults(&o);
    ui u = {0};
    u.out = stdout;
    const char *format = NULL, *delim_s = NULL, *v;
    int64_t iv;
    double fv;
    int rc, numeric_set = 0;
    for (int i = 1; i < argc; i++) {
        int m;
        const char *a = argv[i];
#define FLAG(name) ((m = cli_flag(argc, argv, &i, name, &v)) != 0)
#define CHECK()                                                                                    \
    if (m < 0) return 2
        if (cli_is_help(a)) {
            usage(stdout);
            return 0;
        } else if (FLAG("--data")) {
            CHECK();
            o.data = v;
        } else if (FLAG("--test")) {
            CHECK();
            o.test = v;
        } else if (FLAG("--valid")) {
            CHECK();
            o.valid = v;
        } else if (FLAG("--format")) {
            CHECK();
            format = v;
        } else if (FLAG("--schema")) {
            CHECK();
            o.schema = v;
        } else if (FLAG("--delim")) {
            CHECK();
            delim_s = v;
        } else if (strcmp(a, "--header") == 0) {
            o.header = 1;
        } else if (FLAG("--positive")) {
            CHECK();
            o.positive = v;
        } else if (strcmp(a, "--skip-bad") == 0) {
            o.skip_bad = 1;
        } else if (FLAG("--field-buckets")) {
            CHECK();
            o.field_buckets = v;
        } else if (FLAG("--buckets")) {
            CHECK();
            if ((rc = cli_parse_int(cmd, "--buckets", v, 2, (int64_t)1 << 32, &iv))) return rc;
            o.cat_buckets = iv;
        } else if (FLAG("--cross-buckets")) {
            CHECK();
            if ((rc = cli_parse_int(cmd, "--cross-buckets", v, 2, (int64_t)1 << 32, &iv)))
                return rc;
            o.cross_buckets = iv;
        } else if (FLAG("--cross")) {
            CHECK();
            o.crosses = v;
        } else if (FLAG("--num-buckets")) {
            CHECK();
            if ((rc = cli_parse_int(cmd, "--num-buckets", v, 0, 10000, &iv))) return rc;
            o.num_bins = (int)iv;
        } else if (FLAG("--numeric")) {
            CHECK();
            numeric_set = 1;
            if (ember_numeric_mode_parse(v, &o.numeric_mode) != EMBER_STATUS_SUCCESS)
                return cli_usage_error(cmd, "--numeric: '%s' is not logstd, log, std or raw", v);
        } else if (FLAG("--emb-dim")) {
            CHECK();
            if ((rc = cli_parse_int(cmd, "--emb-dim", v, 1, 4096, &iv))) return rc;
            o.model.emb_dim = iv;
        } else if (FLAG("--hidden")) {
            CHECK();
            if (strcmp(v, "none") == 0 || strcmp(v, "0") == 0) {
                o.model.nhidden = 0;
            } else {
                int64_t cnt;
                if ((rc = cli_parse_int_list(cmd, "--hidden", v, 1, 1 << 20, o.model.hidden,
                                             EMBER_MAX_HIDDEN, &cnt)))
                    return rc;
                o.model.nhidden = (int)cnt;
            }
        } else if (FLAG("--wide-opt")) {
            CHECK();
            if ((rc = parse_opt(cmd, "--wide-opt", v, &o.model.wide_opt, 0))) return rc;
        } else if (FLAG("--deep-opt")) {
            CHECK();
            if ((rc = parse_opt(cmd, "--deep-opt", v, &o.model.deep_opt, 1))) return rc;
        } else if (FLAG("--emb-opt")) {
            CHECK();
            if ((rc = parse_opt(cmd, "--emb-opt", v, &o.model.emb_opt, 2))) return rc;
        } else if (FLAG("--lr")) {
            CHECK();
            if ((rc = cli_parse_float(cmd, "--lr", v, 0, 1e30, &fv))) return rc;
            o.model.wide_lr = o.model.deep_lr = o.model.emb_lr = (float)fv;
        } else if (FLAG("--wide-lr")) {
            CHECK();
            if ((rc = cli_parse_float(cmd, "--wide-lr", v, 0, 1e30, &fv))) return rc;
            o.model.wide_lr = (float)fv;
        } else if (FLAG("--deep-lr")) {
            CHECK();
            if ((rc = cli_parse_float(cmd, "--deep-lr", v, 0, 1e30, &fv))) return rc;
            o.model.deep_lr = (float)fv;
        } else if (FLAG("--emb-lr")) {
            CHECK();
            if ((rc = cli_parse_float(cmd, "--emb-lr", v, 0, 1e30, &fv))) return rc;
            o.model.emb_lr = (float)fv;
        } else if (FLAG("--l2")) {
            CHECK();
            if ((rc = cli_parse_float(cmd, "--l2", v, 0, 1e6, &fv))) return rc;
            o.model.wide_l2 = o.model.deep_l2 = o.model.emb_l2 = (float)fv;
        } else if (FLAG("--wide-l2")) {
            CHECK();
            if ((rc = cli_parse_float(cmd, "--wide-l2", v, 0, 1e6, &fv))) return rc;
            o.model.wide_l2 = (float)fv;
        } else if (FLAG("--deep-l2")) {
            CHECK();
            if ((rc = cli_parse_float(cmd, "--deep-l2", v, 0, 1e6, &fv))) return rc;
            o.model.deep_l2 = (float)fv;
        } else if (FLAG("--emb-l2")) {
            CHECK();
            if ((rc = cli_parse_float(cmd, "--emb-l2", v, 0, 1e6, &fv))) return rc;
            o.model.emb_l2 = (float)fv;
        } else if (FLAG("--epochs")) {
            CHECK();
            if ((rc = cli_parse_int(cmd, "--epochs", v, 0, 1000000, &iv))) return rc;
            o.epochs = (int)iv;
        } else if (FLAG("--batch")) {
            CHECK();
            if ((rc = cli_parse_int(cmd, "--batch", v, 1, 1 << 24, &iv))) return rc;
            o.batch = iv;
        } else if (FLAG("--holdout")) {
            CHECK();
            if ((rc = cli_parse_float(cmd, "--holdout", v, 0, 0.95, &fv))) return rc;
            o.holdout = fv;
        } else if (FLAG("--shuffle")) {
            CHECK();
            if ((rc = cli_parse_int(cmd, "--shuffle", v, 0, 100000000, &iv))) return rc;
            o.shuffle = (int)iv;
        } else if (FLAG("--patience")) {
            CHECK();
            if ((rc = cli_parse_int(cmd, "--patience", v, 0, 1000000, &iv))) return rc;
            o.patience = (int)iv;
        } else if (FLAG("--seed")) {
            CHECK();
            if ((rc = cli_parse_int(cmd, "--seed", v, 0, INT64_MAX, &iv))) return rc;
            o.model.seed = (uint64_t)iv;
        } else if (strcmp(a, "--atomic") == 0) {
            o.model.reduction = EMBER_REDUCTION_ATOMIC;
        } else if (strcmp(a, "--deterministic") == 0) {
            o.model.reduction = EMBER_REDUCTION_DETERMINISTIC;
        } else if (FLAG("--backend")) {
            CHECK();
            if ((rc = cli_parse_backend(cmd, "--backend", v, &o.backend))) return rc;
        } else if (FLAG("--device")) {
            CHECK();
            if ((rc = cli_parse_int(cmd, "--device", v, -1, 1024, &iv))) return rc;
            o.device = (int)iv;
        } else if (FLAG("--threads")) {
            CHECK();
            if ((rc = cli_parse_int(cmd, "--threads", v, 0, 4096, &iv))) return rc;
            o.threads = (int)iv;
        } else if (FLAG("--save")) {
            CHECK();
            o.save = v;
        } else if (FLAG("--resume")) {
            CHECK();
            o.resume = v;
        } else if (strcmp(a, "--json") == 0) {
            u.json = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            u.quiet = 1;
        } else {
            return cli_usage_error(cmd, "unknown argument '%s'", a);
        }
#undef FLAG
#undef CHECK
    }
    if (o.data == NULL) return cli_usage_error(cmd, "--data FILE is required");
    if (format != NULL) {
        if (ember_format_parse(format, &o.format, &o.delim) != EMBER_STATUS_SUCCESS)
            return cli_usage_error(cmd, "--format: '%s' is not adult, criteo, arff, csv or tsv",
                                   format);
    } else if (o.resume == NULL && guess_format(o.data, &o.format, &o.delim) != 0) {
        return cli_usage_error(cmd, "--format is needed for %s (adult, criteo, arff, csv, tsv)",
                               o.data);
    }
    /* Criteo's counts are heavy-tailed: log1p first, as usual for that data. */
    if (!numeric_set && o.format == EMBER_FORMAT_CRITEO) o.numeric_mode = EMBER_NUMERIC_LOG_STD;
    if (delim_s != NULL) {
        if (strcmp(delim_s, "tab") == 0 || strcmp(delim_s, "\\t") == 0)
            o.delim = '\t';
        else if (strlen(delim_s) == 1)
            o.delim = delim_s[0];
        else
            return cli_usage_error(cmd, "--delim: one character or 'tab'");
    }
    if (o.format == EMBER_FORMAT_CSV && o.schema == NULL && o.resume == NULL)
        return cli_usage_error(cmd, "--format csv needs --schema (e.g. label,num,cat)");
    u.tty = isatty(fileno(stderr));
    o.on_progress = on_progress;
    o.on_epoch = on_epoch;
    o.on_start = on_start;
    o.user = &u;
    if (!u.quiet)
        printf("ember train: %s (%s)%s%s, %d epochs, batch %lld, seed %llu, %s reduction\n", o.data,
               o.resume ? "format of the checkpoint" : ember_format_name(o.format),
               o.test ? ", test " : "", o.test ? o.test : "", o.epochs, (long long)o.batch,
               (unsigned long long)o.model.seed,
               o.model.reduction == EMBER_REDUCTION_DETERMINISTIC ? "deterministic" : "atomic");
    fflush(stdout);
    ember_train_result res;
    ember_model_err err = {""};
    ember_status st = ember_train(&o, &res, &err);
    clear_bar(&u);
    if (st != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "ember %s: %s\n", cmd, err.msg);
        if (u.json) {
            ember_json j;
            ember_json_init(&j, stdout);
            ember_json_begin_object(&j);
            ember_json_key_string(&j, "error", ember_status_name(st));
            ember_json_key_string(&j, "message", err.msg);
            ember_json_key_bool(&j, "ok", 0);
            ember_json_end_object(&j);
            putchar('\n');
        }
        return (st == EMBER_STATUS_BAD_DATA || st == EMBER_STATUS_INVALID_ARGUMENT ||
                st == EMBER_STATUS_IO_ERROR || st == EMBER_STATUS_CORRUPT_FILE ||
                st == EMBER_STATUS_BACKEND_NOT_COMPILED || st == EMBER_STATUS_NO_DEVICE)
                   ? 2
                   : 1;
    }
    if (res.skipped_train || res.skipped_test)
        fprintf(stderr,
                "ember %s: skipped %lld malformed training lines and %lld test lines "
                "(first: %s)\n",
                cmd, (long long)res.skipped_train, (long long)res.skipped_test, res.first_skip);
    if (!u.quiet) {
        printf("final (%s, %lld rows, best epoch %d of %d): auc %.4f logloss %.4f accuracy %.4f | "
               "%.0f training samples/s | %lld parameters | %.1f s\n",
               res.final_on, (long long)res.final.n, res.best_epoch, res.epochs_run, res.final.auc,
               res.final.logloss, res.final.accuracy, res.samples_per_s, (long long)res.params,
               res.seconds);
        if (o.resume)
            printf("resumed from %s (%s)\n", o.resume,
                   res.optimizer_resumed ? "weights and optimizer state"
                                         : "weights; fresh optimizer state");
        if (o.save) printf("model saved to %s (optimizer state: %s.optim)\n", o.save, o.save);
    }
    if (u.json) {
        ember_json j;
        ember_json_init(&j, stdout);
        ember_json_begin_object(&j);
        ember_json_key_number(&j, "auc", res.final.auc);
        ember_json_key_number(&j, "logloss", res.final.logloss);
        ember_json_key_number(&j, "accuracy", res.final.accuracy);
        ember_json_key_number(&j, "samples_per_s", res.samples_per_s);
        ember_json_key_int(&j, "params", (long long)res.params);
        ember_json_key_int(&j, "params_formula_total", (long long)res.count.formula_total);
        ember_json_key_number(&j, "train_loss", res.train_loss);
        ember_json_key_string(&j, "evaluated_on", res.final_on);
        ember_json_key_string(&j, "backend", ember_backend_name(o.backend));
        ember_json_key_int(&j, "rows", (long long)res.final.n);
        ember_json_key_int(&j, "epochs", res.epochs_run);
        ember_json_key_int(&j, "best_epoch", res.best_epoch);
        ember_json_key_int(&j, "skipped", (long long)(res.skipped_train + res.skipped_test));
        ember_json_key_number(&j, "seconds", res.seconds);
        ember_json_end_object(&j);
        putchar('\n');
    }
    return 0;
}
