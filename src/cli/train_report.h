/* train_report.h: what `ember train` shows while and after it trains: the parameter
 * breakdown, a progress bar on a terminal, one line per epoch, the final metrics, and the
 * --json summary. */
#ifndef EMBER_CLI_TRAIN_REPORT_H
#define EMBER_CLI_TRAIN_REPORT_H

#include "wd_trainer.h"

#include <stdio.h>

typedef struct train_ui {
    int tty, quiet, json;
    double progress_every; /* seconds between plain progress lines off a terminal; 0: none */
    FILE *out;
    const char *data; /* the training data, named while the first pass reads it */
    int bar_shown;
    double last_line; /* when the last plain progress line was printed */
} train_ui;

/* Points o's callbacks at u (whose quiet and json the flags set) and notes whether stderr
 * is a terminal. */
void train_ui_attach(train_ui *u, ember_train_opts *o);

/* Clears the progress bar if one is shown. */
void train_ui_clear_bar(train_ui *u);

/* The first line: the data, its format, epochs, batch, seed and reduction. */
void train_report_banner(const train_ui *u, const ember_train_opts *o);

/* A failed run: the message on stderr (and a JSON object with --json). Returns the exit
 * code: 2 for bad input or a missing backend, 1 when the job failed. */
int train_report_failure(const train_ui *u, const char *cmd, ember_status st, const char *msg);

/* A finished run: skipped lines, the final metrics, and the --json summary. */
void train_report_result(const train_ui *u, const char *cmd, const ember_train_opts *o,
                         const ember_train_result *res);

#endif /* EMBER_CLI_TRAIN_REPORT_H */
