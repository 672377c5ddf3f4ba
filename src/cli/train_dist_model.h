/* train_dist_model.h: the Wide&Deep model of wd_model.h trained on the ranks of an MPI job
 * (`mpirun -np N ember train`): the embedding tables sharded with libember_dist, the dense
 * layers data parallel.
 *
 * - Tables: one collection of the categorical fields' embeddings (deep.emb.COLUMN, the
 *   embedding optimizer) and one of the wide weights (wide.weight, the wide optimizer), each
 *   planned by ember_dist_plan. A step looks up each rank's batch through them; the owners
 *   update their rows with the gradient of the global batch's loss.
 * - Dense layers: a full copy on every rank. Each rank's BCE gradient is scaled by
 *   n_local / n_global, the weight gradients are summed over the ranks (MPI_Allreduce), and
 *   every rank applies the same optimizer step, so the replicas stay identical and the step
 *   is the single process's on the global batch (the ranks' batches in rank order), up to
 *   the order of float sums.
 * - The parameters and the optimizer state move in and out in the layout of wd_layout.h
 *   (checkpoint order), through a single-process ember_wd_model: the initial model (the
 *   same seed gives the same weights as `ember train`), a checkpoint to resume, and the
 *   checkpoint rank 0 writes. So checkpoints do not depend on the number of ranks.
 *
 * Every call is collective, and agrees on its outcome: an error on any rank returns the
 * lowest failing rank's message ("rank R: ...") on every rank. */
#ifndef EMBER_CLI_TRAIN_DIST_MODEL_H
#define EMBER_CLI_TRAIN_DIST_MODEL_H

#include "ember_dist.h"
#include "wd_checkpoint.h"
#include "wd_rare.h"

typedef struct dist_wd dist_wd;

/* Builds the sharded model for local batches of up to `cap` rows from `init`, a
 * single-process model of the same config that every rank builds alike (from the seed or
 * from a checkpoint): its parameters, optimizer state and step counts are copied, each rank
 * keeping its shards. Each embedding table's padding row is the one the rare ids of its
 * training batches are renamed to (wd_rare.h). plan_out: where rank 0 prints the plans
 * (NULL: nowhere). */
ember_status dist_wd_create(ember_dist_comm *comm, ember_context *ctx, const ember_wd_config *cfg,
                            int64_t cap, ember_wd_model *init, const ember_rare_ids *rare,
                            FILE *plan_out, dist_wd **out, ember_model_err *err);
void dist_wd_free(dist_wd *d);

/* One optimizer step on the global batch made of every rank's `b` (n_global rows in all);
 * *loss_sum gets the global batch's summed BCE. A non-finite loss is returned as the value
 * (the caller decides) and then nothing is updated. */
ember_status dist_wd_train_step(dist_wd *d, const ember_batch *b, int64_t n_global,
                                double *loss_sum, ember_model_err *err);
/* Probabilities of this rank's batch into probs[0..b->n). */
ember_status dist_wd_predict(dist_wd *d, const ember_batch *b, float *probs, ember_model_err *err);

/* Every parameter in checkpoint order (ember_wd_num_params floats) on every rank, and back
 * from such an array (each rank takes its shards): the best epoch's copy. */
int64_t dist_wd_num_params(const dist_wd *d);
ember_status dist_wd_get_params(dist_wd *d, float *host, ember_model_err *err);
ember_status dist_wd_set_params(dist_wd *d, const float *host, ember_model_err *err);

/* Rank 0 assembles the whole model with its optimizer state and writes the checkpoint of
 * ember_checkpoint_save (atomically); the others send their shards. */
ember_status dist_wd_save(dist_wd *d, const char *path, ember_model_err *err);

int64_t dist_wd_epochs_done(const dist_wd *d);
void dist_wd_set_epochs_done(dist_wd *d, int64_t epochs);
/* The best validation AUC and its rows, saved with the checkpoint (ember_wd_set_best_valid). */
void dist_wd_set_best_valid(dist_wd *d, double auc, const char *valid_on);

/* Agreement: `st` of every rank; when one failed, every rank returns the lowest failing
 * rank's status with its message prefixed "rank R: ". Collective. */
ember_status dist_wd_agree(ember_dist_comm *comm, ember_status st, ember_model_err *err);

#endif /* EMBER_CLI_TRAIN_DIST_MODEL_H */
