/* bench_report.c: prints the figures of `ember bench` as a table (with every figure also a
 * ratio to the copy bandwidth, to direct SGEMM and to the CPU backend) or as one JSON line. */
#define _DEFAULT_SOURCE
#include "bench.h"
#include "cli_util.h"
#include "util/json_writer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double gbps(const bench_result *r) {
    return r->ran == 1 && r->median_ms > 0 && r->bytes > 0 ? r->bytes / (r->median_ms * 1e6) : NAN;
}

/* Every GB/s is shown as a ratio to two copies: the STREAM-style host copy (the basis on
 * the CPU and on CPU-like OpenCL devices such as PoCL) and the run's own full-table gather
 * through the lookup op (a device-to-device copy: the basis on a GPU, where the host copy
 * says nothing). */
static double gather_basis(const bench_run *run) {
    return gbps(&run->op[BENCH_OP_GATHER_COPY]);
}

static void print_num(double v, int width, int prec) {
    if (isfinite(v))
        printf(" %*.*f", width, prec, v);
    else
        printf(" %*s", width, "-");
}

void bench_print_text(const bench_report *r) {
    const bench_config *cfg = r->cfg;
    const bench_shape *sh = &cfg->shape;
    const bench_run *m = r->main, *c = r->cpu;
    double basis = r->host_copy_gbps, gbasis = gather_basis(m);
    printf("ember bench: backend %s, device \"%s\"; threads %d (0 = the idle cores); OpenBLAS core "
           "%s; "
           "reduction %s; %s\n",
           ember_backend_name(m->kind), m->device, cfg->threads, r->openblas_core,
           r->deterministic ? "deterministic" : "atomic",
           cfg->batched ? "table-batched calls" : "one call per table");
    printf("shape: T=%lld E=%lld D=%lld B=%lld L=%lld %s", (long long)sh->tables,
           (long long)sh->rows, (long long)sh->dim, (long long)sh->batch, (long long)sh->pooling,
           sh->dist == BENCH_DIST_ZIPF ? "zipf" : "uniform");
    if (sh->dist == BENCH_DIST_ZIPF) printf(" alpha=%.3g", sh->alpha);
    printf(
        "; N=%lld indices, U=%lld distinct rows (all tables); dense %lldx%lld->%lld; seed %llu\n",
        (long long)m->num_indices, (long long)m->unique_rows, (long long)sh->batch,
        (long long)sh->dense_in, (long long)sh->dense_out, (unsigned long long)sh->seed);
    double load[3] = {NAN, NAN, NAN};
    if (getloadavg(load, 3) == 3) printf("load average (1 min) at the end: %.2f\n", load[0]);
    printf("host copy (STREAM-style memcpy, %d threads, read+write bytes): %.1f GB/s\n",
           r->host_copy_threads, r->host_copy_gbps);
    if (m->device_copy_gbps > 0)
        printf("device copy (cudaMemcpy device to device, 1 GiB, read+write bytes): %.1f GB/s; "
               "this backend's gather_copy is %.2f x that\n",
               m->device_copy_gbps, gbasis / m->device_copy_gbps);
    printf("context create %.1f ms, input setup %.0f ms", m->create_ms, m->setup_ms);
    if (c) printf("; cpu context create %.1f ms", c->create_ms);
    printf("\nx_copy = GB/s / host copy (%.1f GB/s); x_gather = GB/s / this backend's gather_copy "
           "(%.1f GB/s)\n\n",
           basis, gbasis);

    printf("%-23s %9s %9s %9s %7s %8s %8s %9s", "op", "median_ms", "min_ms", "GB/s", "x_copy",
           "x_gather", "Mrows/s", "first_ms");
    if (c) printf(" %9s %7s", "cpu_ms", "x_cpu");
    printf("  notes\n");
    for (int i = 0; i < BENCH_OP_COUNT_; i++) {
        const bench_result *o = &m->op[i];
        if (o->ran == 0) continue;
        printf("%-23s", bench_op_name((enum bench_op)i));
        if (o->ran < 0) {
            printf(" FAILED: %s\n", o->error);
            continue;
        }
        double g = gbps(o);
        print_num(o->median_ms, 9, 3);
        print_num(o->min_ms, 9, 3);
        print_num(g, 9, 2);
        print_num(g / basis, 7, 2);
        print_num(g / gbasis, 8, 2);
        print_num(o->rows > 0 ? o->rows / (o->median_ms * 1e3) : NAN, 8, 1);
        print_num(o->first_ms, 9, 1);
        if (c) {
            const bench_result *co = &c->op[i];
            double cm = co->ran == 1 ? co->median_ms : NAN;
            print_num(cm, 9, 3);
            print_num(cm / o->median_ms, 7, 2);
        }
        printf(" ");
        if (m->device_copy_gbps > 0 && isfinite(g))
            printf(" %.2f x device copy;", g / m->device_copy_gbps);
        if (o->flops > 0) printf(" %.1f GFLOP/s", o->flops / (o->median_ms * 1e6));
        if (o->gemm_ms > 0)
            printf("; direct SGEMM %.3f ms, ember/SGEMM time %.3f", o->gemm_ms,
                   o->median_ms / o->gemm_ms);
        if (c && c->op[i].ran == 1 && c->op[i].gemm_ms > 0)
            printf("; cpu ember/SGEMM time %.3f", c->op[i].median_ms / c->op[i].gemm_ms);
        printf("\n");
    }
    if (c) {
        printf("\nx_cpu = cpu_ms / %s_ms (above 1: faster than the CPU backend). first_ms on %s "
               "includes kernel builds at first use.\n",
               ember_backend_name(m->kind), ember_backend_name(m->kind));
    }
}

