/* cli_data_flags.h: the data-format and feature flags `ember train` and `ember encode`
 * share (one table, so both read a file and build its features the same way), and the
 * checks that turn them into an ember_train_opts. */
#ifndef EMBER_CLI_DATA_FLAGS_H
#define EMBER_CLI_DATA_FLAGS_H

#include "cli_flags.h"

#include "wd_trainer.h"

/* Values that need the whole command line before they mean something, and which flags
 * were given (--resume refuses those that disagree with the checkpoint). */
typedef struct cli_data_values {
    const char *format; /* --format as given, or NULL */
    const char *delim;  /* --delim as given, or NULL */
    int numeric_set;    /* --numeric given */
    int buckets_set, cross_buckets_set, num_buckets_set;
} cli_data_values;

/* How many entries cli_data_flags writes. */
#define CLI_DATA_FLAG_COUNT 14

/* Writes the shared flags (--format .. --skip-bad, then a "features:" section) into
 * out[0..CLI_DATA_FLAG_COUNT), their values going to o and v. Returns CLI_DATA_FLAG_COUNT. */
size_t cli_data_flags(ember_train_opts *o, cli_data_values *v, cli_flag *out);

/* After parsing: sets o->format and o->delim from --format, --delim and the format's
 * numeric default, and checks that a csv file has a schema. Without --format and when
 * guess is set: csv when --schema is given (tab-separated for a .tsv name), else what
 * o->data's name says: .arff, adult*, .tsv or .csv. need_format: --format (or a guess) is
 * required. Returns 0, or 2 after one line. */
int cli_data_resolve(const char *cmd, ember_train_opts *o, const cli_data_values *v, int guess,
                     int need_format);

#endif /* EMBER_CLI_DATA_FLAGS_H */
