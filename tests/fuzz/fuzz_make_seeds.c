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
    snprintf(path, sizeof path, "%s/optim_state/model", argv[1]); /* -> model.optim */
    if (!st) st = ember_checkpoint_save_optimizer(fm.m, path, &err);
    snprintf(path, sizeof path, "%s/schema_spec/json", argv[1]);
    char *text = st ? NULL : ember_schema_to_json(fm.schema);
    FILE *f = text ? fopen(path, "w") : NULL;
    if (f) fputs(text, f), fclose(f);
    free(text);
    fuzz_model_free(&fm);
    if (st) fprintf(stderr, "fuzz_make_seeds: %s\n", err.msg);
    return st ? 1 : 0;
}
