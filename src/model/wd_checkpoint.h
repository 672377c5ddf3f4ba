/* wd_checkpoint.h: Wide&Deep checkpoints as safetensors files, and the parameter count of a
 * saved model.
 *
 * A checkpoint holds exactly the model's parameters (tensors wide.weight [d_wide, 1],
 * deep.emb.<column> [buckets, dim], deep.fc<i>.weight [n_out, n_in], deep.fc<i>.bias,
 * out.weight [1, d_deep], out.bias [1]) and, in "__metadata__", everything needed to encode
 * data the same way and rebuild the model (schema, hash buckets, crosses, numeric
 * statistics, sizes, optimizer settings), all as strings. So the number of floats in the
 * file equals ember_widedeep_count_params(spec).allocated. The optimizer state (Adagrad
 * accumulators, Adam moments, the step count) goes to a second safetensors file beside it,
 * PATH.optim, so that `--resume PATH` continues exactly where training stopped; without
 * that file a resumed run starts with fresh optimizer state. */
#ifndef EMBER_MODEL_CHECKPOINT_H
#define EMBER_MODEL_CHECKPOINT_H

#include "wd_model.h"

/* Writes the model's parameters and config to path atomically. */
ember_status ember_checkpoint_save(ember_wd_model *m, const char *path, ember_model_err *err);

/* Writes the optimizer state to PATH.optim (atomically). */
ember_status ember_checkpoint_save_optimizer(ember_wd_model *m, const char *path,
                                             ember_model_err *err);
/* Restores the optimizer state from PATH.optim into m. *loaded = 1 when done; 0 (with
 * SUCCESS) when there is no such file. A file that does not match the model's optimizers
 * gives CORRUPT_FILE. */
ember_status ember_checkpoint_load_optimizer(ember_wd_model *m, const char *path, int *loaded,
                                             ember_model_err *err);

/* A checkpoint read back: its feature map (owned), the model config (cfg.fx == fx) and the
 * file's tensors. */
typedef struct ember_checkpoint {
    ember_features *fx;
    ember_wd_config cfg;
    ember_st_file st;
} ember_checkpoint;

/* Reads and checks a checkpoint: a corrupt or truncated file, missing or malformed
 * metadata, or tensors that disagree with the config give EMBER_STATUS_CORRUPT_FILE naming
 * what is wrong. */
ember_status ember_checkpoint_read(const char *path, ember_checkpoint *ck, ember_model_err *err);
/* Copies the checkpoint's tensors into a model created from ck->cfg (checks names, shapes). */
ember_status ember_checkpoint_apply(const ember_checkpoint *ck, ember_wd_model *m,
                                    ember_model_err *err);
void ember_checkpoint_free(ember_checkpoint *ck);

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
