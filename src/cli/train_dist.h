/* train_dist.h: `mpirun -np N ember train`: the trainer of wd_trainer.h on N ranks, the
 * embeddings sharded and the dense layers data parallel (train_dist_model.h).
 *
 * - Data: every rank streams the whole file (with the same shuffle buffer and seed when
 *   --shuffle is on) and takes its share by block stride: the k-th training row (held-out
 *   rows not counted) goes to rank (k / B) mod N, B the local batch (--batch). So the global
 *   batch j holds rows [j N B, (j + 1) N B), in the order one process with batch N B would
 *   see them, and every rank knows where each batch ends without asking. The statistics
 *   pass (bucket sizing, numeric statistics) reads every training row on every rank, so it
 *   equals the single process's exactly, whatever N.
 * - Metrics: the training loss is summed over the ranks each step; validation and test
 *   rows are scored in the same stride and every score is gathered on rank 0, which
 *   computes the exact AUC, logloss and accuracy and shares them (early stopping decides
 *   the same on every rank). Rank 0 alone prints, and writes the checkpoints.
 * - Errors: every local failure is agreed before the next collective call, so each rank
 *   returns the same status and the lowest failing rank's message ("rank R: ..."). */
#ifndef EMBER_CLI_TRAIN_DIST_H
#define EMBER_CLI_TRAIN_DIST_H

#include "train_report.h"

/* 1 when this process was started by an MPI launcher (mpirun, mpiexec, srun with PMI). */
int train_dist_launched(void);

/* Runs the training on every rank of the job; returns the exit code (rank 0 has printed
 * the report or the error). Without libember_dist in the build: a message and 2. */
int train_dist_run(const char *cmd, ember_train_opts *o, train_ui *u);

#endif /* EMBER_CLI_TRAIN_DIST_H */
