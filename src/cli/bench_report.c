/* bench_report.c: prints the figures of `ember bench` as a table (with every figure also a
 * ratio to the copy bandwidth, to direct SGEMM and to the CPU backend) or as one JSON line. */
#define _DEFAULT_SOURCE
#include "bench.h"
#include "cli_util.h"

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
    printf("ember bench: backend %s, device \"%s\"; threads %d (0 = all cores); OpenBLAS core %s; "
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

static void json_num(const char *key, double v, int comma) {
    printf("%s\"%s\":", comma ? "," : "", key);
    if (isfinite(v))
        printf("%.10g", v);
    else
        printf("null");
}

static void json_run(const bench_report *r, const bench_run *run) {
    double basis = r->host_copy_gbps, gbasis = gather_basis(run);
    printf("{\"backend\":");
    cli_json_string(stdout, ember_backend_name(run->kind));
    printf(",\"device\":");
    cli_json_string(stdout, run->device);
    json_num("create_ms", run->create_ms, 1);
    json_num("setup_ms", run->setup_ms, 1);
    printf(",\"num_indices\":%lld,\"unique_rows\":%lld", (long long)run->num_indices,
           (long long)run->unique_rows);
    json_num("gather_copy_gbps", gbasis, 1);
    if (run->device_copy_gbps > 0) json_num("device_copy_gbps", run->device_copy_gbps, 1);
    printf(",\"ops\":{");
    int first = 1;
    for (int i = 0; i < BENCH_OP_COUNT_; i++) {
        const bench_result *o = &run->op[i];
        if (o->ran == 0) continue;
        printf("%s\"%s\":{", first ? "" : ",", bench_op_name((enum bench_op)i));
        first = 0;
        if (o->ran < 0) {
            printf("\"error\":");
            cli_json_string(stdout, o->error);
            printf("}");
            continue;
        }
        double g = gbps(o);
        json_num("median_ms", o->median_ms, 0);
        if (run->device_copy_gbps > 0) json_num("x_device_copy", g / run->device_copy_gbps, 1);
        json_num("min_ms", o->min_ms, 1);
        json_num("first_ms", o->first_ms, 1);
        printf(",\"reps\":%d,\"calls_per_rep\":%d", o->reps, o->inner);
        if (o->bytes > 0) {
            json_num("bytes", o->bytes, 1);
            json_num("gbps", g, 1);
            json_num("x_copy", g / basis, 1);
            json_num("x_gather", g / gbasis, 1);
        }
        if (o->rows > 0) json_num("rows_per_s", o->rows / (o->median_ms * 1e-3), 1);
        if (o->flops > 0) json_num("gflops", o->flops / (o->median_ms * 1e6), 1);
        if (o->gemm_ms > 0) {
            json_num("sgemm_ms", o->gemm_ms, 1);
            json_num("time_vs_sgemm", o->median_ms / o->gemm_ms, 1);
        }
        printf("}");
    }
    printf("}}");
}

void bench_print_json(const bench_report *r) {
    const bench_config *cfg = r->cfg;
    const bench_shape *sh = &cfg->shape;
    printf("{\"ember_bench\":1,\"backend\":");
    cli_json_string(stdout, ember_backend_name(r->main->kind));
    printf(",\"openblas_core\":");
    cli_json_string(stdout, r->openblas_core);
    printf(",\"threads\":%d,\"reduction\":\"%s\",\"batched\":%s", cfg->threads,
           r->deterministic ? "deterministic" : "atomic", cfg->batched ? "true" : "false");
    printf(",\"shape\":{\"tables\":%lld,\"rows\":%lld,\"dim\":%lld,\"batch\":%lld,\"pooling\":%lld,"
           "\"dist\":\"%s\"",
           (long long)sh->tables, (long long)sh->rows, (long long)sh->dim, (long long)sh->batch,
           (long long)sh->pooling, sh->dist == BENCH_DIST_ZIPF ? "zipf" : "uniform");
    json_num("alpha", sh->alpha, 1);
    printf(",\"dense_in\":%lld,\"dense_out\":%lld,\"seed\":%llu}", (long long)sh->dense_in,
           (long long)sh->dense_out, (unsigned long long)sh->seed);
    double load[3] = {NAN, NAN, NAN};
    if (getloadavg(load, 3) != 3) load[0] = NAN;
    json_num("loadavg_1min", load[0], 1);
    json_num("host_copy_gbps", r->host_copy_gbps, 1);
    printf(",\"host_copy_threads\":%d,\"run\":", r->host_copy_threads);
    json_run(r, r->main);
    if (r->cpu) {
        printf(",\"cpu\":");
        json_run(r, r->cpu);
        printf(",\"x_cpu\":{");
        int first = 1;
        for (int i = 0; i < BENCH_OP_COUNT_; i++) {
            const bench_result *o = &r->main->op[i], *co = &r->cpu->op[i];
            if (o->ran != 1 || co->ran != 1) continue;
            json_num(bench_op_name((enum bench_op)i), co->median_ms / o->median_ms, !first);
            first = 0;
        }
        printf("}");
    }
    printf("}\n");
}
