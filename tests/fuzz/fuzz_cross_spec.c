/* fuzz_cross_spec.c: cross specs (--cross "a*b,c*d*e") and per-field bucket specs
 * (--field-buckets "NAME=N,...") against a fixed schema. The input is "CROSSES\nBUCKETS". Crosses
 * that parse must come back the same from their text form (ember_features_crosses_string
 * fed to ember_features_create again); otherwise abort (a finding). */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ember_schema *schema;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    ember_model_err err;
    if (ember_schema_from_spec("label,a:cat,b:cat,c:num,d:multi:|,e:cat,f:num", ',', 0, NULL,
                               &schema, &err) != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "fuzz_cross_spec: the fixed schema: %s\n", err.msg);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ember_model_err err;
    char *in = fuzz_string(data, size), text[EMBER_CROSSES_TEXT_MAX], again[EMBER_CROSSES_TEXT_MAX];
    char *nl = strchr(in, '\n');
    const char *buckets = NULL;
    if (nl) *nl = 0, buckets = nl + 1;
    ember_features *fx = NULL, *fx2 = NULL;
    if (ember_features_create(&fx, schema, 16, 32, 4, EMBER_NUMERIC_LOG_STD, in, &err) !=
        EMBER_STATUS_SUCCESS)
        goto done;
    ember_features_crosses_string(fx, text, sizeof text);
    if (ember_features_create(&fx2, schema, 16, 32, 4, EMBER_NUMERIC_LOG_STD, text, &err) !=
        EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "crosses \"%s\" written as \"%s\" do not parse again: %s\n", in, text,
                err.msg);
        abort();
    }
    ember_features_crosses_string(fx2, again, sizeof again);
    if (strcmp(text, again) != 0) {
        fprintf(stderr, "crosses \"%s\" -> \"%s\" -> \"%s\"\n", in, text, again);
        abort();
    }
    if (buckets && ember_features_set_field_buckets(fx, buckets, &err) == EMBER_STATUS_SUCCESS)
        (void)ember_features_stats_finish(fx, &err);
done:
    ember_features_free(fx2);
    ember_features_free(fx);
    free(in);
    return 0;
}
