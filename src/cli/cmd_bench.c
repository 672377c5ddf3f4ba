/* cmd_bench.c: `ember bench`: times every kernel on FBGEMM-convention shapes and prints each
 * figure with its ratio to the copy bandwidth, to direct SGEMM and to the CPU backend
 * measured in the same run (`--model widedeep` is the model benchmark, cmd_bench_model.c). */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "cli_util.h"
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The model benchmark lives in another part (src/model's owner); while it is absent the
 * program still links and says so. */
#pragma weak ember_cmd_bench_model

static void usage(FILE *f) {
    fprintf(f,
            "usage: ember bench [--backend K] [--device N] [--json] [--reps N] [--op LIST]\n"
            "                   [--tables T] [--rows E] [--dim D] [--batch B] [--pooling L]\n"
            "                   [--dist uniform|zipf] [--alpha A] [--dense-in I] [--dense-out O]\n"
            "                   [--threads N] [--deterministic] [--seed S] [--no-cpu] [--verbose]\n"
            "       ember bench --model widedeep [...]   (the Wide&Deep training benchmark)\n\n"
            "Times each op (median per call after warm-up, synchronised) on FBGEMM-convention\n"
            "shapes: T tables of E rows x D floats, batch B, L indices per bag, indices uniform\n"
            "or Zipf(alpha) with hot rows scattered over the table; int64 indices, SUM pooling.\n"
            "Defaults: cpu/opencl T=1 E=1000000 D=64 B=4096 L=20 uniform; cuda T=32 E=100000\n"
            "D=128 B=512 L=20 (FBGEMM's default). Dense layer: [B x 400] -> [B x 400], bias, ReLU.\n\n"
            "Every figure is also a ratio: GB/s to a STREAM-style host copy measured in the\n"
            "same run (on a device: to its own full-table gather, a device copy); dense ops to\n"
            "the same SGEMMs called directly through OpenBLAS (CPU); with a non-CPU backend the\n"
            "same shapes also run on the CPU backend (unless --no-cpu), side by side.\n"
            "GB/s counts rows read plus written (a row = D*4 bytes): forward ops every indexed\n"
            "row read and every output row written; backward/update ops the output gradient\n"
            "read and each distinct touched row of table, gradient and state read and written\n"
            "once; indices and offsets not counted. Mrows/s = indices per second.\n\n"
            "ops (--op a,b,... ; default all): gather_copy lookup_sum lookup_none\n"
            "  backward_dense backward_sparse update_sgd update_adagrad update_rowwise_adagrad\n"
            "  step_sgd (lookup + fused backward/SGD) dense_fwd dense_bwd sigmoid bce\n"
            "  (gather_copy always runs: it is a device's copy basis)\n\n"
            "  --threads N      CPU threads and host-copy threads (0 = all cores, default)\n"
            "  --deterministic  backward ops in DETERMINISTIC mode (default ATOMIC)\n"
            "  --batched        lookup_sum, update_* and step_sgd call the table-batched API\n"
            "                   (one call over all T tables) instead of one call per table\n"
            "  --reps N         timed repetitions per op (default 20; fewer for slow ops)\n"
            "  --json           one JSON object on one line instead of the table\n");
}

static int has_model_flag(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 || strncmp(argv[i], "--model=", 8) == 0) return 1;
    }
    return 0;
}