/* ---- JSON ---- */

static void json_run(ember_json *j, const bench_report *r, const bench_run *run) {
    double basis = r->host_copy_gbps, gbasis = gather_basis(run);
    ember_json_begin_object(j);
    ember_json_key_string(j, "backend", ember_backend_name(run->kind));
    ember_json_key_string(j, "device", run->device);
    ember_json_key_number(j, "create_ms", run->create_ms);
    ember_json_key_number(j, "setup_ms", run->setup_ms);
    ember_json_key_int(j, "num_indices", (long long)run->num_indices);
    ember_json_key_int(j, "unique_rows", (long long)run->unique_rows);
    ember_json_key_number(j, "gather_copy_gbps", gbasis);
    if (run->device_copy_gbps > 0)
        ember_json_key_number(j, "device_copy_gbps", run->device_copy_gbps);
    ember_json_key(j, "ops");
    ember_json_begin_object(j);
    for (int i = 0; i < BENCH_OP_COUNT_; i++) {
        const bench_result *o = &run->op[i];
        if (o->ran == 0) continue;
        ember_json_key(j, bench_op_name((enum bench_op)i));
        ember_json_begin_object(j);
        if (o->ran < 0) {
            ember_json_key_string(j, "error", o->error);
            ember_json_end_object(j);
            continue;
        }
        double g = gbps(o);
        ember_json_key_number(j, "median_ms", o->median_ms);
        if (run->device_copy_gbps > 0)
            ember_json_key_number(j, "x_device_copy", g / run->device_copy_gbps);
        ember_json_key_number(j, "min_ms", o->min_ms);
        ember_json_key_number(j, "first_ms", o->first_ms);
        ember_json_key_int(j, "reps", o->reps);
        ember_json_key_int(j, "calls_per_rep", o->inner);
        if (o->bytes > 0) {
            ember_json_key_number(j, "bytes", o->bytes);
            ember_json_key_number(j, "gbps", g);
            ember_json_key_number(j, "x_copy", g / basis);
            ember_json_key_number(j, "x_gather", g / gbasis);
        }
        if (o->rows > 0) ember_json_key_number(j, "rows_per_s", o->rows / (o->median_ms * 1e-3));
        if (o->flops > 0) ember_json_key_number(j, "gflops", o->flops / (o->median_ms * 1e6));
        if (o->gemm_ms > 0) {
            ember_json_key_number(j, "sgemm_ms", o->gemm_ms);
            ember_json_key_number(j, "time_vs_sgemm", o->median_ms / o->gemm_ms);
        }
        ember_json_end_object(j);
    }
    ember_json_end_object(j);
    ember_json_end_object(j);
}

static void json_shape(ember_json *j, const bench_shape *sh) {
    ember_json_begin_object(j);
    ember_json_key_int(j, "tables", (long long)sh->tables);
    ember_json_key_int(j, "rows", (long long)sh->rows);
    ember_json_key_int(j, "dim", (long long)sh->dim);
    ember_json_key_int(j, "batch", (long long)sh->batch);
    ember_json_key_int(j, "pooling", (long long)sh->pooling);
    ember_json_key_string(j, "dist", sh->dist == BENCH_DIST_ZIPF ? "zipf" : "uniform");
    ember_json_key_number(j, "alpha", sh->alpha);
    ember_json_key_int(j, "dense_in", (long long)sh->dense_in);
    ember_json_key_int(j, "dense_out", (long long)sh->dense_out);
    ember_json_key(j, "seed");
    ember_json_uint(j, (unsigned long long)sh->seed);
    ember_json_end_object(j);
}

void bench_print_json(const bench_report *r) {
    const bench_config *cfg = r->cfg;
    ember_json j;
    ember_json_init(&j, stdout);
    ember_json_begin_object(&j);
    ember_json_key_int(&j, "ember_bench", 1);
    ember_json_key_string(&j, "backend", ember_backend_name(r->main->kind));
    ember_json_key_string(&j, "openblas_core", r->openblas_core);
    ember_json_key_int(&j, "threads", cfg->threads);
    ember_json_key_string(&j, "reduction", r->deterministic ? "deterministic" : "atomic");
    ember_json_key_bool(&j, "batched", cfg->batched);
    ember_json_key(&j, "shape");
    json_shape(&j, &cfg->shape);
    double load[3] = {NAN, NAN, NAN};
    if (getloadavg(load, 3) != 3) load[0] = NAN;
    ember_json_key_number(&j, "loadavg_1min", load[0]);
    ember_json_key_number(&j, "host_copy_gbps", r->host_copy_gbps);
    ember_json_key_int(&j, "host_copy_threads", r->host_copy_threads);
    ember_json_key(&j, "run");
    json_run(&j, r, r->main);
    if (r->cpu) {
        ember_json_key(&j, "cpu");
        json_run(&j, r, r->cpu);
        ember_json_key(&j, "x_cpu");
        ember_json_begin_object(&j);
        for (int i = 0; i < BENCH_OP_COUNT_; i++) {
            const bench_result *o = &r->main->op[i], *co = &r->cpu->op[i];
            if (o->ran != 1 || co->ran != 1) continue;
            ember_json_key_number(&j, bench_op_name((enum bench_op)i),
                                  co->median_ms / o->median_ms);
        }
        ember_json_end_object(&j);
    }
    ember_json_end_object(&j);
    putchar('\n');
}
