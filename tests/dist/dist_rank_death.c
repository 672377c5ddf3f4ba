/* dist_rank_death.c: the last rank dies (_exit, no MPI_Finalize) after two training steps
 * while the others go on stepping, so they block in the next all-to-all. The MPI runtime
 * must end the job with an error: rank_death.sh checks the exit status and the time it
 * took. If the survivors are never killed they print "survived" after `limit` seconds. */
#include "ember_dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    ember_dist_comm *comm = NULL;
    if (ember_dist_comm_init(&argc, &argv, &comm) != EMBER_STATUS_SUCCESS) return 2;
    int rank = ember_dist_comm_rank(comm), size = ember_dist_comm_size(comm);
    double limit = argc > 1 ? atof(argv[1]) : 60.0;
    ember_context *ctx = NULL;
    if (ember_context_create(&ctx, EMBER_BACKEND_CPU, 0) != EMBER_STATUS_SUCCESS) return 2;
    ember_context_set_threads(ctx, 1);
    ember_dist_table_spec spec;
    ember_dist_table_spec_init(&spec, 1000, 16, EMBER_POOLING_SUM);
    spec.shard = EMBER_SHARD_ROW_WISE;
    ember_dist_planner_options po = {.batch_per_rank = 64, .optimizer = EMBER_OPTIMIZER_SGD};
    ember_dist_table_plan plan;
    ember_dist_tables *tabs = NULL;
    if (ember_dist_plan(comm, 1, &spec, &po, &plan) != EMBER_STATUS_SUCCESS ||
        ember_dist_tables_create(comm, ctx, 1, &spec, &plan, EMBER_OPTIMIZER_SGD, &tabs) !=
            EMBER_STATUS_SUCCESS)
        return 2;
    int64_t B = 64, idx[64], off[65], n = B;
    for (int64_t b = 0; b < B; b++) idx[b] = (b * 37 + rank) % 1000, off[b] = b;
    off[B] = B;
    ember_buffer *bi, *bo, *out, *grad;
    ember_buffer_alloc(ctx, sizeof idx, &bi);
    ember_buffer_alloc(ctx, sizeof off, &bo);
    ember_buffer_alloc(ctx, (size_t)B * 16 * sizeof(float), &out);
    ember_buffer_alloc(ctx, (size_t)B * 16 * sizeof(float), &grad);
    ember_buffer_upload(ctx, bi, 0, idx, sizeof idx);
    ember_buffer_upload(ctx, bo, 0, off, sizeof off);
    ember_buffer_zero(ctx, grad, 0, (size_t)B * 16 * sizeof(float));
    ember_optimizer opt;
    ember_optimizer_init(&opt, EMBER_OPTIMIZER_SGD, 0.1f);
    double t0 = MPI_Wtime();
    for (int step = 0; MPI_Wtime() - t0 < limit; step++) {
        if (step == 2 && rank == size - 1) {
            fprintf(stderr, "rank %d: dying now\n", rank);
            _exit(3);
        }
        const ember_buffer *ib = bi, *ob = bo;
        ember_status st = ember_dist_lookup(tabs, B, &n, &ib, &ob, out);
        if (st == EMBER_STATUS_SUCCESS)
            st = ember_dist_backward_update(tabs, grad, EMBER_REDUCTION_ATOMIC, &opt);
        if (st != EMBER_STATUS_SUCCESS) {
            fprintf(stderr, "rank %d: step %d: %s: %s\n", rank, step, ember_status_name(st),
                    ember_dist_last_error(comm));
            return 1;
        }
    }
    printf("rank %d survived %.0f s: the dead rank went unnoticed\n", rank, limit);
    return 0;
}
