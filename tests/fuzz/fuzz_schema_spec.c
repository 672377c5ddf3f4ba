/* fuzz_schema_spec.c: schema specs (--schema) and the schema's checkpoint form (JSON, and
 * the percent-escaped text of older checkpoints). The input is "SPEC\nPOSITIVE": a spec that
 * parses must survive to-JSON -> from-checkpoint unchanged; the whole input is also read as
 * a checkpoint's schema text, and what is accepted must round-trip too. A round trip that
 * changes the schema, or an accepted schema that breaks the text rule (UTF-8, ASCII
 * delimiters, no two columns alike: its JSON would not be UTF-8, its tensor names would
 * clash), aborts (a finding). */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s -> JSON -> schema again, equal to s. */
static void round_trip(const ember_schema *s, const char *what) {
    ember_model_err err;
    ember_schema *back = NULL, *copy = NULL;
    char *text = ember_schema_to_json(s);
    if (!text) return; /* out of memory */
    /* (a name that is not UTF-8 would also come back changed: the writer replaces it) */
    if (ember_schema_check_text(s, EMBER_STATUS_BAD_DATA, what, &err) != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "%s: accepted against the text rule: %s\n", what, err.msg);
        abort();
    }
    for (int c = 0; c < s->ncols; c++)
        if (ember_schema_find(s, s->cols[c].name) != c) {
            fprintf(stderr, "%s: column %d's name '%s' is another column's\n", what, c + 1,
                    s->cols[c].name);
            abort();
        }
    if (ember_schema_from_checkpoint(text, &back, &err) != EMBER_STATUS_SUCCESS ||
        !ember_schema_equal(s, back)) {
        fprintf(stderr, "%s: the schema does not survive its text form \"%s\": %s\n", what, text,
                back ? "a different schema came back" : err.msg);
        abort();
    }
    if (ember_schema_copy(s, &copy) != EMBER_STATUS_SUCCESS || !ember_schema_equal(s, copy)) {
        fprintf(stderr, "%s: ember_schema_copy differs from its original\n", what);
        abort();
    }
    ember_schema_free(copy);
    ember_schema_free(back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ember_model_err err;
    char *in = fuzz_string(data, size);
    ember_schema *s = NULL;
    if (ember_schema_from_checkpoint(in, &s, &err) == EMBER_STATUS_SUCCESS)
        round_trip(s, "a checkpoint's schema text");
    ember_schema_free(s);
    s = NULL;
    char *nl = strchr(in, '\n');
    const char *positive = NULL;
    if (nl) *nl = 0, positive = nl + 1;
    for (int header = 0; header < 2; header++) {
        if (ember_schema_from_spec(in, header ? '\t' : ',', header, positive, &s, &err) ==
            EMBER_STATUS_SUCCESS)
            round_trip(s, "spec");
        ember_schema_free(s);
        s = NULL;
    }
    free(in);
    return 0;
}
