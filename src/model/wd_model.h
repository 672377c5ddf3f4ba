/* wd_model.h: the Wide&Deep model (Cheng et al. 2016) built only from the public API
 * (include/ember.h), so it trains on any backend:
 *
 *   logit = w_wide . [one-hot(x), cross(x)]  +  w_out . a_L  +  b
 *   P(y = 1 | x) = sigmoid(logit)
 *
 * - wide: one table of d_wide x 1 weights (all wide fields side by side); each example's
 *   wide ids form one SUM bag, and that lookup ACCUMULATES into the logit column
 *   (ember_lookup_desc.accumulate = 1, out_row_stride = 1).
 * - deep: x0 = [emb_1(x) | ... | emb_F(x) | numeric(x)]: each categorical field's
 *   lookup writes its column slice of x0 (out_row_stride = n0, out_col_offset = f * dim;
 *   bag fields mean-pooled); ReLU layers n_1..n_L; the output layer d_deep -> 1 carries the
 *   model's one bias and writes the logit column first.
 * - training: BCE with logits; ember_dense_backward through the layers; the first layer's
 *   dX column slices are the embeddings' grad_out (ember_embedding_backward_update with a
 *   sparse optimizer, nothing dense materialised); the wide table gets the logit gradient.
 *
 * The model holds exactly d_wide + sum(vocab_i * dim) + sum(n_{l-1} n_l + n_l) + d_deep + 1
 * floats: ember_widedeep_count_params(...).allocated. */
#ifndef EMBER_MODEL_WIDEDEEP_H
#define EMBER_MODEL_WIDEDEEP_H

#include "wd_layout.h"

/* Defaults that train well on the Adult data. */
void ember_wd_config_defaults(ember_wd_config *cfg);

typedef struct ember_wd_model ember_wd_model;

/* Allocates the model on ctx for batches of up to max_batch examples and initialises its
 * parameters from cfg->seed (embeddings small uniform, He-normal ReLU layers, wide and biases
 * zero). */
ember_status ember_wd_create(ember_context *ctx, const ember_wd_config *cfg, int64_t max_batch,
                             ember_wd_model **out, ember_model_err *err);
void ember_wd_free(ember_wd_model *m);

/* One optimizer step on a batch; *loss gets the batch's mean BCE (NaN is returned as the
 * value, not as an error: the caller decides). */
ember_status ember_wd_train_step(ember_wd_model *m, const ember_batch *b, float *loss,
                                 ember_model_err *err);
/* Probabilities of a batch into probs[0..b->n). */
ember_status ember_wd_predict(ember_wd_model *m, const ember_batch *b, float *probs,
                              ember_model_err *err);

/* The parameter tensors, in checkpoint order: names, shapes, floats. */
int ember_wd_num_tensors(const ember_wd_model *m);
void ember_wd_tensor_info(const ember_wd_model *m, int i, ember_st_tensor *info);
int64_t ember_wd_num_params(const ember_wd_model *m);
/* All parameters to / from one host array of ember_wd_num_params floats (tensor order). */
ember_status ember_wd_get_params(ember_wd_model *m, float *host, ember_model_err *err);
ember_status ember_wd_set_params(ember_wd_model *m, const float *host, ember_model_err *err);
/* Optimizer state tensors (accumulators, Adam moments) and the step count, so a checkpoint
 * can carry on exactly where training stopped. Each is named after its parameter,
 * PARAM.SLOT with PyTorch's slot names (wide.weight.sum, deep.fc0.weight.exp_avg,
 * deep.fc0.weight.exp_avg_sq), and has the parameter's shape ([rows, 1] for row-wise
 * Adagrad's one float per row). */
int ember_wd_num_state_tensors(const ember_wd_model *m);
void ember_wd_state_info(const ember_wd_model *m, int i, ember_st_tensor *info);
/* The tensor's name in .optim files written before the names above (state.wide,
 * state.emb.COLUMN, state.layerI.weight, state2.layerI.bias, ...; flat shapes). */
const char *ember_wd_state_legacy_name(const ember_wd_model *m, int i);
ember_status ember_wd_get_state(ember_wd_model *m, int i, float *host, ember_model_err *err);
ember_status ember_wd_set_state(ember_wd_model *m, int i, const float *host, ember_model_err *err);
int64_t ember_wd_step(const ember_wd_model *m);
void ember_wd_set_step(ember_wd_model *m, int64_t step);
/* Epochs trained so far (saved with the optimizer state; it seeds each epoch's shuffle). */
int64_t ember_wd_epochs_done(const ember_wd_model *m);
void ember_wd_set_epochs_done(ember_wd_model *m, int64_t epochs);
#define EMBER_VALID_ON_MAX 256 /* the longest ember_wd_valid_on, its NUL included */
/* The best validation AUC of the training so far and which rows gave it (the trainer's words,
 * e.g. "holdout 0.1"), saved with the checkpoint so that a resumed run saves only epochs
 * that beat it. NAN and "" until set. */
double ember_wd_best_valid_auc(const ember_wd_model *m);
const char *ember_wd_valid_on(const ember_wd_model *m);
void ember_wd_set_best_valid(ember_wd_model *m, double auc, const char *valid_on);
const ember_wd_config *ember_wd_get_config(const ember_wd_model *m);

#endif /* EMBER_MODEL_WIDEDEEP_H */
