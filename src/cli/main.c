/* main.c: the `ember` program's entry point; dispatches on argv[1] to one subcommand. */
#define _POSIX_C_SOURCE 200809L /* sigaction */
#include "commands.h"

#include "ember.h"
#include "util/atomic_file.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

typedef int (*command_fn)(int argc, char **argv);

struct command {
    const char *name;
    command_fn fn;
    const char *summary;
};

static const struct command commands[] = {
    {"devices", ember_cmd_devices, "list backends and devices, or why each is unusable"},
    {"demo", ember_cmd_demo, "the seed walkthrough: lookup, gradient, one SGD step"},
    {"params", ember_cmd_params, "Wide&Deep parameter count by the formulas and as allocated"},
    {"check", ember_cmd_check, "check every backend against the CPU reference"},
    {"bench", ember_cmd_bench, "benchmark the kernels (--model widedeep: the model)"},
    {"train", ember_cmd_train, "train a Wide&Deep model on a data file"},
    {"predict", ember_cmd_predict, "score a data file with a trained model"},
    {"encode", ember_cmd_encode, "write the encoded features of a data file"},
};
#define NUM_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(void) {
    printf("usage: ember COMMAND [OPTIONS]    (ember COMMAND --help for its options)\n"
           "       ember --help | --version\n\ncommands:\n");
    for (size_t i = 0; i < NUM_COMMANDS; i++) {
        const struct command *cmd = &commands[i];
        printf("  %-8s %s\n", cmd->name, cmd->summary);
    }
}

static void version(void) {
    printf("ember %s (backends compiled in:", ember_version());
    for (int k = 0; k < EMBER_BACKEND_KIND_COUNT_; k++) {
        if (ember_backend_compiled((ember_backend_kind)k)) {
            printf(" %s", ember_backend_name((ember_backend_kind)k));
        }
    }
    printf(")\n");
}

/* SIGINT or SIGTERM (Ctrl-C, kill, a job scheduler) during a save: remove the temporary
 * file, then end as the signal would have ended the program. */
static void on_termination_signal(int sig) {
    ember_atomic_remove_temporaries();
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(int argc, char **argv) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_termination_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (argc < 2) {
        fprintf(stderr, "ember: no command given; commands:");
        for (size_t i = 0; i < NUM_COMMANDS; i++) fprintf(stderr, " %s", commands[i].name);
        fprintf(stderr, " (try 'ember --help')\n");
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage();
        return 0;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        version();
        return 0;
    }
    for (size_t i = 0; i < NUM_COMMANDS; i++) {
        const struct command *cmd = &commands[i];
        if (strcmp(name, cmd->name) != 0) continue;
        /* The subcommand sees its own name as argv[0]. */
        return cmd->fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "ember: unknown command '%s' (try 'ember --help')\n", name);
    return 2;
}
