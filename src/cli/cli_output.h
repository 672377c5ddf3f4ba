/* cli_output.h: the files a subcommand writes (`predict --out`, `encode`'s three files;
 * `train --save` is checked here and written by the model), by one rule for all of them:
 * - a regular file, or a name not taken yet, is replaced atomically (src/util's atomic
 *   file: a temporary beside it renamed over it once complete), so an interrupted command
 *   leaves the old file or the whole new one;
 * - a symbolic link is written through (as cp, a shell's `>`, numpy.save do): the file it
 *   names is the one replaced or created, and the link stays; a dangling link's file is
 *   created when its folder exists (else refused, as below); every check here is of the
 *   file the link names;
 * - a character device or a FIFO (/dev/stdout, /dev/null, a pipe) is written in place:
 *   renaming over it would replace the device with a regular file;
 * - anything else (a directory, a socket), a name whose folder does not exist and an output
 *   that is the same file as one of the command's inputs are refused before any work, as
 *   usage errors (one line, exit 2).
 * Several outputs of one command appear together or not at all: each is written to its
 * temporary, all are flushed and synced, and only then renamed (cli_outputs_commit). */
#ifndef EMBER_CLI_OUTPUT_H
#define EMBER_CLI_OUTPUT_H

#include "util/atomic_file.h"

#include <stdio.h>

typedef struct cli_output {
    FILE *f; /* write here once open */
    const char *path;
    int in_place;         /* a device or FIFO, written directly */
    ember_atomic_file af; /* a regular file's temporary */
} cli_output;

/* Checks path as the output `flag` names, against the command's inputs (NULL entries are
 * skipped). regular_only refuses devices and FIFOs too (a checkpoint: a file to read back,
 * not a stream). Returns 0, or 2 after one line naming the problem. */
int cli_output_check(const char *cmd, const char *flag, const char *path, const char *const *inputs,
                     int ninputs, int regular_only);

/* Opens a checked output for writing. Returns 0, or an errno value. */
int cli_output_open(cli_output *o, const char *path);

/* Makes the n open outputs' contents theirs: flushes and syncs every one, then renames each
 * temporary over its target. Returns 0, or an errno value with every output discarded
 * (none renamed unless the failure came at a rename). On failure *failed names the output
 * that failed. */
int cli_outputs_commit(cli_output *outs, int n, const char **failed);

/* Gives up: an unfinished temporary is removed, the target untouched. Safe to call on a
 * zeroed, committed or already discarded output. */
void cli_output_discard(cli_output *o);

#endif /* EMBER_CLI_OUTPUT_H */
