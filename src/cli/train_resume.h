/* train_resume.h: what `ember train --resume FILE` takes from the checkpoint: the data
 * format and columns, the features (buckets, crosses, numeric transform), the layer sizes
 * and the seed (which fixes the holdout split and the shuffle order, so a resumed run
 * continues the interrupted one). A flag that asks for something else is refused, not
 * silently ignored; the learning settings (optimizers, rates, L2, epochs, batch) stay the
 * command line's. */
#ifndef EMBER_CLI_TRAIN_RESUME_H
#define EMBER_CLI_TRAIN_RESUME_H

#include "cli_data_flags.h"

/* The model flags given on the command line (the data and feature ones are in
 * cli_data_values). */
typedef struct train_given {
    int emb_dim, hidden, seed;
} train_given;

/* Reads o->resume and sets o's seed and format to the checkpoint's. Returns 0, or 2 after
 * one line: the checkpoint cannot be read, or a flag given disagrees with it. */
int train_resume_adopt(const char *cmd, ember_train_opts *o, const cli_data_values *dv,
                       const train_given *given);

#endif /* EMBER_CLI_TRAIN_RESUME_H */
