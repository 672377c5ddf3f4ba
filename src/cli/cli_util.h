/* cli_util.h: the messages every `ember` subcommand prints the same way (flags are parsed
 * by cli_flags.h).
 *
 * A usage error prints ONE line to stderr, "ember CMD: what is wrong", and the subcommand
 * returns 2 (see commands.h). Nothing here exits or aborts. */
#ifndef EMBER_CLI_UTIL_H
#define EMBER_CLI_UTIL_H

#include "ember.h"

#include <stdio.h>

/* Print "ember CMD: <message> (try 'ember CMD --help')" to stderr as one line; returns 2,
 * so `return cli_usage_error(...)` ends a subcommand with the usage exit code. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Print "ember CMD: WHAT failed: STATUS_NAME: detail" to stderr as one line, the detail
 * from ember_context_last_error(ctx) (or ember_last_error() when ctx is NULL); returns 1,
 * the exit code of a job that failed. */
int cli_api_error(const char *cmd, const ember_context *ctx, ember_status status, const char *what);

/* Print "ember CMD: WHAT needs libember_dist, which this build lacks ..." to stderr;
 * returns 2. The --dist commands, and `ember train` under mpirun, of a build without MPI
 * are this one message. */
int cli_dist_missing(const char *cmd, const char *what);

#endif /* EMBER_CLI_UTIL_H */
