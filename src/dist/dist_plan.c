/* dist_plan.c: the planner. For each table it estimates, per training step (forward and
 * fused backward), the bytes one rank sends and the table bytes the busiest rank reads and
 * writes, under each sharding; it keeps the user's choice where there is one and otherwise
 * takes the cheapest plan that fits every rank's memory. The formulas are the ones
 * docs/scale-out.md derives (B bags of L indices per rank, D columns, R rows, N ranks,
 * 8-byte indices, 4-byte floats, s state floats per row). */
#include "dist_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ember_dist_table_spec_init(ember_dist_table_spec *spec, int64_t num_rows, int64_t dim,
                                ember_pooling pooling) {
    memset(spec, 0, sizeof *spec);
    spec->num_rows = num_rows;
    spec->dim = dim;
    spec->pooling = pooling;
    spec->index_type = EMBER_INDEX_INT64;
    spec->padding_idx = -1;
    spec->indices_per_bag = 1.0;
    spec->shard = EMBER_SHARD_AUTO;
}

/* State floats per row for the optimizer (Adagrad: one per element; row-wise: one). */
static double state_per_row(ember_optimizer_kind opt, int64_t dim) {
    return (double)ember_optimizer_state_size(opt, 1, dim);
}

/* The estimate of one plan for table `s` on N ranks; mem_per_rank[r] and load[r] receive
 * what each rank would hold and read per step (owner: the TABLE_WISE rank). */
static void estimate(const ember_dist_table_spec *s, const ember_dist_planner_options *o, int N,
                     ember_shard_kind kind, int owner, ember_dist_table_plan *p,
                     double *mem_per_rank, double *load) {
    double B = (double)(o->batch_per_rank > 0 ? o->batch_per_rank : 1);
    double L = s->indices_per_bag > 0 ? s->indices_per_bag : 1.0, D = (double)s->dim;
    double R = (double)s->num_rows, n = (double)N, others = (n - 1) / n;
    double sr = state_per_row(o->optimizer, s->dim);
    double row_bytes = 4.0 * (D + sr);
    /* Rows the whole job touches per step: read by the forward, read and written with their
     * state by the fused backward. */
    double touched = n * B * L, touch_bytes = touched * 4.0 * (3.0 * D + 2.0 * sr);
    double idx_bytes = 8.0 * B * (L + 1.0); /* indices and offsets of one rank's bags */
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->owner = kind == EMBER_SHARD_TABLE_WISE ? owner : -1;
    for (int r = 0; r < N; r++) mem_per_rank[r] = 0;
    switch (kind) {
    case EMBER_SHARD_TABLE_WISE:
        p->comm_bytes = others * (idx_bytes + 2.0 * 4.0 * B * D);
        p->lookup_bytes = touch_bytes;
        mem_per_rank[owner] = R * row_bytes;
        break;
    case EMBER_SHARD_COLUMN_WISE: {
        double cols = ceil(D / n);
        p->comm_bytes = (n - 1) * idx_bytes + others * 2.0 * 4.0 * B * D;
        p->lookup_bytes = touch_bytes * cols / D;
        for (int r = 0; r < N; r++) mem_per_rank[r] = R * row_bytes * cols / D;
        break;
    }
    case EMBER_SHARD_ROW_WISE: {
        double rows = ceil(R / n);
        p->comm_bytes =
            others * 8.0 * B * L + (n - 1) * 8.0 * (B + 1) + (n - 1) * 2.0 * 4.0 * B * D;
        p->lookup_bytes = touch_bytes / n;
        for (int r = 0; r < N; r++) mem_per_rank[r] = rows * row_bytes;
        break;
    }
    default: /* REPLICATED: ring all-reduce of a dense gradient and a touched-row mask */
        p->comm_bytes = 2.0 * others * R * (4.0 * D + 4.0);
        p->lookup_bytes = B * L * 4.0 * D + 2.0 * R * 4.0 * D + touch_bytes;
        for (int r = 0; r < N; r++) mem_per_rank[r] = R * (row_bytes + 4.0 * D);
        break;
    }
    for (int r = 0; r < N; r++) {
        load[r] = kind != EMBER_SHARD_TABLE_WISE || r == owner ? p->lookup_bytes : 0.0;
        if (mem_per_rank[r] > p->memory_bytes) p->memory_bytes = mem_per_rank[r];
    }
}

