/* fuzz_common.h: what the libFuzzer harnesses of tests/fuzz share: the readers under test
 * take file names, so each input is written to a file of this process first; and the
 * small fixed model the optimizer-state harness loads into. */
#ifndef EMBER_FUZZ_COMMON_H
#define EMBER_FUZZ_COMMON_H

#include "wd_checkpoint.h"

#include <stddef.h>
#include <stdint.h>

/* Writes data to this process's scratch file named by suffix ("" or ".optim": the optimizer
 * state lives at PATH.optim) and returns the path without the suffix, valid until exit.
 * Aborts when the file cannot be written (the harness cannot run at all then). */
const char *fuzz_write_file(const uint8_t *data, size_t size, const char *suffix);

/* A NUL-terminated copy of data (malloc'ed; abort on failure). */
char *fuzz_string(const uint8_t *data, size_t size);

/* The fixed model of fuzz_optim_state and fuzz_make_seeds: schema
 * "label,n:num,a:cat,b:cat,tags:multi:|", the cross a*b, Adagrad on the wide part and the
 * embeddings and Adam on the dense layers (so every kind of state exists), on a CPU context.
 * Returns SUCCESS or the failing step's status with err set. */
typedef struct fuzz_model {
    ember_context *ctx;
    ember_schema *schema;
    ember_features *fx;
    ember_wd_model *m;
} fuzz_model;

ember_status fuzz_model_create(fuzz_model *fm, ember_model_err *err);
void fuzz_model_free(fuzz_model *fm);

#endif /* EMBER_FUZZ_COMMON_H */
