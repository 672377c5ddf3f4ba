/* dist_check.h: the distributed conformance cases (static library ember_dist_check), run
 * by `mpirun -np N ember check --dist` and by ctest with 1 to 4 ranks. Each case builds
 * its global batch from the shared conformance inputs (src/check), runs the single-process
 * batched lookup and fused backward on it, runs the distributed ops with the batch split
 * over the ranks, and compares: bit for bit where ember_dist.h promises it (TABLE_WISE and
 * COLUMN_WISE in DETERMINISTIC mode), else with the tolerances of check_tolerance.h, and
 * in DETERMINISTIC mode a second distributed run bit for bit against the first. */
#ifndef EMBER_DIST_CHECK_H
#define EMBER_DIST_CHECK_H

#include "ember_dist.h"

#include <stddef.h>
#include <stdint.h>

typedef enum dist_check_kind {
    DIST_CHECK_STEP = 0, /* lookup + fused backward against the single-process ops */
    DIST_CHECK_BAD_INDEX /* a bad index on the last rank: the same error everywhere,
                            nothing written */
} dist_check_kind;

typedef struct dist_check_case {
    char name[64];
    dist_check_kind kind;
    ember_shard_kind shard; /* AUTO: table t gets plan (t % 4) + 1, a mix of all four */
    int num_tables, first_variant;
    int64_t batch, bag; /* global batch */
    ember_reduction_mode mode;
    ember_optimizer_kind opt;
    float weight_decay;
} dist_check_case;

size_t dist_check_case_count(void);
const dist_check_case *dist_check_case_at(size_t i);

/* Runs case c collectively on every rank of comm with the backend of ctx; returns 1 when it
 * passed on every rank. Rank 0 prints one line per case; a failing rank prints why. With
 * verbose, rank 0 prints the plan too. */
int dist_check_run(const dist_check_case *c, ember_dist_comm *comm, ember_context *ctx,
                   uint64_t seed, int verbose);

#endif
