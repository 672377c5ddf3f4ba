/* cmd_check_dist.c: `mpirun -np N ember check --dist`: the distributed conformance cases
 * (src/dist/dist_check.c) on every rank, each rank on its own context; rank 0 reports.
 * Reached from `ember check` when its arguments hold --dist. */
#include "cli_flags.h"
#include "cli_util.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>

#ifdef EMBER_CLI_WITH_DIST
#include "dist_check.h"
#include "ember_dist.h"

static const char check_dist_about[] =
    "Under mpirun -np N. "
    "Runs the distributed conformance cases on N ranks: each table plan (table-wise,\n"
    "column-wise, row-wise, replicated, and a mix) with SGD, Adagrad and row-wise\n"
    "Adagrad, DETERMINISTIC and ATOMIC, and a bad index on the last rank. The lookup and\n"
    "the fused backward must equal the single-process batched ops on the same global\n"
    "batch: bit for bit for table-wise and column-wise in DETERMINISTIC mode, else\n"
    "within the conformance tolerances and bit-identical from run to run. Exit status 0\n"
    "when every case passed on every rank, 1 when one failed, 2 on bad usage.\n";

/* The device of this rank: one rank per GPU on each machine. */
static int rank_device(ember_dist_comm *comm, ember_backend_kind kind) {
    if (kind == EMBER_BACKEND_CPU) return 0;
    ember_device_info info[16];
    size_t count = 0;
    ember_backend_devices(kind, info, 16, &count);
    int local = ember_dist_comm_local_rank(comm);
    return count > 0 ? local % (int)count : 0;
}

static int run_cases(const char *cmd, ember_backend_kind kind, int64_t threads, const char *prefix,
                     uint64_t seed, int verbose) {
    ember_dist_comm *comm = NULL;
    ember_status st = ember_dist_comm_init(NULL, NULL, &comm);
    if (st != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "ember %s: MPI initialisation failed: %s\n", cmd, ember_status_name(st));
        return 1;
    }
    ember_context *ctx = NULL;
    st = ember_context_create(&ctx, kind, rank_device(comm, kind));
    if (st == EMBER_STATUS_SUCCESS) st = ember_context_set_threads(ctx, (int)threads);
    int ok = 1, ran = 0;
    /* A rank without a context still takes part: the cases agree on its failure. */
    if (st != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "ember %s: rank %d: context: %s: %s\n", cmd, ember_dist_comm_rank(comm),
                ember_status_name(st), ember_last_error());
        ok = 0;
    }
    int all_ok = ok;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    int created = all_ok; /* without a context on every rank no case can run */
    for (size_t i = 0; created && i < dist_check_case_count(); i++) {
        const dist_check_case *c = dist_check_case_at(i);
        if (prefix && strncmp(c->name, prefix, strlen(prefix)) != 0) continue;
        ran++;
        if (!dist_check_run(c, comm, ctx, seed, verbose)) all_ok = 0;
    }
    if (ember_dist_comm_rank(comm) == 0 && all_ok)
        printf("%d distributed case%s passed on %d rank%s (%s)\n", ran, ran == 1 ? "" : "s",
               ember_dist_comm_size(comm), ember_dist_comm_size(comm) == 1 ? "" : "s",
               ember_backend_name(kind));
    if (ran == 0 && prefix && ember_dist_comm_rank(comm) == 0)
        fprintf(stderr, "ember %s: no distributed case starts with '%s'\n", cmd, prefix);
    ember_context_destroy(ctx);
    ember_dist_comm_destroy(comm);
    return ran == 0 ? 2 : all_ok ? 0 : 1;
}

int ember_cmd_check_dist(int argc, char **argv) {
    const char *prefix = NULL;
    ember_backend_kind kind = EMBER_BACKEND_CPU;
    int64_t seed = 1, threads = 1;
    int verbose = 0, list = 0, dist = 0;
    const cli_flag flags[] = {
        {"--dist", CLI_SWITCH, &dist, .help = "the distributed cases (required)"},
        {"--backend", CLI_BACKEND, &kind, .meta = "K",
         .help = "every rank's context; a GPU rank takes device (node-local rank mod devices)"},
        {"--case", CLI_STRING, &prefix, .meta = "NAME",
         .help = "only the cases whose names start with NAME", .def = "all"},
        {"--seed", CLI_INT, &seed, .min = 0, .max = INT64_MAX, .meta = "S",
         .help = "the inputs' seed"},
        {"--threads", CLI_INT, &threads, .min = 0, .max = 4096, .meta = "T",
         .help = "CPU threads per rank, 0 = the idle cores (ranks share the\n"
                 "cores)"},
        {"--verbose", CLI_SWITCH, &verbose, .help = "print each case's sharding plan"},
        {"--list", CLI_SWITCH, &list, .help = "list the cases and exit"},
    };
    const cli_command spec = {argv[0], flags, CLI_COUNT(flags), .about = check_dist_about};
    int rc = cli_flags_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    if (list) {
        for (size_t k = 0; k < dist_check_case_count(); k++)
            printf("%s\n", dist_check_case_at(k)->name);
        return 0;
    }
    return run_cases(argv[0], kind, threads, prefix, (uint64_t)seed, verbose);
}

#else

int ember_cmd_check_dist(int argc, char **argv) {
    (void)argc;
    return cli_dist_missing(argv[0], "--dist");
}

#endif
