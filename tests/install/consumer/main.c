/* main.c: a tiny outside program using the installed ember: one CPU context, one lookup. */
#include <ember.h>

#include <stdio.h>

int main(void) {
    enum { ROWS = 5, DIM = 3 };
    float table[ROWS * DIM], row[DIM];
    for (int i = 0; i < ROWS * DIM; i++) table[i] = (float)i;
    const int64_t index = 2;

    ember_context *ctx = NULL;
    ember_status st = ember_context_create(&ctx, EMBER_BACKEND_CPU, 0);
    if (st != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "consumer: context: %s: %s\n", ember_status_name(st), ember_last_error());
        return 1;
    }
    ember_buffer *t = NULL, *idx = NULL, *out = NULL;
    ember_lookup_desc desc;
    ember_lookup_desc_init(&desc, ROWS, DIM, 1, 1, EMBER_POOLING_NONE);
    if ((st = ember_buffer_alloc(ctx, sizeof table, &t)) == EMBER_STATUS_SUCCESS &&
        (st = ember_buffer_alloc(ctx, sizeof index, &idx)) == EMBER_STATUS_SUCCESS &&
        (st = ember_buffer_alloc(ctx, sizeof row, &out)) == EMBER_STATUS_SUCCESS &&
        (st = ember_buffer_upload(ctx, t, 0, table, sizeof table)) == EMBER_STATUS_SUCCESS &&
        (st = ember_buffer_upload(ctx, idx, 0, &index, sizeof index)) == EMBER_STATUS_SUCCESS &&
        (st = ember_embedding_lookup(ctx, &desc, t, idx, NULL, NULL, out)) ==
            EMBER_STATUS_SUCCESS) {
        st = ember_buffer_download(ctx, out, 0, row, sizeof row);
    }
    int ok = st == EMBER_STATUS_SUCCESS && row[0] == 6.0f && row[1] == 7.0f && row[2] == 8.0f;
    if (st != EMBER_STATUS_SUCCESS) {
        fprintf(stderr, "consumer: %s: %s\n", ember_status_name(st), ember_context_last_error(ctx));
    } else {
        printf("consumer: ember %d.%d.%d lookup of row 2 on %s = [%g %g %g] %s\n",
               EMBER_VERSION_MAJOR, EMBER_VERSION_MINOR, EMBER_VERSION_PATCH,
               ember_context_device_name(ctx), row[0], row[1], row[2], ok ? "ok" : "WRONG");
    }
    ember_buffer_free(out);
    ember_buffer_free(idx);
    ember_buffer_free(t);
    ember_context_destroy(ctx);
    return ok ? 0 : 1;
}
