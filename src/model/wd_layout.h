/* wd_layout.h: the names and shapes of the tensors a Wide&Deep model of a given config
 * holds, computed from the config alone: the model names its buffers with it, and a
 * checkpoint is checked against it before any model exists (so `ember params --model`,
 * `predict` and `--resume` accept and reject the same files).
 *
 * Parameters, in checkpoint order: wide.weight [d_wide, 1], deep.emb.COLUMN [buckets, dim]
 * per categorical column, then per dense layer deep.fcI.weight [n_out, n_in] and
 * deep.fcI.bias [n_out] (the last layer: out.weight, out.bias).
 * Optimizer state, in the same order: PARAM.SLOT with PyTorch's slot names (sum for
 * Adagrad, exp_avg and exp_avg_sq for Adam), the parameter's shape, or [rows, 1] for
 * row-wise Adagrad's one float per row; SGD keeps none. Each state tensor also has the
 * name older .optim files gave it (state.wide, state.emb.COLUMN, state.layerI.weight,
 * state2.layerI.bias, ...). */
#ifndef EMBER_MODEL_LAYOUT_H
#define EMBER_MODEL_LAYOUT_H

#include "wd_features.h"
#include "wd_safetensors.h"

#define EMBER_MAX_HIDDEN 8

typedef struct ember_wd_config {
    const ember_features *fx; /* not owned */
    int64_t emb_dim;
    int nhidden;
    int64_t hidden[EMBER_MAX_HIDDEN];
    /* Optimizers per part. wide: SGD or ADAGRAD (the API has no FTRL); dense layers:
     * SGD, ADAGRAD or ADAM; embeddings: SGD, ADAGRAD or ROWWISE_ADAGRAD. L2 is the
     * optimizer's weight_decay. */
    ember_optimizer_kind wide_opt, deep_opt, emb_opt;
    float wide_lr, deep_lr, emb_lr;
    float wide_l2, deep_l2, emb_l2;
    /* The embeddings' Adagrad accumulators start at emb_init_acc / batch^2 (in units of one
     * example's squared gradient; 0: Adagrad's usual zero). */
    float emb_init_acc;
    /* Ids of fewer training rows are left out of the embeddings' training (wd_rare.h);
     * <= 1: none. */
    int64_t emb_min_count;
    ember_reduction_mode reduction;
    float emb_init; /* embeddings start U(-emb_init, emb_init); 0: at zero */
    uint64_t seed;
} ember_wd_config;

typedef struct ember_wd_layout {
    int nparams, nstates;
    ember_st_tensor *params, *states;  /* name, ndim, shape, count (data unused) */
    char (*legacy)[EMBER_ST_NAME_MAX]; /* per state tensor */
} ember_wd_layout;

/* Fills l (free with ember_wd_layout_free); OUT_OF_MEMORY or INVALID_ARGUMENT (a config
 * with no deep input or too many layers). */
ember_status ember_wd_layout_of(const ember_wd_config *cfg, ember_wd_layout *l);
void ember_wd_layout_free(ember_wd_layout *l);

#endif /* EMBER_MODEL_LAYOUT_H */
