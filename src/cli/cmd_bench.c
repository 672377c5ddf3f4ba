/* cmd_bench.c: `ember bench`: times every kernel on FBGEMM-convention shapes and prints each
 * figure with its ratio to the copy bandwidth, to direct SGEMM and to the CPU backend
 * measured in the same run (`--model widedeep` is the model benchmark, cmd_bench_model.c). */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "cli_flags.h"
#include "cli_util.h"
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has_model_flag(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 || strncmp(argv[i], "--model=", 8) == 0) return 1;
    }
    return 0;
}

static const char bench_about[] =
    "Times each op (median per call after warm-up, synchronised) on FBGEMM-convention\n"
    "shapes: T tables of E rows x D floats, batch B, L indices per bag, indices uniform\n"
    "or Zipf(alpha) with hot rows scattered over the table; int64 indices, SUM pooling.\n"
    "Defaults: cpu/opencl T=1 E=1000000 D=64 B=4096 L=20 uniform; cuda T=32 E=100000\n"
    "D=128 B=512 L=20 (FBGEMM's default). Dense layer: [B x 400] -> [B x 400], bias, ReLU.\n\n"
    "Every figure is also a ratio: GB/s to a STREAM-style host copy measured in the\n"
    "same run (on a device: to its own full-table gather, a device copy; on CUDA also\n"
    "to cudaMemcpy device to device); dense ops to the same SGEMMs called directly\n"
    "through OpenBLAS (CPU) or cuBLAS (CUDA); with a non-CPU backend the same shapes\n"
    "also run on the CPU backend (unless --no-cpu), side by side.\n"
    "GB/s counts rows read plus written (a row = D*4 bytes): forward ops every indexed\n"
    "row read and every output row written; backward/update ops the output gradient\n"
    "read and each distinct touched row of table, gradient and state read and written\n"
    "once; indices and offsets not counted. Mrows/s = indices per second.\n\n"
    "ops (--op a,b,... ; default all): gather_copy lookup_sum lookup_none\n"
    "  backward_dense backward_sparse update_sgd update_adagrad update_rowwise_adagrad\n"
    "  step_sgd (lookup + fused backward/SGD) dense_fwd dense_bwd sigmoid bce\n"
    "  (gather_copy always runs: it is a device's copy basis)\n";

typedef struct bench_args {
    ember_backend_kind kind;
    int64_t device, reps, threads, seed;
    int64_t tables, rows, dim, batch, pooling; /* -1: the backend's default shape */
    int64_t dense_in, dense_out;
    double alpha;
    int json, deterministic, no_cpu, verbose, batched, index_law;
    const char *op_list;
} bench_args;

/* Parses the flags into *a; CLI_CONTINUE or the exit code. */
static int parse_args(int argc, char **argv, bench_args *a) {
    *a = (bench_args){.kind = EMBER_BACKEND_CPU,
                      .device = -1,
                      .reps = 20,
                      .threads = 0,
                      .seed = 42,
                      .tables = -1,
                      .rows = -1,
                      .dim = -1,
                      .batch = -1,
                      .pooling = -1,
                      .dense_in = 400,
                      .dense_out = 400,
                      .alpha = 1.05,
                      .index_law = BENCH_DIST_UNIFORM};
    const cli_flag flags[] = {
        {"--backend", CLI_BACKEND, &a->kind, .meta = "K", .help = "cpu, cuda or opencl"},
        {"--device", CLI_INT, &a->device, .min = -1, .max = 1000000, .meta = "N",
         .help = "device index", .def = "the backend's default"},
        {"--json", CLI_SWITCH, &a->json,
         .help = "one JSON object on one line instead of the table"},
        {"--reps", CLI_INT, &a->reps, .min = 1, .max = 100000, .meta = "N",
         .help = "timed repetitions per op (fewer for slow ops)"},
        {"--op", CLI_STRING, &a->op_list, .meta = "LIST", .help = "ops to time, comma-separated",
         .def = "all"},
        {"--tables", CLI_INT, &a->tables, .min = 1, .max = 4096, .meta = "T",
         .help = "embedding tables", .def = "1; cuda 32"},
        {"--rows", CLI_INT, &a->rows, .min = 1, .max = (int64_t)1 << 40, .meta = "E",
         .help = "rows per table", .def = "1000000; cuda 100000"},
        {"--dim", CLI_INT, &a->dim, .min = 1, .max = 65536, .meta = "D", .help = "floats per row",
         .def = "64; cuda 128"},
        {"--batch", CLI_INT, &a->batch, .min = 1, .max = (int64_t)1 << 30, .meta = "B",
         .help = "bags per call", .def = "4096; cuda 512"},
        {"--pooling", CLI_INT, &a->pooling, .min = 1, .max = 1 << 20, .meta = "L",
         .help = "indices per bag", .def = "20"},
        {"--index-law", CLI_CHOICE, &a->index_law, .choices = "uniform|zipf", .meta = "D",
         .help = "how indices are drawn: uniform or zipf"},
        {"--alpha", CLI_FLOAT, &a->alpha, .fmin = 1.0001, .fmax = 10.0, .meta = "A",
         .help = "Zipf exponent"},
        {"--dense-in", CLI_INT, &a->dense_in, .min = 1, .max = 1 << 20, .meta = "I",
         .help = "dense layer inputs"},
        {"--dense-out", CLI_INT, &a->dense_out, .min = 1, .max = 1 << 20, .meta = "O",
         .help = "dense layer outputs"},
        {"--threads", CLI_INT, &a->threads, .min = 0, .max = 1024, .meta = "N",
         .help = "CPU threads (0 = the idle cores) and host-copy threads\n"
                 "(0 = all cores)"},
        {"--deterministic", CLI_SWITCH, &a->deterministic,
         .help = "backward ops in DETERMINISTIC mode (default ATOMIC)"},
        {"--batched", CLI_SWITCH, &a->batched,
         .help = "lookup_sum, update_* and step_sgd call the table-batched API\n"
                 "(one call over all T tables) instead of one call per table"},
        {"--seed", CLI_INT, &a->seed, .min = 0, .max = INT64_MAX, .meta = "S",
         .help = "seed of the indices and values"},
        {"--no-cpu", CLI_SWITCH, &a->no_cpu,
         .help = "with a non-CPU backend, do not also run the CPU backend"},
        {"--verbose", CLI_SWITCH, &a->verbose, .help = "name each op on stderr as it starts"},
    };
    const cli_command spec = {
        argv[0], flags, CLI_COUNT(flags), .about = bench_about,
        .more_usage = "       ember bench --model widedeep [...]   (the Wide&Deep training "
                      "benchmark; ember bench --model widedeep --help)\n"
                      "       mpirun -np N ember bench --dist [...]   (distributed steps; "
                      "ember bench --dist --help)\n"};
    return cli_flags_parse(&spec, argc, argv);
}