static int fits(const double *used, const double *add, int N, uint64_t budget) {
    for (int r = 0; budget > 0 && r < N; r++)
        if (used[r] + add[r] > (double)budget) return 0;
    return 1;
}

/* Orders tables by bytes, largest first (they are placed while ranks are still empty);
 * ties keep table order. An insertion sort: a collection holds tens of tables. */
static void order_by_size(const ember_dist_table_spec *specs, int64_t n, int64_t *order) {
    for (int64_t i = 0; i < n; i++) {
        int64_t t = order[i], j = i;
        double st = (double)specs[t].num_rows * (double)specs[t].dim;
        while (j > 0 &&
               (double)specs[order[j - 1]].num_rows * (double)specs[order[j - 1]].dim < st) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = t;
    }
}

/* The rank with the least lookup load, then the least memory (ties: the lowest rank). */
static int least_loaded(const double *load, const double *used, int N) {
    int best = 0;
    for (int r = 1; r < N; r++)
        if (load[r] < load[best] || (load[r] == load[best] && used[r] < used[best])) best = r;
    return best;
}

/* What the planner keeps per rank while it places tables: memory held, bytes read per
 * step, and scratch for one candidate. */
typedef struct plan_state {
    int N;
    double *used, *load, *mem, *add, *best_mem, *best_add;
} plan_state;

/* A byte on the network costs as much time as this many bytes of table memory: a
 * 100 Gb/s link moves 12.5 GB/s, a CPU socket's memory about 200 GB/s. */
#define NETWORK_BYTE_COST 16.0

/* A candidate's score: the bytes a rank sends, weighted, plus the busiest rank's lookup
 * bytes once the table is placed (so table-wise tables spread over the ranks). */
static double score(const plan_state *ps, const ember_dist_table_plan *p) {
    double busiest = 0;
    for (int r = 0; r < ps->N; r++)
        if (ps->load[r] + ps->add[r] > busiest) busiest = ps->load[r] + ps->add[r];
    return NETWORK_BYTE_COST * p->comm_bytes + busiest;
}

static ember_status place(ember_dist_comm *comm, const ember_dist_table_spec *s, int64_t t,
                          const ember_dist_planner_options *o, plan_state *ps,
                          ember_dist_table_plan *out) {
    int N = ps->N;
    static const ember_shard_kind order[] = {EMBER_SHARD_TABLE_WISE, EMBER_SHARD_COLUMN_WISE,
                                             EMBER_SHARD_ROW_WISE, EMBER_SHARD_REPLICATED};
    int found = 0;
    double best = 0;
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        ember_shard_kind kind = order[k];
        if (s->shard != EMBER_SHARD_AUTO && s->shard != kind) continue;
        if (kind == EMBER_SHARD_COLUMN_WISE && o->optimizer == EMBER_OPTIMIZER_ROWWISE_ADAGRAD) {
            if (s->shard == kind)
                return dist_error(comm, EMBER_STATUS_INVALID_ARGUMENT,
                                  "table %lld: column-wise sharding cannot hold row-wise "
                                  "Adagrad's per-row state (it spans every column)",
                                  (long long)t);
            continue;
        }
        ember_dist_table_plan p;
        estimate(s, o, N, kind, least_loaded(ps->load, ps->used, N), &p, ps->mem, ps->add);
        if (!fits(ps->used, ps->mem, N, o->memory_per_rank)) continue;
        double sc = score(ps, &p);
        if (!found || sc < best) {
            *out = p, best = sc, found = 1;
            memcpy(ps->best_mem, ps->mem, (size_t)N * sizeof *ps->mem);
            memcpy(ps->best_add, ps->add, (size_t)N * sizeof *ps->add);
        }
    }
    if (!found)
        return dist_error(comm, EMBER_STATUS_OUT_OF_MEMORY,
                          "table %lld (%lld x %lld): no %s plan fits %llu bytes per rank",
                          (long long)t, (long long)s->num_rows, (long long)s->dim,
                          s->shard == EMBER_SHARD_AUTO ? "sharding"
                                                       : ember_shard_kind_name(s->shard),
                          (unsigned long long)o->memory_per_rank);
    for (int r = 0; r < N; r++) ps->used[r] += ps->best_mem[r], ps->load[r] += ps->best_add[r];
    return EMBER_STATUS_SUCCESS;
}

