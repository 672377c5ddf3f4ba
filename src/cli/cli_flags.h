/* cli_flags.h: every `ember` subcommand's flags as one table: each entry names a flag, its
 * type, its range, where its value goes and its help; parsing, the usage line and --help
 * are all generated from that table, so a flag cannot be parsed one way and documented
 * another.
 *
 * Conventions (so every subcommand behaves the same):
 * - A bad flag or value prints ONE line to stderr, "ember CMD: what is wrong (try ...)",
 *   and the subcommand exits 2. Nothing here exits or aborts.
 * - Flags take their value as the next word ("--backend cpu") or after '='
 *   ("--backend=cpu"). "-h" or "--help" anywhere prints the help and exits 0.
 * - A flag's default is the value its destination holds before parsing (so the defaults
 *   live where the program keeps them, e.g. ember_train_opts_defaults, and --help shows
 *   them); .def overrides what --help says when the default depends on something else.
 *
 * Typical use:
 *   int64_t batch = 64;
 *   int json = 0;
 *   const cli_flag flags[] = {
 *       {"--batch", CLI_INT, &batch, .min = 1, .max = 1 << 24, .meta = "N", .help = "rows"},
 *       {"--json", CLI_SWITCH, &json, .help = "one JSON object"},
 *   };
 *   const cli_command spec = {argv[0], flags, CLI_COUNT(flags), .about = "..."};
 *   int rc = cli_flags_parse(&spec, argc, argv);
 *   if (rc != CLI_CONTINUE) return rc;
 */
#ifndef EMBER_CLI_FLAGS_H
#define EMBER_CLI_FLAGS_H

#include "ember.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cli_flag_type {
    CLI_SECTION,  /* not a flag: a heading in --help (.help is the heading) */
    CLI_SWITCH,   /* no value; sets the int at dst to 1 */
    CLI_UNSET,    /* no value; sets the int at dst to 0 (the opposite of another switch) */
    CLI_STRING,   /* const char * at dst */
    CLI_INT,      /* int64_t at dst, whole decimal number in [min, max] */
    CLI_INT32,    /* int at dst, in [min, max] (a range inside int's) */
    CLI_FLOAT,    /* double at dst, finite, in [fmin, fmax] */
    CLI_FLOAT32,  /* float at dst, finite, in [fmin, fmax] */
    CLI_INT_LIST, /* comma-separated int64_t in [min, max] into dst[0..capacity), *count */
    CLI_BACKEND,  /* ember_backend_kind at dst: cpu, cuda, opencl (perturbed in test builds) */
    CLI_CHOICE,   /* int at dst: the index of the value in .choices ("uniform|zipf") */
    CLI_CUSTOM,   /* .parse(cmd, flag, value) does it (returns 0, or 2 after one line) */
} cli_flag_type;

typedef struct cli_flag cli_flag;
struct cli_flag {
    const char *name; /* "--batch" */
    cli_flag_type type;
    void *dst;
    int64_t min, max;    /* CLI_INT, CLI_INT32, CLI_INT_LIST */
    double fmin, fmax;   /* CLI_FLOAT, CLI_FLOAT32 */
    int64_t capacity;    /* CLI_INT_LIST: entries dst holds */
    int64_t *count;      /* CLI_INT_LIST: entries parsed */
    const char *choices; /* CLI_CHOICE: "a|b|c" */
    int (*parse)(const char *cmd, const cli_flag *flag, const char *value); /* CLI_CUSTOM */
    int *seen;        /* when not NULL, set to 1 when the flag is given */
    const char *meta; /* the value's placeholder in usage and help: "N", "FILE" */
    const char *help; /* lines separated by '\n' */
    const char *def;  /* what --help says the default is; NULL: dst's value; "": nothing */
    int required;     /* shown without brackets in the usage line (checked by the caller) */
};

typedef struct cli_command {
    const char *name; /* the subcommand, argv[0] */
    const cli_flag *flags;
    size_t nflags;
    const char *about;      /* what the command does, printed after the usage line(s) */
    const char *more_usage; /* further usage lines ("ember encode --model ..."), or NULL */
    const char *epilog;     /* printed after the flags, or NULL */
} cli_command;

#define CLI_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* cli_flags_parse's "carry on": the arguments were parsed and nothing was printed. */
#define CLI_CONTINUE (-1)

/* Parses argv[1..argc-1] against spec. Returns CLI_CONTINUE, 0 after printing the help
 * (-h/--help anywhere), or 2 after printing one line about a bad argument. */
int cli_flags_parse(const cli_command *spec, int argc, char **argv);

/* Parses text as f's value into f's destination, exactly as cli_flags_parse would; for a
 * CLI_CUSTOM parser that stores one parsed value in several places. Returns 0, or 2 after
 * one line. */
int cli_flag_value(const char *cmd, const cli_flag *f, const char *text);

/* Sets one flag by name without the "--" ("batch") from text, as if given on the command
 * line; `label` names it in errors (e.g. "FILE:LINE: batch"). Returns 0, or 2 after one line
 * (an unknown name included). For settings read from files. */
int cli_flags_set(const cli_command *spec, const char *name, const char *value, const char *label);

/* Prints the usage line(s), the about text and every flag with its help and default. */
void cli_flags_help(const cli_command *spec, FILE *f);

#endif /* EMBER_CLI_FLAGS_H */
