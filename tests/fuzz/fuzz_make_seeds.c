/* fuzz_make_seeds.c: writes the binary seeds of the corpus, a checkpoint and its optimizer
 * state from fuzz_common.c's fixed model (the one fuzz_optim_state loads into), so the
 * seeds always match what the harnesses expect:
 *   fuzz_make_seeds DIR   -> DIR/checkpoint/model.safetensors, DIR/optim_state/model.optim,
 *                            DIR/schema_spec/json (the schema's checkpoint form) */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* The state in the PATH.optim layout of older checkpoints, the one fuzz_optim_state reads:
 * the model's state tensors and ember.step, ember.epochs. */
static ember_status write_optim(fuzz_model *fm, const char *path, ember_model_err *err) {
    int n = ember_wd_num_state_tensors(fm->m);
    ember_st_tensor *t = calloc((size_t)(n > 0 ? n : 1), sizeof *t);
    float *h[64] = {0};
    ember_status st = t && n <= 64 ? EMBER_STATUS_SUCCESS : EMBER_STATUS_OUT_OF_MEMORY;
    for (int i = 0; i < n && !st; i++) {
        ember_wd_state_info(fm->m, i, &t[i]);
        h[i] = malloc((size_t)(t[i].count > 0 ? t[i].count : 1) * sizeof(float));
        st = h[i] ? ember_wd_get_state(fm->m, i, h[i], err) : EMBER_STATUS_OUT_OF_MEMORY;
        t[i].data = h[i];
    }
    ember_st_meta meta[3] = {{(char *)"ember.optimizer_state", (char *)"widedeep-1"},
                             {(char *)"ember.step", (char *)"3"},
                             {(char *)"ember.epochs", (char *)"1"}};
    if (!st) st = ember_st_write(path, t, n, meta, 3, err);
    for (int i = 0; i < n && i < 64; i++) free(h[i]);
    free(t);
    return st;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_make_seeds CORPUS_DIR\n");
        return 2;
    }
    char path[4096];
    ember_model_err err;
    fuzz_model fm;
    ember_status st = fuzz_model_create(&fm, &err);
    snprintf(path, sizeof path, "%s/checkpoint", argv[1]);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/checkpoint/model.safetensors", argv[1]);
    if (!st) st = ember_checkpoint_save(fm.m, path, &err);
    snprintf(path, sizeof path, "%s/optim_state", argv[1]);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/optim_state/model.optim", argv[1]);
    if (!st) st = write_optim(&fm, path, &err);
    snprintf(path, sizeof path, "%s/schema_spec/json", argv[1]);
    char *text = st ? NULL : ember_schema_to_json(fm.schema);
    FILE *f = text ? fopen(path, "w") : NULL;
    if (f) fputs(text, f), fclose(f);
    free(text);
    fuzz_model_free(&fm);
    if (st) fprintf(stderr, "fuzz_make_seeds: %s\n", err.msg);
    return st ? 1 : 0;
}
