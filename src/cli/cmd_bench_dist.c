/* cmd_bench_dist.c: `mpirun -np N ember bench --dist`: times distributed training steps
 * (lookup + fused backward/SGD over sharded tables) and reports per step the bytes each
 * rank sent, the time in the all-to-alls, the time in ember's ops, and the ratio of that
 * all-to-all time to one MPI_Alltoall carrying the same bytes, measured in the same run.
 * Reached from `ember bench` when its arguments hold --dist. */
#include "bench.h"
#include "cli_flags.h"
#include "cli_util.h"
#include "commands.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef EMBER_CLI_WITH_DIST
#include "ember_dist.h"

static const char bench_dist_about[] =
    "Under mpirun -np N. Distributed training steps over T tables of R x D, B bags of L\n"
    "indices per rank, S timed steps after 2 warm-up steps. Per step (median over steps,\n"
    "the slowest rank): bytes sent per rank, time in MPI_Alltoallv, time in ember's lookup\n"
    "and fused backward (with host staging), the whole step, and one MPI_Alltoall of the\n"
    "same bytes timed in the same run (the ratio shows what ember's three all-to-alls and\n"
    "agreements cost over the bare transfer).\n";

typedef struct dist_bench_opts {
    int64_t tables, rows, dim, batch, pooling, steps, threads, seed;
    ember_shard_kind shard;
    ember_backend_kind kind;
} dist_bench_opts;

/* This rank's batch for one step: B bags of L uniform indices per table, uploaded. */
static ember_status make_batch(ember_context *ctx, const dist_bench_opts *o, uint64_t seed,
                               ember_buffer **idx, ember_buffer **off, int64_t *num) {
    int64_t n = o->batch * o->pooling;
    int64_t *host = malloc((size_t)(n + o->batch + 1) * sizeof *host), *offs = host + n;
    if (!host) return EMBER_STATUS_OUT_OF_MEMORY;
    for (int64_t b = 0; b <= o->batch; b++) offs[b] = b * o->pooling;
    ember_status st = EMBER_STATUS_SUCCESS;
    for (int64_t t = 0; t < o->tables && st == EMBER_STATUS_SUCCESS; t++) {
        num[t] = n;
        if (bench_make_indices(host, n, o->rows, BENCH_DIST_UNIFORM, 1.0, seed + (uint64_t)t))
            st = EMBER_STATUS_OUT_OF_MEMORY;
        if (st == EMBER_STATUS_SUCCESS)
            st = ember_buffer_alloc(ctx, (size_t)(n > 0 ? n : 1) * 8, &idx[t]);
        if (st == EMBER_STATUS_SUCCESS && n > 0)
            st = ember_buffer_upload(ctx, idx[t], 0, host, (size_t)n * 8);
        if (st == EMBER_STATUS_SUCCESS)
            st = ember_buffer_alloc(ctx, (size_t)(o->batch + 1) * 8, &off[t]);
        if (st == EMBER_STATUS_SUCCESS)
            st = ember_buffer_upload(ctx, off[t], 0, offs, (size_t)(o->batch + 1) * 8);
    }
    free(host);
    return st;
}

