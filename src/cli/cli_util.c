/* cli_util.c: the one-line messages and JSON strings of the `ember` subcommands (see cli_util.h).
 */
#include "cli_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ember %s: %s (try 'ember %s --help')\n", cmd, msg, cmd);
    return 2;
}

int cli_api_error(const char *cmd, const ember_context *ctx, ember_status status,
                  const char *what) {
    const char *detail = ctx != NULL ? ember_context_last_error(ctx) : ember_last_error();
    if (detail == NULL || detail[0] == '\0') detail = ember_status_string(status);
    fprintf(stderr, "ember %s: %s failed: %s: %s\n", cmd, what, ember_status_name(status), detail);
    return 1;
}

int cli_dist_missing(const char *cmd, const char *what) {
    fprintf(stderr,
            "ember %s: %s needs libember_dist, which this build lacks (MPI was not "
            "found: install libopenmpi-dev openmpi-bin and rebuild)\n",
            cmd, what);
    return 2;
}
