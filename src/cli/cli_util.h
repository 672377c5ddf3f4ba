/* cli_util.h: the few flag-parsing helpers every `ember` subcommand shares.
 *
 * Conventions (so every subcommand behaves the same):
 * - A usage error prints ONE line to stderr, "ember CMD: what is wrong", and the
 *   subcommand returns 2 (see commands.h). Nothing here exits or aborts.
 * - Flags take their value as the next word ("--backend cpu") or after '='
 *   ("--backend=cpu").
 *
 * Typical loop:
 *   const char *v;
 *   for (int i = 1; i < argc; i++) {
 *       int m;
 *       if (cli_is_help(argv[i])) { usage(stdout); return 0; }
 *       if ((m = cli_flag(argc, argv, &i, "--backend", &v)) != 0) {
 *           if (m < 0 || cli_parse_backend(argv[0], "--backend", v, &kind) != 0) return 2;
 *       } else if (strcmp(argv[i], "--json") == 0) {
 *           json = 1;
 *       } else {
 *           return cli_usage_error(argv[0], "unknown argument '%s'", argv[i]);
 *       }
 *   }
 */
#ifndef EMBER_CLI_UTIL_H
#define EMBER_CLI_UTIL_H

#include "ember.h"

#include <stdint.h>
#include <stdio.h>

/* 1 when arg is "-h" or "--help". */
int cli_is_help(const char *arg);

/* 1 when any of argv[1..argc-1] is "-h" or "--help" (for commands that print help before
 * parsing anything else). */
int cli_wants_help(int argc, char **argv);

/* Matches argv[*i] against `flag`. Returns 0 when it is not that flag; 1 when it is, with
 * *value set to the flag's value (and *i advanced past a separate value word); -1 when the
 * value is missing (the one-line error is already printed, with argv[0] as the command).
 * "--flag=value" and "--flag value" are both accepted. */
int cli_flag(int argc, char **argv, int *i, const char *flag, const char **value);

/* Parse a whole decimal integer in [min, max] into *out. Return 0, or print a one-line
 * error naming cmd and flag and return 2. */
int cli_parse_int(const char *cmd, const char *flag, const char *text, int64_t min, int64_t max,
                  int64_t *out);

/* Parse a finite float (strtod syntax) in [min, max] into *out; 0 or 2 as above. */
int cli_parse_float(const char *cmd, const char *flag, const char *text, double min, double max,
                    double *out);

/* Parse a backend name ("cpu", "cuda", "opencl", "perturbed"); 0 or 2 as above. The error
 * lists the names. It does not check that the backend is compiled in: creating the
 * context reports that. */
int cli_parse_backend(const char *cmd, const char *flag, const char *text, ember_backend_kind *out);

/* Parse a comma-separated list of integers in [min, max] ("400,400,400") into out[0..],
 * at most `capacity` of them; *count gets how many. 0 or 2 as above. */
int cli_parse_int_list(const char *cmd, const char *flag, const char *text, int64_t min,
                       int64_t max, int64_t *out, int64_t capacity, int64_t *count);

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

#endif /* EMBER_CLI_UTIL_H */
