/* wd_checkpoint.h: Wide&Deep checkpoints as safetensors files (docs/formats.md), and the
 * parameter count of a saved model.
 *
 * A checkpoint holds the model's parameters and its optimizer state, named and shaped as
 * wd_layout.h says, and in "__metadata__" everything needed to encode data the same way,
 * rebuild the model and carry on training (schema, hash buckets, crosses, numeric
 * statistics, sizes, optimizer settings, step and epoch counts), all as strings. The
 * parameters' floats number ember_widedeep_count_params(spec).allocated. Parameters and
 * state are one file, written atomically, so a resumed run never pairs the weights of one
 * save with the optimizer state of another (checkpoints from before kept the state in
 * PATH.optim; they still load). */
#ifndef EMBER_MODEL_CHECKPOINT_H
#define EMBER_MODEL_CHECKPOINT_H

#include "wd_model.h"

/* Writes the model's parameters, optimizer state and config to path atomically. A model
 * with a non-finite weight or state is not saved: NUMERIC_ERROR naming the tensor. */
ember_status ember_checkpoint_save(ember_wd_model *m, const char *path, ember_model_err *err);

/* A checkpoint read back: its feature map (owned), the model config (cfg.fx == fx) and the
 * file's tensors. */
typedef struct ember_checkpoint {
    ember_features *fx;
    ember_wd_config cfg;
    ember_st_file st;
    int64_t param_floats;              /* the parameters' floats (the state's not counted) */
    int has_state;                     /* the file holds the optimizer state ... */
    int64_t step, epochs;              /* ... and its Adam step and epochs trained */
    double best_valid_auc;             /* the validation AUC of its model (NAN: not saved) */
    char valid_on[EMBER_VALID_ON_MAX]; /* on which rows (ember_wd_valid_on) */
} ember_checkpoint;

/* Reads and checks a checkpoint: a corrupt or truncated file, missing or malformed
 * metadata, a non-finite number, or tensors that disagree with the config's layout give
 * EMBER_STATUS_CORRUPT_FILE naming what is wrong. `params --model`, `predict` and
 * `--resume` all read through here, so they accept and reject the same files. */
ember_status ember_checkpoint_read(const char *path, ember_checkpoint *ck, ember_model_err *err);
/* Copies the checkpoint's tensors into a model created from ck->cfg (checks names, shapes). */
ember_status ember_checkpoint_apply(const ember_checkpoint *ck, ember_wd_model *m,
                                    ember_model_err *err);
void ember_checkpoint_free(ember_checkpoint *ck);
/* Restores the optimizer state of the checkpoint read from path into m (made from ck->cfg),
 * or, for a checkpoint from before the state moved into it, from PATH.optim. *loaded = 1
 * when done; 0 (with SUCCESS) when there is neither. A state that does not match the
 * model's optimizers gives CORRUPT_FILE naming the file. */
ember_status ember_checkpoint_load_optimizer(const ember_checkpoint *ck, ember_wd_model *m,
                                             const char *path, int *loaded, ember_model_err *err);

/* The arrays an ember_widedeep_spec points into. */
typedef struct ember_wd_spec_storage {
    int64_t *wide_buckets;
    int64_t *vocab;
    int64_t *emb_dim;
    int64_t hidden[EMBER_MAX_HIDDEN];
} ember_wd_spec_storage;

/* Builds the ember_widedeep_spec of a model config (for ember_widedeep_count_params):
 * wide_buckets = each wide field's buckets, one deep table (buckets x emb_dim) per
 * categorical column, num_numeric numeric columns, the hidden sizes. The spec points into
 * *st (and stays valid until ember_wd_spec_storage_free). */
ember_status ember_wd_spec_from_config(const ember_wd_config *cfg, ember_widedeep_spec *spec,
                                       ember_wd_spec_storage *st);
void ember_wd_spec_storage_free(ember_wd_spec_storage *st);

/* For `ember params --model FILE`: reads the checkpoint, counts the parameters of the
 * model its metadata describes (*count) and the floats its tensors hold (*floats_in_file);
 * the two agree (count->allocated == *floats_in_file) for every file ember writes. */
ember_status ember_checkpoint_params(const char *path, ember_param_count *count,
                                     int64_t *floats_in_file, ember_model_err *err);

#endif /* EMBER_MODEL_CHECKPOINT_H */