/* --op a,b,...: the ops to time into cfg->ops (gather_copy always: the copy basis). */
static int select_ops(const char *cmd, const char *op_list, bench_config *cfg) {
    if (op_list == NULL) {
        for (int i = 0; i < BENCH_OP_COUNT_; i++) cfg->ops[i] = 1;
        return 0;
    }
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", op_list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        enum bench_op op;
        if (strcmp(tok, "all") == 0) {
            for (int i = 0; i < BENCH_OP_COUNT_; i++) cfg->ops[i] = 1;
        } else if (bench_op_parse(tok, &op) == 0) {
            cfg->ops[op] = 1;
        } else {
            return cli_usage_error(cmd, "--op: unknown op '%s' (see --help)", tok);
        }
    }
    cfg->ops[BENCH_OP_GATHER_COPY] = 1;
    return 0;
}

/* The run's configuration: the shape (the backend's defaults where not given) and ops.
 * Returns 0, or 2 after one line. */
static int make_config(const char *cmd, const bench_args *a, bench_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    int cuda = a->kind == EMBER_BACKEND_CUDA;
    cfg->shape.tables = a->tables > 0 ? a->tables : cuda ? 32 : 1;
    cfg->shape.rows = a->rows > 0 ? a->rows : cuda ? 100000 : 1000000;
    cfg->shape.dim = a->dim > 0 ? a->dim : cuda ? 128 : 64;
    cfg->shape.batch = a->batch > 0 ? a->batch : cuda ? 512 : 4096;
    cfg->shape.pooling = a->pooling > 0 ? a->pooling : 20;
    cfg->shape.dist = (enum bench_dist)a->index_law;
    cfg->shape.alpha = a->alpha;
    cfg->shape.dense_in = a->dense_in;
    cfg->shape.dense_out = a->dense_out;
    cfg->shape.seed = (uint64_t)a->seed;
    cfg->reps = (int)a->reps;
    cfg->threads = (int)a->threads;
    cfg->mode = a->deterministic ? EMBER_REDUCTION_DETERMINISTIC : EMBER_REDUCTION_ATOMIC;
    cfg->batched = a->batched;
    if (select_ops(cmd, a->op_list, cfg) != 0) return 2;
    if ((double)cfg->shape.batch * (double)cfg->shape.pooling > 9e15 ||
        (double)cfg->shape.rows * (double)cfg->shape.dim > 9e15)
        return cli_usage_error(cmd, "the shape is too large");
    return 0;
}

int ember_cmd_bench(int argc, char **argv) {
    const char *cmd = argv[0];
    /* `--dist` is the distributed benchmark (the index law is --index-law). */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--dist") == 0) return ember_cmd_bench_dist(argc, argv);
    if (has_model_flag(argc, argv)) return ember_cmd_bench_model(argc, argv);
    bench_args a;
    bench_config cfg;
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_CONTINUE) return rc;
    if ((rc = make_config(cmd, &a, &cfg)) != 0) return rc;

    /* The copy first, before the suites take memory: 2 x 128 MiB, far beyond any cache. */
    bench_report rep;
    memset(&rep, 0, sizeof rep);
    rep.cfg = &cfg;
    rep.deterministic = a.deterministic;
    rep.openblas_core = bench_openblas_core();
    if (bench_host_copy((size_t)128 << 20, cfg.threads, 11, &rep.host_copy_gbps,
                        &rep.host_copy_threads) != 0) {
        fprintf(stderr, "ember %s: could not allocate the host copy arrays\n", cmd);
        return 1;
    }

    static bench_run main_run, cpu_run;
    if (bench_run_suite(cmd, a.kind, (int)a.device, &cfg, a.verbose, &main_run) != 0) return 1;
    rep.main = &main_run;
    if (a.kind != EMBER_BACKEND_CPU && !a.no_cpu) {
        if (bench_run_suite(cmd, EMBER_BACKEND_CPU, -1, &cfg, a.verbose, &cpu_run) != 0) return 1;
        rep.cpu = &cpu_run;
    }
    if (a.json)
        bench_print_json(&rep);
    else
        bench_print_text(&rep);

    int failed = 0;
    for (int i = 0; i < BENCH_OP_COUNT_; i++) {
        if (main_run.op[i].ran < 0 || (rep.cpu && cpu_run.op[i].ran < 0)) {
            fprintf(stderr, "ember %s: %s failed: %s\n", cmd, bench_op_name((enum bench_op)i),
                    main_run.op[i].ran < 0 ? main_run.op[i].error : cpu_run.op[i].error);
            failed = 1;
        }
    }
    return failed;
}
