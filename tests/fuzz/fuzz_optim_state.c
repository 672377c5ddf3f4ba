/* fuzz_optim_state.c: an optimizer-state file beside a checkpoint that holds none (PATH.optim,
 * safetensors: how checkpoints kept their state before it moved into them) loaded into a
 * fixed small model as `--resume` does: every outcome but a crash, a leak or undefined
 * behaviour is fine. (State inside a checkpoint is fuzzed by fuzz_checkpoint.) */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fuzz_model fm;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    ember_model_err err;
    if (fuzz_model_create(&fm, &err) != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "fuzz_optim_state: the fixed model: %s\n", err.msg);
        abort();
    }
    ember_context_set_threads(fm.ctx, 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ember_model_err err;
    /* fuzz_write_file returns PATH, the input being at PATH.optim. */
    const char *path = fuzz_write_file(data, size, ".optim");
    ember_checkpoint stateless;
    memset(&stateless, 0, sizeof stateless);
    int loaded = 0;
    (void)ember_checkpoint_load_optimizer(&stateless, fm.m, path, &loaded, &err);
    return 0;
}
