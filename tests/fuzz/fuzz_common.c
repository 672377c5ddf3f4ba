/* fuzz_common.c: the scratch file every harness writes its input to, and the fixed model of
 * the optimizer-state harness. */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char base[256];
static char written[8][272];
static int nwritten;

static void remove_scratch(void) {
    for (int i = 0; i < nwritten; i++) unlink(written[i]);
}

const char *fuzz_write_file(const uint8_t *data, size_t size, const char *suffix) {
    if (!base[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(base, sizeof base, "%s/ember-fuzz-%ld", dir && *dir ? dir : "/tmp",
                 (long)getpid());
        atexit(remove_scratch);
    }
    char path[272];
    snprintf(path, sizeof path, "%s%s", base, suffix);
    int known = 0;
    for (int i = 0; i < nwritten; i++) known |= strcmp(written[i], path) == 0;
    if (!known && nwritten < 8) snprintf(written[nwritten++], sizeof written[0], "%s", path);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return base;
}

char *fuzz_string(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    if (size) memcpy(s, data, size);
    s[size] = 0;
    return s;
}

ember_status fuzz_model_create(fuzz_model *fm, ember_model_err *err) {
    memset(fm, 0, sizeof *fm);
    ember_status st = ember_context_create(&fm->ctx, EMBER_BACKEND_CPU, 0);
    if (st != EMBER_STATUS_SUCCESS)
        return ember_merr(err, st, "cpu context: %s", ember_last_error());
    st = ember_schema_from_spec("label,n:num,a:cat,b:cat,tags:multi:|", ',', 0, NULL, &fm->schema,
                                err);
    if (!st)
        st =
            ember_features_create(&fm->fx, fm->schema, 16, 8, 4, EMBER_NUMERIC_LOG_STD, "a*b", err);
    if (!st) st = ember_features_stats_finish(fm->fx, err);
    if (st) return st;
    ember_wd_config cfg;
    ember_wd_config_defaults(&cfg);
    cfg.fx = fm->fx;
    cfg.emb_dim = 4;
    cfg.nhidden = 1;
    cfg.hidden[0] = 3;
    cfg.wide_opt = EMBER_OPTIMIZER_ADAGRAD;
    cfg.emb_opt = EMBER_OPTIMIZER_ADAGRAD;
    cfg.deep_opt = EMBER_OPTIMIZER_ADAM;
    return ember_wd_create(fm->ctx, &cfg, 4, &fm->m, err);
}

void fuzz_model_free(fuzz_model *fm) {
    ember_wd_free(fm->m);
    ember_features_free(fm->fx);
    ember_schema_free(fm->schema);
    ember_context_destroy(fm->ctx);
    memset(fm, 0, sizeof *fm);
}
