/* train_dist_model_internal.h: what train_dist_model.c (buffers and steps) and
 * train_dist_state.c (parameters in and out) share. */
#ifndef EMBER_CLI_TRAIN_DIST_MODEL_INTERNAL_H
#define EMBER_CLI_TRAIN_DIST_MODEL_INTERNAL_H

#include "train_dist_model.h"

#define MAX_LAYERS (EMBER_MAX_HIDDEN + 1)

struct dist_wd {
    ember_dist_comm *comm;
    ember_context *ctx;
    ember_wd_config cfg;
    const ember_features *fx;
    int64_t cap; /* local batch capacity */
    int F;       /* categorical fields: tables of `deep` */
    int64_t dim;
    int nl; /* dense layers, the output layer included */
    int64_t n[MAX_LAYERS + 1];
    ember_dist_tables *deep, *wide;
    /* this rank's batch on the device */
    ember_buffer **idx, **offs, *wide_idx, *wide_offs;
    int64_t *idx_floats, wide_idx_floats; /* capacity in ids */
    int64_t *num_idx, num_wide;
    const ember_buffer **offs_arg;
    ember_buffer *deep_out, *wide_out, *deep_grad, *wide_grad, *labels, *probs;
    /* the dense layers, a copy on every rank: a[i] is layer i's input, g[i] its gradient */
    ember_buffer *a[MAX_LAYERS + 1], *g[MAX_LAYERS + 1];
    ember_buffer *W[MAX_LAYERS], *bias[MAX_LAYERS], *dW[MAX_LAYERS], *db[MAX_LAYERS];
    ember_buffer *sW[MAX_LAYERS], *sW2[MAX_LAYERS], *sb[MAX_LAYERS], *sb2[MAX_LAYERS];
    float *host;         /* staging: cap x (n0 + F * dim + 2) floats */
    float *pack;         /* the dense gradients, the loss and a failure flag */
    int64_t grad_floats; /* sum over layers of in * out + out */
    int64_t step, epochs_done;
    double best_valid_auc; /* NAN until set (dist_wd_set_best_valid) */
    char valid_on[EMBER_VALID_ON_MAX];
};

/* An ember call of this rank; its failure becomes err's message (the caller agrees). */
#define DCALL(expr, ...) EMBER_MODEL_CALL(d->ctx, expr, __VA_ARGS__)

/* A buffer of `floats` floats on d's context (zeroed when asked). Local. */
ember_status dist_wd_alloc(dist_wd *d, ember_buffer **out, int64_t floats, int zero,
                           ember_model_err *err);

#endif /* EMBER_CLI_TRAIN_DIST_MODEL_INTERNAL_H */
