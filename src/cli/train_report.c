/* train_report.c: `ember train`'s progress, epoch lines, final metrics and --json summary
 * (see train_report.h). */
#define _POSIX_C_SOURCE 200809L
#include "train_report.h"

#include "cli_util.h"
#include "util/json_writer.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

static void fmt_count(char *buf, size_t cap, double v) {
    if (v >= 1e6)
        snprintf(buf, cap, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, cap, "%.1fk", v / 1e3);
    else
        snprintf(buf, cap, "%.0f", v);
}

/* On a terminal: a bar redrawn in place. */
static void draw_bar(train_ui *u, const ember_train_progress *p, const char *rate) {
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

/* Elsewhere (a log file, nohup, CI): a plain line every u->progress_every seconds. */
static void plain_line(train_ui *u, const ember_train_progress *p, const char *rate) {
    double now = ember_now();
    if (u->progress_every <= 0 || now - u->last_line < u->progress_every) return;
    u->last_line = now;
    char of[64] = "";
    if (p->rows_expected > 0)
        snprintf(of, sizeof of, " of %lld (%.0f%%)", (long long)p->rows_expected,
                 100.0 * (double)p->rows / (double)p->rows_expected);
    fprintf(stderr, "ember train: epoch %d/%d: %lld rows%s, %s rows/s, loss %.4f, %.0f s\n",
            p->epoch, p->epochs, (long long)p->rows, of, rate, p->running_loss, p->elapsed_s);
    fflush(stderr);
}

/* Epoch 0, the first pass over a new model's data (statistics and row count). */
static void first_pass_line(train_ui *u, const ember_train_progress *p, const char *rate) {
    if (u->tty) {
        fprintf(stderr, "\r  reading %s: %lld rows  %s rows/s   ", u->data, (long long)p->rows,
                rate);
        fflush(stderr);
        u->bar_shown = 1;
        return;
    }
    double now = ember_now();
    if (u->progress_every <= 0 || now - u->last_line < u->progress_every) return;
    u->last_line = now;
    fprintf(stderr, "ember train: first pass over %s: %lld rows, %s rows/s, %.0f s\n", u->data,
            (long long)p->rows, rate, p->elapsed_s);
    fflush(stderr);
}

static void on_progress(void *user, const ember_train_progress *p) {
    train_ui *u = user;
    if (u->quiet) return;
    char rate[32];
    fmt_count(rate, sizeof rate, p->rows_per_s);
    if (p->epoch == 0)
        first_pass_line(u, p, rate);
    else if (u->tty)
        draw_bar(u, p, rate);
    else
        plain_line(u, p, rate);
}

void train_ui_clear_bar(train_ui *u) {
    if (u->bar_shown) {
        fprintf(stderr, "\r%80s\r", "");
        u->bar_shown = 0;
    }
}

static void on_epoch(void *user, const ember_epoch_report *r) {
    train_ui *u = user;
    train_ui_clear_bar(u);
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
    train_ui *u = user;
    train_ui_clear_bar(u); /* the first pass's */
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
    const ember_schema *s = fx->schema;
    if (s->positive[0] != '\0')
        fprintf(o, "label: column '%s', positive class '%s'%s\n", s->cols[s->label_col].name,
                s->positive, s->n_label_values > 2 ? " (against the rest)" : "");
    else
        fprintf(o, "label: column '%s', a number in [0, 1]\n", s->cols[s->label_col].name);
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

void train_ui_attach(train_ui *u, ember_train_opts *o) {
    u->out = stdout;
    u->data = o->data;
    u->tty = isatty(fileno(stderr));
    u->last_line = ember_now();
    o->on_progress = on_progress;
    o->on_epoch = on_epoch;
    o->on_start = on_start;
    o->user = u;
}

void train_report_banner(const train_ui *u, const ember_train_opts *o) {
    if (!u->quiet)
        printf("ember train: %s (%s)%s%s, %d epochs, batch %lld, seed %llu, %s reduction\n",
               o->data, ember_format_name(o->format), o->test ? ", test " : "",
               o->test ? o->test : "", o->epochs, (long long)o->batch,
               (unsigned long long)o->model.seed,
               o->model.reduction == EMBER_REDUCTION_DETERMINISTIC ? "deterministic" : "atomic");
    fflush(stdout);
}

int train_report_failure(const train_ui *u, const char *cmd, ember_status st, const char *msg) {
    fprintf(stderr, "ember %s: %s\n", cmd, msg);
    if (u->json) {
        ember_json j;
        ember_json_init(&j, stdout);
        ember_json_begin_object(&j);
        ember_json_key_string(&j, "error", ember_status_name(st));
        ember_json_key_string(&j, "message", msg);
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

static void print_json(const ember_train_opts *o, const ember_train_result *res) {
    ember_json j;
    ember_json_init(&j, stdout);
    ember_json_begin_object(&j);
    ember_json_key_number(&j, "auc", res->final.auc);
    ember_json_key_number(&j, "logloss", res->final.logloss);
    ember_json_key_number(&j, "accuracy", res->final.accuracy);
    ember_json_key_number(&j, "samples_per_s", res->samples_per_s);
    ember_json_key_int(&j, "params", (long long)res->params);
    ember_json_key_int(&j, "params_formula_total", (long long)res->count.formula_total);
    ember_json_key_number(&j, "train_loss", res->train_loss);
    ember_json_key_string(&j, "evaluated_on", res->final_on);
    ember_json_key_string(&j, "backend", ember_backend_name(o->backend));
    ember_json_key_int(&j, "rows", (long long)res->final.n);
    ember_json_key_int(&j, "epochs", res->epochs_run);
    ember_json_key_int(&j, "best_epoch", res->best_epoch);
    ember_json_key_int(&j, "skipped", (long long)(res->skipped_train + res->skipped_test));
    ember_json_key_number(&j, "seconds", res->seconds);
    ember_json_end_object(&j);
    putchar('\n');
}

void train_report_result(const train_ui *u, const char *cmd, const ember_train_opts *o,
                         const ember_train_result *res) {
    if (res->skipped_train || res->skipped_test)
        fprintf(stderr,
                "ember %s: skipped %lld malformed training lines and %lld test lines "
                "(first: %s)\n",
                cmd, (long long)res->skipped_train, (long long)res->skipped_test, res->first_skip);
    /* the result, with --quiet too: quiet drops the lines on the way, not the answer */
    printf("final (%s, %lld rows, best epoch %d of %d): auc %.4f logloss %.4f accuracy %.4f | "
           "%.0f training samples/s | %lld parameters | %.1f s\n",
           res->final_on, (long long)res->final.n, res->best_epoch, res->epochs_run, res->final.auc,
           res->final.logloss, res->final.accuracy, res->samples_per_s, (long long)res->params,
           res->seconds);
    if (o->resume)
        printf("resumed from %s (%s)%s\n", o->resume,
               res->optimizer_resumed ? "weights and optimizer state"
                                      : "weights; fresh optimizer state",
               res->best_epoch == 0 && res->epochs_run > 0
                   ? "; no epoch beat its validation AUC, so its model is kept (best epoch 0)"
                   : "");
    if (o->save != NULL && res->saves > 0)
        printf("model saved to %s (with its optimizer state)\n", o->save);
    else if (o->save != NULL)
        printf("nothing saved to %s: no epoch improved the validation AUC\n", o->save);
    if (u->json) print_json(o, res);
}
