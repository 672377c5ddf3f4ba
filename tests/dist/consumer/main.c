/* main.c: an outside program on the installed ember_dist.h: one table-wise table on this
 * one rank, a pooled lookup, and its result checked by hand. */
#include <ember_dist.h>

#include <stdio.h>

int main(int argc, char **argv) {
    ember_dist_comm *comm = NULL;
    ember_context *ctx = NULL;
    if (ember_dist_comm_init(&argc, &argv, &comm) ||
        ember_context_create(&ctx, EMBER_BACKEND_CPU, 0))
        return 1;
    ember_dist_table_spec spec;
    ember_dist_table_spec_init(&spec, 3, 2, EMBER_POOLING_SUM);
    ember_dist_planner_options po = {.batch_per_rank = 1, .optimizer = EMBER_OPTIMIZER_SGD};
    ember_dist_table_plan plan;
    ember_dist_tables *tabs = NULL;
    float table[6] = {1, 2, 3, 4, 5, 6}, out[2] = {0};
    int64_t idx[2] = {0, 2}, off[2] = {0, 2}, n = 2;
    ember_buffer *bi = NULL, *bo = NULL, *bout = NULL;
    int ok =
        !ember_dist_plan(comm, 1, &spec, &po, &plan) &&
        !ember_dist_tables_create(comm, ctx, 1, &spec, &plan, EMBER_OPTIMIZER_SGD, &tabs) &&
        !ember_dist_tables_set(tabs, 0, table, NULL) && !ember_buffer_alloc(ctx, sizeof idx, &bi) &&
        !ember_buffer_alloc(ctx, sizeof off, &bo) && !ember_buffer_alloc(ctx, sizeof out, &bout) &&
        !ember_buffer_upload(ctx, bi, 0, idx, sizeof idx) &&
        !ember_buffer_upload(ctx, bo, 0, off, sizeof off);
    const ember_buffer *ib = bi, *ob = bo;
    ok = ok && !ember_dist_lookup(tabs, 1, &n, &ib, &ob, bout) &&
         !ember_buffer_download(ctx, bout, 0, out, sizeof out);
    printf("ember_dist consumer: %s, row 0 + row 2 = [%g, %g]\n", ember_shard_kind_name(plan.kind),
           out[0], out[1]);
    ok = ok && out[0] == 6.0f && out[1] == 8.0f;
    ember_buffer_free(bi), ember_buffer_free(bo), ember_buffer_free(bout);
    ember_dist_tables_destroy(tabs);
    ember_context_destroy(ctx);
    ember_dist_comm_destroy(comm);
    return ok ? 0 : 1;
}