ember_status ember_dist_plan(ember_dist_comm *comm, int64_t num_tables,
                             const ember_dist_table_spec *specs,
                             const ember_dist_planner_options *options,
                             ember_dist_table_plan *plans) {
    if (!comm) return EMBER_STATUS_INVALID_ARGUMENT;
    if (num_tables < 0 || (num_tables > 0 && (!specs || !plans)) || !options)
        return dist_error(comm, EMBER_STATUS_INVALID_ARGUMENT,
                          "num_tables, specs, options or plans invalid");
    for (int64_t t = 0; t < num_tables; t++)
        if (specs[t].num_rows < 1 || specs[t].dim < 1 || (int)specs[t].shard < 0 ||
            specs[t].shard > EMBER_SHARD_REPLICATED)
            return dist_error(comm, EMBER_STATUS_INVALID_ARGUMENT,
                              "table %lld: rows %lld, dim %lld or shard kind %d invalid",
                              (long long)t, (long long)specs[t].num_rows, (long long)specs[t].dim,
                              (int)specs[t].shard);
    int N = comm->size;
    double *used = calloc((size_t)N * 6, sizeof *used);
    int64_t *order = malloc((size_t)(num_tables > 0 ? num_tables : 1) * sizeof *order);
    if (!used || !order) {
        free(used), free(order);
        return dist_error(comm, EMBER_STATUS_OUT_OF_MEMORY, "planner: out of host memory");
    }
    for (int64_t t = 0; t < num_tables; t++) order[t] = t;
    order_by_size(specs, num_tables, order);
    ember_status st = EMBER_STATUS_SUCCESS;
    plan_state ps = {N, used, used + N, used + 2 * N, used + 3 * N, used + 4 * N, used + 5 * N};
    for (int64_t i = 0; i < num_tables && st == EMBER_STATUS_SUCCESS; i++)
        st = place(comm, &specs[order[i]], order[i], options, &ps, &plans[order[i]]);
    free(used);
    free(order);
    return st;
}

/* Bytes in a readable unit ("12.3 KiB"). */
static void human(double bytes, char *buf, size_t size) {
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 4) bytes /= 1024.0, u++;
    snprintf(buf, size, u == 0 ? "%.0f %s" : "%.1f %s", bytes, unit[u]);
}

void ember_dist_plan_print(FILE *out, int num_ranks, int64_t num_tables,
                           const ember_dist_table_spec *specs, const ember_dist_table_plan *plans) {
    double comm = 0, lookup = 0, mem = 0;
    fprintf(out, "sharding plan on %d rank%s (per training step, forward + backward):\n", num_ranks,
            num_ranks == 1 ? "" : "s");
    for (int64_t t = 0; t < num_tables; t++) {
        const ember_dist_table_plan *p = &plans[t];
        char c[32], l[32], m[32], where[32] = "";
        human(p->comm_bytes, c, sizeof c);
        human(p->lookup_bytes, l, sizeof l);
        human(p->memory_bytes, m, sizeof m);
        if (p->kind == EMBER_SHARD_TABLE_WISE)
            snprintf(where, sizeof where, " on rank %d", p->owner);
        fprintf(out, "  table %lld: %lld x %lld -> %s%s%s: sent/rank %s, lookup %s, memory %s\n",
                (long long)t, (long long)specs[t].num_rows, (long long)specs[t].dim,
                ember_shard_kind_name(p->kind), where,
                specs[t].shard == EMBER_SHARD_AUTO ? "" : " (user's choice)", c, l, m);
        comm += p->comm_bytes, lookup += p->lookup_bytes, mem += p->memory_bytes;
    }
    char c[32], l[32], m[32];
    human(comm, c, sizeof c);
    human(lookup, l, sizeof l);
    human(mem, m, sizeof m);
    fprintf(out, "  total: sent/rank %s, lookup %s, memory (sum of fullest ranks) %s\n", c, l, m);
}