int ember_cmd_bench(int argc, char **argv) {
    const char *cmd = argv[0];
    /* `--dist` alone is the distributed benchmark; `--dist uniform|zipf` the index law. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--dist") == 0 && (i + 1 == argc || strncmp(argv[i + 1], "--", 2) == 0))
            return ember_cmd_bench_dist(argc, argv);
    if (has_model_flag(argc, argv)) {
        if (ember_cmd_bench_model == NULL) {
            fprintf(stderr, "ember %s: --model: the model benchmark is not built into this "
                            "version of ember\n", cmd);
            return 2;
        }
        return ember_cmd_bench_model(argc, argv);
    }

    ember_backend_kind kind = EMBER_BACKEND_CPU;
    int64_t device = -1, reps = 20, threads = 0, seed = 42;
    int64_t tables = -1, rows = -1, dim = -1, batch = -1, pooling = -1;
    int64_t dense_in = 400, dense_out = 400;
    double alpha = 1.05;
    int json = 0, deterministic = 0, no_cpu = 0, verbose = 0;
    int cfg_batched = 0;
    enum bench_dist dist = BENCH_DIST_UNIFORM;
    const char *op_list = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int m, rc = 0;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        }
#define INT_FLAG(name, var, lo, hi)                                                          \
    if ((m = cli_flag(argc, argv, &i, name, &v)) != 0) {                                    \
        if (m < 0 || cli_parse_int(cmd, name, v, lo, hi, &var) != 0) return 2;              \
        continue;                                                                           \
    }
        INT_FLAG("--device", device, -1, 1000000)
        INT_FLAG("--reps", reps, 1, 100000)
        INT_FLAG("--threads", threads, 0, 1024)
        INT_FLAG("--seed", seed, 0, INT64_MAX)
        INT_FLAG("--tables", tables, 1, 4096)
        INT_FLAG("--rows", rows, 1, (int64_t)1 << 40)
        INT_FLAG("--dim", dim, 1, 65536)
        INT_FLAG("--batch", batch, 1, (int64_t)1 << 30)
        INT_FLAG("--pooling", pooling, 1, 1 << 20)
        INT_FLAG("--dense-in", dense_in, 1, 1 << 20)
        INT_FLAG("--dense-out", dense_out, 1, 1 << 20)
#undef INT_FLAG
        if ((m = cli_flag(argc, argv, &i, "--backend", &v)) != 0) {
            if (m < 0 || cli_parse_backend(cmd, "--backend", v, &kind) != 0) return 2;
        } else if ((m = cli_flag(argc, argv, &i, "--alpha", &v)) != 0) {
            if (m < 0 || cli_parse_float(cmd, "--alpha", v, 1.0001, 10.0, &alpha) != 0) return 2;
        } else if ((m = cli_flag(argc, argv, &i, "--dist", &v)) != 0) {
            if (m < 0) return 2;
            if (strcmp(v, "uniform") == 0) dist = BENCH_DIST_UNIFORM;
            else if (strcmp(v, "zipf") == 0) dist = BENCH_DIST_ZIPF;
            else return cli_usage_error(cmd, "--dist: '%s' is not uniform or zipf", v);
        } else if ((m = cli_flag(argc, argv, &i, "--op", &v)) != 0) {
            if (m < 0) return 2;
            op_list = v;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--deterministic") == 0) {
            deterministic = 1;
        } else if (strcmp(argv[i], "--batched") == 0) {
            cfg_batched = 1;
        } else if (strcmp(argv[i], "--no-cpu") == 0) {
            no_cpu = 1;
        } else if (strcmp(argv[i], "--verbose") == 0) {
            verbose = 1;
        } else {
            rc = cli_usage_error(cmd, "unknown argument '%s'", argv[i]);
        }
        if (rc) return rc;
    }

    bench_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int cuda = kind == EMBER_BACKEND_CUDA;
    cfg.shape.tables = tables > 0 ? tables : cuda ? 32 : 1;
    cfg.shape.rows = rows > 0 ? rows : cuda ? 100000 : 1000000;
    cfg.shape.dim = dim > 0 ? dim : cuda ? 128 : 64;
    cfg.shape.batch = batch > 0 ? batch : cuda ? 512 : 4096;
    cfg.shape.pooling = pooling > 0 ? pooling : 20;
    cfg.shape.dist = dist;
    cfg.shape.alpha = alpha;
    cfg.shape.dense_in = dense_in;
    cfg.shape.dense_out = dense_out;
    cfg.shape.seed = (uint64_t)seed;
    cfg.reps = (int)reps;
    cfg.threads = (int)threads;
    cfg.mode = deterministic ? EMBER_REDUCTION_DETERMINISTIC : EMBER_REDUCTION_ATOMIC;
    cfg.batched = cfg_batched;
    if (op_list == NULL) {
        for (int i = 0; i < BENCH_OP_COUNT_; i++) cfg.ops[i] = 1;
    } else {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", op_list);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            enum bench_op op;
            if (strcmp(tok, "all") == 0) {
                for (int i = 0; i < BENCH_OP_COUNT_; i++) cfg.ops[i] = 1;
            } else if (bench_op_parse(tok, &op) == 0) {
                cfg.ops[op] = 1;
            } else {
                return cli_usage_error(cmd, "--op: unknown op '%s' (see --help)", tok);
            }
        }
        cfg.ops[BENCH_OP_GATHER_COPY] = 1;
    }
    if ((double)cfg.shape.batch * (double)cfg.shape.pooling > 9e15 ||
        (double)cfg.shape.rows * (double)cfg.shape.dim > 9e15) {
        return cli_usage_error(cmd, "the shape is too large");
    }

    /* The copy first, before the suites take memory: 2 x 128 MiB, far beyond any cache. */
    bench_report rep;
    memset(&rep, 0, sizeof rep);
    rep.cfg = &cfg;
    rep.deterministic = deterministic;
    rep.openblas_core = bench_openblas_core();
    if (bench_host_copy((size_t)128 << 20, cfg.threads, 11, &rep.host_copy_gbps,
                        &rep.host_copy_threads) != 0) {
        fprintf(stderr, "ember %s: could not allocate the host copy arrays\n", cmd);
        return 1;
    }

    static bench_run main_run, cpu_run;
    if (bench_run_suite(cmd, kind, (int)device, &cfg, verbose, &main_run) != 0) return 1;
    rep.main = &main_run;
    if (kind != EMBER_BACKEND_CPU && !no_cpu) {
        if (bench_run_suite(cmd, EMBER_BACKEND_CPU, -1, &cfg, verbose, &cpu_run) != 0) return 1;
        rep.cpu = &cpu_run;
    }
    if (json) bench_print_json(&rep);
    else bench_print_text(&rep);

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
