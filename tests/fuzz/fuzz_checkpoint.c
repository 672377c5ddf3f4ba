/* fuzz_checkpoint.c: a checkpoint file (safetensors with ember's metadata) as `predict`
 * and `--resume` load it: read and check it, build the model it describes on the CPU and
 * copy its tensors in; and as `ember params --model` counts it. */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>

static ember_context *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    if (ember_context_create(&ctx, EMBER_BACKEND_CPU, 0) != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "fuzz_checkpoint: no CPU context: %s\n", ember_last_error());
        abort();
    }
    ember_context_set_threads(ctx, 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ember_model_err err;
    const char *path = fuzz_write_file(data, size, "");
    ember_param_count count;
    int64_t floats = 0;
    (void)ember_checkpoint_params(path, &count, &floats, &err);
    ember_checkpoint ck;
    if (ember_checkpoint_read(path, &ck, &err) != EMBER_STATUS_SUCCESS) return 0;
    ember_wd_model *m = NULL;
    int loaded;
    if (ember_wd_create(ctx, &ck.cfg, 4, &m, &err) == EMBER_STATUS_SUCCESS &&
        ember_checkpoint_apply(&ck, m, &err) == EMBER_STATUS_SUCCESS)
        (void)ember_checkpoint_load_optimizer(&ck, m, path, &loaded, &err);
    ember_wd_free(m);
    ember_checkpoint_free(&ck);
    return 0;
}