/* Median over steps of one figure, then the maximum over ranks (on every rank). */
static double slowest_median(double *v, int n) {
    double m = bench_median(v, n), all = m;
    MPI_Allreduce(&m, &all, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return all;
}

/* One MPI_Alltoall moving `bytes` from this rank (split evenly over the other ranks):
 * the median over reps of the slowest rank's time. */
static double bare_alltoall_s(double bytes, int size, int reps) {
    if (size < 2) return 0;
    int per = (int)(bytes / (size - 1) + 0.5);
    char *s = calloc((size_t)per * (size_t)size + 1, 1),
         *r = calloc((size_t)per * (size_t)size + 1, 1);
    double *t = calloc((size_t)reps, sizeof *t);
    if (!s || !r || !t) {
        free(s), free(r), free(t);
        return -1;
    }
    for (int k = 0; k < reps + 2; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Alltoall(s, per, MPI_BYTE, r, per, MPI_BYTE, MPI_COMM_WORLD);
        if (k >= 2) t[k - 2] = MPI_Wtime() - t0;
    }
    double m = slowest_median(t, reps);
    free(s), free(r), free(t);
    return m;
}

typedef struct step_figures {
    double *bytes, *a2a, *lookup, *total;
} step_figures;

/* Runs 2 + steps steps; fills the timed steps' figures. */
static ember_status run_steps(ember_context *ctx, ember_dist_tables *tabs, const dist_bench_opts *o,
                              int rank, step_figures *f) {
    int64_t T = o->tables, width = ember_dist_tables_width(tabs);
    ember_buffer **bufs = calloc((size_t)T * 2, sizeof *bufs), *out = NULL, *grad = NULL;
    int64_t *num = calloc((size_t)T, sizeof *num);
    float *g = malloc((size_t)(o->batch * width > 0 ? o->batch * width : 1) * sizeof *g);
    ember_status st = bufs && num && g ? EMBER_STATUS_SUCCESS : EMBER_STATUS_OUT_OF_MEMORY;
    ember_rng rng;
    ember_rng_seed(&rng, (uint64_t)o->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(rank + 1)));
    for (int64_t i = 0; st == EMBER_STATUS_SUCCESS && i < o->batch * width; i++)
        g[i] = bench_rng_float(&rng, -1e-3f, 1e-3f);
    size_t bytes = (size_t)(o->batch * width > 0 ? o->batch * width : 1) * sizeof(float);
    if (st == EMBER_STATUS_SUCCESS) st = ember_buffer_alloc(ctx, bytes, &out);
    if (st == EMBER_STATUS_SUCCESS) st = ember_buffer_alloc(ctx, bytes, &grad);
    if (st == EMBER_STATUS_SUCCESS) st = ember_buffer_upload(ctx, grad, 0, g, bytes);
    ember_optimizer opt;
    ember_optimizer_init(&opt, EMBER_OPTIMIZER_SGD, 0.01f);
    for (int64_t s = 0; s < o->steps + 2 && st == EMBER_STATUS_SUCCESS; s++) {
        st = make_batch(ctx, o, (uint64_t)o->seed + 1000003u * (uint64_t)(s * 4096 + rank), bufs,
                        bufs + T, num);
        if (st == EMBER_STATUS_SUCCESS)
            st = ember_dist_lookup(tabs, o->batch, num, (const ember_buffer *const *)bufs,
                                   (const ember_buffer *const *)(bufs + T), out);
        ember_dist_step_stats all;
        if (st == EMBER_STATUS_SUCCESS)
            st = ember_dist_backward_update(tabs, grad, EMBER_REDUCTION_ATOMIC, &opt);
        ember_dist_tables_stats(tabs, &all);
        if (s >= 2) {
            f->bytes[s - 2] = (double)all.bytes_sent;
            f->a2a[s - 2] = all.alltoall_seconds;
            f->lookup[s - 2] = all.lookup_seconds;
            f->total[s - 2] = all.total_seconds; /* the lookup's and the backward's */
        }
        for (int64_t t = 0; t < 2 * T; t++) ember_buffer_free(bufs[t]), bufs[t] = NULL;
    }
    ember_buffer_free(out);
    ember_buffer_free(grad);
    free(bufs), free(num), free(g);
    return st;
}

static void report(const dist_bench_opts *o, ember_dist_comm *comm, step_figures *f) {
    int n = (int)o->steps, size = ember_dist_comm_size(comm);
    double bytes_med = bench_median(f->bytes, n), bytes_mean = bytes_med, bytes_max = bytes_med;
    MPI_Allreduce(&bytes_med, &bytes_mean, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&bytes_med, &bytes_max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    bytes_mean /= size;
    double a2a = slowest_median(f->a2a, n), lookup = slowest_median(f->lookup, n);
    double total = slowest_median(f->total, n);
    double bare = bare_alltoall_s(bytes_mean, size, n);
    if (ember_dist_comm_rank(comm) != 0) return;
    printf("per step (median over %d steps, slowest rank):\n", n);
    printf("  bytes sent per rank       mean %.0f, max %.0f (%.3f MiB)\n", bytes_mean, bytes_max,
           bytes_max / 1048576.0);
    printf("  all-to-all time           %.3f ms (ember's MPI_Alltoallv calls)\n", a2a * 1e3);
    printf("  lookup + update time      %.3f ms (ember's ops, with host staging)\n", lookup * 1e3);
    printf("  step time                 %.3f ms\n", total * 1e3);
    if (size > 1 && bare > 0) {
        printf(
            "  MPI_Alltoall, same bytes  %.3f ms -> ratio %.2f (ember's all-to-all time / bare)\n",
            bare * 1e3, a2a / bare);
        printf("  all-to-all bandwidth      %.3f GB/s per rank (ember), %.3f GB/s (bare)\n",
               bytes_mean / a2a / 1e9, bytes_mean / bare / 1e9);
    } else {
        printf("  MPI_Alltoall, same bytes  n/a on one rank (nothing travels)\n");
    }
}

static int bench(const char *cmd, const dist_bench_opts *o) {
    ember_dist_comm *comm = NULL;
    if (ember_dist_comm_init(NULL, NULL, &comm) != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "ember %s: MPI initialisation failed\n", cmd);
        return 1;
    }
    int rank = ember_dist_comm_rank(comm), size = ember_dist_comm_size(comm);
    ember_context *ctx = NULL;
    ember_dist_tables *tabs = NULL;
    ember_dist_table_spec *specs = calloc((size_t)o->tables, sizeof *specs);
    ember_dist_table_plan *plans = calloc((size_t)o->tables, sizeof *plans);
    step_figures f;
    f.bytes = calloc((size_t)o->steps * 4, sizeof(double));
    f.a2a = f.bytes + o->steps, f.lookup = f.a2a + o->steps, f.total = f.lookup + o->steps;
    ember_status st = specs && plans && f.bytes ? EMBER_STATUS_SUCCESS : EMBER_STATUS_OUT_OF_MEMORY;
    int device = o->kind == EMBER_BACKEND_CPU ? 0 : ember_dist_comm_local_rank(comm);
    if (st == EMBER_STATUS_SUCCESS) st = ember_context_create(&ctx, o->kind, device);
    if (st == EMBER_STATUS_SUCCESS) st = ember_context_set_threads(ctx, (int)o->threads);
    for (int64_t t = 0; st == EMBER_STATUS_SUCCESS && t < o->tables; t++) {
        ember_dist_table_spec_init(&specs[t], o->rows, o->dim, EMBER_POOLING_SUM);
        specs[t].indices_per_bag = (double)o->pooling;
        specs[t].shard = o->shard;
    }
    ember_dist_planner_options po = {.batch_per_rank = o->batch, .optimizer = EMBER_OPTIMIZER_SGD};
    if (st == EMBER_STATUS_SUCCESS) st = ember_dist_plan(comm, o->tables, specs, &po, plans);
    if (st == EMBER_STATUS_SUCCESS && rank == 0) {
        printf(
            "ember bench --dist: %d rank%s, %s, %lld tables of %lld x %lld, batch %lld per rank, "
            "pooling %lld, SGD\n",
            size, size == 1 ? "" : "s", ember_backend_name(o->kind), (long long)o->tables,
            (long long)o->rows, (long long)o->dim, (long long)o->batch, (long long)o->pooling);
        ember_dist_plan_print(stdout, size, o->tables, specs, plans);
    }
    /* Every rank reaches the collective calls; a local failure is agreed inside them. */
    if (st == EMBER_STATUS_SUCCESS)
        st = ember_dist_tables_create(comm, ctx, o->tables, specs, plans, EMBER_OPTIMIZER_SGD,
                                      &tabs);
    if (st == EMBER_STATUS_SUCCESS) st = run_steps(ctx, tabs, o, rank, &f);
    if (st == EMBER_STATUS_SUCCESS)
        report(o, comm, &f);
    else
        fprintf(stderr, "ember %s: rank %d: %s: %s%s\n", cmd, rank, ember_status_name(st),
                ember_dist_last_error(comm),
                ctx ? ember_context_last_error(ctx) : ember_last_error());
    ember_dist_tables_destroy(tabs);
    ember_context_destroy(ctx);
    ember_dist_comm_destroy(comm);
    free(specs), free(plans), free(f.bytes);
    return st == EMBER_STATUS_SUCCESS ? 0 : 1;
}

/* --shard K: the plan every table gets. */
static int parse_shard(const char *cmd, const cli_flag *flag, const char *value) {
    if (ember_shard_kind_parse(value, (ember_shard_kind *)flag->dst) == EMBER_STATUS_SUCCESS)
        return 0;
    return cli_usage_error(cmd,
                           "--shard: '%s' is not auto, table-wise, row-wise, column-wise or "
                           "replicated",
                           value);
}

int ember_cmd_bench_dist(int argc, char **argv) {
    dist_bench_opts o = {8, 100000, 64, 1024, 4, 20, 1, 42, EMBER_SHARD_AUTO, EMBER_BACKEND_CPU};
    int dist = 0;
    const cli_flag flags[] = {
        {"--dist", CLI_SWITCH, &dist, .help = "the distributed benchmark (required)"},
        {"--tables", CLI_INT, &o.tables, .min = 1, .max = 1024, .meta = "T", .help = "tables"},
        {"--rows", CLI_INT, &o.rows, .min = 1, .max = INT64_C(1) << 40, .meta = "R",
         .help = "rows per table"},
        {"--dim", CLI_INT, &o.dim, .min = 1, .max = 65536, .meta = "D", .help = "floats per row"},
        {"--batch", CLI_INT, &o.batch, .min = 1, .max = INT64_C(1) << 24, .meta = "B",
         .help = "bags per rank and step"},
        {"--pooling", CLI_INT, &o.pooling, .min = 1, .max = 4096, .meta = "L",
         .help = "indices per bag"},
        {"--steps", CLI_INT, &o.steps, .min = 1, .max = 100000, .meta = "S", .help = "timed steps"},
        {"--shard", CLI_CUSTOM, &o.shard, .parse = parse_shard, .meta = "K", .def = "auto",
         .help = "auto (the planner), table-wise, row-wise, column-wise, replicated"},
        {"--backend", CLI_BACKEND, &o.kind, .meta = "K", .help = "every rank's backend"},
        {"--threads", CLI_INT, &o.threads, .min = 0, .max = 4096, .meta = "T",
         .help = "CPU threads per rank"},
        {"--seed", CLI_INT, &o.seed, .min = 0, .max = INT64_MAX, .meta = "S",
         .help = "the indices' seed"},
    };
    const cli_command spec = {argv[0], flags, CLI_COUNT(flags), .about = bench_dist_about};
    int rc = cli_flags_parse(&spec, argc, argv);
    if (rc != CLI_CONTINUE) return rc;
    return bench(argv[0], &o);
}

#else

int ember_cmd_bench_dist(int argc, char **argv) {
    (void)argc;
    return cli_dist_missing(argv[0], "--dist");
}

#endif
